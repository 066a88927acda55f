"""``pixelate``: blocks of averaged colour, each moved by noise."""

from __future__ import annotations

import cv2
import numpy as np

from anonymise.redactors.coarse import CoarseRedactor


class PixelateRedactor(CoarseRedactor):
    """One flat block per cell of the coarse summary.

    Blocks are the mean of all their pixels, not one pixel sampled at a corner: a sampled
    pixel is an exact copy of the face, and many of them make a low-resolution portrait.
    """

    name = "pixelate"

    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        height, width = patch.shape[:2]
        blocks = np.clip(np.rint(self.noisy_cells(patch)), 0, 255).astype(np.uint8)
        return cv2.resize(blocks, (width, height), interpolation=cv2.INTER_NEAREST)
