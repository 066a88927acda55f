"""HEIF and AVIF: walk the ISO-BMFF boxes; allow the image items and the properties that
decode them, and check that the media data holds nothing but those items' bytes."""

from __future__ import annotations

from typing import Dict, List, Tuple

from anonymise.imagefile.structure.parsing import MalformedError, a_or_an, printable, unpack

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
_DESCRIPTIONS = {
    b"Exif": "an EXIF item", b"mime": "an XMP (mime) item", b"thmb": "a thumbnail reference",
    b"cdsc": "a metadata reference", b"uuid": "a uuid box", b"free": "a free box",
}

Box = Tuple[bytes, int, int]  # type, start of body, end


def disallowed_parts(data: bytes) -> List[str]:
    found: List[str] = []
    media: List[Tuple[int, int]] = []
    extents: List[Tuple[int, int]] = []
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind not in _TOP_LEVEL:
            found.append(_describe(kind, "box"))
        elif kind == b"mdat":
            media.append((start, end))
        elif kind == b"meta":
            found.extend(_meta_problems(data, start + 4, end, extents))
    unaccounted = _bytes_outside(media, extents)
    if unaccounted:
        found.append(f"{unaccounted} bytes of media data that belong to no image")
    return found


def _boxes(data: bytes, position: int, end: int) -> List[Box]:
    boxes = []
    while position < end:
        size, kind = unpack(">I4s", data, position)
        header = 8
        if size == 1:
            (size,) = unpack(">Q", data, position + 8)
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise MalformedError(f"box {printable(kind)} overruns its container")
        boxes.append((kind, position + header, position + size))
        position += size
    return boxes


def _meta_problems(data: bytes, start: int, end: int, extents: list) -> List[str]:
    found: List[str] = []
    for kind, body, box_end in _boxes(data, start, end):
        if kind not in _IN_META:
            found.append(_describe(kind, "box in the meta box"))
        elif kind == b"hdlr" and data[body + 8 : body + 12] != b"pict":
            found.append(a_or_an(f"{printable(data[body + 8 : body + 12])} handler"))
        elif kind == b"iinf":
            (version,) = unpack("B", data, body)
            first = body + (6 if version == 0 else 8)
            found.extend(_item_problem(data, b, e) for k, b, e in _boxes(data, first, box_end) if k == b"infe")
        elif kind == b"iref":
            found.extend(_describe(k, "item reference") for k, _, _ in _boxes(data, body + 4, box_end)
                         if k not in _REFERENCES)
        elif kind == b"iprp":
            for inner, inner_body, inner_end in _boxes(data, body, box_end):
                if inner == b"ipco":
                    found.extend(_property_problem(data, *p) for p in _boxes(data, inner_body, inner_end))
                elif inner != b"ipma":
                    found.append(_describe(inner, "box in the item properties"))
        elif kind == b"iloc":
            extents.extend(_item_extents(data, body))
    return [problem for problem in found if problem]


def _item_problem(data: bytes, body: int, end: int) -> str:
    (version,) = unpack("B", data, body)
    if version < 2:
        return "an old-style item entry"
    type_at = body + (8 if version == 2 else 10)
    item_type = data[type_at : type_at + 4]
    name = data[type_at + 4 : end].split(b"\x00", 1)[0]
    if item_type not in _ITEM_TYPES:
        return _describe(item_type, "item")
    if name not in _ITEM_NAMES:
        return f"an item named {printable(name)!r}"
    return ""


def _property_problem(data: bytes, kind: bytes, body: int, end: int) -> str:
    if kind not in _PROPERTIES:
        return _describe(kind, "item property")
    if kind == b"colr" and data[body : body + 4] != b"nclx":
        return "an ICC colour profile"
    if kind == b"auxC" and data[body + 4 : end].split(b"\x00", 1)[0] not in _ALPHA_URNS:
        return f"an auxiliary image that is not alpha ({printable(data[body + 4 : end])})"
    return ""


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


def _bytes_outside(media: List[Tuple[int, int]], extents: List[Tuple[int, int]]) -> int:
    """Bytes of the media data that no item's extents cover."""
    unaccounted = 0
    for start, end in media:
        covered_to = start
        for extent_start, extent_end in sorted(extents):
            if extent_end <= covered_to or extent_start >= end:
                continue
            unaccounted += max(0, extent_start - covered_to)
            covered_to = max(covered_to, min(extent_end, end))
        unaccounted += end - covered_to
    return unaccounted


def _describe(kind: bytes, what: str) -> str:
    return _DESCRIPTIONS.get(kind, a_or_an(f"{printable(kind)} {what}"))
