"""Decoding at the edge: every frame upright, in sRGB, as ``uint8`` pixels and nothing else.

Every check a photo must pass before it is anonymised happens here, so every door (the
command line, the window, the Python API, a cluster) refuses the same photos in the same
words: not a photo, unreadable, empty, a decompression bomb, too small to hold a face
anonymise could find.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import warnings
from pathlib import Path, PurePath
from typing import Iterator, Optional

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

from anonymise.errors import NotAnImageError, UnreadableImageError, one_line
from anonymise.imagefile.formats import STEREO_PAIR_EXTENSIONS, is_supported
from anonymise.imagefile.photo import Frame, Photo

# Photos with a side shorter than this are not anonymised: a face that fills the whole
# picture would be too small for the detector to find (CenterFace scores a face 20 px wide
# at 0.5, one 16 px wide at 0.2 and one 12 px wide at 0.11; see docs/folders.md), yet
# could still be recognised.
MIN_SIDE = 20


class TooLargeError(UnreadableImageError):
    """More pixels than Pillow's decompression-bomb limit."""


class TooSmallError(NotAnImageError):
    """Too small for a face in it to be found."""

# pillow-heif applies the HEIF container's rotation and mirroring itself while decoding and
# reports EXIF orientation 1, so HEIC photos are not turned twice.
pillow_heif.register_heif_opener()

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_ORIENTATION_TAG = 0x0112
# How to turn stored pixels upright for each EXIF orientation (2-8; 1 is already upright).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Pillow modes holding more than 8 bits per sample, which convert("L") would clip, not scale.
_WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
# The colour space an embedded ICC profile describes (bytes 16-19 of its header), and the
# Pillow mode the pixels must be in for that profile to apply to them.
_PROFILE_MODES = {b"RGB ": "RGB", b"GRAY": "L", b"CMYK": "CMYK"}


