"""The models a worker anonymises with, built once and passed to the core.

``Models`` names every model the core uses: the detector that finds the faces, and the
verifier, a second, different model that looks at the covered photo (``None`` when the
verification pass is off). Nothing in the core loads a model of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from anonymise.detectors import DEFAULT_DETECTOR, Detector, build_detector

# The verification pass asks another model: the same detector run again on the covered
# photo sees the same uncovered pixels as before and misses the same faces.
VERIFIER_DETECTOR = "blazeface"


@dataclass(frozen=True)
class Models:
    detector: Detector
    verifier: Optional[Detector] = None
    # Threads each inference may use (0: one per core); what the models were built with.
    threads: int = 0


def build_models(detector: str = DEFAULT_DETECTOR, verify: bool = True, threads: int = 0) -> Models:
    """Load the detector registered as ``detector`` and, with ``verify``, the verifier
    (slow: once per worker)."""
    return Models(
        build_detector(detector, threads=threads),
        build_detector(VERIFIER_DETECTOR, threads=threads) if verify else None,
        threads,
    )


def with_verifier(models: Models) -> Models:
    """``models`` with the verifier beside their detector, loaded now if they have none:
    the review window's models have none until a video, which nobody reviews, needs the
    verification pass the command line gives it."""
    if models.verifier is not None:
        return models
    return replace(models, verifier=build_detector(VERIFIER_DETECTOR, threads=models.threads))
