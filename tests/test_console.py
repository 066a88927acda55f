"""What the terminal and scripts see of a run: dry runs, quiet and JSON output, errors, file modes.

Through the real command line, as ``runs`` says.
"""

import json
import os
import stat

import pytest
from PIL import Image

from test_cli import invoke, photos_in

from runs import small_photos


def test_dry_run_lists_the_copies_and_writes_nothing(tmp_path):
    photos = tmp_path / "photos"
    small_photos(photos, 2)
    (photos / "notes.txt").write_text("shot list")
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{photos / name} -> {out / name}" for name in ["photo-000.jpg", "photo-001.jpg"]
    ]
    assert "Dry run: 2 photos would be written" in result.stderr
    assert not out.exists()
    assert invoke(photos, "-o", out, "--dry-run", "--report", tmp_path / "r.json").exit_code == 2

def test_quiet_and_json_keep_the_terminal_clean(tmp_path):
    photos = tmp_path / "photos"
    small_photos(photos, 2)
    (photos / "notes.txt").write_text("shot list")
    (photos / "empty.jpg").write_bytes(b"")
    result = invoke(photos, "-o", tmp_path / "out", "--quiet", "--json")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"failed: {photos / 'empty.jpg'}: empty file (0 bytes)"]
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("written", "skipped", "failed", "interrupted")} == {
        "written": 2, "skipped": 1, "failed": 1, "interrupted": False,
    }
    assert summary["photos_per_second"] > 0

def test_runner_output_has_no_progress_bar_when_not_a_terminal(tmp_path):
    photos = tmp_path / "photos"
    small_photos(photos, 1)
    result = invoke(photos, "-o", tmp_path / "out")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [result.stderr.splitlines()[-1]]
    assert "Anonymising" not in result.stderr

def test_an_unexpected_error_fails_the_photo_without_a_traceback_unless_debug(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    small_photos(photos, 2)
    import anonymise.run.worker

    real_anonymise_file = anonymise.run.worker.anonymise_media_file

    def anonymise_file_with_a_bug(source, *args, **kwargs):
        if source.name == "photo-001.jpg":
            raise ZeroDivisionError("a bug\nover two lines")
        return real_anonymise_file(source, *args, **kwargs)

    monkeypatch.setattr(anonymise.run.worker, "anonymise_media_file", anonymise_file_with_a_bug)
    quiet = invoke(photos, "-o", tmp_path / "out")
    assert quiet.exit_code == 1
    assert f"failed: {photos / 'photo-001.jpg'}: unexpected error: ZeroDivisionError: a bug over two lines" in quiet.stderr
    assert "Traceback" not in quiet.output and photos_in(tmp_path / "out") == ["photo-000.jpg"]

    debug = invoke(photos, "-o", tmp_path / "out", "--debug")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr and "anonymise_file_with_a_bug" in debug.stderr

def test_an_unexpected_error_outside_the_photos_is_one_line(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    small_photos(photos, 1)
    import anonymise.run.local

    def broken(self):
        raise RuntimeError("the scheduler broke")
        yield

    monkeypatch.setattr(anonymise.run.local.LocalRun, "outcomes", broken)
    result = invoke(photos, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: unexpected RuntimeError: the scheduler broke (run again with --debug for details)"
    ]
    assert isinstance(invoke(photos, "-o", tmp_path / "out", "--debug").exception, RuntimeError)

@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002], ids=oct)
def test_copies_and_report_get_the_mode_of_any_new_file(tmp_path, umask):
    photos = tmp_path / "photos"
    small_photos(photos, 1)
    Image.new("RGB", (64, 48), "teal").save(photos / "b.png")
    out, report = tmp_path / "out", tmp_path / "report.json"
    previous = os.umask(umask)
    try:
        result = invoke(photos, "-o", out, "--report", report)
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    written = [out / name for name in photos_in(out)] + [report]
    assert len(written) == 3
    # As a file made with open() would be; mkstemp's 0600 would hide them from the group.
    assert {oct(stat.S_IMODE(os.stat(path).st_mode)) for path in written} == {oct(0o666 & ~umask)}
