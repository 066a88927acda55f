"""BMP: a header that describes the pixels, the palette they need, the pixels, and no more."""

from __future__ import annotations

from typing import List

from anonymise.imagefile.structure.parsing import MalformedError, unpack

_FILE_HEADER = 14
_INFO_HEADER = 40  # BITMAPINFOHEADER; the V4 and V5 headers can embed or link ICC profiles
_UNCOMPRESSED = 0


def disallowed_parts(data: bytes) -> List[str]:
    magic, file_size, reserved, pixel_offset = unpack("<2sIIi", data, 0)
    if magic != b"BM":
        raise MalformedError("no BMP header")
    (header_size,) = unpack("<I", data, _FILE_HEADER)
    if header_size != _INFO_HEADER:
        return [f"a {header_size}-byte BMP header (only the plain 40-byte one is allowed)"]
    width, height, _, bits, compression, _, _, _, colours, _ = unpack("<iiHHIIiiII", data, _FILE_HEADER + 4)
    if compression != _UNCOMPRESSED:
        return [f"BMP compression {compression}"]
    palette = 4 * (colours or (2 ** bits if bits <= 8 else 0))
    pixels = (width * bits + 31) // 32 * 4 * abs(height)
    found = []
    if reserved:
        found.append("data in the reserved header fields")
    gap = pixel_offset - (_FILE_HEADER + _INFO_HEADER + palette)
    if gap < 0:
        raise MalformedError("the pixels start inside the header")
    if gap:
        found.append(f"{gap} bytes between the header and the pixels")
    end = pixel_offset + pixels
    if end > len(data):
        raise MalformedError("the pixels overrun the file")
    if file_size != len(data) or end < len(data):
        found.append(f"{len(data) - end} bytes after the pixels")
    return found
