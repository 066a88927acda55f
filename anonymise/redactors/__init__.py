"""Redaction styles: one class each, one verb, ``redact(rgb, regions) -> new rgb``.

Every style's strength is relative to the size of the region, and every style replaces
every pixel of every region: a covered pixel never keeps its original value.
"""

from __future__ import annotations

from typing import Any, Dict, Type

from anonymise.redactors.base import Redactor, StyleOptionError
from anonymise.redactors.blur import BlurRedactor
from anonymise.redactors.emoji import EmojiRedactor
from anonymise.redactors.emoji_art import DEFAULT_EMOJI, EMOJIS
from anonymise.redactors.pixelate import PixelateRedactor
from anonymise.redactors.solid import SolidRedactor

REDACTORS: Dict[str, Type[Redactor]] = {
    "blur": BlurRedactor,
    "pixelate": PixelateRedactor,
    "solid": SolidRedactor,
    "emoji": EmojiRedactor,
}
DEFAULT_STYLE = "blur"


def build_redactor(style: str = DEFAULT_STYLE, **options: Any) -> Redactor:
    """The style registered as ``style``; ``options`` go to its class (e.g. ``emoji="heart"``).

    Options set to ``None`` count as not given. Raises ``StyleOptionError`` for options the
    style does not take, or that do not go together; ``ValueError`` for other bad values
    (an emoji picture that cannot be read).
    """
    try:
        redactor_class = REDACTORS[style]
    except KeyError:
        raise ValueError(f"unknown style {style!r}; choose from {', '.join(REDACTORS)}") from None
    given = {name: value for name, value in options.items() if value is not None}
    foreign = tuple(name for name in given if name not in redactor_class.options)
    if foreign:
        raise StyleOptionError(
            f"the {style} style takes no {' or '.join(foreign)} option", style, foreign,
            takers=tuple(name for name, other in REDACTORS.items() if set(foreign) <= set(other.options)),
        )
    return redactor_class(**given)


__all__ = [
    "DEFAULT_EMOJI",
    "DEFAULT_STYLE",
    "EMOJIS",
    "REDACTORS",
    "BlurRedactor",
    "EmojiRedactor",
    "PixelateRedactor",
    "Redactor",
    "SolidRedactor",
    "StyleOptionError",
    "build_redactor",
]
