"""Bounds-checked reading helpers shared by the structural parsers."""

from __future__ import annotations

import struct


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
