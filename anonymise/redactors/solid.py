"""``solid``: one flat colour, nothing of the face at all."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from anonymise.redactors.base import Redactor


class SolidRedactor(Redactor):
    """Fills each region with one colour (black unless told otherwise).

    Where the face itself holds that exact colour, the whole region takes the nearest
    colour it does not hold, so it stays one colour and every pixel still changes.
    """

    name = "solid"
    options = ("colour",)

    def __init__(self, colour: Tuple[int, int, int] = (0, 0, 0)) -> None:
        self.colour = np.array(colour, dtype=np.uint8)

    def key(self):
        return {"style": self.name, "colour": [int(c) for c in self.colour]}

    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.colour, patch.shape)
