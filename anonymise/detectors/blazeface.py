"""MediaPipe BlazeFace, short-range (faces within ~2 m) and full-range (within ~5 m).

Uses ``mediapipe.solutions.face_detection``: mediapipe 0.10.21 ships both models in its
wheel, and the Tasks API cannot load the full-range one.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from anonymise.dependencies import mediapipe_without_matplotlib
from anonymise.detectors.base import SCORE_FLOOR, Detector
from anonymise.faces import Faces

_RANGES = {"short": 0, "full": 1}  # mediapipe's model_selection values


class BlazeFace(Detector):
    name = "blazeface"

    def __init__(self, ranges: tuple = ("short", "full")) -> None:
        unknown = set(ranges) - set(_RANGES)
        if unknown:
            raise ValueError(f"unknown BlazeFace range {sorted(unknown)}; choose from {list(_RANGES)}")
        with _native_stderr_silenced(), mediapipe_without_matplotlib():
            from mediapipe.python.solutions import face_detection

            self._models = {
                f"{self.name}-{which}": face_detection.FaceDetection(
                    model_selection=_RANGES[which], min_detection_confidence=SCORE_FLOOR
                )
                for which in ranges
            }
            # The first inference sets up TFLite, which logs; do it here, silenced.
            blank = np.zeros((64, 64, 3), dtype=np.uint8)
            for model in self._models.values():
                model.process(blank)

    def detect(self, rgb: np.ndarray) -> Faces:
        height, width = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb)
        found = []
        for label, model in self._models.items():
            result = model.process(rgb)
            for detection in result.detections or []:
                box = detection.location_data.relative_bounding_box
                x1, y1 = box.xmin * width, box.ymin * height
                xyxy = [x1, y1, x1 + box.width * width, y1 + box.height * height]
                found.append((xyxy, detection.score[0], label))
        if not found:
            return Faces.empty()
        xyxy = np.clip(np.array([f[0] for f in found]), 0, [width, height, width, height])
        # Both ranges often find the same face: report it once.
        return Faces(xyxy, [f[1] for f in found], [f[2] for f in found]).merged()


@contextlib.contextmanager
def _native_stderr_silenced():
    """Keep TFLite's and glog's C++ start-up chatter off the user's terminal.

    They write to file descriptor 2 directly, so ``sys.stderr`` redirection cannot catch it.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (e.g. a windowed app): nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
