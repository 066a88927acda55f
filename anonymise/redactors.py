"""Redaction styles: one class each, one verb, ``redact(rgb, regions) -> new rgb``.

Every style's strength is relative to the size of the face, and every style replaces
every pixel of every region: a covered pixel never keeps its original value.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, Sequence, Tuple, Type

import cv2
import numpy as np

from anonymise.regions import Region

# The most cells across a face that a blur or pixelation keeps of the original: with 8x8
# averaged colours nothing identifying survives (published attacks re-identify plain
# pixelation with 16+ blocks across a face, and undo plain Gaussian blur).
DEFAULT_DETAIL = 8
# Fewest original pixels summarised by one cell, so tiny faces are reduced too.
_MIN_CELL_PIXELS = 4


class Redactor(ABC):
    """Covers regions of an RGB ``uint8`` image, returning a new image."""

    name: str

    def __init__(self) -> None:
        # Fresh OS entropy per run: the noise mixed into covers must not be predictable.
        self._rng = np.random.default_rng()

    def redact(self, rgb: np.ndarray, regions: Sequence[Region]) -> np.ndarray:
        out = rgb.copy()
        for region in regions:
            patch = out[region.y1 : region.y2, region.x1 : region.x2]
            mask = region.mask()
            cover = _differing_everywhere(patch, self.cover(patch, mask))
            patch[mask] = cover[mask]
        return out

    @abstractmethod
    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """New content for the whole box of a region; only the pixels in ``mask`` are used."""


class BlurRedactor(Redactor):
    """Looks like a strong blur, but made only from a coarse summary of the face plus noise."""

    name = "blur"

    def __init__(self, detail: int = DEFAULT_DETAIL, noise: float = 8.0) -> None:
        super().__init__()
        self.detail = detail
        self.noise = noise

    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        height, width = patch.shape[:2]
        coarse = _cell_means(patch, self.detail).astype(np.float32)
        smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
        noisy = smooth + self._rng.normal(0.0, self.noise, smooth.shape).astype(np.float32)
        sigma = max(width, height) / (2 * self.detail)
        blurred = cv2.GaussianBlur(noisy, (0, 0), sigmaX=sigma, sigmaY=sigma)
        return np.clip(np.rint(blurred), 0, 255).astype(np.uint8)


class PixelateRedactor(Redactor):
    """Blocks of averaged colour (means, not corner samples), each nudged by noise."""

    name = "pixelate"

    def __init__(self, blocks: int = DEFAULT_DETAIL, noise: float = 6.0) -> None:
        super().__init__()
        self.blocks = blocks
        self.noise = noise

    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        height, width = patch.shape[:2]
        means = _cell_means(patch, self.blocks).astype(np.float32)
        means += self._rng.normal(0.0, self.noise, means.shape).astype(np.float32)
        means = np.clip(np.rint(means), 0, 255).astype(np.uint8)
        return cv2.resize(means, (width, height), interpolation=cv2.INTER_NEAREST)


class SolidRedactor(Redactor):
    """One flat colour."""

    name = "solid"

    def __init__(self, colour: Tuple[int, int, int] = (0, 0, 0)) -> None:
        super().__init__()
        self.colour = np.array(colour, dtype=np.uint8)

    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.colour, patch.shape).copy()


class EmojiRedactor(Redactor):
    """An opaque drawn face over the whole region: the backing disc fills every pixel."""

    name = "emoji"

    BACKING = (255, 204, 51)
    FEATURES = (77, 51, 26)

    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        height, width = patch.shape[:2]
        canvas = np.empty((height, width, 3), dtype=np.uint8)
        canvas[:] = self.BACKING
        if min(width, height) >= 8:
            line = max(1, round(min(width, height) / 16))
            eye_axes = (max(1, width // 14), max(1, height // 9))
            for eye_x in (0.35, 0.65):
                centre = (round(width * eye_x), round(height * 0.38))
                cv2.ellipse(canvas, centre, eye_axes, 0, 0, 360, self.FEATURES, -1, cv2.LINE_AA)
            mouth_centre = (width // 2, round(height * 0.55))
            mouth_axes = (max(1, round(width * 0.25)), max(1, round(height * 0.2)))
            cv2.ellipse(canvas, mouth_centre, mouth_axes, 0, 20, 160, self.FEATURES, line, cv2.LINE_AA)
        return canvas


REDACTORS: Dict[str, Type[Redactor]] = {
    "blur": BlurRedactor,
    "pixelate": PixelateRedactor,
    "solid": SolidRedactor,
    "emoji": EmojiRedactor,
}
DEFAULT_STYLE = "blur"


def build_redactor(style: str = DEFAULT_STYLE) -> Redactor:
    try:
        return REDACTORS[style]()
    except KeyError:
        raise ValueError(f"unknown style {style!r}; choose from {', '.join(REDACTORS)}") from None


def _cell_means(patch: np.ndarray, most_cells: int) -> np.ndarray:
    """The patch averaged down to at most ``most_cells`` cells across each side."""
    height, width = patch.shape[:2]
    cells_x = int(np.clip(width // _MIN_CELL_PIXELS, 1, most_cells))
    cells_y = int(np.clip(height // _MIN_CELL_PIXELS, 1, most_cells))
    return cv2.resize(patch, (cells_x, cells_y), interpolation=cv2.INTER_AREA)


def _differing_everywhere(original: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """``cover`` with every pixel that happens to equal the original flipped in its last bit.

    A cover can match the original by chance (a flat background, a black face under a black
    fill); the one-level change is invisible and means no covered pixel is a copy.
    """
    same = np.all(original == cover, axis=-1)
    if same.any():
        cover = cover.copy()
        cover[same] ^= 1
    return cover
