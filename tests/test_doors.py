"""Every door refuses the same bad photos alike: the command line, the Python API, the window.

The checks live in loading (``imagefile.load_photo``), so the same three photos get the
same one-line reasons wherever they come in. The command line keeps its statuses: a photo
too small to check is skipped, the others failed.
"""

import io
import json

import numpy as np
import pytest
from PIL import Image

from anonymise import anonymise_file, anonymise_image, build_redactor
from anonymise.desktop.background import BackgroundWork, PhotoFailed
from anonymise.detectors import Detector
from anonymise.errors import NotAnImageError, UnreadableImageError
from anonymise.models import Models
from anonymise.pipeline import Options

from runs import png_claiming
from test_cli import invoke

TOO_SMALL = "too small to check for faces (12×12 pixels; anonymise needs at least 20 on each side)"
TOO_LARGE = "too large to open safely: more than 89,478,485 pixels (Pillow's limit against decompression bombs)"
TRUNCATED = "cannot read image: image file is truncated"


class NoDetection(Detector):
    """Never reached: every photo here is refused before detection."""

    name = "unused"

    def detect(self, rgb):
        raise AssertionError("a refused photo reached the detector")


@pytest.fixture
def bad_photos(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    Image.new("RGB", (12, 12), "pink").save(folder / "tiny.png")
    # Between Pillow's limit and twice it, Pillow itself only warns.
    (folder / "big.png").write_bytes(png_claiming(10000, 10000))
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(buffer, "JPEG")
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return {"tiny.png": (NotAnImageError, TOO_SMALL), "big.png": (UnreadableImageError, TOO_LARGE),
            "truncated.jpg": (UnreadableImageError, TRUNCATED)}, folder


def reasons_from_the_command_line(tmp_path, folder):
    report = tmp_path / "report.json"
    result = invoke(folder, "-o", tmp_path / "out", "--report", report)
    assert result.exit_code == 1
    entries = json.loads(report.read_text())["files"]
    assert {e["input"].split("/")[-1]: e["status"] for e in entries} == {
        "tiny.png": "skipped", "big.png": "failed", "truncated.jpg": "failed"}
    return {e["input"].split("/")[-1]: e["reason"] for e in entries}


def reasons_from_the_python_api(tmp_path, expected, folder):
    reasons = {}
    for name, (error_type, _) in expected.items():
        with pytest.raises(error_type) as raised:
            anonymise_file(folder / name, tmp_path / name, Models(NoDetection()), build_redactor(), Options(verify=False))
        reasons[name] = str(raised.value)
    assert list(tmp_path.glob("*.png")) + list(tmp_path.glob("*.jpg")) == []
    with pytest.raises(NotAnImageError, match="too small to check for faces"):
        anonymise_image(Image.new("RGB", (12, 12)), Models(NoDetection()), options=Options(verify=False))
    return reasons


def reasons_from_the_window(folder, names):
    background = BackgroundWork(lambda: Models(NoDetection()))
    try:
        for index, name in enumerate(names):
            background.find_faces(index, folder / name)
        results = [background.results.get(timeout=60) for _ in names]
    finally:
        background.stop(timeout=10)
    assert all(isinstance(result, PhotoFailed) and not result.while_saving for result in results)
    return {names[result.photo]: result.reason for result in results}


def test_every_door_refuses_the_same_photos_in_the_same_words(tmp_path, bad_photos):
    expected, folder = bad_photos
    command_line = reasons_from_the_command_line(tmp_path, folder)
    for name, (_, reason) in expected.items():
        assert command_line[name].startswith(reason), command_line[name]
    assert reasons_from_the_python_api(tmp_path, expected, folder) == command_line
    assert reasons_from_the_window(folder, sorted(expected)) == command_line
