"""``emoji``: an opaque emoji over the whole region, ours or a picture the user brings."""

from __future__ import annotations

import hashlib
import io
import math
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from anonymise.redactors.base import Redactor, StyleOptionError
from anonymise.redactors.emoji_art import DEFAULT_EMOJI, EMOJIS, Colour, DrawnEmoji

# A user's picture is kept at most this large: enough for a face filling a photo, small
# enough to resize quickly for every face.
_MAX_PICTURE_SIDE = 2048


class PictureEmoji:
    """A user's picture (a PNG with transparency, or any image Pillow reads) as an emoji.

    Its transparent parts are flattened onto an opaque backing when it is loaded, so nothing
    under it can ever show through.
    """

    backing: Colour = (255, 255, 255)

    def __init__(self, path: Path) -> None:
        try:
            data = Path(path).read_bytes()
            with Image.open(io.BytesIO(data)) as picture:
                rgba = picture.convert("RGBA")
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as error:
            raise ValueError(f"cannot read the emoji picture {path}: {error}") from None
        # The picture read is the picture drawn: a file edited since counts as another.
        self.sha256 = hashlib.sha256(data).hexdigest()
        flat = Image.new("RGBA", rgba.size, self.backing + (255,))
        self.picture = Image.alpha_composite(flat, rgba).convert("RGB")
        self.picture.thumbnail((_MAX_PICTURE_SIDE, _MAX_PICTURE_SIDE), Image.Resampling.LANCZOS)

    def render(self, size: int) -> Image.Image:
        """The picture on its backing as a ``size`` x ``size`` RGB image.

        Like the drawn emoji it stays inside the square's inscribed circle, so an elliptical
        region shows all of it.
        """
        canvas = Image.new("RGB", (size, size), self.backing)
        aspect = self.picture.width / self.picture.height
        height = size / math.hypot(aspect, 1)
        width, height = max(1, round(aspect * height)), max(1, round(height))
        fitted = self.picture.resize((width, height), Image.Resampling.LANCZOS)
        canvas.paste(fitted, ((size - width) // 2, (size - height) // 2))
        return canvas


class EmojiRedactor(Redactor):
    """Fills the region with the emoji's backing colour and draws the emoji in the middle.

    The backing takes the region's own shape (every pixel of the ellipse or box), so the
    whole region is opaque: nothing of the face shows around the emoji or through its
    smoothed edges, which blend art and backing only.
    """

    name = "emoji"
    options = ("emoji", "emoji_file")

    def __init__(self, emoji: Optional[str] = None, emoji_file: Optional[Union[str, Path]] = None) -> None:
        if emoji is not None and emoji_file is not None:
            raise StyleOptionError("choose an emoji or an emoji file, not both", self.name, self.options,
                                   conflict=True)
        if emoji_file is not None:
            self.art: Union[DrawnEmoji, PictureEmoji] = PictureEmoji(Path(emoji_file))
        else:
            emoji = emoji or DEFAULT_EMOJI
            if emoji not in EMOJIS:
                raise ValueError(f"unknown emoji {emoji!r}; choose from {', '.join(EMOJIS)}")
            self.art = EMOJIS[emoji]
        self.emoji = emoji

    def key(self) -> Dict[str, Any]:
        if isinstance(self.art, PictureEmoji):
            return {"style": self.name, "emoji_file_sha256": self.art.sha256}
        return {"style": self.name, "emoji": self.emoji}

    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        height, width = patch.shape[:2]
        canvas = np.empty((height, width, 3), dtype=np.uint8)
        canvas[:] = self.art.backing
        size = min(width, height)
        top, left = (height - size) // 2, (width - size) // 2
        canvas[top : top + size, left : left + size] = np.asarray(self.art.render(size))
        return canvas
