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

# Pillow's format name -> the parser for files written in it.
_PARSERS: Dict[str, Callable[[bytes], List[str]]] = {
    "JPEG": jpeg.disallowed_parts,
    "PNG": png.disallowed_parts,
    "WEBP": webp.disallowed_parts,
    "TIFF": tiff.disallowed_parts,
    "BMP": bmp.disallowed_parts,
    "GIF": gif.disallowed_parts,
    "HEIF": heif.disallowed_parts,
    "AVIF": heif.disallowed_parts,
}


def disallowed_parts(data: bytes, format: str) -> List[str]:
    """Every part of ``data`` (a whole file in ``format``) beyond the picture's structure.

    An empty list means the file is clean. A file the parser cannot follow is not clean:
    what it cannot read, it cannot vouch for.
    """
    parser = _PARSERS.get(format)
    if parser is None:
        return [f"a format with no structural check ({format})"]
    try:
        return parser(data)
    except MalformedError as error:
        return [f"a structure that cannot be checked ({error})"]


__all__ = ["disallowed_parts"]
