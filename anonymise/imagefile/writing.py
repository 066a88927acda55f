"""Encoding at the edge: new files built from pixels only, checked, then moved into place."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
from PIL import Image

from anonymise.errors import UncleanOutputError, WriteError, one_line
from anonymise.imagefile.formats import OutputFormat, format_named_by
from anonymise.imagefile.photo import Frame, Photo
from anonymise.imagefile.structure import disallowed_parts
from anonymise.tempfiles import temporary_beside

# What a transparent pixel shows once a format without alpha flattens it.
_BACKGROUND = 255


def image_from_frame(frame: Frame, keep_alpha: bool = True) -> Image.Image:
    """A brand-new PIL image holding only the frame's pixels (no info, no metadata).

    Colour under fully transparent pixels is cleared, or, when ``keep_alpha`` is false,
    the frame is composited on white: editors often keep the old colour under erased
    areas, and dropping the alpha channel would show it again.
    """
    if frame.alpha is None:
        return Image.fromarray(frame.rgb, "RGB")
    if not keep_alpha:
        weight = frame.alpha[..., None].astype(np.float32) / 255.0
        flat = frame.rgb * weight + _BACKGROUND * (1.0 - weight)
        return Image.fromarray(np.clip(np.rint(flat), 0, 255).astype(np.uint8), "RGB")
    rgb = np.where(frame.alpha[..., None] == 0, 0, frame.rgb).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, frame.alpha]), "RGBA")


def save_photo(photo: Photo, destination: Path, output: Optional[OutputFormat] = None) -> None:
    """Write ``photo`` to ``destination`` atomically, from pixels only, and check it is clean.

    ``output`` is the format to write, by default the one the destination's extension
    names. The file appears only complete and checked. On any failure nothing is left
    behind; a file that carries anything beyond the structure its format needs raises
    ``UncleanOutputError`` and is deleted.
    """
    output = output or format_named_by(destination)
    if output is None:
        raise WriteError(f"cannot tell which format to write from the name {destination.name}")
    if len(photo.frames) > 1 and not output.holds_frames:
        raise WriteError(
            f"{output.name.upper()} holds one picture and this photo has {len(photo.frames)} "
            "frames: choose --format gif, png or webp"
        )
    images = [image_from_frame(frame, output.holds_alpha) for frame in photo.frames]
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = temporary_beside(destination)
    except OSError as error:
        raise WriteError(f"cannot write {destination}: {one_line(error)}") from None
    try:
        with os.fdopen(handle, "w+b") as stream:
            images[0].save(stream, format=output.pillow_format, **_save_options(photo, images, output))
            stream.flush()
            os.fsync(stream.fileno())
            stream.seek(0)
            written = stream.read()
        # Whole first: a copy cut short (a full disk) is that, not a structure to distrust.
        _check_decodes_whole(written, images[0].size)
        leaks = disallowed_parts(written, output.pillow_format)
        if leaks:
            raise UncleanOutputError(f"the written file carried {'; '.join(leaks)}, so it was deleted")
        os.replace(temporary, destination)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(error, (OSError, ValueError)):
            raise WriteError(f"cannot write {destination}: {one_line(error)}") from None
        raise


def _check_decodes_whole(written: bytes, size) -> None:
    """Decode every frame of what was written: Pillow can leave a cut-short file without an
    error when the disk fills up, and its structure alone may still look right."""
    with Image.open(io.BytesIO(written)) as reread:
        if reread.size != size:
            raise ValueError(f"the written file decodes to {reread.size}, not {size}")
        for index in range(getattr(reread, "n_frames", 1)):
            reread.seek(index)
            reread.load()


def _save_options(photo: Photo, images: List[Image.Image], output: OutputFormat) -> Dict[str, Any]:
    options = dict(output.save_options)
    if len(images) > 1:
        options["save_all"] = True
        options["append_images"] = images[1:]
        durations = [frame.duration_ms for frame in photo.frames]
        if any(durations):
            options["duration"] = durations
        if photo.loop is not None:
            options["loop"] = photo.loop
    return options
