"""Stereo pairs: a face seen in one view is in the other view too.

A side-by-side stereo photo (``.jps``) holds the same scene twice, left and right, seen from
two points a few centimetres apart: each face appears in both halves, shifted sideways by
its disparity. The detector looks at the whole photo and usually finds both; where it finds
a face in one view only, the other view's copy of that face must not stay uncovered.

So every face found in one view gets a counterpart in each other view, unless that view
already has a face where the counterpart would be: the same box, moved by one view's
width, and widened on both sides by the largest disparity a stereo photo normally has, so
it covers the face wherever the disparity put it. Measured on the sample photos placed
side by side with a shift (tests/test_formats.py), and documented in docs/folders.md.
"""

from __future__ import annotations

import numpy as np

from anonymise.faces import Faces

# The largest disparity of a normal stereo photo, as a share of one view's width: stereo
# cameras and viewing guides keep the nearest subjects within about 1/30 of the width
# (3.3 %); this leaves room for closer ones.
MOST_DISPARITY = 0.05


def faces_in_every_view(faces: Faces, width: int, views: int) -> Faces:
    """``faces`` of a photo ``width`` pixels wide holding ``views`` side by side, with the
    counterparts each view is missing (see the module notes)."""
    if views < 2 or not len(faces):
        return faces
    view_width = width / views
    margin = MOST_DISPARITY * view_width
    centres_x = (faces.xyxy[:, 0] + faces.xyxy[:, 2]) / 2
    centres_y = (faces.xyxy[:, 1] + faces.xyxy[:, 3]) / 2
    view_of = np.clip((centres_x // view_width).astype(int), 0, views - 1)
    counterparts = []
    for index in range(len(faces)):
        x1, y1, x2, y2 = faces.xyxy[index]
        half_height = (y2 - y1) / 2
        for view in range(views):
            if view == view_of[index]:
                continue
            shift = (view - view_of[index]) * view_width
            left, right = x1 + shift - margin, x2 + shift + margin
            already_there = (
                (view_of == view)
                & (centres_x >= left) & (centres_x <= right)
                & (np.abs(centres_y - centres_y[index]) <= half_height)
            )
            if already_there.any():
                continue
            left = max(left, view * view_width)
            right = min(right, (view + 1) * view_width)
            counterparts.append(Faces.from_detector(
                np.array([[left, y1, right, y2]]), faces.scores[index : index + 1],
                f"{faces.detectors[index]} (other view)",
            ))
    return Faces.concatenate([faces, *counterparts])
