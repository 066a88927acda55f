"""The one internal image type: upright sRGB frames of pixels, and nothing from the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One upright picture: RGB ``uint8`` pixels ``(H, W, 3)`` and optional alpha ``(H, W)``."""

    rgb: np.ndarray
    alpha: Optional[np.ndarray] = None
    # How long an animation shows this frame, in milliseconds (0 for a still photo).
    duration_ms: int = 0


@dataclass(frozen=True)
class Photo:
    """A photo's frames: one for a still, several for an animation.

    ``loop`` is the animation's repeat count as stored (0 = forever), ``None`` if not given.
    ``views`` is how many pictures of one scene sit side by side in each frame: 2 for a
    stereo pair (left and right halves), 1 for everything else.
    """

    frames: Tuple[Frame, ...]
    loop: Optional[int] = None
    views: int = 1

    @property
    def rgb(self) -> np.ndarray:
        """The pixels of the first (for a still photo, the only) frame."""
        return self.frames[0].rgb

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def height(self) -> int:
        return self.rgb.shape[0]
