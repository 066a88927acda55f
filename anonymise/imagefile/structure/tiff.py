"""TIFF: walk every IFD, allow only the tags that lay out the pixels, and account for every byte."""

from __future__ import annotations

import re
from typing import List, Set, Tuple

from anonymise.imagefile.structure.parsing import MalformedError, unpack
from anonymise.imagefile.structure.parts import (
    COMMENT, EMBEDDED_IMAGE, EXIF, GPS, ICC_PROFILE, IPTC, OTHER, STRUCTURAL, TIMESTAMP, TRAILING_DATA, XMP, Part,
)

_STRUCTURAL_TAGS = {
    254: "NewSubfileType", 256: "ImageWidth", 257: "ImageLength", 258: "BitsPerSample",
    259: "Compression", 262: "PhotometricInterpretation", 273: "StripOffsets",
    277: "SamplesPerPixel", 278: "RowsPerStrip", 279: "StripByteCounts", 282: "XResolution",
    283: "YResolution", 284: "PlanarConfiguration", 296: "ResolutionUnit", 317: "Predictor",
    320: "ColorMap", 322: "TileWidth", 323: "TileLength", 324: "TileOffsets",
    325: "TileByteCounts", 338: "ExtraSamples", 339: "SampleFormat",
}
_DATA_LAYOUT = ((273, 279), (324, 325))  # (offsets tag, byte counts tag) of strips and tiles
_METADATA_TAGS = {
    270: ("ImageDescription", COMMENT), 271: ("Make", EXIF), 272: ("Model", EXIF),
    274: ("Orientation", STRUCTURAL), 305: ("Software", EXIF), 306: ("DateTime", TIMESTAMP),
    315: ("Artist", EXIF), 316: ("HostComputer", EXIF), 330: ("SubIFDs", EMBEDDED_IMAGE),
    700: ("XMP", XMP), 33432: ("Copyright", EXIF), 33723: ("IPTC", IPTC), 34377: ("Photoshop", IPTC),
    34665: ("the EXIF IFD", EXIF), 34675: ("an ICC profile", ICC_PROFILE), 34853: ("the GPS IFD", GPS),
    37724: ("ImageSourceData", EMBEDDED_IMAGE), 40965: ("the interoperability IFD", EXIF),
    50341: ("PrintIM", OTHER),
    # How the pixels are to be shown or were scanned: no one is told anything.
    266: ("FillOrder", STRUCTURAL),
    280: ("MinSampleValue", STRUCTURAL), 281: ("MaxSampleValue", STRUCTURAL),
    290: ("GrayResponseUnit", STRUCTURAL), 291: ("GrayResponseCurve", STRUCTURAL),
    292: ("T4Options", STRUCTURAL), 293: ("T6Options", STRUCTURAL), 297: ("PageNumber", STRUCTURAL),
    301: ("TransferFunction", STRUCTURAL), 318: ("WhitePoint", STRUCTURAL),
    319: ("PrimaryChromaticities", STRUCTURAL), 321: ("HalftoneHints", STRUCTURAL),
    529: ("YCbCrCoefficients", STRUCTURAL), 530: ("YCbCrSubSampling", STRUCTURAL),
    531: ("YCbCrPositioning", STRUCTURAL), 532: ("ReferenceBlackWhite", STRUCTURAL),
}
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
# Writers align values and IFDs to even offsets; a gap this small cannot carry anything.
_ALIGNMENT_SLACK = 1


def parts(data: bytes) -> List[Part]:
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise MalformedError("no TIFF byte-order mark")
    magic, first_ifd = unpack(order + "HI", data, 2)
    if magic != 42:
        raise MalformedError(f"TIFF magic {magic} (BigTIFF is not written by anonymise)")
    used: List[Tuple[int, int]] = [(0, 8)]
    found: List[Part] = []
    seen: Set[int] = set()
    offset = first_ifd
    while offset:
        if offset in seen:
            raise MalformedError("the IFD chain loops")
        seen.add(offset)
        offset = _walk_ifd(data, order, offset, used, found)
    unaccounted = _gaps(data, used)
    if unaccounted:
        found.append(Part(TRAILING_DATA, f"{unaccounted} bytes that belong to no tag or pixel data"))
    return found


def _walk_ifd(data: bytes, order: str, offset: int, used: list, found: List[Part]) -> int:
    (count,) = unpack(order + "H", data, offset)
    used.append((offset, offset + 2 + 12 * count + 4))
    values = {}
    for index in range(count):
        entry = offset + 2 + 12 * index
        tag, kind, number = unpack(order + "HHI", data, entry)
        size = _TYPE_SIZES.get(kind, 1) * number
        if size > 4:
            (value_offset,) = unpack(order + "I", data, entry + 8)
            if value_offset + size > len(data):
                raise MalformedError(f"tag {tag} overruns the file")
            used.append((value_offset, value_offset + size))
        else:
            value_offset = entry + 8
        if tag not in _STRUCTURAL_TAGS:
            name, kind = _METADATA_TAGS.get(tag, (str(tag), OTHER))
            found.append(Part(kind, f"the TIFF tag {name}"))
        elif kind in (3, 4):
            values[tag] = unpack(f"{order}{number}{'H' if kind == 3 else 'I'}", data, value_offset)
    for offsets_tag, counts_tag in _DATA_LAYOUT:
        for start, length in zip(values.get(offsets_tag, ()), values.get(counts_tag, ())):
            if start + length > len(data):
                raise MalformedError("pixel data overruns the file")
            used.append((start, start + length))
    (next_ifd,) = unpack(order + "I", data, offset + 2 + 12 * count)
    return next_ifd


def _gaps(data: bytes, used: List[Tuple[int, int]]) -> int:
    """Bytes of the file outside every used range that are not padding."""
    unaccounted, covered_to = 0, 0
    for start, end in sorted(used) + [(len(data), len(data))]:
        if start - covered_to > _ALIGNMENT_SLACK and not _is_padding(data[covered_to:start], data[:4]):
            unaccounted += start - covered_to
        covered_to = max(covered_to, end)
    return unaccounted


def _is_padding(gap: bytes, header: bytes) -> bool:
    """Zero bytes, and the stale headers Pillow's multi-page writer leaves before each page
    it appends (byte-order mark, magic and the page's own first-IFD offset)."""
    return not re.sub(re.escape(header) + rb".{4}", b"", gap, flags=re.DOTALL).strip(b"\x00")
