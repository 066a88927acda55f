"""HEIF and AVIF: walk the ISO-BMFF boxes; allow the image items and the properties that
decode them, and check that the media data holds nothing but those items' bytes."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from anonymise.imagefile.structure.parsing import (
    MalformedError, a_or_an, boxes, bytes_outside, printable, unpack,
)
from anonymise.imagefile.structure.parts import (
    COMMENT, EMBEDDED_IMAGE, EXIF, ICC_PROFILE, OTHER, STRUCTURAL, TRAILING_DATA, XMP, Part,
)

_TOP_LEVEL = {b"ftyp", b"meta", b"mdat"}
_IN_META = {b"hdlr", b"pitm", b"iloc", b"iinf", b"iprp", b"iref", b"idat", b"dinf"}
# Coded images, and a grid that tiles them. Exif and mime (XMP) items are not allowed.
_ITEM_TYPES = {b"hvc1", b"av01", b"grid"}
# Names libheif and libavif give the items they write.
_ITEM_NAMES = {b"", b"Color", b"Alpha"}
# An alpha plane (auxl) and the tiles of a grid (dimg); not thumbnails (thmb) nor the links
# from Exif and XMP items to the image they describe (cdsc).
_REFERENCES = {b"auxl", b"dimg"}
_PROPERTIES = {b"hvcC", b"av1C", b"ispe", b"pixi", b"clap", b"pasp", b"colr", b"auxC", b"a1op", b"lsel"}
# The only auxiliary image allowed is an alpha plane (not a depth map or a gain map).
_ALPHA_URNS = {b"urn:mpeg:hevc:2015:auxid:1", b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha"}
_KNOWN = {
    b"Exif": Part(EXIF, "an EXIF item"), b"mime": Part(XMP, "an XMP (mime) item"),
    b"thmb": Part(EMBEDDED_IMAGE, "a thumbnail reference"), b"cdsc": Part(STRUCTURAL, "a metadata reference"),
    b"uuid": Part(OTHER, "a uuid box"), b"free": Part(STRUCTURAL, "a free box"),
}
# Items that are pictures of their own (a JPEG thumbnail, a gain map's tone map, an
# uncompressed image), and the references that tie further images to the photo.
_IMAGE_ITEM_TYPES = {b"jpeg", b"tmap", b"unci", b"iden", b"iovl", b"j2k1", b"vvc1", b"avc1"}
_IMAGE_REFERENCES = {b"base", b"prem"}
# How the picture is shown (rotation, mirroring, crops, layers, colour): no one is told anything.
_DISPLAY_PROPERTIES = {b"irot", b"imir", b"rloc", b"lsel", b"iscl", b"altt", b"cmin", b"cmex", b"clli", b"mdcv"}

def parts(data: bytes) -> List[Part]:
    found: List[Part] = []
    media: List[Tuple[int, int]] = []
    extents: List[Tuple[int, int]] = []
    for kind, start, end in boxes(data, 0, len(data)):
        if kind not in _TOP_LEVEL:
            found.append(_describe(kind, "box"))
        elif kind == b"mdat":
            media.append((start, end))
        elif kind == b"meta":
            found.extend(_meta_problems(data, start + 4, end, extents))
    unaccounted = bytes_outside(media, extents)
    if unaccounted:
        found.append(Part(TRAILING_DATA, f"{unaccounted} bytes of media data that belong to no image"))
    return found


def _meta_problems(data: bytes, start: int, end: int, extents: list) -> List[Part]:
    found: List[Optional[Part]] = []
    for kind, body, box_end in boxes(data, start, end):
        if kind not in _IN_META:
            found.append(_describe(kind, "box in the meta box"))
        elif kind == b"hdlr" and data[body + 8 : body + 12] != b"pict":
            found.append(Part(OTHER, a_or_an(f"{printable(data[body + 8 : body + 12])} handler")))
        elif kind == b"iinf":
            (version,) = unpack("B", data, body)
            first = body + (6 if version == 0 else 8)
            found.extend(_item_problem(data, b, e) for k, b, e in boxes(data, first, box_end) if k == b"infe")
        elif kind == b"iref":
            found.extend(_describe(k, "item reference", EMBEDDED_IMAGE if k in _IMAGE_REFERENCES else OTHER)
                         for k, _, _ in boxes(data, body + 4, box_end) if k not in _REFERENCES)
        elif kind == b"iprp":
            for inner, inner_body, inner_end in boxes(data, body, box_end):
                if inner == b"ipco":
                    found.extend(_property_problem(data, *p) for p in boxes(data, inner_body, inner_end))
                elif inner != b"ipma":
                    found.append(_describe(inner, "box in the item properties"))
        elif kind == b"iloc":
            extents.extend(_item_extents(data, body))
    return [part for part in found if part is not None]


def _item_problem(data: bytes, body: int, end: int) -> Optional[Part]:
    (version,) = unpack("B", data, body)
    if version < 2:
        return Part(OTHER, "an old-style item entry")
    type_at = body + (8 if version == 2 else 10)
    item_type = data[type_at : type_at + 4]
    name = data[type_at + 4 : end].split(b"\x00", 1)[0]
    if item_type not in _ITEM_TYPES:
        return _describe(item_type, "item", EMBEDDED_IMAGE if item_type in _IMAGE_ITEM_TYPES else OTHER)
    if name not in _ITEM_NAMES:
        return Part(COMMENT, f"an item named {printable(name)!r}")
    return None


def _property_problem(data: bytes, kind: bytes, body: int, end: int) -> Optional[Part]:
    if kind not in _PROPERTIES:
        return _describe(kind, "item property", STRUCTURAL if kind in _DISPLAY_PROPERTIES else OTHER)
    if kind == b"colr" and data[body : body + 4] != b"nclx":
        return Part(ICC_PROFILE, "an ICC colour profile")
    if kind == b"auxC" and data[body + 4 : end].split(b"\x00", 1)[0] not in _ALPHA_URNS:
        return Part(EMBEDDED_IMAGE, f"an auxiliary image that is not alpha ({printable(data[body + 4 : end])})")
    return None


def _item_extents(data: bytes, body: int) -> List[Tuple[int, int]]:
    """File ranges of every item stored in the media data, from the item location box."""
    (version,) = unpack("B", data, body)
    sizes, more_sizes = unpack("BB", data, body + 4)
    offset_size, length_size = sizes >> 4, sizes & 0x0F
    base_offset_size, index_size = more_sizes >> 4, (more_sizes & 0x0F) if version in (1, 2) else 0
    position = body + 6
    count, position = _number(data, position, 2 if version < 2 else 4)
    extents = []
    for _ in range(count):
        _, position = _number(data, position, 2 if version < 2 else 4)
        method = 0
        if version in (1, 2):
            method, position = _number(data, position, 2)
            method &= 0x0F
        position += 2  # data reference index
        base, position = _number(data, position, base_offset_size)
        extent_count, position = _number(data, position, 2)
        for _ in range(extent_count):
            position += index_size
            offset, position = _number(data, position, offset_size)
            length, position = _number(data, position, length_size)
            if method == 0:  # stored in the file, not in the meta box's own item data
                extents.append((base + offset, base + offset + length))
    return extents


def _number(data: bytes, position: int, size: int) -> Tuple[int, int]:
    formats: Dict[int, str] = {0: "", 2: ">H", 4: ">I", 8: ">Q"}
    if size not in formats:
        raise MalformedError(f"a {size}-byte field in the item locations")
    if size == 0:
        return 0, position
    return unpack(formats[size], data, position)[0], position + size


def _describe(kind: bytes, what: str, unknown: str = OTHER) -> Part:
    return _KNOWN.get(kind, Part(unknown, a_or_an(f"{printable(kind)} {what}")))
