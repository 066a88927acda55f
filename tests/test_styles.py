"""What a cover keeps of the face: the coarse summary and noise, never the fine detail."""

import cv2
import numpy as np
import pytest

from anonymise.imagefile import load_photo
from anonymise.redactors import BlurRedactor, EmojiRedactor, PixelateRedactor, Redactor, SolidRedactor
from anonymise.redactors.base import nowhere_equal
from anonymise.redactors.coarse import cell_grid
from anonymise.regions import Region

from conftest import SAMPLES, labelled_boxes

PORTRAIT = "nasa-astronaut-eileen-collins.png"


class PlainGaussianBlur(Redactor):
    """What many tools do: a Gaussian blur of the face, a tenth of its size wide."""

    def cover(self, patch, mask):
        return cv2.GaussianBlur(patch, (0, 0), sigmaX=max(patch.shape[:2]) / 10)


class CornerSampledPixelation(Redactor):
    """What many tools do: 16 blocks across, each the colour of one pixel of the face."""

    def cover(self, patch, mask):
        height, width = patch.shape[:2]
        small = cv2.resize(patch, (min(16, width), min(16, height)), interpolation=cv2.INTER_NEAREST)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def face(width, height):
    """The portrait's labelled face with some hair and background, at the given size."""
    x1, y1, x2, y2 = labelled_boxes(PORTRAIT)[0].astype(int)
    rgb = load_photo(SAMPLES / PORTRAIT).rgb[y1 - 20 : y2 + 10, x1 - 15 : x2 + 15]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def whole(image, shape="box"):
    height, width = image.shape[:2]
    return Region(0, 0, width, height, shape, 1.0, "test", (0, 0, width, height))


def shuffled_within_cells(image, seed=0):
    """The same cell averages as ``image``, but every pixel moved to a random place in its cell."""
    height, width = image.shape[:2]
    cells_x, cells_y = cell_grid(width, height)
    assert width % cells_x == 0 and height % cells_y == 0, "pick sizes the cells divide exactly"
    cell_w, cell_h = width // cells_x, height // cells_y
    rng = np.random.default_rng(seed)
    out = image.copy()
    for top in range(0, height, cell_h):
        for left in range(0, width, cell_w):
            cell = out[top : top + cell_h, left : left + cell_w].reshape(-1, 3)
            out[top : top + cell_h, left : left + cell_w] = rng.permutation(cell).reshape(cell_h, cell_w, 3)
    return out


# (region width, cells across): at most 8 cells, and no cell narrower than 4 pixels
CELL_GRID = [(1, 1), (4, 1), (7, 1), (8, 2), (12, 3), (31, 7), (32, 8), (33, 8), (200, 8), (2000, 8)]


@pytest.mark.parametrize("width, cells", CELL_GRID)
def test_cell_grid_keeps_at_most_8_cells_of_at_least_4_pixels(width, cells):
    assert cell_grid(width, width) == (cells, cells)
    assert cell_grid(width, 200) == (cells, 8)


@pytest.mark.parametrize("style", [BlurRedactor, PixelateRedactor])
def test_detail_below_one_cell_is_refused(style):
    with pytest.raises(ValueError, match="at least 1 cell"):
        style(detail=0)


# (name, fresh redactor with fixed noise, True if it keeps nothing beyond the 8x8 summary)
STYLES_AND_PLAIN_ONES = [
    ("blur", lambda: BlurRedactor(seed=3), True),
    ("pixelate", lambda: PixelateRedactor(seed=3), True),
    ("solid", SolidRedactor, True),
    ("emoji", EmojiRedactor, True),
    ("plain Gaussian blur", PlainGaussianBlur, False),
    ("plain pixelation, 16 corner samples", CornerSampledPixelation, False),
]


@pytest.mark.parametrize("name, make, summary_only", STYLES_AND_PLAIN_ONES, ids=[s[0] for s in STYLES_AND_PLAIN_ONES])
@pytest.mark.parametrize("width, height", [(8, 8), (12, 20), (32, 32), (160, 200)])
def test_cover_depends_on_nothing_but_the_coarse_summary(name, make, summary_only, width, height):
    # Two faces with the same 8x8 summary and different fine detail (every pixel shuffled
    # within its cell) must get the same cover: then no model can read the detail back.
    # The only allowed difference is the one-level nudge that keeps pixels from matching.
    original = face(width, height)
    shuffled = shuffled_within_cells(original)
    region = whole(original)
    difference = np.abs(
        make().redact(original, [region]).astype(int) - make().redact(shuffled, [region]).astype(int)
    )
    assert (difference.max() <= 2) == summary_only, difference.max()


