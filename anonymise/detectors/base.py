"""The interface every detector backend follows."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from anonymise.faces import Faces

# Backends report every candidate scored at least this much; the user's threshold is a
# filter applied afterwards, so a review window can re-threshold without re-running models.
SCORE_FLOOR = 0.05


class Detector(ABC):
    """Finds faces in an upright RGB image (``uint8``, shape ``(H, W, 3)``).

    Built once per run (loading a model is the slow part) and reused for every photo.
    """

    name: str

    @abstractmethod
    def detect(self, rgb: np.ndarray) -> Faces:
        """All candidate faces scored at least ``SCORE_FLOOR``, in pixels of ``rgb``."""
