"""BMP: a header that describes the pixels, the palette they need, the pixels, and no more."""

from __future__ import annotations

from typing import List

from anonymise.imagefile.structure.parsing import MalformedError, unpack
from anonymise.imagefile.structure.parts import ICC_PROFILE, OTHER, STRUCTURAL, TRAILING_DATA, Part

_FILE_HEADER = 14
_INFO_HEADER = 40  # BITMAPINFOHEADER; the V4 and V5 headers can embed or link ICC profiles
_UNCOMPRESSED = 0
_V5_HEADER = 124
_PROFILE_EMBEDDED = 0x4D424544  # "MBED": a V5 header's colour space when it carries an ICC profile


def parts(data: bytes) -> List[Part]:
    magic, file_size, reserved, pixel_offset = unpack("<2sIIi", data, 0)
    if magic != b"BM":
        raise MalformedError("no BMP header")
    (header_size,) = unpack("<I", data, _FILE_HEADER)
    if header_size != _INFO_HEADER:
        found = [Part(STRUCTURAL, f"a {header_size}-byte BMP header (only the plain 40-byte one is allowed)")]
        if header_size == _V5_HEADER and unpack("<I", data, _FILE_HEADER + 56)[0] == _PROFILE_EMBEDDED:
            found.append(Part(ICC_PROFILE, "an embedded ICC profile"))
        return found
    width, height, _, bits, compression, _, _, _, colours, _ = unpack("<iiHHIIiiII", data, _FILE_HEADER + 4)
    if compression != _UNCOMPRESSED:
        return [Part(STRUCTURAL, f"BMP compression {compression}")]
    palette = 4 * (colours or (2 ** bits if bits <= 8 else 0))
    pixels = (width * bits + 31) // 32 * 4 * abs(height)
    found = []
    if reserved:
        found.append(Part(OTHER, "data in the reserved header fields"))
    gap = pixel_offset - (_FILE_HEADER + _INFO_HEADER + palette)
    if gap < 0:
        raise MalformedError("the pixels start inside the header")
    if gap:
        found.append(Part(TRAILING_DATA, f"{gap} bytes between the header and the pixels"))
    end = pixel_offset + pixels
    if end > len(data):
        raise MalformedError("the pixels overrun the file")
    if file_size != len(data) or end < len(data):
        found.append(Part(TRAILING_DATA, f"{len(data) - end} bytes after the pixels"))
    return found
