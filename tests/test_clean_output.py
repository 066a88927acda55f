"""Nothing but pixels leaves: dirty files and the real samples come out clean, as read by
our own structural check and by exiftool, an independent reader."""

import pytest
from PIL import Image

import dirtyfiles
from anonymise.imagefile import OUTPUT_FORMATS, disallowed_parts, format_named_by, output_name
from anonymise.pipeline import Options, anonymise_file
from anonymise.redactors import SolidRedactor

from conftest import SAMPLES, NoFaces

AVIF = pytest.mark.skipif("avif" not in OUTPUT_FORMATS, reason="this Pillow has no AVIF support")

DIRTY_FILES = [
    # builder, file name, what our check names in the dirty file, a tag exiftool reads there
    (dirtyfiles.jpeg_with_gps_serial_and_thumbnail, "IMG_20200602_183512.jpg", "APP1 EXIF", "GPS:GPSLatitude"),
    (dirtyfiles.jpeg_with_xmp_face_region, "tagged.jpg", "APP1 XMP", "XMP-mwg-rs:RegionName"),
    (dirtyfiles.jpeg_with_iptc, "captioned.jpg", "APP13 Photoshop/IPTC", "IPTC:By-line"),
    (dirtyfiles.jpeg_with_jfxx_thumbnail_and_comment, "jfxx.jpg", "JFXX thumbnail", "JFXX:ThumbnailImage"),
    (dirtyfiles.mpo_with_a_second_image, "portrait-mode.jpg", "bytes after the end marker", "MPF0:NumberOfImages"),
    (dirtyfiles.jpeg_with_motion_photo_trailer, "PXL_20200602.MP.jpg", "bytes after the end marker", None),
    (dirtyfiles.jpeg_with_app11_c2pa, "credentials.jpg", "APP11 JUMBF", "JUMBF:JUMDLabel"),
    (dirtyfiles.png_with_text_chunks, "screenshot.png", "tEXt", "PNG:Author"),
    (dirtyfiles.webp_with_exif_and_xmp, "shared.webp", "EXIF chunk", "GPS:GPSLatitude"),
    (dirtyfiles.tiff_with_tags, "scan.tif", "TIFF tag Artist", "IFD0:Artist"),
    (dirtyfiles.gif_with_comment_and_xmp, "meme.gif", "comment extension", "XMP-mwg-rs:RegionName"),
    (dirtyfiles.heic_with_exif_and_xmp, "IMG_0001.heic", "EXIF item", "GPS:GPSLatitude"),
    pytest.param(dirtyfiles.avif_with_exif_and_xmp, "web.avif", "EXIF item", "GPS:GPSLatitude", marks=AVIF),
]


def anonymise_without_detection(source, destination):
    return anonymise_file(source, destination, NoFaces(), SolidRedactor(), Options())


def assert_clean(path, exiftool):
    written = path.read_bytes()
    assert disallowed_parts(written, format_named_by(path).pillow_format) == []
    assert exiftool(path) == {}
    for secret in dirtyfiles.SECRETS:
        assert secret.encode() not in written


@pytest.mark.parametrize("build, name, check_finds, exiftool_finds", DIRTY_FILES)
def test_dirty_file_comes_out_clean(tmp_path, exiftool, build, name, check_finds, exiftool_finds):
    source = tmp_path / name
    build(source)
    with Image.open(source) as image:
        dirty_format = "JPEG" if image.format == "MPO" else image.format
    # The test file really is dirty, for our check and for exiftool.
    assert any(check_finds in part for part in disallowed_parts(source.read_bytes(), dirty_format))
    if exiftool_finds:
        assert exiftool_finds in exiftool(source)

    destination = tmp_path / "out" / output_name(source)
    result = anonymise_without_detection(source, destination)

    assert_clean(destination, exiftool)
    with Image.open(destination) as written:
        assert written.size == dirtyfiles.SIZE == (result.width, result.height)
        assert getattr(written, "n_frames", 1) == 1
    if destination.suffix == ".jpg":
        assert destination.read_bytes().count(b"\xff\xd8") == 1, "a second image (thumbnail, preview) survived"


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.iterdir() if p.suffix != ".md"))
def test_sample_photos_come_out_clean(tmp_path, exiftool, sample):
    source = SAMPLES / sample
    assert disallowed_parts(source.read_bytes(), format_named_by(source).pillow_format), "the sample is clean already"
    destination = tmp_path / sample
    anonymise_without_detection(source, destination)
    assert_clean(destination, exiftool)
    # The White House captions and face-region names must be gone with everything else.
    for secret in [b"Souza", b"Obama", b"Ingalls", b"mwg-rs", b"Photoshop"]:
        assert secret not in destination.read_bytes()


@pytest.mark.parametrize("format_name", sorted(OUTPUT_FORMATS))
@pytest.mark.parametrize("with_alpha", [False, True])
def test_every_output_format_is_written_clean(tmp_path, exiftool, format_name, with_alpha):
    source = tmp_path / "source.png"
    image = dirtyfiles.small_image().convert("RGBA")
    if with_alpha:
        image.putalpha(Image.linear_gradient("L").resize(dirtyfiles.SIZE))
    image.save(source)
    destination = tmp_path / f"copy{OUTPUT_FORMATS[format_name].extension}"
    anonymise_without_detection(source, destination)
    assert_clean(destination, exiftool)
    with Image.open(destination) as written:
        assert written.size == dirtyfiles.SIZE
