"""The structural check itself: each parser names what is not on its allow-list, including
the hiding places a reader of tags would not look (trailers, gaps, unreferenced bytes), and
refuses files it cannot follow."""

import io
import struct

import pytest

import dirtyfiles
import iccprofiles
from anonymise.imagefile import OUTPUT_FORMATS, disallowed_parts
from anonymise.imagefile.structure import gif as gif_structure

from conftest import SAMPLES


def written(pillow_format, image=None, **options):
    buffer = io.BytesIO()
    (image or dirtyfiles.small_image()).save(buffer, pillow_format, **options)
    return buffer.getvalue()


def jfif_with_thumbnail(jpeg):
    assert jpeg[2:4] == b"\xff\xe0"
    (length,) = struct.unpack(">H", jpeg[4:6])
    body = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x01\x01" + b"\xff\x00\x00"  # a 1x1 red thumbnail
    return jpeg[:2] + dirtyfiles.segment(0xE0, body) + jpeg[4 + length :]


def with_unreferenced_media_data(heif):
    """Grow the trailing mdat box by bytes that no item's location points at."""
    position = 0
    while position < len(heif):
        size, kind = struct.unpack(">I4s", heif[position : position + 8])
        if kind == b"mdat":
            assert position + size == len(heif)
            extra = b"hidden preview"
            return heif[:position] + struct.pack(">I", size + len(extra)) + heif[position + 4 :] + extra
        position += size
    raise AssertionError("no mdat box")


def gif_with_extension(gif, extension):
    return gif[:-1] + extension + b"\x3b"


CASES = [
    # format, a file written by Pillow and then changed, what the check must name
    ("JPEG", written("JPEG")[:-2], "cannot be checked"),
    ("JPEG", jfif_with_thumbnail(written("JPEG")), "JFIF segment with a thumbnail"),
    ("JPEG", dirtyfiles.with_segments(written("JPEG"), dirtyfiles.segment(0xEC, b"Ducky\x00\x01")), "APP12 segment (Ducky)"),
    ("JPEG", written("JPEG", icc_profile=iccprofiles.display_p3()), "APP2 ICC profile"),
    ("JPEG", written("JPEG") + b"\x00" * 16, "16 bytes after the end marker"),
    ("PNG", written("PNG") + b"more", "4 bytes after the end chunk"),
    ("PNG", written("PNG", icc_profile=iccprofiles.adobe_rgb()), "iCCP ICC profile"),
    ("PNG", written("PNG", dpi=(300, 300)), "pHYs chunk"),
    ("PNG", written("PNG")[:-5] + b"X" + written("PNG")[-4:], "bad checksum"),
    ("PNG", written("PNG")[:30], "cannot be checked"),
    ("WEBP", written("WEBP") + b"more", "4 bytes after the RIFF chunk"),
    ("WEBP", written("WEBP", icc_profile=iccprofiles.display_p3()), "ICC profile chunk"),
    ("TIFF", written("TIFF") + b"hidden", "6 bytes that belong to no tag or pixel data"),
    ("TIFF", written("TIFF", icc_profile=iccprofiles.adobe_rgb()), "ICC profile"),
    ("GIF", written("GIF") + b"more", "4 bytes after the trailer"),
    ("GIF", gif_with_extension(written("GIF"), b"\x21\xff\x0bICCRGBG1012\x03abc\x00"), "application extension (ICCRGBG1012)"),
    ("GIF", gif_with_extension(written("GIF"), b"\x21\x01\x0c" + bytes(12) + b"\x04text\x00"), "plain-text extension"),
    ("BMP", written("BMP") + b"more", "4 bytes after the pixels"),
    ("HEIF", written("HEIF", icc_profile=iccprofiles.display_p3()), "ICC colour profile"),
    ("HEIF", written("HEIF") + struct.pack(">I", 12) + b"uuid" + b"data", "uuid box"),
    ("HEIF", with_unreferenced_media_data(written("HEIF")), "14 bytes of media data that belong to no image"),
    ("TIFF", b"II*\x00", "cannot be checked"),
    ("BMP", b"BM" + bytes(10), "cannot be checked"),
    ("ICO", written("ICO"), "no structural check"),
]
if "avif" in OUTPUT_FORMATS:
    CASES.append(("AVIF", written("AVIF", icc_profile=iccprofiles.adobe_rgb()), "ICC colour profile"))


@pytest.mark.parametrize("pillow_format, data, named", CASES)
def test_the_check_names_what_is_not_allowed(pillow_format, data, named):
    parts = disallowed_parts(data, pillow_format)
    assert any(named in part for part in parts), parts
    assert all("\n" not in part for part in parts)


@pytest.mark.parametrize("pillow_format", sorted(f.pillow_format for f in OUTPUT_FORMATS.values()))
def test_what_pillow_writes_from_pixels_passes(pillow_format):
    assert disallowed_parts(written(pillow_format), pillow_format) == []


def test_every_metadata_segment_of_the_white_house_sample_is_named():
    data = (SAMPLES / "whitehouse-situation-room-group.jpg").read_bytes()
    assert set(disallowed_parts(data, "JPEG")) == {
        "an APP1 EXIF segment", "an EXIF thumbnail", "an APP1 XMP segment", "an APP1 extended XMP segment",
        "an APP2 ICC profile", "an APP13 Photoshop/IPTC segment", "a comment (COM)",
    }


def test_a_loop_extension_carrying_more_than_the_loop_count_is_refused():
    assert gif_structure._extension_problem(0xFF, [b"NETSCAPE2.0", b"\x01\x00\x00"]) is None
    assert gif_structure._extension_problem(0xFF, [b"NETSCAPE2.0", b"\x01\x00\x00", b"secret"])
