"""Files in and out: metadata never survives, orientation is applied, formats round-trip."""

import io

import numpy as np
import piexif
import pytest
from PIL import Image

from anonymise.detectors import build_detector
from anonymise.errors import NotAnImageError, UnreadableImageError, WriteError
from anonymise.faces import box_iou
from anonymise.imagefile import load_photo
from anonymise.pipeline import Options, anonymise_file, anonymise_pixels
from anonymise.redactors import BlurRedactor, SolidRedactor

from conftest import SAMPLES, labelled_boxes

SERIAL = "SN-4471-TESTSERIAL"
OWNER = "Jane Photographer"
PORTRAIT = "nasa-astronaut-eileen-collins.png"


def thumbnail_jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def dirty_exif(orientation=1):
    """EXIF as a phone or camera writes it: GPS position, serial, owner, and a thumbnail."""
    return piexif.dump({
        "0th": {
            piexif.ImageIFD.Make: b"TestCam",
            piexif.ImageIFD.Model: b"Model 9",
            piexif.ImageIFD.Artist: OWNER.encode(),
            piexif.ImageIFD.Orientation: orientation,
        },
        "Exif": {
            piexif.ExifIFD.BodySerialNumber: SERIAL.encode(),
            piexif.ExifIFD.CameraOwnerName: OWNER.encode(),
            piexif.ExifIFD.DateTimeOriginal: b"2020:06:02 18:35:12",
        },
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: ((40, 1), (42, 1), (4632, 100)),
            piexif.GPSIFD.GPSLongitudeRef: b"W",
            piexif.GPSIFD.GPSLongitude: ((73, 1), (59, 1), (2184, 100)),
        },
        "1st": {piexif.ImageIFD.JPEGInterchangeFormat: 0, piexif.ImageIFD.JPEGInterchangeFormatLength: 0},
        "thumbnail": thumbnail_jpeg(),
    })


def portrait_image():
    return Image.open(SAMPLES / PORTRAIT).convert("RGB")


def run_file(source, destination, detector):
    return anonymise_file(source, destination, detector, BlurRedactor(), Options())


def test_dirty_jpeg_comes_out_with_no_gps_serial_or_thumbnail(tmp_path, detectors):
    source = tmp_path / "IMG_0001.jpg"
    portrait_image().save(source, "JPEG", exif=dirty_exif(), quality=92)
    assert SERIAL.encode() in source.read_bytes()  # the test file really is dirty
    assert source.read_bytes().count(b"\xff\xd8\xff") == 2  # image + EXIF thumbnail

    destination = tmp_path / "out" / "IMG_0001.jpg"
    result = run_file(source, destination, detectors("ensemble"))

    written = destination.read_bytes()
    for secret in [SERIAL.encode(), OWNER.encode(), b"TestCam", b"Exif\x00\x00", b"2020:06:02"]:
        assert secret not in written
    assert written.count(b"\xff\xd8\xff") == 1, "an embedded thumbnail survived"
    with Image.open(destination) as image:
        assert not image.getexif()
        assert not image.getexif().get_ifd(0x8825)  # GPS
        assert "exif" not in image.info and "icc_profile" not in image.info
    assert len(result.regions) >= 1


def test_orientation_6_comes_out_upright_with_the_face_covered(tmp_path, detectors):
    upright = portrait_image()
    # Orientation 6 means "rotate 90 degrees clockwise to view": store the pixels turned
    # the other way, as a phone held sideways does.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    source = tmp_path / "sideways.jpg"
    stored.save(source, "JPEG", exif=dirty_exif(orientation=6), quality=95)

    destination = tmp_path / "out.jpg"
    result = run_file(source, destination, detectors("ensemble"))

    with Image.open(destination) as written:
        assert written.size == upright.size
        assert not written.getexif()
    (face,) = labelled_boxes(PORTRAIT)
    boxes = np.array([r.box for r in result.regions], dtype=np.float32)
    assert box_iou(face, boxes).max() > 0.3, "the region is not where the upright face is"
    # The face is covered in the written file: CenterFace no longer finds it there.
    written_rgb = load_photo(destination).rgb
    assert len(detectors("centerface").detect(written_rgb).above(0.5)) == 0


@pytest.mark.parametrize("extension, format", [
    (".jpg", "JPEG"), (".png", "PNG"), (".webp", "WEBP"), (".tif", "TIFF"), (".bmp", "BMP"),
])
def test_each_format_is_written_back_in_kind_and_clean(tmp_path, detectors, extension, format):
    source = tmp_path / f"photo{extension}"
    save_options = {"exif": dirty_exif()} if format in ("JPEG", "PNG", "WEBP", "TIFF") else {}
    portrait_image().save(source, format, **save_options)
    destination = tmp_path / "out" / source.name
    result = run_file(source, destination, detectors("ensemble"))
    with Image.open(destination) as written:
        assert written.format == format
        assert written.size == (result.width, result.height)
    assert SERIAL.encode() not in destination.read_bytes()
    # The verification pass may add weak false finds on the cover's edge: count the first.
    assert len(result.frames[0].regions) == 1


def test_png_text_and_alpha(tmp_path):
    from PIL import PngImagePlugin

    source = tmp_path / "transparent.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", OWNER)
    info.add_itxt("Description", "taken at 40.7N 73.9W")
    rgba = portrait_image().convert("RGBA")
    rgba.putalpha(128)
    rgba.save(source, pnginfo=info)
    destination = tmp_path / "out.png"
    anonymise_file(source, destination, build_detector("centerface"), SolidRedactor(), Options())
    assert OWNER.encode() not in destination.read_bytes()
    with Image.open(destination) as written:
        assert written.mode == "RGBA" and not written.text
        alpha = np.asarray(written)[..., 3]
    (face,) = labelled_boxes(PORTRAIT).astype(int)
    cx, cy = (face[0] + face[2]) // 2, (face[1] + face[3]) // 2
    assert alpha[cy, cx] == 255  # the cover is opaque even where the photo was not
    assert alpha[5, 5] == 128


@pytest.mark.parametrize("content, name, error", [
    (b"", "empty.jpg", UnreadableImageError),
    (b"not a photo at all", "fake.png", UnreadableImageError),
    (b"hello", "notes.txt", NotAnImageError),
])
def test_bad_inputs_raise_one_line_reasons(tmp_path, content, name, error):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error) as raised:
        load_photo(path)
    assert "\n" not in str(raised.value)


def test_failed_write_leaves_nothing_behind(tmp_path, detectors):
    source = tmp_path / "in.jpg"
    portrait_image().save(source)
    blocked = tmp_path / "out"
    blocked.write_text("a file where the output folder should be")
    with pytest.raises(WriteError):
        run_file(source, blocked / "in.jpg", detectors("ensemble"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg", "out"]


def test_anonymise_pixels_does_not_modify_its_input(detectors):
    rgb = load_photo(SAMPLES / PORTRAIT).rgb
    before = rgb.copy()
    covered, faces, regions = anonymise_pixels(rgb, detectors("ensemble"), BlurRedactor())
    assert np.array_equal(rgb, before) and not np.array_equal(covered, rgb)
    assert len(faces) == len(regions) == 1
