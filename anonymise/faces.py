"""`Faces`: the one value type for what the detectors found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

import numpy as np

Index = Union[np.ndarray, slice, int, list]

# Boxes from different passes or models overlapping more than this are the same face.
SAME_FACE_IOU = 0.4


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Faces:
    """Faces found in one upright image.

    ``xyxy`` holds one box per face as ``[x1, y1, x2, y2]`` float pixels of the upright
    image (``x2``/``y2`` exclusive), ``scores`` the detector's confidence, ``detectors``
    the name of the detector that found each face. Index it with a boolean mask or indices
    to filter: ``faces[faces.scores >= 0.5]``. An empty result is a valid ``Faces`` with
    arrays of shape ``(0, 4)`` and ``(0,)``.
    """

    xyxy: np.ndarray
    scores: np.ndarray
    detectors: np.ndarray

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        detectors = np.asarray(self.detectors, dtype=object).reshape(-1)
        if not len(xyxy) == len(scores) == len(detectors):
            raise ValueError(
                f"Faces needs one score and one detector per box, got {len(xyxy)} boxes, "
                f"{len(scores)} scores and {len(detectors)} detectors"
            )
        object.__setattr__(self, "xyxy", _readonly(xyxy))
        object.__setattr__(self, "scores", _readonly(scores))
        object.__setattr__(self, "detectors", _readonly(detectors))

    @classmethod
    def empty(cls) -> "Faces":
        return cls(np.empty((0, 4)), np.empty(0), np.empty(0, dtype=object))

    @classmethod
    def from_detector(cls, xyxy: np.ndarray, scores: np.ndarray, detector: str) -> "Faces":
        return cls(xyxy, scores, np.full(len(scores), detector, dtype=object))

    @classmethod
    def concatenate(cls, parts: Iterable["Faces"]) -> "Faces":
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.detectors for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, index: Index) -> "Faces":
        if isinstance(index, int):
            index = [index]
        return Faces(self.xyxy[index], self.scores[index], self.detectors[index])

    def __repr__(self) -> str:
        return f"Faces({len(self)} faces)"

    @property
    def widths(self) -> np.ndarray:
        return self.xyxy[:, 2] - self.xyxy[:, 0]

    @property
    def heights(self) -> np.ndarray:
        return self.xyxy[:, 3] - self.xyxy[:, 1]

    def above(self, threshold: float) -> "Faces":
        """The faces scored at or above ``threshold``."""
        return self[self.scores >= threshold]

    def transformed(self, scale: float, offset_x: float = 0.0, offset_y: float = 0.0) -> "Faces":
        """Boxes mapped by ``p * scale + offset`` (e.g. from a resized tile back to the image)."""
        offset = np.array([offset_x, offset_y, offset_x, offset_y], dtype=np.float32)
        return Faces(self.xyxy * scale + offset, self.scores, self.detectors)

    def suppress_duplicates(self, iou_threshold: float) -> "Faces":
        """Keep the best-scored box of every group overlapping by more than ``iou_threshold``."""
        return self[non_max_suppression(self.xyxy, self.scores, iou_threshold)]

    def merged(self, iou_threshold: float = SAME_FACE_IOU) -> "Faces":
        """One box per face: each group of overlapping boxes becomes their score-weighted mean.

        Keeps the group's best score and the name of the detector that gave it. Averaging
        rather than keeping only the best box keeps the boxes of a multi-scale pass steady.
        """
        order = np.argsort(-self.scores, kind="stable")
        xyxy, scores, detectors = [], [], []
        while len(order):
            best = order[0]
            same = box_iou(self.xyxy[best], self.xyxy[order]) > iou_threshold
            same[0] = True  # a box with no area overlaps nothing, not even itself
            group = order[same]
            weights = self.scores[group][:, None]
            xyxy.append((self.xyxy[group] * weights).sum(axis=0) / weights.sum())
            scores.append(self.scores[best])
            detectors.append(self.detectors[best])
            order = order[~same]
        if not xyxy:
            return Faces.empty()
        return Faces(np.array(xyxy), scores, detectors)


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one xyxy box against many."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def non_max_suppression(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(best)
        order = rest[box_iou(xyxy[best], xyxy[rest]) <= iou_threshold]
    return np.array(keep, dtype=np.intp)
