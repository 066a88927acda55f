"""The project's own emoji, drawn from shapes so they are sharp at any face size.

No font, image file or download: each emoji is a list of filled shapes in a 100x100
square, kept inside the circle inscribed in it so that an elliptical region never cuts
the art. The square is drawn on the emoji's opaque backing colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

from PIL import Image, ImageDraw

Colour = Tuple[int, int, int]

# Shapes are drawn on a larger canvas, then averaged down: smooth edges without any
# transparency, because every sample is either art or backing. At least 4 samples a side
# per pixel, at least 256 so tiny faces still get a well-formed drawing, and at most
# 2,048 so a huge face does not need a huge canvas (one pixel of stair is invisible there).
_SUPERSAMPLE = 4
_MIN_CANVAS = 256
_MAX_CANVAS = 2048


@dataclass(frozen=True)
class Shape:
    """One filled shape: ``kind`` is a ``PIL.ImageDraw`` method, ``xy`` in units of the 100 square.

    ``radius`` rounds a ``rounded_rectangle``; ``outline`` and ``stroke`` (units) draw an edge.
    """

    kind: str
    xy: Sequence[float]
    fill: Colour
    outline: Optional[Colour] = None
    stroke: float = 0.0
    radius: float = 0.0


@dataclass(frozen=True)
class DrawnEmoji:
    """An emoji made of ``shapes``, drawn in order over its ``backing`` colour."""

    backing: Colour
    shapes: Tuple[Shape, ...]

    def render(self, size: int) -> Image.Image:
        """The emoji as an opaque ``size`` x ``size`` RGB image."""
        side = max(size, _MIN_CANVAS, min(_SUPERSAMPLE * size, _MAX_CANVAS))
        canvas = Image.new("RGB", (side, side), self.backing)
        draw = ImageDraw.Draw(canvas)
        unit = side / 100
        for shape in self.shapes:
            xy = [v * unit for v in shape.xy]
            width = max(1, round(shape.stroke * unit)) if shape.outline else 0
            if shape.kind == "rounded_rectangle":
                draw.rounded_rectangle(xy, shape.radius * unit, shape.fill, shape.outline, width)
            else:
                getattr(draw, shape.kind)(xy, shape.fill, shape.outline, width)
        return canvas.resize((size, size), Image.Resampling.BOX) if side > size else canvas


# Backings are light or vivid, never dark: a dark oval around a lighter middle looks
# like hair round a face, and CenterFace scored emoji on a navy backing as faces (up to
# 0.26 on the sample photos, where these backings score below 0.2).
_SKY = (120, 200, 230)


def _darker(colour: Colour, amount: float) -> Colour:
    return tuple(round(c * (1 - amount)) for c in colour)


def _fist(skin: Colour) -> DrawnEmoji:
    """The raised fist seen from the front: four curled fingers, the thumb across them, the wrist."""
    edge = _darker(skin, 0.45)
    line = 2.6

    def part(kind, xy, radius=0.0):
        return Shape(kind, xy, skin, edge, line, radius)

    return DrawnEmoji(
        backing=_SKY,
        shapes=(
            part("rectangle", (37, 74, 65, 94)),  # wrist
            part("rounded_rectangle", (22, 34, 79, 80), radius=16),  # back of the hand
            part("rounded_rectangle", (65, 27, 79, 50), radius=7),  # little finger
            part("rounded_rectangle", (51, 22, 65, 48), radius=7),  # ring finger
            part("rounded_rectangle", (37, 20, 51, 48), radius=7),  # middle finger
            part("rounded_rectangle", (23, 23, 37, 49), radius=7),  # index finger
            part("rounded_rectangle", (55, 45, 79, 61), radius=8),  # fingertips curled into the palm
            part("rounded_rectangle", (18, 46, 63, 62), radius=8),  # thumb across the fingers
        ),
    )


# Skin tones from the Unicode emoji modifiers (Fitzpatrick types 1-2 to 6) and the
# usual yellow of a tone-less emoji.
_SKIN_TONES: Dict[str, Colour] = {
    "": (255, 204, 77),
    "-light": (247, 222, 206),
    "-medium-light": (243, 210, 162),
    "-medium": (212, 171, 136),
    "-medium-dark": (175, 126, 87),
    "-dark": (124, 83, 62),
}

_HEART = DrawnEmoji(
    backing=(255, 232, 238),
    shapes=(
        Shape("ellipse", (16, 22, 52, 58), (221, 46, 68)),
        Shape("ellipse", (48, 22, 84, 58), (221, 46, 68)),
        Shape("polygon", (18.5, 48, 81.5, 48, 50, 84), (221, 46, 68)),
    ),
)

_STAR = DrawnEmoji(
    backing=(222, 216, 246),
    shapes=(
        Shape(
            "polygon",
            (50, 10, 60.6, 35.4, 88, 37.6, 67.1, 55.5, 73.5, 82.4, 50, 68, 26.5, 82.4, 32.9, 55.5, 12, 37.6, 39.4, 35.4),
            (255, 198, 51), (214, 140, 20), 2.5,
        ),
    ),
)

EMOJIS: Dict[str, DrawnEmoji] = {
    **{f"fist{tone}": _fist(skin) for tone, skin in _SKIN_TONES.items()},
    "heart": _HEART,
    "star": _STAR,
}
DEFAULT_EMOJI = "fist"
