"""Emoji: opaque over every pixel of the region at any size, ours or the user's picture."""

import numpy as np
import pytest
from PIL import Image

from anonymise.redactors import DEFAULT_EMOJI, EMOJIS, EmojiRedactor, build_redactor
from anonymise.regions import Region

MARGIN = 3  # untouched pixels round the region, to check nothing outside it changes


def centred_region(size, shape, width=None):
    width = width or size
    outline = (MARGIN, MARGIN, MARGIN + width, MARGIN + size)
    return Region(MARGIN, MARGIN, MARGIN + width, MARGIN + size, shape, 1.0, "test", outline)


def redact_black_and_white(redactor, region):
    """The same region covered over a black image and over a white one."""
    shape = (region.y2 + MARGIN, region.x2 + MARGIN, 3)
    black, white = np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8)
    return (black, redactor.redact(black, [region])), (white, redactor.redact(white, [region]))


def assert_opaque_over_every_pixel(redactor, region):
    (black, on_black), (white, on_white) = redact_black_and_white(redactor, region)
    inside = np.zeros(black.shape[:2], bool)
    inside[region.y1 : region.y2, region.x1 : region.x2] = region.mask()
    for before, after in [(black, on_black), (white, on_white)]:
        assert np.any(after != before, axis=-1)[inside].all(), "a region pixel kept its value"
        assert np.array_equal(after[~inside], before[~inside]), "a pixel outside the region changed"
    # Any show-through, even at a smoothed edge, would make black and white differ there;
    # all that may differ is the one-level nudge that keeps a pixel from matching.
    leak = np.maximum(on_black, on_white) - np.minimum(on_black, on_white)
    assert leak[inside].max() <= 2, leak[inside].max()


@pytest.mark.parametrize("shape", ["ellipse", "box"])
@pytest.mark.parametrize("size", [4, 5, 9, 32, 101, 512, 2000])
def test_default_emoji_is_opaque_over_the_whole_region_at_any_size(size, shape):
    assert_opaque_over_every_pixel(EmojiRedactor(), centred_region(size, shape))


@pytest.mark.parametrize("shape", ["ellipse", "box"])
@pytest.mark.parametrize("emoji", sorted(EMOJIS))
def test_every_emoji_is_opaque_in_tall_wide_and_tiny_regions(emoji, shape):
    redactor = EmojiRedactor(emoji)
    for height, width in [(120, 80), (60, 150), (7, 4)]:
        assert_opaque_over_every_pixel(redactor, centred_region(height, shape, width))


@pytest.mark.parametrize("emoji", sorted(EMOJIS))
def test_every_emoji_is_drawn_inside_its_circle(emoji):
    # An ellipse inscribed in any region holds the circle inscribed in the emoji's square.
    art = EMOJIS[emoji]
    pixels = np.asarray(art.render(100)).astype(int)
    ys, xs = np.mgrid[0:100, 0:100] + 0.5
    outside_circle = np.hypot(xs - 50, ys - 50) > 50
    drawn = np.any(pixels != art.backing, axis=-1)
    assert not drawn[outside_circle].any()
    assert drawn.mean() > 0.15


def test_tones_of_the_fist_differ_only_in_colour():
    fists = [name for name in EMOJIS if name.startswith("fist")]
    assert len(fists) == 6 and DEFAULT_EMOJI == "fist"
    shapes = {tuple(np.any(np.asarray(EMOJIS[name].render(64)) != EMOJIS[name].backing, -1).ravel()) for name in fists}
    assert len(shapes) == 1
    assert len({EMOJIS[name].shapes[0].fill for name in fists}) == 6


@pytest.fixture
def sticker(tmp_path):
    """A red disc on a fully transparent square, with a half-transparent rim."""
    ys, xs = np.mgrid[0:60, 0:60]
    distance = np.hypot(xs - 30, ys - 30)
    alpha = np.where(distance < 20, 255, np.where(distance < 26, 128, 0)).astype(np.uint8)
    rgba = np.dstack([np.full((60, 60), 220), np.zeros((60, 60)), np.zeros((60, 60)), alpha]).astype(np.uint8)
    path = tmp_path / "sticker.png"
    Image.fromarray(rgba, "RGBA").save(path)
    return path


@pytest.mark.parametrize("shape", ["ellipse", "box"])
@pytest.mark.parametrize("size", [4, 37, 300])
def test_a_transparent_picture_is_put_on_an_opaque_backing(sticker, size, shape):
    redactor = build_redactor("emoji", emoji_file=sticker)
    assert_opaque_over_every_pixel(redactor, centred_region(size, shape))


def test_the_picture_shows_in_the_middle_of_the_region(sticker):
    region = centred_region(200, "box")
    covered = EmojiRedactor(emoji_file=sticker).redact(np.zeros((206, 206, 3), np.uint8), [region])
    assert tuple(covered[MARGIN + 100, MARGIN + 100]) == (220, 0, 0)
    assert tuple(covered[MARGIN + 2, MARGIN + 2]) == (255, 255, 255)  # the backing


@pytest.mark.parametrize(
    "options, message",
    [
        ({"emoji": "smiley"}, "unknown emoji 'smiley'; choose from fist, fist-light"),
        ({"emoji": "heart", "emoji_file": "x.png"}, "not both"),
        ({"emoji_file": "missing.png"}, "cannot read the emoji picture"),
    ],
)
def test_bad_emoji_choices_say_what_is_wrong(tmp_path, monkeypatch, options, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message):
        build_redactor("emoji", **options)


def test_a_file_that_is_not_a_picture_is_refused(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="cannot read the emoji picture"):
        EmojiRedactor(emoji_file=text)
