"""Which file formats anonymise reads and writes, and how each is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from PIL import features


@dataclass(frozen=True)
class OutputFormat:
    """A format anonymise writes: its name on the command line and how Pillow saves it."""

    name: str
    pillow_format: str
    extension: str
    # Holds several frames (an animation, or TIFF pages) in one file.
    holds_frames: bool
    holds_alpha: bool
    save_options: Dict[str, Any] = field(default_factory=dict)


_AVIF = features.check("avif")

OUTPUT_FORMATS: Dict[str, OutputFormat] = {
    # 4:4:4 chroma keeps the covered edges and the rest of the photo crisp.
    "jpeg": OutputFormat("jpeg", "JPEG", ".jpg", False, False, {"quality": 95, "subsampling": 0}),
    "png": OutputFormat("png", "PNG", ".png", True, True),
    "webp": OutputFormat("webp", "WEBP", ".webp", True, True, {"quality": 95, "method": 4}),
    "tiff": OutputFormat("tiff", "TIFF", ".tif", True, True, {"compression": "tiff_lzw"}),
    # Pillow writes BMP alpha into a header most readers ignore, so it is flattened.
    "bmp": OutputFormat("bmp", "BMP", ".bmp", False, False),
    "gif": OutputFormat("gif", "GIF", ".gif", True, True),
    # pillow-heif writes one image per file, not an animation.
    "heic": OutputFormat("heic", "HEIF", ".heic", False, True, {"quality": 90}),
}
if _AVIF:
    OUTPUT_FORMATS["avif"] = OutputFormat("avif", "AVIF", ".avif", True, True, {"quality": 90})

# The format each readable extension names.
_FORMAT_OF_EXTENSION = {
    ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".jfif": "jpeg",
    # A camera's multi-picture JPEG (the photo, then its previews, depth and gain maps) and
    # a side-by-side stereo pair: both JPEGs, written under .jpg (see _NAMED_FOR_MORE).
    ".mpo": "jpeg", ".jps": "jpeg",
    ".png": "png", ".apng": "png",
    ".webp": "webp",
    ".tif": "tiff", ".tiff": "tiff",
    ".bmp": "bmp",
    ".gif": "gif",
    ".heic": "heic", ".heif": "heic", ".hif": "heic",
}
if _AVIF:
    _FORMAT_OF_EXTENSION[".avif"] = "avif"
# HEIC is written as JPEG unless asked otherwise: JPEG is what every viewer and upload form
# takes, and someone sharing a phone photo rarely wants the phone's container.
_DEFAULT_OUTPUT = {"heic": "jpeg"}

READABLE_EXTENSIONS = frozenset(_FORMAT_OF_EXTENSION)
# Extensions that promise more than a copy holds (further pictures, a stereo viewer's
# layout): a copy of such a file is always named with its format's own extension.
_NAMED_FOR_MORE = frozenset({".mpo", ".jps"})
# Photos a viewer shows as a side-by-side stereo pair: two views, left and right halves.
STEREO_PAIR_EXTENSIONS = frozenset({".jps"})


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in READABLE_EXTENSIONS


def output_format(source: Path, requested: Optional[str] = None) -> OutputFormat:
    """The format a copy of ``source`` is written in: ``requested``, or the default for it."""
    if requested is not None:
        return OUTPUT_FORMATS[requested]
    named = _FORMAT_OF_EXTENSION[source.suffix.lower()]
    return OUTPUT_FORMATS[_DEFAULT_OUTPUT.get(named, named)]


def output_name(source: Path, requested: Optional[str] = None) -> str:
    """The name of the copy of ``source``: the same name unless the format changes.

    ``a.JPEG`` stays ``a.JPEG``; ``a.heic`` becomes ``a.jpg``, ``a.mpo`` and ``a.jps``
    become ``a.jpg``, and ``a.png`` with ``requested="webp"`` becomes ``a.webp``.
    """
    written = output_format(source, requested)
    suffix = source.suffix.lower()
    if _FORMAT_OF_EXTENSION[suffix] == written.name and suffix not in _NAMED_FOR_MORE:
        return source.name
    return source.stem + written.extension


def format_named_by(destination: Path) -> Optional[OutputFormat]:
    """The output format the extension of ``destination`` names, if any."""
    name = _FORMAT_OF_EXTENSION.get(destination.suffix.lower())
    return OUTPUT_FORMATS[name] if name is not None else None
