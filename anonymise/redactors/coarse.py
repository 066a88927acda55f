"""The coarse summary that ``blur`` and ``pixelate`` are built from, and nothing else.

A region is averaged down to at most 8x8 cells and each cell's colour is moved by random
noise. That is all of the original a blurred or pixelated face keeps: fine detail is not
hidden but gone, so no deblurring or depixelation model can bring it back, and the noise
means even the averages can only be guessed.
"""

from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

from anonymise.redactors.base import Redactor

# The most cells across a region (the face box grown by --mask-scale, 1.5 by default, so
# about 5 cells across the face itself). Plain pixelation with 16 or more blocks across a
# face, and plain blur, can be undone or re-identified (docs/styles.md).
DEFAULT_DETAIL = 8
# Fewest original pixels across one cell, so a tiny face is reduced too: a 12-pixel
# region keeps 3x3 averages, not 8x8 copies of its pixels.
MIN_CELL_PIXELS = 4
# Standard deviation of the noise added to each cell's brightness, in levels of 0-255:
# strong enough that a cell's average is only known to within about 20 levels, faint
# enough that the cover keeps the look of the scene.
CELL_NOISE = 10.0
# Each channel also gets its own noise, this fraction as strong: enough that the colour
# of a cell is uncertain too, little enough not to paint skin green and purple.
_TINT_FRACTION = 0.3


def cell_grid(width: int, height: int, most_cells: int = DEFAULT_DETAIL) -> Tuple[int, int]:
    """How many cells across and down summarise a ``width`` x ``height`` region."""
    cells_x = int(np.clip(width // MIN_CELL_PIXELS, 1, most_cells))
    cells_y = int(np.clip(height // MIN_CELL_PIXELS, 1, most_cells))
    return cells_x, cells_y


class CoarseRedactor(Redactor):
    """A style drawn from the region's cell averages plus noise; subclasses decide how."""

    # How much stronger the noise is drawn than ``noise``, for styles that smooth some of it
    # away afterwards: what survives in the output is what counts.
    noise_gain = 1.0
    options = ("detail", "noise", "seed")

    def __init__(self, detail: int = DEFAULT_DETAIL, noise: float = CELL_NOISE, seed: Optional[int] = None):
        if detail < 1:
            raise ValueError("detail must be at least 1 cell")
        self.detail = detail
        self.noise = noise
        # Fresh OS entropy unless a seed is given (for reproducible docs and tests): the
        # noise must not be predictable by someone holding the output.
        self._seed = seed
        self._rng = np.random.default_rng(seed)

    def key(self) -> dict:
        return {"style": self.name, "detail": self.detail, "noise": self.noise}

    def __setstate__(self, state: dict) -> None:
        # Sent to a worker process: draw fresh noise there, not a copy of this stream.
        self.__dict__.update(state)
        self._rng = np.random.default_rng(self._seed)

    def noisy_cells(self, patch: np.ndarray) -> np.ndarray:
        """The patch's cell averages with noise added, as ``float32`` (cells down, cells across, 3)."""
        height, width = patch.shape[:2]
        cells = cv2.resize(patch, cell_grid(width, height, self.detail), interpolation=cv2.INTER_AREA)
        strength = self.noise * self.noise_gain
        brightness = self._rng.normal(0.0, strength, (*cells.shape[:2], 1))
        tint = self._rng.normal(0.0, strength * _TINT_FRACTION, cells.shape)
        return (cells + brightness + tint).astype(np.float32)
