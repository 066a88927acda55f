"""PNG and APNG: walk the chunks and allow only those that hold the picture and its timing."""

from __future__ import annotations

import zlib
from typing import List

from anonymise.imagefile.structure.parsing import MalformedError, a_or_an, printable, unpack

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Header, palette and transparency, pixel data, end; and APNG's animation control, frame
# control and frame data. Everything else (tEXt, iTXt, zTXt, eXIf, tIME, iCCP, ...) is not.
_ALLOWED = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT"}
_DESCRIPTIONS = {
    b"tEXt": "a tEXt text chunk", b"iTXt": "an iTXt text chunk", b"zTXt": "a zTXt text chunk",
    b"eXIf": "an eXIf EXIF chunk", b"tIME": "a tIME timestamp chunk", b"iCCP": "an iCCP ICC profile",
}


def disallowed_parts(data: bytes) -> List[str]:
    if not data.startswith(_SIGNATURE):
        raise MalformedError("no PNG signature")
    found: List[str] = []
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
            found.append(_DESCRIPTIONS.get(kind, a_or_an(f"{printable(kind)} chunk")))
        position = end
        if kind == b"IEND":
            break
    if position < len(data):
        found.append(f"{len(data) - position} bytes after the end chunk")
    return found
