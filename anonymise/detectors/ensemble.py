"""Several detectors run on the same photo, their boxes merged into one set of faces."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from anonymise.detectors.base import Detector
from anonymise.faces import Faces


class Ensemble(Detector):
    name = "ensemble"

    def __init__(self, members: Sequence[Detector]) -> None:
        self.members = list(members)

    def detect(self, rgb: np.ndarray) -> Faces:
        return Faces.concatenate(m.detect(rgb) for m in self.members).merged()
