"""JPEG: walk the markers from start to end and allow only what decoding needs."""

from __future__ import annotations

import re
from typing import List

from anonymise.imagefile.structure import exif
from anonymise.imagefile.structure.parsing import MalformedError, printable, unpack
from anonymise.imagefile.structure.parts import (
    C2PA, COMMENT, EMBEDDED_IMAGE, EXIF, ICC_PROFILE, IPTC, OTHER, STRUCTURAL, TRAILING_DATA, XMP, Part,
)

_SOI, _EOI, _SOS, _APP0, _APP14 = 0xD8, 0xD9, 0xDA, 0xE0, 0xEE
_SEGMENTS_ALLOWED = {
    0xC0: "SOF0", 0xC1: "SOF1", 0xC2: "SOF2",  # frame headers: baseline, extended, progressive
    0xC4: "DHT", 0xDB: "DQT", 0xDD: "DRI", _SOS: "SOS",
}
# Where the entropy-coded data of a scan ends: an 0xFF that is neither a stuffed 0x00, a
# restart marker nor a fill byte starts the next marker.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Names for the segments that carry metadata, so the reason says what was found.
_KNOWN = {
    (0xE1, b"Exif\x00"): Part(EXIF, "an APP1 EXIF segment"),
    (0xE1, b"http://ns.adobe.com/xap/1.0/"): Part(XMP, "an APP1 XMP segment"),
    (0xE1, b"http://ns.adobe.com/xmp/extension/"): Part(XMP, "an APP1 extended XMP segment"),
    (0xE1, b"XMP\x00"): Part(XMP, "an APP1 XMP segment"),
    (0xE2, b"ICC_PROFILE"): Part(ICC_PROFILE, "an APP2 ICC profile"),
    (0xE2, b"MPF"): Part(EMBEDDED_IMAGE, "an APP2 MPF index of further images"),
    (0xEB, b"JP"): Part(C2PA, "an APP11 JUMBF box (C2PA)"),
    (0xED, b"Photoshop 3.0"): Part(IPTC, "an APP13 Photoshop/IPTC segment"),
    (0xE0, b"JFXX"): Part(EMBEDDED_IMAGE, "an APP0 JFXX thumbnail"),
}
_EXIF_HEADER = b"Exif\x00\x00"
# Frame headers and tables of the lossless, hierarchical and arithmetic-coded processes:
# anonymise never writes them, but they are only how the picture is coded.
_OTHER_CODING = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF, 0xDC, 0xDE, 0xDF}


def parts(data: bytes) -> List[Part]:
    if data[:2] != b"\xff\xd8":
        raise MalformedError("no JPEG start marker")
    found: List[Part] = []
    position = 2
    while True:
        if position >= len(data):
            raise MalformedError("no end marker")
        if data[position] != 0xFF:
            raise MalformedError(f"no marker at byte {position}")
        while position < len(data) and data[position] == 0xFF:  # fill bytes
            position += 1
        (marker,) = unpack("B", data, position)
        position += 1
        if marker == _EOI:
            break
        if marker == _SOI or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            found.append(Part(STRUCTURAL, f"a stray marker 0x{marker:02X}"))
            continue
        (length,) = unpack(">H", data, position)
        if length < 2 or position + length > len(data):
            raise MalformedError(f"segment 0x{marker:02X} overruns the file")
        body = data[position + 2 : position + length]
        position += length
        found.extend(_segment_parts(marker, body))
        if marker == _SOS:
            following = _NEXT_MARKER.search(data, position)
            if following is None:
                raise MalformedError("scan data runs to the end of the file")
            position = following.start()
    if position < len(data):
        # After an MPO's or an Ultra HDR photo's end marker: its further images.
        found.append(Part(TRAILING_DATA, f"{len(data) - position} bytes after the end marker"))
    return found


def _segment_parts(marker: int, body: bytes) -> List[Part]:
    if marker in _SEGMENTS_ALLOWED:
        return []
    # JFIF: version, density units and values, and a 0x0 thumbnail, nothing more.
    if marker == _APP0 and body[:5] == b"JFIF\x00" and len(body) == 14 and body[12:14] == b"\x00\x00":
        return []
    # Adobe: the colour transform flag a CMYK or YCCK file needs, nothing more.
    if marker == _APP14 and body[:5] == b"Adobe" and len(body) == 12:
        return []
    if marker == 0xE1 and body.startswith(_EXIF_HEADER):
        return exif.parts(body[len(_EXIF_HEADER):], _KNOWN[(0xE1, b"Exif\x00")].description)
    for (known_marker, identifier), part in _KNOWN.items():
        if marker == known_marker and body.startswith(identifier):
            return [part]
    if marker == 0xFE:
        return [Part(COMMENT, "a comment (COM)")]
    if marker == _APP0 and body[:5] == b"JFIF\x00":
        return [Part(EMBEDDED_IMAGE, "an APP0 JFIF segment with a thumbnail")]
    if marker == _APP14 and body[:5] == b"Adobe":
        return [Part(STRUCTURAL, "an APP14 Adobe segment of another length")]
    if 0xE0 <= marker <= 0xEF:
        label = printable(body.split(b"\x00", 1)[0])
        return [Part(OTHER, f"an APP{marker - 0xE0} segment" + (f" ({label})" if label else ""))]
    if marker in _OTHER_CODING:
        return [Part(STRUCTURAL, f"a segment 0x{marker:02X}")]
    return [Part(OTHER, f"a segment 0x{marker:02X}")]
