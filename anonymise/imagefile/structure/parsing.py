"""Bounds-checked reading helpers shared by the structural parsers."""

from __future__ import annotations

import struct
from typing import List, Tuple


class MalformedError(ValueError):
    """The file does not follow its format's structure (truncated, lengths that overrun)."""


def unpack(fmt: str, data: bytes, offset: int) -> tuple:
    """``struct.unpack_from`` that reports a truncated file instead of raising struct.error."""
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        raise MalformedError(f"truncated at byte {offset}")
    return struct.unpack_from(fmt, data, offset)


def printable(raw: bytes, limit: int = 24) -> str:
    """A short, safe rendering of an identifier found in a file (for a one-line reason)."""
    text = raw[:limit].decode("latin-1")
    return "".join(c if c.isprintable() and c.isascii() else "?" for c in text).strip()


def a_or_an(text: str) -> str:
    """``text`` after the article it takes, for reasons built from names found in a file."""
    return ("an " if text[:1].lower() in ("a", "e", "i", "o", "u") else "a ") + text


# An ISO-BMFF box (HEIF, AVIF, MP4, QuickTime): its type, where its body starts, where it ends.
Box = Tuple[bytes, int, int]


def boxes(data, position: int, end: int) -> List[Box]:
    """The ISO-BMFF boxes laid one after another in ``data[position:end]`` (bytes, or an
    mmap for a video too large to read in)."""
    found = []
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
        found.append((kind, position + header, position + size))
        position += size
    return found


def bytes_outside(media: List[Tuple[int, int]], extents: List[Tuple[int, int]]) -> int:
    """Bytes of the ``media`` ranges that none of the ``extents`` cover."""
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