@pytest.mark.parametrize("style", [BlurRedactor, PixelateRedactor])
def test_noise_survives_so_even_the_cell_averages_are_uncertain(style):
    original = face(160, 200)
    outputs = np.stack([style(seed=seed).redact(original, [whole(original)]) for seed in range(8)])
    cells = np.stack([cv2.resize(out, cell_grid(160, 200), interpolation=cv2.INTER_AREA) for out in outputs])
    spread = cells.astype(float).std(axis=0).mean()  # how much the same cell varies from run to run
    assert spread >= 4, spread
    colour_shift = outputs.mean(axis=(0, 1, 2)) - original.mean(axis=(0, 1))
    assert np.abs(colour_shift).max() < 5  # noise, not a change of colour


@pytest.mark.parametrize("style", [BlurRedactor, PixelateRedactor])
def test_noise_is_fresh_each_run_without_a_seed(style):
    original = face(64, 64)
    first, second = (style().redact(original, [whole(original)]) for _ in range(2))
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 1


def test_blur_looks_like_a_blur():
    out = BlurRedactor(seed=1).redact(face(160, 200), [whole(face(160, 200))]).astype(int)
    steps = np.concatenate([np.abs(np.diff(out, axis=0)).ravel(), np.abs(np.diff(out, axis=1)).ravel()])
    assert np.percentile(steps, 99) <= 2  # no edges: smooth everywhere


def test_pixelate_draws_at_most_8_flat_blocks_across():
    out = PixelateRedactor(seed=1).redact(face(160, 200), [whole(face(160, 200))])
    blocks = out.reshape(8, 25, 8, 20, 3)
    assert (blocks == blocks[:, :1, :, :1]).all()


def test_solid_is_one_colour_even_over_that_colour():
    image = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    image[:, :20] = 0  # half of the face is the fill colour itself
    out = SolidRedactor((0, 0, 0)).redact(image, [whole(image)])
    colours = np.unique(out.reshape(-1, 3), axis=0)
    assert len(colours) == 1
    assert not np.all(image == colours[0], axis=-1).any()
    assert np.abs(colours[0].astype(int)).max() <= 1  # the nearest colour the face lacks


def test_where_a_cover_matches_nothing_marks_the_matching_pixels():
    rng = np.random.default_rng(5)
    cover = rng.integers(0, 4, (5000, 3), dtype=np.uint8) * 60  # a few flat colours
    original = rng.integers(0, 256, (5000, 3), dtype=np.uint8)
    matching = rng.random(5000) < 0.1
    original[matching] = cover[matching]

    result = nowhere_equal(original, cover)

    assert not np.all(result == original, axis=1).any()
    # One output colour per cover colour: which pixels matched cannot be read off.
    for colour in np.unique(cover, axis=0):
        used = np.all(cover == colour, axis=1)
        assert len(np.unique(result[used], axis=0)) == 1


def test_a_crowded_colour_moves_as_far_as_it_must():
    cover = np.full((27, 3), 10, dtype=np.uint8)
    around = np.stack(np.meshgrid(*[np.arange(9, 12)] * 3, indexing="ij"), -1).reshape(-1, 3)
    result = nowhere_equal(around.astype(np.uint8), cover)
    (colour,) = np.unique(result, axis=0)
    assert np.abs(colour.astype(int) - 10).max() == 2  # the whole 3x3x3 cube round it was taken


def test_covers_are_made_from_the_original_where_regions_overlap():
    image = face(64, 64)
    first = Region(0, 0, 40, 40, "box", 1.0, "test", (0, 0, 40, 40))
    second = Region(20, 20, 64, 64, "box", 1.0, "test", (20, 20, 64, 64))
    steady = BlurRedactor(noise=0)  # no noise, so both runs draw the same cover
    both = steady.redact(image, [first, second])
    second_only = steady.redact(image, [second])
    assert np.abs(both[20:, 20:].astype(int) - second_only[20:, 20:].astype(int)).max() <= 2