def load_photo(path: Path) -> Photo:
    """Decode every frame of ``path`` upright and in sRGB, keeping only pixels and timing.

    Raises ``NotAnImageError`` for what is not a photo to anonymise (another kind of file,
    a photo too small to hold a face anonymise could find) and ``UnreadableImageError``
    for a photo that cannot be read, each with a one-line reason.
    """
    check_photo_file(path)
    try:
        with _decompression_bombs_refused(), Image.open(path) as image:
            refuse_size(*image.size)
            photo = _photo_from_file(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise UnreadableImageError(f"cannot read image: {one_line(error)}") from None
    # A .jps is a plain JPEG that viewers show as a stereo pair: its name is all that says so.
    if path.suffix.lower() in STEREO_PAIR_EXTENSIONS:
        return Photo(photo.frames, photo.loop, views=2)
    return photo


def check_photo_file(path: Path) -> None:
    """The checks on the file itself, before it is opened: a photo type, a regular file
    that can be read and is not empty. Raises as ``load_photo`` does."""
    refuse_what_is_not_a_photo(path)
    try:
        status = os.stat(path)
    except OSError as error:
        raise UnreadableImageError(why_unreadable(path, error)) from None
    if not stat.S_ISREG(status.st_mode):
        raise NotAnImageError("not a regular file (a device, pipe or socket)")
    if status.st_size == 0:
        raise UnreadableImageError("empty file (0 bytes)")


def refuse_what_is_not_a_photo(source: Path) -> None:
    """Raise ``NotAnImageError`` unless the name says it is a photo type anonymise reads.

    Plans list links to folders among the files, since they are not followed: say so.
    """
    if os.path.isdir(source):
        raise NotAnImageError("a link to a folder (links to folders are not followed)")
    refuse_what_is_not_a_photo_type(source)


def refuse_what_is_not_a_photo_type(name: PurePath) -> None:
    """Raise ``NotAnImageError`` unless ``name`` says it is a photo type anonymise reads
    (from the name alone: for files that are not on this computer's disks too)."""
    if not is_supported(name):
        raise NotAnImageError(f"not a supported photo type ({name.suffix or 'no extension'})")


def refuse_size(width: int, height: int) -> None:
    """Raise ``TooSmallError`` for a picture too small to check for faces."""
    if min(width, height) < MIN_SIDE:
        raise TooSmallError(
            f"too small to check for faces ({width}×{height} pixels; "
            f"anonymise needs at least {MIN_SIDE} on each side)"
        )


def why_unreadable(source: Path, error: OSError) -> str:
    """A one-line reason for an ``OSError`` met opening or reading ``source``."""
    if isinstance(error, FileNotFoundError):
        if os.path.islink(source):
            return "broken symbolic link: its target does not exist"
        return "the file disappeared before it could be read"
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(error, PermissionError):
        return "cannot read the file: permission denied"
    return f"cannot read the file: {error.strerror or error}"


@contextlib.contextmanager
def _decompression_bombs_refused() -> Iterator[None]:
    """Pillow raises past twice its pixel limit and only warns between it and twice it:
    refuse both alike. Decoders' other warnings (odd EXIF and the like) are only noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise TooLargeError(
                f"too large to open safely: more than {Image.MAX_IMAGE_PIXELS:,} pixels "
                "(Pillow's limit against decompression bombs)"
            ) from None


def _photo_from_file(image: Image.Image) -> Photo:
    orientation = _orientation(image)
    loop = image.info.get("loop")
    frames = []
    for index in range(_frame_count(image)):
        image.seek(index)
        image.load()
        frames.append(frame_from_image(image, orientation))
    return Photo(tuple(frames), loop)


def _frame_count(image: Image.Image) -> int:
    # An MPO's later images are the camera's previews, depth and gain maps, not the photo;
    # a HEIF's other top-level images are alternatives to its primary one.
    if image.format in ("MPO", "HEIF"):
        return 1
    return getattr(image, "n_frames", 1)


def _orientation(image: Image.Image) -> int:
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
    except (OSError, SyntaxError, ValueError, TypeError):
        return 1  # unreadable EXIF: the pixels as stored are the best we have
    return orientation if orientation in _UPRIGHT else 1


def frame_from_image(image: Image.Image, orientation: Optional[int] = None) -> Frame:
    """The current frame of a PIL image as upright sRGB ``uint8`` pixels (plus alpha).

    ``orientation`` is the file's EXIF orientation; by default it is read from ``image``.
    """
    if orientation is None:
        orientation = _orientation(image)
    has_alpha = image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info
    alpha = np.asarray(image.convert("RGBA").getchannel("A")) if has_alpha else None
    rgb = np.asarray(_to_srgb(image))
    transpose = _UPRIGHT.get(orientation)
    if transpose is not None:
        rgb = np.asarray(Image.fromarray(rgb).transpose(transpose))
        if alpha is not None:
            alpha = np.asarray(Image.fromarray(alpha).transpose(transpose))
    duration = image.info.get("duration") or 0
    return Frame(
        np.ascontiguousarray(rgb).copy(),
        None if alpha is None else np.ascontiguousarray(alpha).copy(),
        int(duration),
    )


def _to_srgb(image: Image.Image) -> Image.Image:
    """An RGB image of the frame's colours in sRGB, so they stay right without the profile."""
    icc = image.info.get("icc_profile")
    if image.mode in _WIDE_GREY_MODES:
        image = _to_eight_bit_grey(image)
    profile_mode = _PROFILE_MODES.get(icc[16:20]) if icc and len(icc) >= 20 else None
    if profile_mode is None or (profile_mode == "CMYK") != (image.mode == "CMYK"):
        return image.convert("RGB")
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(
            image.convert(profile_mode), source, _SRGB,
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image.convert("RGB")  # a broken profile: the colours as stored are the best we have


def _to_eight_bit_grey(image: Image.Image) -> Image.Image:
    wide = np.asarray(image).astype(np.float64)
    return Image.fromarray(np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8), "L")

