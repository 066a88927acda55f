"""Every format in: orientations, colour spaces, bit depths, animations, HEIC and AVIF; the
pixels come out upright, in the right colours, with every face in every frame covered."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import dirtyfiles
import iccprofiles
from anonymise.errors import WriteError
from anonymise.faces import box_iou
from anonymise.imagefile import OUTPUT_FORMATS, load_photo
from anonymise.pipeline import Options, anonymise_file
from anonymise.redactors import SolidRedactor
from anonymise.regions import coverage_mask

from conftest import SAMPLES, NoFaces, labelled_boxes

PORTRAIT = "nasa-astronaut-eileen-collins.png"
# A landscape crop of the portrait, so a turn that swaps width and height shows.
CROP = (100, 0, 420, 240)
# How the stored pixels of each EXIF orientation are made from the upright picture: the
# inverse of the turn a viewer applies (orientation 6 is "rotate 90 clockwise to view").
STORED_FROM_UPRIGHT = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright_portrait():
    with Image.open(SAMPLES / PORTRAIT) as image:
        return image.convert("RGB").crop(CROP)


def face_in_crop():
    (face,) = labelled_boxes(PORTRAIT)
    return face - np.array([CROP[0], CROP[1], CROP[0], CROP[1]], dtype=np.float32)


def solid(source, destination, detector):
    return anonymise_file(source, destination, detector, SolidRedactor(), Options())


@pytest.mark.parametrize("orientation", sorted(STORED_FROM_UPRIGHT))
def test_every_exif_orientation_comes_out_upright_with_the_face_covered(tmp_path, detectors, orientation):
    upright = upright_portrait()
    turn = STORED_FROM_UPRIGHT[orientation]
    stored = upright if turn is None else upright.transpose(turn)
    source = tmp_path / "photo.jpg"
    stored.save(source, "JPEG", quality=95, exif=dirtyfiles.dirty_exif(orientation))

    destination = tmp_path / "out.jpg"
    result = solid(source, destination, detectors("centerface"))

    written = np.asarray(Image.open(destination).convert("RGB")).astype(int)
    assert written.shape[1::-1] == upright.size
    regions = result.frames[0].regions
    assert box_iou(face_in_crop(), np.array([r.box for r in regions], dtype=np.float32)).max() > 0.3
    covered = coverage_mask(result.regions, *upright.size)
    # Outside the covers the picture is the upright original (up to JPEG loss) ...
    difference = np.abs(written - np.asarray(upright).astype(int))[~covered]
    assert difference.mean() < 4
    # ... and the face is gone: the solid cover is one flat colour.
    assert written[covered].std(axis=0).max() < 3


@pytest.mark.parametrize("mode, save_options", [
    ("RGB", {}),
    ("RGB", {"progressive": True}),
    ("L", {}),
    ("CMYK", {}),
])
def test_jpeg_variants_are_read_in_the_right_colours(tmp_path, exiftool, mode, save_options):
    colour = (200, 120, 40) if mode != "L" else (120, 120, 120)
    source = tmp_path / "photo.jpg"
    dirtyfiles.small_image(colour).convert(mode).save(source, "JPEG", quality=95, **save_options)
    destination = tmp_path / "out" / "photo.jpg"
    solid(source, destination, NoFaces())
    written = np.asarray(Image.open(destination).convert("RGB")).reshape(-1, 3).mean(axis=0)
    assert np.abs(written - colour).max() < 6
    assert exiftool(destination) == {}


def png_bytes(width, height, bit_depth, colour_type, rows):
    """A PNG written chunk by chunk, for the bit depths Pillow cannot write (16-bit RGB)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_sixteen_bit_grey_png_is_scaled_not_clipped(tmp_path):
    levels = np.linspace(0, 65535, 64).astype(">u2")
    source = tmp_path / "grey16.png"
    source.write_bytes(png_bytes(64, 20, 16, 0, [levels.tobytes()] * 20))
    grey = load_photo(source).rgb[..., 0].astype(int)
    assert np.abs(grey[0] - np.rint(levels / 257)).max() <= 1


def test_sixteen_bit_rgb_png_keeps_its_colours(tmp_path, exiftool):
    pixel = np.array([0xC8C8, 0x7878, 0x2828], dtype=">u2")  # 200, 120, 40 in 16 bits
    source = tmp_path / "rgb16.png"
    source.write_bytes(png_bytes(24, 24, 16, 2, [np.tile(pixel, 24).tobytes()] * 24))
    destination = tmp_path / "out.png"
    solid(source, destination, NoFaces())
    with Image.open(destination) as written:
        assert written.mode == "RGB" and written.getpixel((3, 3)) == (200, 120, 40)
    assert exiftool(destination) == {}


def test_palette_png_with_transparency_keeps_it(tmp_path):
    source = tmp_path / "palette.png"
    image = Image.new("P", (24, 24), 1)
    image.putpalette([0, 0, 0, 200, 120, 40] + [0] * 762)
    image.paste(0, (0, 0, 12, 24))
    image.save(source, transparency=0)
    destination = tmp_path / "out.png"
    solid(source, destination, NoFaces())
    with Image.open(destination) as written:
        rgba = np.asarray(written.convert("RGBA"))
    assert (rgba[:, :12, 3] == 0).all() and (rgba[:, 12:] == (200, 120, 40, 255)).all()


