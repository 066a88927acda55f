"""Pixel geometry on synthetic images: exactly the region's pixels change, all of them."""

import numpy as np
import pytest

from anonymise.faces import Faces
from anonymise.pipeline import Options
from anonymise.redactors import REDACTORS, build_redactor
from anonymise.regions import Region, coverage_mask, regions_from_faces

WIDTH, HEIGHT = 64, 48


def noise_image(seed=1):
    return np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def faces(*boxes):
    return Faces.from_detector(np.array(boxes, dtype=np.float32), np.ones(len(boxes)), "test")


# (case, detected boxes, mask scale) -> the regions' pixel bounds after growth and clipping
GEOMETRY = [
    ("1-px box", [(10, 10, 11, 11)], 1.0, [(10, 10, 11, 11)]),
    ("sub-pixel box", [(10.2, 10.2, 10.4, 10.4)], 1.0, [(10, 10, 11, 11)]),
    ("whole image", [(0, 0, WIDTH, HEIGHT)], 1.0, [(0, 0, WIDTH, HEIGHT)]),
    ("grown past every border", [(0, 0, WIDTH, HEIGHT)], 1.5, [(0, 0, WIDTH, HEIGHT)]),
    ("past the right and bottom", [(50, 40, 70, 60)], 1.0, [(50, 40, WIDTH, HEIGHT)]),
    ("past the left and top", [(-6, -4, 6, 4)], 1.0, [(0, 0, 6, 4)]),
    ("last row and column", [(WIDTH - 1, HEIGHT - 1, WIDTH, HEIGHT)], 1.0, [(WIDTH - 1, HEIGHT - 1, WIDTH, HEIGHT)]),
    ("grown about its centre", [(20, 20, 30, 30)], 2.0, [(15, 15, 35, 35)]),
    ("fractional bounds round outwards", [(20.6, 20.6, 29.4, 29.4)], 1.0, [(20, 20, 30, 30)]),
    ("entirely outside", [(WIDTH + 5, 0, WIDTH + 20, 10)], 1.0, []),
]


@pytest.mark.parametrize("case, boxes, mask_scale, expected", GEOMETRY, ids=[g[0] for g in GEOMETRY])
@pytest.mark.parametrize("shape", ["ellipse", "box"])
def test_region_bounds(case, boxes, mask_scale, expected, shape):
    regions = regions_from_faces(faces(*boxes), WIDTH, HEIGHT, mask_scale, shape)
    assert [r.box for r in regions] == expected


@pytest.mark.parametrize("case, boxes, mask_scale, expected", GEOMETRY, ids=[g[0] for g in GEOMETRY])
@pytest.mark.parametrize("shape", ["ellipse", "box"])
@pytest.mark.parametrize("style", sorted(REDACTORS))
def test_style_changes_every_region_pixel_and_nothing_else(case, boxes, mask_scale, expected, shape, style):
    image = noise_image()
    regions = regions_from_faces(faces(*boxes), WIDTH, HEIGHT, mask_scale, shape)
    out = build_redactor(style).redact(image, regions)
    covered = coverage_mask(regions, WIDTH, HEIGHT)
    changed = np.any(out != image, axis=-1)
    assert changed[covered].all(), "a pixel of a region kept its original value"
    assert np.array_equal(out[~covered], image[~covered]), "a pixel outside every region changed"
    assert out.dtype == np.uint8 and out.shape == image.shape


@pytest.mark.parametrize("style", sorted(REDACTORS))
def test_style_changes_pixels_even_when_the_cover_matches(style):
    flat = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)  # black: what a black fill would give
    regions = regions_from_faces(faces((8, 8, 40, 40)), WIDTH, HEIGHT, 1.0, "box")
    out = build_redactor(style).redact(flat, regions)
    assert np.any(out != flat, axis=-1)[8:40, 8:40].all()


@pytest.mark.parametrize("style", sorted(REDACTORS))
def test_style_returns_a_new_image(style):
    image = noise_image()
    before = image.copy()
    build_redactor(style).redact(image, regions_from_faces(faces((5, 5, 30, 30)), WIDTH, HEIGHT))
    assert np.array_equal(image, before)


def test_ellipse_is_inscribed_in_the_grown_box_and_contains_the_face_box():
    (region,) = regions_from_faces(faces((20, 10, 40, 40)), WIDTH, HEIGHT, 1.5, "ellipse")
    mask = region.mask()
    assert not mask[0, 0] and not mask[-1, -1]  # corners of the grown box stay untouched
    face_in_region = mask[10 - region.y1 : 40 - region.y1, 20 - region.x1 : 40 - region.x1]
    assert face_in_region.all()  # at 1.5x the ellipse holds the whole detected box


def test_ellipse_at_the_border_is_the_clipped_full_ellipse():
    # Half the face is outside the image; the covered part must be the same ellipse as
    # if the image went on, not a smaller one squeezed into the visible half.
    (clipped,) = regions_from_faces(faces((-20, 10, 20, 40)), WIDTH, HEIGHT, 1.5, "ellipse")
    (whole,) = regions_from_faces(faces((40, 10, 80, 40)), 200, HEIGHT, 1.5, "ellipse")
    visible = whole.mask()[:, whole.width - clipped.width :]
    assert np.array_equal(clipped.mask(), visible)


@pytest.mark.parametrize("style", sorted(REDACTORS))
@pytest.mark.parametrize("size", [1, 2, 3, 7, 200])
def test_style_handles_tiny_and_large_regions(style, size):
    image = np.random.default_rng(2).integers(0, 256, (220, 220, 3), dtype=np.uint8)
    region = Region(5, 5, 5 + size, 5 + size, "box", 1.0, "test", (5, 5, 5 + size, 5 + size))
    out = build_redactor(style).redact(image, [region])
    assert np.any(out != image, axis=-1)[5 : 5 + size, 5 : 5 + size].all()


def test_unknown_style_names_the_choices():
    with pytest.raises(ValueError, match="blur, pixelate, solid, emoji"):
        build_redactor("sticker")


@pytest.mark.parametrize("height, score, covered", [
    (255, 0.081, True),   # below the large-face height: the threshold itself
    (256, 0.099, False),  # a large face at the threshold's edge: mostly false regions
    (256, 0.101, True),   # 1.25 times the threshold
    (600, 0.3, True),
])
def test_large_faces_need_a_quarter_more_than_the_threshold(height, score, covered):
    found = Faces.from_detector(np.array([(0, 0, height * 0.8, height)], dtype=np.float32), np.array([score]), "test")
    assert list(Options(threshold=0.08).confident(found)) == [covered]
