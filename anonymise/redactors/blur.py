"""``blur``: looks like a strong blur, but is drawn only from the coarse summary."""

from __future__ import annotations

import cv2
import numpy as np

from anonymise.redactors.coarse import CoarseRedactor

# The noisy cells are smoothed at this many working pixels per cell and then stretched to
# the region: the same look at any face size, at the same small cost for a huge face.
_WORK_PIXELS_PER_CELL = 16


class BlurRedactor(CoarseRedactor):
    """The noisy cell colours spread smoothly over the region.

    A Gaussian blur of the face would keep its fine detail, only weakened, and deblurring
    recovers it; here the detail was never in the input to the smoothing.
    """

    name = "blur"
    # The one-cell smoothing keeps about a third of the cells' independent noise (3 levels
    # of 10, measured); drawing it 3x stronger leaves a blurred cell as uncertain as a block.
    noise_gain = 3.0

    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        height, width = patch.shape[:2]
        cells = self.noisy_cells(patch)
        cells_y, cells_x = cells.shape[:2]
        work_w = min(width, _WORK_PIXELS_PER_CELL * cells_x)
        work_h = min(height, _WORK_PIXELS_PER_CELL * cells_y)
        # Linear stretching leaves creases at the cell centres; a Gaussian one cell wide
        # smooths them away. Half a cell kept the eye band and chin of large faces: CenterFace
        # still scored the covered pixels alone as a (blurry) face, 0.2-0.3 on the samples.
        smooth = cv2.resize(cells, (work_w, work_h), interpolation=cv2.INTER_LINEAR)
        smooth = cv2.GaussianBlur(
            smooth, (0, 0), sigmaX=work_w / cells_x, sigmaY=work_h / cells_y, borderType=cv2.BORDER_REPLICATE
        )
        full = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.clip(np.rint(full), 0, 255).astype(np.uint8)
