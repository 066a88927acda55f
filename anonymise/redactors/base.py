"""What every style shares: one verb, ``redact``, and the promise that no covered pixel keeps its value."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, Sequence, Tuple

import numpy as np

from anonymise.regions import Region


class StyleOptionError(ValueError):
    """Style options that do not fit: ``options`` the ``style`` does not take (the styles in
    ``takers`` do), or, with ``conflict``, options of the style that exclude each other."""

    def __init__(self, message: str, style: str, options: Tuple[str, ...], takers: Tuple[str, ...] = (),
                 conflict: bool = False) -> None:
        super().__init__(message)
        self.style, self.options, self.takers, self.conflict = style, options, takers, conflict


class Redactor(ABC):
    """Covers regions of an RGB ``uint8`` image, returning a new image.

    Each region's cover is made from the original image (never from an earlier cover where
    regions overlap), and every pixel in a region ends up with a value it did not have.
    """

    name: str
    # The keyword options the style takes (see build_redactor).
    options: Tuple[str, ...] = ()

    def key(self) -> Dict[str, Any]:
        """What makes this style's covers what they are, for the fingerprint of a copy."""
        return {"style": self.name}

    def redact(self, rgb: np.ndarray, regions: Sequence[Region]) -> np.ndarray:
        out = rgb.copy()
        for region in regions:
            box = (slice(region.y1, region.y2), slice(region.x1, region.x2))
            mask = region.mask()
            cover = nowhere_equal(rgb[box], self.cover(rgb[box], mask))
            np.copyto(out[box], cover, where=mask[..., None])
        return out

    @abstractmethod
    def cover(self, patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """New content for the whole box of a region; only the pixels in ``mask`` are used."""


def nowhere_equal(original: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """``cover`` recoloured so that no pixel equals ``original``: RGB ``uint8``, same shape.

    A cover can match the original by chance: black fill over black hair, a flat blur over
    a flat cheek. Nudging just those pixels would draw an exact map of them (the first
    version flipped their last bit, and solid black outlined every pure-black pixel of the
    face in (1, 1, 1)). Instead, a colour of the cover that meets its own value anywhere is
    replaced everywhere it is used, by the nearest colour that none of the original pixels
    under it has. The output then says nothing about which pixels matched.
    """
    equal = np.all(original == cover, axis=-1).ravel()
    if not equal.any():
        return cover
    shape = cover.shape
    cover = cover.reshape(-1, 3)
    cover_keys = _packed(cover)
    original_keys = _packed(original.reshape(-1, 3))
    order = np.argsort(cover_keys, kind="stable")
    sorted_keys = cover_keys[order]
    result = cover.copy()
    for key in np.unique(cover_keys[equal]):
        start, stop = np.searchsorted(sorted_keys, [key, key + 1])
        users = order[start:stop]
        result[users] = _nearest_absent_colour(cover[users[0]], np.unique(original_keys[users]))
    return result.reshape(shape)


def _nearest_absent_colour(colour: np.ndarray, taken_keys: np.ndarray) -> np.ndarray:
    # Search ever larger cubes around the colour: a cube holding more colours than are
    # taken must hold a free one, so this ends as soon as the cube outgrows the group.
    for radius in (1, 2, 4, 8, 16, 32, 64, 128, 255):
        axes = [np.arange(max(0, int(c) - radius), min(255, int(c) + radius) + 1) for c in colour]
        candidates = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        distance = ((candidates - colour.astype(np.int64)) ** 2).sum(axis=1)
        candidates = candidates[np.argsort(distance, kind="stable")]
        free = ~np.isin(_packed(candidates), taken_keys)
        if free.any():
            return candidates[np.argmax(free)].astype(np.uint8)
    raise ValueError("every colour is taken by the original pixels")  # needs 16.7 M distinct ones


def _packed(colours: np.ndarray) -> np.ndarray:
    colours = colours.astype(np.int32)
    return (colours[:, 0] << 16) | (colours[:, 1] << 8) | colours[:, 2]
