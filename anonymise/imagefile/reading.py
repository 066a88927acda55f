"""Decoding at the edge: every frame upright, in sRGB, as ``uint8`` pixels and nothing else."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

from anonymise.errors import NotAnImageError, UnreadableImageError
from anonymise.imagefile.formats import STEREO_PAIR_EXTENSIONS, is_supported
from anonymise.imagefile.photo import Frame, Photo, one_line

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
    """Decode every frame of ``path`` upright and in sRGB, keeping only pixels and timing."""
    if not is_supported(path):
        raise NotAnImageError(f"not a supported photo type ({path.suffix or 'no extension'})")
    try:
        with Image.open(path) as image:
            photo = _photo_from_file(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as error:
        raise UnreadableImageError(f"cannot read image: {one_line(error)}") from None
    # A .jps is a plain JPEG that viewers show as a stereo pair: its name is all that says so.
    if path.suffix.lower() in STEREO_PAIR_EXTENSIONS:
        return Photo(photo.frames, photo.loop, views=2)
    return photo


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

