"""PNG and APNG: walk the chunks and allow only those that hold the picture and its timing."""

from __future__ import annotations

import zlib
from typing import List

from anonymise.imagefile.structure import exif
from anonymise.imagefile.structure.parsing import MalformedError, a_or_an, printable, unpack
from anonymise.imagefile.structure.parts import (
    C2PA, COMMENT, EXIF, ICC_PROFILE, IPTC, OTHER, STRUCTURAL, TIMESTAMP, TRAILING_DATA, XMP, Part,
)

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Header, palette and transparency, pixel data, end; and APNG's animation control, frame
# control and frame data. Everything else (tEXt, iTXt, zTXt, eXIf, tIME, iCCP, ...) is not.
_ALLOWED = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT"}
_TEXT = {b"tEXt": "a tEXt text chunk", b"iTXt": "an iTXt text chunk", b"zTXt": "a zTXt text chunk"}
_KNOWN = {
    b"tIME": Part(TIMESTAMP, "a tIME timestamp chunk"),
    b"iCCP": Part(ICC_PROFILE, "an iCCP ICC profile"),
    b"caBX": Part(C2PA, "a caBX chunk (C2PA)"),
}
# How a picture is to be shown (density, gamma, colour space, significant bits, background,
# suggested palettes, HDR levels): not written by anonymise, but no one is told anything.
_DISPLAY_CHUNKS = {b"pHYs", b"sRGB", b"gAMA", b"cHRM", b"sBIT", b"bKGD", b"hIST", b"sPLT", b"cICP",
                   b"mDCV", b"cLLI", b"oFFs", b"pCAL", b"sCAL"}
# Text keywords that hold a whole metadata block (as ImageMagick and Adobe write them).
_TEXT_KEYWORDS = {
    b"XML:com.adobe.xmp": XMP, b"Raw profile type xmp": XMP, b"Raw profile type exif": EXIF,
    b"Raw profile type APP1": EXIF, b"Raw profile type iptc": IPTC, b"Raw profile type 8bim": IPTC,
}


def parts(data: bytes) -> List[Part]:
    if not data.startswith(_SIGNATURE):
        raise MalformedError("no PNG signature")
    found: List[Part] = []
    position = len(_SIGNATURE)
    while True:
        length, kind = unpack(">I4s", data, position)
        end = position + 12 + length
        if end > len(data):
            raise MalformedError(f"chunk {printable(kind)} overruns the file")
        (crc,) = unpack(">I", data, end - 4)
        if zlib.crc32(data[position + 4 : end - 4]) != crc:
            raise MalformedError(f"chunk {printable(kind)} has a bad checksum")
        if kind not in _ALLOWED:
            found.extend(_chunk_parts(kind, data[position + 8 : end - 4]))
        position = end
        if kind == b"IEND":
            break
    if position < len(data):
        found.append(Part(TRAILING_DATA, f"{len(data) - position} bytes after the end chunk"))
    return found


def _chunk_parts(kind: bytes, body: bytes) -> List[Part]:
    if kind == b"eXIf":
        return exif.parts(body, "an eXIf EXIF chunk")
    if kind in _TEXT:
        keyword = body.split(b"\x00", 1)[0]
        return [Part(_TEXT_KEYWORDS.get(keyword, COMMENT), _TEXT[kind], printable(keyword))]
    if kind in _KNOWN:
        return [_KNOWN[kind]]
    description = a_or_an(f"{printable(kind)} chunk")
    return [Part(STRUCTURAL if kind in _DISPLAY_CHUNKS else OTHER, description)]
