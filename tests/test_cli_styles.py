"""The style options on the command line: choosing an emoji or a picture, and wrong combinations."""

import numpy as np
import pytest
from PIL import Image

from anonymise.redactors import EMOJIS

from conftest import SAMPLES, labelled_boxes
from test_cli import invoke

PORTRAIT = "nasa-astronaut-eileen-collins.png"


@pytest.fixture
def portrait(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / PORTRAIT).write_bytes((SAMPLES / PORTRAIT).read_bytes())
    return folder


@pytest.fixture
def red_square(tmp_path):
    path = tmp_path / "sticker.png"
    Image.new("RGBA", (40, 40), (220, 0, 0, 255)).save(path)
    return path


def face_of(output_folder):
    x1, y1, x2, y2 = labelled_boxes(PORTRAIT)[0].astype(int)
    return np.asarray(Image.open(output_folder / PORTRAIT).convert("RGB"))[y1:y2, x1:x2].reshape(-1, 3)


def test_a_chosen_emoji_covers_the_face(tmp_path, portrait):
    out = tmp_path / "out"
    result = invoke(portrait, "-o", out, "--detector", "centerface", "-s", "emoji", "--emoji", "fist-dark")
    assert result.exit_code == 0, result.output
    face = face_of(out)
    skin = EMOJIS["fist-dark"].shapes[0].fill
    assert np.all(face == skin, axis=1).mean() > 0.2  # the fist fills much of the face box


def test_a_picture_covers_the_face(tmp_path, portrait, red_square):
    out = tmp_path / "out"
    result = invoke(portrait, "-o", out, "--detector", "centerface", "-s", "emoji", "--emoji-file", red_square)
    assert result.exit_code == 0, result.output
    assert np.all(face_of(out) == (220, 0, 0), axis=1).mean() > 0.2


@pytest.mark.parametrize(
    "options, message",
    [
        (["--emoji", "heart"], "--emoji and --emoji-file go with --style emoji"),
        (["-s", "blur", "--emoji-file", "{sticker}"], "--emoji and --emoji-file go with --style emoji"),
        (["-s", "emoji", "--emoji", "heart", "--emoji-file", "{sticker}"], "choose --emoji or --emoji-file, not both"),
        (["-s", "emoji", "--emoji-file", "{notes}"], "cannot read the emoji picture"),
        (["-s", "emoji", "--emoji-file", "{missing}"], "does not exist"),
        (["-s", "emoji", "--emoji", "smiley"], "'smiley' is not one of 'fist', 'fist-light'"),
    ],
)
def test_style_options_that_do_not_fit_exit_2_and_write_nothing(tmp_path, portrait, red_square, options, message):
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    paths = {"sticker": red_square, "notes": notes, "missing": tmp_path / "missing.png"}
    out = tmp_path / "out"
    result = invoke(portrait, "-o", out, *[option.format(**paths) for option in options])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())
    assert not out.exists()
