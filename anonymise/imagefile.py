"""Files in and out: decode and orient at the edge, write clean copies atomically.

Inside anonymise a photo is an upright RGB ``uint8`` array (plus its alpha channel, if it
had one); nothing from the input file other than its pixels reaches the output.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from anonymise.errors import NotAnImageError, UnreadableImageError, WriteError

# Pillow format name for each extension anonymise reads, and writes back in kind.
FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
_SAVE_OPTIONS = {
    # 4:4:4 chroma keeps the covered edges and the rest of the photo crisp.
    "JPEG": {"quality": 95, "subsampling": 0},
    "PNG": {"optimize": False},
    "WEBP": {"quality": 95, "method": 4},
    "TIFF": {"compression": "tiff_lzw"},
    "BMP": {},
}
_SRGB = ImageCms.createProfile("sRGB")


@dataclass
class Photo:
    """An upright photo: RGB pixels, optional alpha, and the format it came in."""

    rgb: np.ndarray
    alpha: Optional[np.ndarray]
    format: str

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def height(self) -> int:
        return self.rgb.shape[0]


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in FORMATS


def load_photo(path: Path) -> Photo:
    """Decode ``path``, apply its EXIF orientation and colour profile, keep only pixels."""
    if not is_supported(path):
        raise NotAnImageError(f"not a supported photo type ({path.suffix or 'no extension'})")
    try:
        with Image.open(path) as image:
            image.load()
            return photo_from_image(image, FORMATS[path.suffix.lower()])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImageError(f"cannot read image: {_one_line(error)}") from None


def photo_from_image(image: Image.Image, format: str) -> Photo:
    """Upright sRGB pixels of a PIL image (orientation and ICC profile applied)."""
    image = ImageOps.exif_transpose(image) or image
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    icc = image.info.get("icc_profile")
    rgb_image = image.convert("RGBA" if has_alpha else "RGB")
    if icc:
        rgb_image = _to_srgb(rgb_image, icc)
    pixels = np.asarray(rgb_image)
    if has_alpha:
        return Photo(np.ascontiguousarray(pixels[..., :3]), pixels[..., 3].copy(), format)
    return Photo(pixels.copy(), None, format)


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Convert to sRGB so colours stay right once the profile is dropped from the output."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: the pixels as stored are the best we have


def image_from_photo(photo: Photo) -> Image.Image:
    """A brand-new PIL image holding only the photo's pixels (no info, no metadata)."""
    if photo.alpha is None:
        return Image.fromarray(photo.rgb, "RGB")
    return Image.fromarray(np.dstack([photo.rgb, photo.alpha]), "RGBA")


def save_photo(photo: Photo, destination: Path) -> None:
    """Write ``photo`` to ``destination`` atomically, from pixels only, and check it is clean.

    The file appears only complete and checked; on any failure nothing is left behind.
    """
    image = image_from_photo(photo)
    if photo.format in ("JPEG",) and image.mode == "RGBA":
        image = image.convert("RGB")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
        )
    except OSError as error:
        raise WriteError(f"cannot write {destination}: {_one_line(error)}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            image.save(stream, format=photo.format, **_SAVE_OPTIONS[photo.format])
            stream.flush()
            os.fsync(stream.fileno())
        check_clean(Path(temporary))
        os.replace(temporary, destination)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(error, (OSError, ValueError)):
            raise WriteError(f"cannot write {destination}: {_one_line(error)}") from None
        raise


# The TIFF tags that only describe the pixel layout; anything else is metadata.
_STRUCTURAL_TIFF_TAGS = {
    256, 257, 258, 259, 262, 273, 277, 278, 279, 282, 283, 284, 296, 317, 338, 339,
}
_METADATA_INFO_KEYS = (
    "exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop", "iptc",
)


def check_clean(path: Path) -> None:
    """Re-read a written file and refuse it if it carries any metadata."""
    with Image.open(path) as written:
        leaks = sorted(key for key in _METADATA_INFO_KEYS if written.info.get(key))
        if written.format == "TIFF":
            extra_tags = set(written.tag_v2) - _STRUCTURAL_TIFF_TAGS
            if extra_tags:
                leaks.append(f"TIFF tags {sorted(extra_tags)}")
        elif written.getexif():
            leaks.append("EXIF tags")
        if written.format == "PNG" and getattr(written, "text", None):
            leaks.append("PNG text")
    if leaks:
        raise WriteError(f"written file still carries {', '.join(leaks)}")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
