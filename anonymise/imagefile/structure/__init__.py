"""Independent checks that a written file holds nothing but its picture.

One small parser per format walks the file's own structure (JPEG markers, PNG chunks,
RIFF chunks, TIFF tags, GIF blocks, the BMP header, ISO-BMFF boxes) and names every part
that is not on that format's allow-list of structural parts. It does not ask Pillow what
the file holds, so a writer that slips metadata in cannot also hide it from the check.
Each walk is a single pass over bytes already in memory: cheap enough to run on every file
(under 20 ms for a 12-megapixel JPEG, PNG or TIFF, where encoding it took 0.3 to 2 s).
"""

from __future__ import annotations

from typing import Callable, Dict, List

from anonymise.imagefile.structure import bmp, gif, heif, jpeg, png, tiff, webp
from anonymise.imagefile.structure.parsing import MalformedError
from anonymise.imagefile.structure.parts import UNREADABLE, Part

# Pillow's format name -> the parser for files in it (an MPO is a JPEG and more).
_PARSERS: Dict[str, Callable[[bytes], List[Part]]] = {
    "JPEG": jpeg.parts,
    "MPO": jpeg.parts,
    "PNG": png.parts,
    "WEBP": webp.parts,
    "TIFF": tiff.parts,
    "BMP": bmp.parts,
    "GIF": gif.parts,
    "HEIF": heif.parts,
    "AVIF": heif.parts,
}


def parts_beyond_the_picture(data: bytes, format: str) -> List[Part]:
    """Every part of ``data`` (a whole file in ``format``) beyond what the copies anonymise
    writes hold, each with its kind.

    A file the parser cannot follow gets a part of kind ``UNREADABLE``: what it cannot
    read, it cannot vouch for.
    """
    parser = _PARSERS.get(format)
    if parser is None:
        return [Part(UNREADABLE, f"a format with no structural check ({format})")]
    try:
        return parser(data)
    except MalformedError as error:
        return [Part(UNREADABLE, f"a structure that cannot be checked ({error})")]


def disallowed_parts(data: bytes, format: str) -> List[str]:
    """What in ``data`` (a copy anonymise wrote, as a whole file in ``format``) is not on
    the format's allow-list; an empty list means the copy is clean."""
    return [part.description for part in parts_beyond_the_picture(data, format)]


__all__ = ["Part", "disallowed_parts", "parts_beyond_the_picture"]
