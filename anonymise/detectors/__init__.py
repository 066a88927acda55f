"""Face detector backends, chosen by name from one registry."""

from __future__ import annotations

from typing import Callable, Dict

from anonymise.detectors.base import SCORE_FLOOR, Detector
from anonymise.detectors.blazeface import BlazeFace
from anonymise.detectors.centerface import CenterFace
from anonymise.detectors.ensemble import Ensemble


def _default_ensemble() -> Detector:
    # CenterFace at 1x and 2x: the 2x pass finds the small faces of crowd photos.
    return Ensemble([CenterFace(1.0), CenterFace(2.0)])


DETECTORS: Dict[str, Callable[[], Detector]] = {
    "ensemble": _default_ensemble,
    "centerface": CenterFace,
    "blazeface": BlazeFace,
}
DEFAULT_DETECTOR = "ensemble"


def build_detector(name: str = DEFAULT_DETECTOR) -> Detector:
    """Load the detector registered as ``name`` (slow: do it once per run)."""
    try:
        factory = DETECTORS[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; choose from {', '.join(DETECTORS)}") from None
    return factory()


__all__ = [
    "DETECTORS",
    "DEFAULT_DETECTOR",
    "SCORE_FLOOR",
    "BlazeFace",
    "CenterFace",
    "Detector",
    "Ensemble",
    "build_detector",
]
