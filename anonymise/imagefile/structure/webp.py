"""WebP: walk the RIFF chunks (and those inside animation frames); allow only picture data."""

from __future__ import annotations

from typing import List

from anonymise.imagefile.structure.parsing import MalformedError, a_or_an, printable, unpack

_TOP_LEVEL = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"}
_IN_FRAME = {b"VP8 ", b"VP8L", b"ALPH"}
_ANMF_HEADER = 16  # position, size, duration and flags of one animation frame
# Flags in the VP8X header announcing an ICC profile, EXIF or XMP chunk.
_VP8X_METADATA_FLAGS = {0x20: "ICC profile", 0x08: "EXIF", 0x04: "XMP"}
_DESCRIPTIONS = {b"EXIF": "an EXIF chunk", b"XMP ": "an XMP chunk", b"ICCP": "an ICC profile chunk"}


def disallowed_parts(data: bytes) -> List[str]:
    magic, size, form = unpack("<4sI4s", data, 0)
    if magic != b"RIFF" or form != b"WEBP":
        raise MalformedError("no RIFF WEBP header")
    riff_end = 8 + size
    if riff_end > len(data):
        raise MalformedError("the RIFF chunk overruns the file")
    found = _chunk_problems(data, 12, riff_end, _TOP_LEVEL)
    if riff_end < len(data):
        found.append(f"{len(data) - riff_end} bytes after the RIFF chunk")
    return found


def _chunk_problems(data: bytes, position: int, end: int, allowed: set) -> List[str]:
    found: List[str] = []
    while position < end:
        kind, size = unpack("<4sI", data, position)
        body_start = position + 8
        body_end = body_start + size
        if body_end > end:
            raise MalformedError(f"chunk {printable(kind)} overruns its container")
        if kind not in allowed:
            found.append(_DESCRIPTIONS.get(kind, a_or_an(f"{printable(kind)} chunk")))
        elif kind == b"VP8X":
            (flags,) = unpack("B", data, body_start)
            found.extend(
                f"a VP8X header announcing {name}" for bit, name in _VP8X_METADATA_FLAGS.items() if flags & bit
            )
        elif kind == b"ANMF":
            found.extend(_chunk_problems(data, body_start + _ANMF_HEADER, body_end, _IN_FRAME))
        position = body_end + (size & 1)  # chunks are padded to an even length
    return found
