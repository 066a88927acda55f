"""Files as real phones, cameras and editors wrote them come out clean.

The dirty files in ``dirtyfiles.py`` are built to the specifications; these were written by
the devices themselves (tests/data/realfiles/SOURCES.md says where each comes from), so they
carry what the specifications do not predict: maker notes, odd segment orders, editors' own
blocks. docs/threat-model.md records the larger run over 110 such files.
"""

from pathlib import Path

import pytest
from PIL import Image

from anonymise.imagefile import disallowed_parts, output_name

from test_clean_output import anonymise_without_detection, assert_clean

REAL_FILES = Path(__file__).parent / "data" / "realfiles"

# file, what our check finds in it, a tag exiftool reads from it
CASES = [
    ("samsung-galaxy-s.jpg", "APP1 EXIF", "IFD1:ThumbnailImage"),
    ("htc-desire.webp", "EXIF chunk", "GPS:GPSLatitude"),
    ("canon-eos-350d.jpg", "APP1 EXIF", "Canon:FocalType"),
    ("iptc-photoshop-xmp.jpg", "APP13 Photoshop/IPTC", "IPTC:By-line"),
    ("png-exif-time-text.png", "tIME", "PNG:ModifyDate"),
    ("c2pa-manifest.jpg", "APP11 JUMBF", "JUMBF:JUMDLabel"),
]


@pytest.mark.parametrize("name, check_finds, exiftool_finds", CASES)
def test_real_file_comes_out_clean(tmp_path, exiftool, name, check_finds, exiftool_finds):
    source = REAL_FILES / name
    with Image.open(source) as image:
        written_as = image.format
        size = image.size
    assert any(check_finds in part for part in disallowed_parts(source.read_bytes(), written_as))
    assert exiftool_finds in exiftool(source)

    destination = tmp_path / output_name(source)
    anonymise_without_detection(source, destination)

    assert_clean(destination, exiftool)
    with Image.open(destination) as written:
        assert sorted(written.size) == sorted(size)
