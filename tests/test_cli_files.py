"""The file options of the command line: --format, --neutral-names, --no-verify, and what a
run does when a written copy fails the clean check."""

import json

import numpy as np
import pytest
from PIL import Image

from anonymise.detectors import DETECTORS, Detector
from anonymise.faces import Faces
from anonymise.imagefile import writing

from test_cli import invoke as invoke_in_this_process, photos_in


def invoke(*args):
    return invoke_in_this_process(*args, "--detector", "centerface")


def small_photo(path, colour=(90, 140, 200)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (48, 32), colour).save(path)
    return path


def written_files(folder):
    return photos_in(folder)


def test_neutral_names_number_photos_in_run_order_and_keep_folders(tmp_path):
    photos = tmp_path / "photos"
    small_photo(photos / "IMG_20200602_183512.jpg")
    small_photo(photos / "march" / "DSC04711.JPG")
    small_photo(photos / "march" / "PXL_20200601_101010.png")
    small_photo(photos / "zz.tif")
    (photos / "notes.txt").write_text("shot list")
    out = tmp_path / "out"

    result = invoke(photos, "-o", out, "--neutral-names")

    assert result.exit_code == 0, result.output
    # Files first, then subfolders, each sorted by name: the order the run reads them.
    assert written_files(out) == [
        "march/photo-0003.jpg", "march/photo-0004.png", "photo-0001.jpg", "photo-0002.tif",
    ]


def test_neutral_names_do_not_collide_across_inputs(tmp_path):
    first = small_photo(tmp_path / "a" / "same.jpg")
    second = small_photo(tmp_path / "b" / "same.jpg")
    out = tmp_path / "out"
    result = invoke(first, second, "-o", out, "--neutral-names")
    assert result.exit_code == 0, result.output
    assert written_files(out) == ["photo-0001.jpg", "photo-0002.jpg"]


@pytest.mark.parametrize("source_name, format_args, written_name, pillow_format", [
    ("a.png", [], "a.png", "PNG"),
    ("a.JPEG", [], "a.JPEG", "JPEG"),
    ("a.png", ["--format", "webp"], "a.webp", "WEBP"),
    ("a.jpg", ["--format", "png"], "a.png", "PNG"),
    ("a.jpg", ["-f", "tiff"], "a.tif", "TIFF"),
    ("a.heic", [], "a.jpg", "JPEG"),
    ("a.heic", ["--format", "heic"], "a.heic", "HEIF"),
    ("a.webp", ["--format", "gif", "--neutral-names"], "photo-0001.gif", "GIF"),
])
def test_format_is_the_inputs_unless_asked_and_heic_becomes_jpeg(
    tmp_path, source_name, format_args, written_name, pillow_format
):
    source = small_photo(tmp_path / "in" / source_name)
    out = tmp_path / "out"
    result = invoke(source, "-o", out, *format_args)
    assert result.exit_code == 0, result.output
    assert written_files(out) == [written_name]
    with Image.open(out / written_name) as written:
        assert written.format == pillow_format


def test_unknown_format_is_a_usage_error(tmp_path):
    result = invoke(small_photo(tmp_path / "a.jpg"), "--format", "jpeg2000")
    assert result.exit_code == 2 and "jpeg2000" in result.output


def test_a_copy_that_fails_the_clean_check_is_deleted_reported_and_the_run_goes_on(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    small_photo(photos / "a.jpg")
    small_photo(photos / "b.png")
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    honest_options = writing._save_options

    def leaky_options(photo, images, output):
        options = honest_options(photo, images, output)
        if output.pillow_format == "JPEG":  # a writer that slips a comment into JPEGs
            options["comment"] = b"shot by Jane Doe"
        return options

    monkeypatch.setattr(writing, "_save_options", leaky_options)
    result = invoke(photos, "-o", out, "--report", report)

    assert result.exit_code == 1
    assert written_files(out) == ["b.png"], "the unclean copy (or its temporary file) was left behind"
    (line,) = [line for line in result.output.splitlines() if line.startswith("failed:")]
    assert "a.jpg" in line and "comment" in line and "deleted" in line
    entries = {e["input"].rsplit("/", 1)[-1]: e for e in json.loads(report.read_text())["files"]}
    assert entries["a.jpg"]["status"] == "failed" and entries["a.jpg"]["output"] is None
    assert entries["b.png"]["status"] == "ok"


def test_no_verify_skips_the_second_look(tmp_path, monkeypatch):
    calls = []
    from anonymise.detectors.blazeface import BlazeFace

    original = BlazeFace.detect
    monkeypatch.setattr(BlazeFace, "detect", lambda self, rgb: calls.append(1) or original(self, rgb))
    source = small_photo(tmp_path / "a.jpg")
    assert invoke(source, "-o", tmp_path / "one", "--no-verify").exit_code == 0
    assert len(calls) == 0
    assert invoke(source, "-o", tmp_path / "two").exit_code == 0
    assert len(calls) == 1  # verified by default: the second model looks at the result


class ScriptedDetector(Detector):
    """Finds the faces it is given, every time."""

    name = "scripted"

    def __init__(self, boxes):
        self.boxes = np.array(boxes, dtype=np.float32)

    def detect(self, rgb):
        return Faces.from_detector(self.boxes, np.full(len(self.boxes), 0.9), self.name)


def test_faces_found_by_the_verification_pass_are_covered_counted_and_reported(tmp_path, monkeypatch):
    # The first detector finds the face on the left; the verifier finds it again (on the
    # cover) and one on the right that the first detector missed.
    monkeypatch.setitem(DETECTORS, "centerface", lambda threads=0: ScriptedDetector([[2, 2, 14, 14]]))
    monkeypatch.setitem(DETECTORS, "blazeface", lambda threads=0: ScriptedDetector([[3, 2, 15, 14], [30, 10, 42, 22]]))
    source = tmp_path / "a.png"
    pixels = np.random.default_rng(7).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(source)
    report = tmp_path / "report.json"

    result = invoke(source, "-o", tmp_path / "out", "--report", report, "--style", "solid", "--shape", "box")

    assert result.exit_code == 0, result.output
    assert "2 faces covered (1 found only by the verification pass)" in result.output
    (entry,) = json.loads(report.read_text())["files"]
    # The re-found left face lies on covered pixels: it is the cover, not a missed face.
    assert [(r["pass"], r["frame"]) for r in entry["regions"]] == [("first", 0), ("verification", 0)]
    written = np.asarray(Image.open(tmp_path / "out" / "a.png"))
    x1, y1, x2, y2 = entry["regions"][1]["box"]
    assert (written[y1:y2, x1:x2] != pixels[y1:y2, x1:x2]).any(axis=2).all()
