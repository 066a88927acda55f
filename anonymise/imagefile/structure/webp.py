"""WebP: walk the RIFF chunks (and those inside animation frames); allow only picture data."""

from __future__ import annotations

from typing import List

from anonymise.imagefile.structure import exif
from anonymise.imagefile.structure.parsing import MalformedError, a_or_an, printable, unpack
from anonymise.imagefile.structure.parts import C2PA, ICC_PROFILE, OTHER, STRUCTURAL, TRAILING_DATA, XMP, Part

_TOP_LEVEL = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"}
_IN_FRAME = {b"VP8 ", b"VP8L", b"ALPH"}
_ANMF_HEADER = 16  # position, size, duration and flags of one animation frame
# Flags in the VP8X header announcing an ICC profile, EXIF or XMP chunk.
_VP8X_METADATA_FLAGS = {0x20: "ICC profile", 0x08: "EXIF", 0x04: "XMP"}
_KNOWN = {b"XMP ": Part(XMP, "an XMP chunk"), b"ICCP": Part(ICC_PROFILE, "an ICC profile chunk"),
          b"C2PA": Part(C2PA, "a C2PA chunk")}
_EXIF_HEADER = b"Exif\x00\x00"  # some writers put JPEG's header before the TIFF structure


def parts(data: bytes) -> List[Part]:
    magic, size, form = unpack("<4sI4s", data, 0)
    if magic != b"RIFF" or form != b"WEBP":
        raise MalformedError("no RIFF WEBP header")
    riff_end = 8 + size
    if riff_end > len(data):
        raise MalformedError("the RIFF chunk overruns the file")
    found = _chunk_problems(data, 12, riff_end, _TOP_LEVEL)
    if riff_end < len(data):
        found.append(Part(TRAILING_DATA, f"{len(data) - riff_end} bytes after the RIFF chunk"))
    return found


def _chunk_problems(data: bytes, position: int, end: int, allowed: set) -> List[Part]:
    found: List[Part] = []
    while position < end:
        kind, size = unpack("<4sI", data, position)
        body_start = position + 8
        body_end = body_start + size
        if body_end > end:
            raise MalformedError(f"chunk {printable(kind)} overruns its container")
        if kind == b"EXIF":
            body = data[body_start:body_end]
            found.extend(exif.parts(body[len(_EXIF_HEADER):] if body.startswith(_EXIF_HEADER) else body, "an EXIF chunk"))
        elif kind not in allowed:
            found.append(_KNOWN.get(kind, Part(OTHER, a_or_an(f"{printable(kind)} chunk"))))
        elif kind == b"VP8X":
            (flags,) = unpack("B", data, body_start)
            found.extend(
                Part(STRUCTURAL, f"a VP8X header announcing {name}")
                for bit, name in _VP8X_METADATA_FLAGS.items() if flags & bit
            )
        elif kind == b"ANMF":
            found.extend(_chunk_problems(data, body_start + _ANMF_HEADER, body_end, _IN_FRAME))
        position = body_end + (size & 1)  # chunks are padded to an even length
    return found
