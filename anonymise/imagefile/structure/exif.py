"""What an EXIF block tells: which kinds of fields it holds, never their values.

EXIF is a small TIFF structure (inside a JPEG's APP1 segment, a PNG's eXIf chunk, a WebP's
EXIF chunk, a HEIF's Exif item). An audit names what it holds in a person's words (the
camera, the time, a serial number, the position) so the user knows what a file gives away.
"""

from __future__ import annotations

from typing import Dict, List, Set, Tuple

from anonymise.imagefile.structure.parsing import MalformedError, unpack
from anonymise.imagefile.structure.parts import EMBEDDED_IMAGE, EXIF, GPS, Part

_EXIF_IFD, _GPS_IFD, _INTEROPERABILITY_IFD = 0x8769, 0x8825, 0xA005
_GPS_LATITUDE, _GPS_LONGITUDE = 0x0002, 0x0004
_THUMBNAIL_OFFSET, _THUMBNAIL_STRIPS = 0x0201, 0x0111
# Field -> what it tells, in the order an audit lists them.
_TELLS: Dict[int, str] = {
    0x010F: "camera make and model", 0x0110: "camera make and model",
    0xA433: "camera make and model", 0xA434: "camera make and model",
    0x0132: "date and time", 0x9003: "date and time", 0x9004: "date and time",
    0x9010: "date and time", 0x9011: "date and time", 0x9012: "date and time",
    0xA431: "serial numbers", 0xA435: "serial numbers", 0xA420: "serial numbers",
    0x013B: "owner or author", 0xA430: "owner or author", 0x8298: "owner or author",
    0x9C9D: "owner or author",
    0x010E: "description or comment", 0x9286: "description or comment", 0x9C9C: "description or comment",
    0x9C9B: "description or comment",
    0x0131: "software", 0x013C: "software",
    0x927C: "maker notes",
}
_ORDER = ["camera make and model", "date and time", "serial numbers", "owner or author",
          "description or comment", "software", "maker notes"]


def summary(tiff: bytes) -> Tuple[List[str], bool, bool]:
    """(what the block tells, whether it holds a GPS position, whether it holds a thumbnail).

    Raises ``MalformedError`` for a block that cannot be followed.
    """
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        raise MalformedError("no TIFF byte-order mark in the EXIF block")
    (first,) = unpack(order + "I", tiff, 4)
    tags, next_ifd = _ifd(tiff, order, first)
    found: Set[int] = set(tags)
    for pointer in (_EXIF_IFD, _INTEROPERABILITY_IFD):
        if pointer in tags:
            found |= set(_ifd(tiff, order, tags[pointer])[0])
    gps = False
    if _GPS_IFD in tags:
        gps_tags = _ifd(tiff, order, tags[_GPS_IFD])[0]
        gps = _GPS_LATITUDE in gps_tags or _GPS_LONGITUDE in gps_tags
    thumbnail = False
    if next_ifd:
        thumbnail_tags = _ifd(tiff, order, next_ifd)[0]
        thumbnail = _THUMBNAIL_OFFSET in thumbnail_tags or _THUMBNAIL_STRIPS in thumbnail_tags
    tells = {_TELLS[tag] for tag in found if tag in _TELLS}
    return [what for what in _ORDER if what in tells], gps, thumbnail


def _ifd(tiff: bytes, order: str, offset: int) -> Tuple[Dict[int, int], int]:
    """The tags of the IFD at ``offset`` (tag -> its first value as an offset), and the next IFD."""
    (count,) = unpack(order + "H", tiff, offset)
    tags = {}
    for index in range(count):
        tag, kind, _ = unpack(order + "HHI", tiff, offset + 2 + 12 * index)
        value_format = "H" if kind == 3 else "I"
        (value,) = unpack(order + value_format, tiff, offset + 2 + 12 * index + 8)
        tags[tag] = value
    (next_ifd,) = unpack(order + "I", tiff, offset + 2 + 12 * count)
    return tags, next_ifd


def parts(tiff: bytes, container: str) -> List[Part]:
    """The parts an EXIF block found as ``container`` ("an APP1 EXIF segment") amounts to.

    The first is the block itself, with what it tells as its detail; a GPS position and a
    thumbnail inside it are parts of their own.
    """
    try:
        tells, gps, thumbnail = summary(tiff)
    except MalformedError:
        return [Part(EXIF, container)]
    found = [Part(EXIF, container, ", ".join(tells))]
    if gps:
        found.append(Part(GPS, "a GPS position (in the EXIF)"))
    if thumbnail:
        found.append(Part(EMBEDDED_IMAGE, "an EXIF thumbnail"))
    return found
