"""The command line as a user runs it: exit codes, folders, bad files, untouched inputs."""

import hashlib
import json
import subprocess
import sys

import pytest
from PIL import Image
from typer.testing import CliRunner

from anonymise.cli import app

from conftest import SAMPLES

runner = CliRunner()


def invoke(*args):
    """The command in this process; one job unless the test asks for more (no worker start-up)."""
    args = [str(a) for a in args]
    if "--jobs" not in args:
        args += ["--jobs", "1"]
    return runner.invoke(app, args)


def photos_in(folder):
    """Every file under ``folder``: a run's output folder holds exactly the photos written."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def plain(output):
    """Output as one line of words, without the box typer draws round its errors."""
    return " ".join(output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def fingerprints(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def messy_dir(sample_dir):
    """Good photos in a tree, plus a note, a corrupt JPEG and a text file posing as a PNG."""
    nested = sample_dir / "day 2" / "ünïcode"
    nested.mkdir(parents=True)
    (nested / "crowd.jpg").write_bytes((SAMPLES / "whitehouse-situation-room-group.jpg").read_bytes())
    (sample_dir / "notes.txt").write_text("shot list")
    good = (SAMPLES / "nasa-white-house-iss-call-group.jpg").read_bytes()
    (sample_dir / "day 2" / "corrupt.jpg").write_bytes(good[: len(good) // 3])
    (sample_dir / "fake.png").write_text("not a png")
    return sample_dir


def test_folder_with_bad_files_writes_the_good_ones_and_names_the_bad(tmp_path, messy_dir):
    before = fingerprints(messy_dir)
    out = tmp_path / "out"
    report = tmp_path / "report.json"

    result = invoke(messy_dir, "-o", out, "--report", report)

    assert result.exit_code == 1, result.output
    assert fingerprints(messy_dir) == before, "an input changed"
    assert photos_in(out) == [
        "day 2/ünïcode/crowd.jpg", "nasa-astronaut-eileen-collins.png", "nasa-white-house-iss-call-group.jpg",
    ]
    lines = result.output.splitlines()
    assert any(line.startswith("failed:") and "corrupt.jpg" in line for line in lines)
    assert any(line.startswith("failed:") and "fake.png" in line for line in lines)
    assert any(line.startswith("skipped:") and "notes.txt" in line for line in lines)
    assert "3 photos written" in result.output and "2 failed" in result.output

    entries = {e["input"].split("/")[-1]: e for e in json.loads(report.read_text())["files"]}
    assert {e["status"] for e in entries.values()} == {"ok", "failed", "skipped"}
    crowd = entries["crowd.jpg"]
    assert (crowd["width"], crowd["height"]) == (1500, 1000)
    assert len(crowd["regions"]) >= 12
    for region in crowd["regions"]:
        assert set(region) == {"box", "score", "detector", "frame", "pass"}
        assert region["frame"] == 0 and region["pass"] in ("first", "verification")
        x1, y1, x2, y2 = region["box"]
        assert 0 <= x1 < x2 <= 1500 and 0 <= y1 < y2 <= 1000
    assert entries["corrupt.jpg"]["output"] is None and entries["corrupt.jpg"]["reason"]
    for e in entries.values():
        assert set(e) == {"input", "output", "status", "reason", "width", "height", "frames", "regions"}


def test_all_good_exits_0_and_defaults_to_a_sibling_folder(sample_dir):
    result = invoke(sample_dir)
    assert result.exit_code == 0, result.output
    sibling = sample_dir.parent / "photos-anonymised"
    assert photos_in(sibling) == sorted(p.name for p in sample_dir.iterdir())
    with Image.open(sibling / "nasa-white-house-iss-call-group.jpg") as image:
        assert image.format == "JPEG" and not image.getexif()


def test_single_file_goes_to_its_folders_sibling(sample_dir):
    result = invoke(sample_dir / "nasa-astronaut-eileen-collins.png", "--style", "pixelate")
    assert result.exit_code == 0, result.output
    assert (sample_dir.parent / "photos-anonymised" / "nasa-astronaut-eileen-collins.png").is_file()


@pytest.mark.parametrize("args, message", [
    (["{photos}", "-o", "{photos}/out"], "refusing to write into the input folder"),
    (["{photos}", "-o", "{photos}"], "refusing to write into the input folder"),
    (["{photos}/nasa-astronaut-eileen-collins.png", "-o", "{photos}"], "refusing to write over the input"),
    (["{photos}", "--style", "sticker"], "sticker"),
    (["{photos}", "--detector", "dlib"], "dlib"),
    (["{photos}", "--threshold", "1.5"], "--threshold"),
    (["{missing}"], "does not exist"),
    ([], "Missing argument"),
])
def test_usage_errors_exit_2_and_write_nothing(tmp_path, sample_dir, args, message):
    before = sorted(tmp_path.rglob("*"))
    args = [a.format(photos=sample_dir, missing=tmp_path / "nope") for a in args]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in plain(result.output)
    assert sorted(tmp_path.rglob("*")) == before


def test_two_folders_are_mirrored_under_their_own_names(tmp_path, sample_dir):
    other = tmp_path / "more"
    other.mkdir()
    (other / "nasa-astronaut-eileen-collins.png").write_bytes(
        (SAMPLES / "nasa-astronaut-eileen-collins.png").read_bytes())
    out = tmp_path / "out"
    result = invoke(sample_dir, other, "-o", out, "--style", "emoji", "--shape", "box")
    assert result.exit_code == 0, result.output
    assert (out / "photos" / "nasa-astronaut-eileen-collins.png").is_file()
    assert (out / "more" / "nasa-astronaut-eileen-collins.png").is_file()


def test_console_script_and_module_entry_points(tmp_path, sample_dir):
    for command in (["anonymise"], [sys.executable, "-m", "anonymise"]):
        if command == ["anonymise"]:
            command = [str(__import__("pathlib").Path(sys.executable).with_name("anonymise"))]
        out = tmp_path / f"out-{len(command)}"
        done = subprocess.run(command + [str(sample_dir), "-o", str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "2 photos written" in done.stderr
        assert done.stdout == ""
        assert "Traceback" not in done.stderr


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.startswith("anonymise ")
