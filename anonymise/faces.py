"""`Faces`: the one value type for what the detectors found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

import cv2
import numpy as np

Index = Union[np.ndarray, slice, int, list]

# Boxes from different passes or models overlapping more than this are the same face.
SAME_FACE_IOU = 0.4
_LEADER_BLOCK = 128


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

        Greedy, best score first: the best box left and every box left overlapping it by
        more than ``iou_threshold`` form a group; boxes with no area are dropped. Keeps the
        group's best score and the name of the detector that gave it. Averaging rather than
        keeping only the best box keeps the boxes of a multi-scale pass steady.
        """
        faces = self[_has_area(self.xyxy)]  # a box with no area covers nothing
        if not len(faces):
            return Faces.empty()
        return faces._merged(iou_threshold)

    def _merged(self, iou_threshold: float) -> "Faces":
        # The groups' best boxes are exactly the boxes greedy suppression keeps; every other
        # box joins the first of them (best first) that it overlaps.
        leaders = non_max_suppression(self.xyxy, self.scores, iou_threshold)
        group = np.full(len(self), -1)
        # Leaders a block at a time: a crowd gives thousands of raw boxes, and the whole
        # leaders x boxes matrix would take hundreds of MB.
        for first in range(0, len(leaders), _LEADER_BLOCK):
            block = leaders[first : first + _LEADER_BLOCK]
            open_boxes = np.flatnonzero(group < 0)
            overlaps = pairwise_iou(self.xyxy[block], self.xyxy[open_boxes]) > iou_threshold
            joins = overlaps.any(axis=0)
            group[open_boxes[joins]] = first + np.argmax(overlaps[:, joins], axis=0)
        weights = np.maximum(self.scores.astype(np.float64), 1e-9)  # no group weighs nothing
        sums = np.zeros((len(leaders), 4))
        np.add.at(sums, group, self.xyxy * weights[:, None])
        xyxy = sums / np.bincount(group, weights=weights, minlength=len(leaders))[:, None]
        return Faces(xyxy.astype(np.float32), self.scores[leaders], self.detectors[leaders])


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one xyxy box against many."""
    return pairwise_iou(np.asarray(box)[None], boxes)[0]


def pairwise_iou(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of every xyxy box in ``boxes`` (rows) with every one in ``others``."""
    boxes = boxes[:, None, :]
    others = others[None, :, :]
    width = np.minimum(boxes[..., 2], others[..., 2]) - np.maximum(boxes[..., 0], others[..., 0])
    height = np.minimum(boxes[..., 3], others[..., 3]) - np.maximum(boxes[..., 1], others[..., 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    other_area = (others[..., 2] - others[..., 0]) * (others[..., 3] - others[..., 1])
    return inter / np.maximum(area + other_area - inter, 1e-9)


def non_max_suppression(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best first.

    A box is dropped when it overlaps a better kept box by more than ``iou_threshold``.
    """
    # OpenCV's NMS in C++: the Python loop it replaced took 5-15 % of a photo's time on
    # crowds. Same rule, stable in score order like np.argsort(kind="stable"). OpenCV
    # counts two boxes with no area as the same box, so those are dropped first.
    real = np.flatnonzero(_has_area(xyxy))
    if not len(real):
        return np.zeros(0, dtype=np.intp)
    xyxy, scores = xyxy[real], scores[real]
    xywh = np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]).astype(np.float64)
    # It keeps only scores above a threshold >= 0: shift them all above 0, order unchanged.
    ranks = scores.astype(np.float64) - float(np.min(scores)) + 1.0
    kept = cv2.dnn.NMSBoxes(xywh.tolist(), ranks.tolist(), 0.0, float(iou_threshold))
    return real[np.asarray(kept, dtype=np.intp).reshape(-1)]


def _has_area(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
