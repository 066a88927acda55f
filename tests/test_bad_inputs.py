"""Folders as they come off a memory card: broken files, odd names, files that vanish or cannot be read.

Through the real command line, as ``runs`` says.
"""

import io
import json
import os
import shutil
import subprocess

import pytest
from PIL import Image

from test_cli import invoke, photos_in

from runs import ANONYMISE, noise_jpeg, png_claiming, state_of, leftovers, assert_every_output_decodes


def _empty(folder):
    (folder / "empty.jpg").write_bytes(b"")
    return "empty.jpg"

def _truncated(folder):
    data = noise_jpeg(folder / "whole.jpg").read_bytes()
    (folder / "whole.jpg").unlink()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    return "truncated.jpg"

def _corrupt(folder):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "grey").save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[20] ^= 0xFF  # inside the header chunk: its checksum no longer matches
    (folder / "corrupt.png").write_bytes(bytes(data))
    return "corrupt.png"

def _not_an_image(folder):
    (folder / "letter.jpg").write_text("Dear editor, the photos are attached.")
    return "letter.jpg"

def _bomb(folder):
    (folder / "bomb.png").write_bytes(png_claiming(30000, 30000))
    return "bomb.png"

def _bomb_under_twice_the_limit(folder):
    # Between Pillow's limit and twice it, Pillow itself only warns.
    (folder / "big.png").write_bytes(png_claiming(10000, 10000))
    return "big.png"

def _too_small(folder):
    Image.new("RGB", (12, 16), "pink").save(folder / "icon.png")
    return "icon.png"

def _broken_link(folder):
    os.symlink(folder / "gone.jpg", folder / "broken.jpg")
    return "broken.jpg"

def _link_loop(folder):
    os.symlink(folder / "loop-b.jpg", folder / "loop-a.jpg")
    os.symlink(folder / "loop-a.jpg", folder / "loop-b.jpg")
    return "loop-a.jpg"

def _named_pipe(folder):
    os.mkfifo(folder / "pipe.jpg")  # opening it for reading would wait forever
    return "pipe.jpg"

def _link_to_folder(folder):
    elsewhere = folder.parent / "elsewhere"
    elsewhere.mkdir()
    noise_jpeg(elsewhere / "far.jpg")
    os.symlink(elsewhere, folder / "linked")
    return "linked"

def _control_characters_in_name(folder):
    (folder / "line\nbreak \x1b[2J :smile:.jpg").write_bytes(b"")
    return "line\\nbreak \\x1b[2J :smile:.jpg"  # as printed: escaped, no emoji

BAD_INPUTS = [
    # make, status, reason, exit code
    (_empty, "failed", "empty file (0 bytes)", 1),
    (_truncated, "failed", "cannot read image: image file is truncated", 1),
    (_corrupt, "failed", "cannot read image:", 1),
    (_not_an_image, "failed", "cannot read image: cannot identify image file", 1),
    (_bomb, "failed", "too large to open safely: more than 89,478,485 pixels", 1),
    (_bomb_under_twice_the_limit, "failed", "too large to open safely: more than 89,478,485 pixels", 1),
    (_too_small, "skipped", "too small to check for faces (12×16 pixels", 0),
    (_broken_link, "failed", "broken symbolic link: its target does not exist", 1),
    (_link_loop, "failed", "symbolic link loop", 1),
    (_named_pipe, "skipped", "not a regular file", 0),
    (_link_to_folder, "skipped", "a link to a folder (links to folders are not followed)", 0),
    (_control_characters_in_name, "failed", "empty file (0 bytes)", 1),
]

@pytest.mark.parametrize("make, status, reason, exit_code", BAD_INPUTS, ids=[c[0].__name__[1:] for c in BAD_INPUTS])
def test_a_bad_file_gets_one_line_and_the_run_goes_on(tmp_path, make, status, reason, exit_code):
    photos = tmp_path / "photos"
    photos.mkdir()
    noise_jpeg(photos / "good.jpg")
    printed_name = make(photos)
    before = state_of(tmp_path)
    out, report = tmp_path / "out", tmp_path / "report.json"

    result = invoke(photos, "-o", out, "--report", report)

    assert result.exit_code == exit_code, result.output
    lines = [line for line in result.stderr.splitlines() if printed_name in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{status}: ") and reason in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert photos_in(out) == ["good.jpg"] and leftovers(tmp_path) == []
    assert_every_output_decodes(out)
    entries = json.loads(report.read_text())["files"]
    bad = [e for e in entries if e["input"] != str(photos / "good.jpg")]
    assert bad and all(e["status"] == status and e["reason"] and e["output"] is None for e in bad)
    after = {path: value for path, value in state_of(tmp_path).items() if not path.startswith((str(out), str(report)))}
    assert after == before, "an input changed"

def test_odd_names_are_written_under_the_same_names(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    names = ["with space.jpg", "ünïcödé 写真.jpg", "new\nline.jpg", os.fsdecode(b"caf\xe9.jpg")]
    for seed, name in enumerate(names):
        noise_jpeg(photos / name, seed=seed)
    out = tmp_path / "out"
    result = invoke(photos, "-o", out)
    assert result.exit_code == 0, result.output
    assert photos_in(out) == sorted(names)
    assert_every_output_decodes(out)

def test_a_file_that_disappears_mid_run_is_reported(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    noise_jpeg(photos / "a-first.jpg")
    vanishing = noise_jpeg(photos / "z-vanishing.jpg")
    import anonymise.run.worker

    real_build_models = anonymise.run.worker.build_models

    def models_whose_detector_deletes_the_next_photo(*args, **kwargs):
        models = real_build_models(*args, **kwargs)
        real_detect = models.detector.detect

        def detect(rgb):
            vanishing.unlink(missing_ok=True)  # while the first photo is processed
            return real_detect(rgb)

        models.detector.detect = detect
        return models

    monkeypatch.setattr(anonymise.run.worker, "build_models", models_whose_detector_deletes_the_next_photo)
    out = tmp_path / "out"
    result = invoke(photos, "-o", out)
    assert result.exit_code == 1, result.output
    assert f"failed: {vanishing}: the file disappeared before it could be read" in result.stderr
    assert photos_in(out) == ["a-first.jpg"] and leftovers(tmp_path) == []

def _without_root_privileges():
    """A command prefix under which file permissions apply, even to root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]

def test_unreadable_files_and_folders_are_reported(tmp_path):
    photos = tmp_path / "photos"
    locked_folder = photos / "locked folder"
    locked_folder.mkdir(parents=True)
    noise_jpeg(photos / "good.jpg")
    noise_jpeg(locked_folder / "inside.jpg")
    noise_jpeg(photos / "locked.jpg").chmod(0)
    locked_folder.chmod(0)
    out = tmp_path / "out"
    try:
        done = subprocess.run(
            _without_root_privileges() + ANONYMISE + [str(photos), "-o", str(out), "--jobs", "1"],
            capture_output=True, text=True, timeout=300,
        )
    finally:
        locked_folder.chmod(0o755)
    assert done.returncode == 1, done.stderr
    assert f"failed: {photos / 'locked.jpg'}: cannot read the file: permission denied" in done.stderr
    assert f"failed: {locked_folder}: cannot open this folder: Permission denied" in done.stderr
    assert photos_in(out) == ["good.jpg"] and leftovers(tmp_path) == []