def test_colour_under_transparent_pixels_is_not_kept_nor_shown(tmp_path):
    """Editors keep erased content under alpha 0; dropping alpha would bring it back."""
    rgba = np.zeros((24, 24, 4), dtype=np.uint8)
    rgba[..., :3] = (200, 30, 30)  # "erased" but still there
    rgba[:, 12:, 3] = 255
    source = tmp_path / "cut-out.png"
    Image.fromarray(rgba, "RGBA").save(source)

    solid(source, tmp_path / "out.png", NoFaces())
    solid(source, tmp_path / "out.jpg", NoFaces())

    kept = np.asarray(Image.open(tmp_path / "out.png"))
    assert (kept[:, :12] == 0).all() and (kept[:, 12:] == (200, 30, 30, 255)).all()
    flattened = np.asarray(Image.open(tmp_path / "out.jpg").convert("RGB")).astype(int)
    assert (flattened[:, :10] > 240).all(), "the erased red came back when alpha was dropped"


@pytest.mark.parametrize("profile, stored, expected", [
    # Published values: sRGB's pure red and green as Display P3 and Adobe RGB store them.
    (iccprofiles.display_p3, (234, 51, 35), (255, 0, 0)),
    (iccprofiles.display_p3, (117, 251, 76), (0, 255, 0)),
    (iccprofiles.adobe_rgb, (219, 0, 0), (255, 0, 0)),
    (iccprofiles.adobe_rgb, (144, 255, 60), (0, 255, 0)),
])
@pytest.mark.parametrize("extension", [".jpg", ".png"])
def test_wide_gamut_profiles_are_converted_to_srgb_before_they_are_dropped(
    tmp_path, exiftool, profile, stored, expected, extension
):
    source = tmp_path / f"phone{extension}"
    Image.new("RGB", (24, 24), stored).save(source, icc_profile=profile(), quality=100, subsampling=0)
    destination = tmp_path / f"out{extension}"
    solid(source, destination, NoFaces())
    with Image.open(destination) as written:
        assert "icc_profile" not in written.info
        colour = np.asarray(written.convert("RGB"))[8, 8].astype(int)
    assert np.abs(colour - expected).max() <= 4, f"{colour} is not {expected}"
    assert exiftool(destination) == {}


def animation_frames():
    """Three frames of the portrait, the face moving right, each with its own duration."""
    upright = upright_portrait().resize((240, 180))
    return [Image.fromarray(np.roll(np.asarray(upright), shift, axis=1)) for shift in (0, 40, 80)]


@pytest.mark.parametrize("extension", [".gif", ".png", ".webp"])
def test_every_frame_of_an_animation_is_covered_and_its_timing_kept(tmp_path, detectors, exiftool, extension):
    frames = animation_frames()
    source = tmp_path / f"clip{extension}"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=3)
    destination = tmp_path / "out" / source.name

    result = solid(source, destination, detectors("centerface"))

    assert [len(frame.regions) for frame in result.frames] == [1, 1, 1]
    assert [r.box[0] for r in result.regions] == sorted(r.box[0] for r in result.regions)
    with Image.open(destination) as written:
        assert written.n_frames == 3 and written.info.get("loop") == 3
        durations = []
        for index in range(3):
            written.seek(index)
            rgb = np.asarray(written.convert("RGB"))
            durations.append(written.info["duration"])  # WebP sets it once the frame is loaded
            assert len(detectors("centerface").detect(rgb).above(0.5)) == 0, f"a face in frame {index}"
    assert durations == [100, 200, 300]
    assert exiftool(destination) == {}


def test_an_animation_is_not_flattened_into_a_single_frame_format(tmp_path):
    frames = [dirtyfiles.small_image((i * 60, 0, 0)) for i in range(3)]
    source = tmp_path / "clip.gif"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(WriteError, match="choose --format gif, png or webp") as raised:
        solid(source, tmp_path / "clip.jpg", NoFaces())
    assert "\n" not in str(raised.value)
    assert list(tmp_path.iterdir()) == [source]


def test_heic_from_a_phone_comes_out_as_an_upright_clean_jpeg(tmp_path, detectors, exiftool):
    upright = upright_portrait()
    source = tmp_path / "IMG_4471.HEIC"
    # pillow-heif turns EXIF orientation 6 into the container's own rotation, as phones do.
    upright.transpose(Image.Transpose.ROTATE_90).save(
        source, "HEIF", exif=dirtyfiles.dirty_exif(6), xmp=dirtyfiles.XMP_WITH_FACE_REGION, quality=90
    )
    destination = tmp_path / "out" / "IMG_4471.jpg"

    result = solid(source, destination, detectors("centerface"))

    with Image.open(destination) as written:
        assert written.format == "JPEG" and written.size == upright.size
    assert box_iou(face_in_crop(), np.array([r.box for r in result.regions], dtype=np.float32)).max() > 0.3
    assert exiftool(destination) == {}


@pytest.mark.skipif("avif" not in OUTPUT_FORMATS, reason="this Pillow has no AVIF support")
def test_avif_is_read_and_written_back_as_avif(tmp_path, detectors, exiftool):
    source = tmp_path / "web.avif"
    upright_portrait().save(source, "AVIF", exif=dirtyfiles.dirty_exif(), quality=90)
    destination = tmp_path / "out" / "web.avif"
    result = solid(source, destination, detectors("centerface"))
    with Image.open(destination) as written:
        assert written.format == "AVIF" and written.size == upright_portrait().size
    assert len(result.frames[0].regions) == 1
    assert exiftool(destination) == {}


def test_every_page_of_a_multi_page_tiff_is_kept(tmp_path, exiftool):
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
    pages = [dirtyfiles.small_image(colour) for colour in colours]
    source = tmp_path / "scan.tif"
    pages[0].save(source, save_all=True, append_images=pages[1:], tiffinfo={315: dirtyfiles.OWNER})
    destination = tmp_path / "out" / "scan.tif"
    solid(source, destination, NoFaces())
    with Image.open(destination) as written:
        assert written.n_frames == 3
        for index, colour in enumerate(colours):
            written.seek(index)
            assert written.convert("RGB").getpixel((5, 5)) == colour
    assert exiftool(destination) == {}
