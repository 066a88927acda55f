"""Resume state: kept outside the published folder, useless without this computer's key."""

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from anonymise.run.resume import LEGACY_MANIFEST_NAME, forget

from test_cli import invoke, photos_in
from runs import noise_jpeg

FAST = ["--detector", "fast"]


def photos(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for seed, name in enumerate(names):
        noise_jpeg(folder / name, seed=seed)
    return folder


def summary(result):
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_the_output_folder_holds_exactly_the_photos_and_a_re_run_finds_them(tmp_path, state_folder):
    source = photos(tmp_path / "card", ["IMG_0001.jpg", "IMG_0002.jpg"])
    out = tmp_path / "out"
    assert summary(invoke(source, "-o", out, *FAST, "--json"))["written"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001.jpg", "IMG_0002.jpg"]  # nothing hidden
    again = summary(invoke(source, "-o", out, *FAST, "--json"))
    assert (again["written"], again["up_to_date"]) == (0, 2)

    kept = sorted(p.relative_to(state_folder).as_posix() for p in state_folder.rglob("*") if p.is_file())
    assert len(kept) == 2 and kept[0] == "key" and kept[1].startswith("resume/") and kept[1].endswith(".sqlite3")
    assert stat.S_IMODE(os.stat(state_folder / "key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state_folder).st_mode) == 0o700


def test_the_records_hold_no_names_times_or_anything_the_originals_give_away(tmp_path, state_folder):
    name = "IMG_20200602_183512.jpg"
    source = photos(tmp_path / "card", [name])
    out = tmp_path / "out"
    assert summary(invoke(source, "-o", out, *FAST, "--json"))["written"] == 1
    (records,) = (state_folder / "resume").iterdir()
    assert out.name not in records.name and str(out) not in records.name
    raw = records.read_bytes()
    original = (source / name).read_bytes()
    status = os.stat(source / name)
    for clear in (name.encode(), b"20200602", str(out).encode(), str(status.st_mtime_ns).encode(),
                  str(status.st_size).encode(), b"fast", b"threshold"):
        assert clear not in raw
    # Whoever holds the original recomputes every unkeyed hash of what a record is made of,
    # as earlier versions stored them: none of them is in the records.
    with sqlite3.connect(records) as connection:
        rows = connection.execute("SELECT copy, record FROM copies").fetchall()
    assert len(rows) == 1
    stored = {bytes(value) for row in rows for value in row}
    guesses = {hashlib.sha256(original[: 64 * 1024]).digest(), hashlib.sha256(name.encode()).digest(),
               hashlib.sha256(original).digest()}
    assert not stored & guesses
    assert all(len(value) == 32 for value in stored)


def test_without_the_key_the_records_are_worth_nothing(tmp_path, state_folder):
    source = photos(tmp_path / "card", ["a.jpg", "b.jpg"])
    out = tmp_path / "out"
    assert summary(invoke(source, "-o", out, *FAST, "--json"))["written"] == 2
    (state_folder / "key").write_bytes(os.urandom(32))  # another computer's key, same records
    again = summary(invoke(source, "-o", out, *FAST, "--json"))
    assert (again["written"], again["up_to_date"]) == (2, 0)


def test_an_earlier_versions_manifest_is_deleted_with_a_note_and_its_copies_redone(tmp_path):
    source = photos(tmp_path / "card", ["a.jpg", "b.jpg"])
    out = tmp_path / "out"
    assert summary(invoke(source, "-o", out, *FAST, "--json"))["written"] == 2
    # As an earlier version left it: its records in the folder, none in the state folder.
    forget(out)
    (out / LEGACY_MANIFEST_NAME).write_bytes(b"SQLite format 3\x00 records of an earlier version")

    dry = invoke(source, "-o", out, *FAST, "--dry-run")
    assert (out / LEGACY_MANIFEST_NAME).exists(), "a dry run deletes nothing"
    assert f"warning: {out / LEGACY_MANIFEST_NAME} will be deleted by a run" in dry.stderr

    result = invoke(source, "-o", out, *FAST, "--json")
    notes = [line for line in result.stderr.splitlines() if LEGACY_MANIFEST_NAME in line]
    assert len(notes) == 1 and notes[0].startswith(f"warning: deleted {out / LEGACY_MANIFEST_NAME}")
    assert "ties the copies to the original files" in notes[0] and "redone" in notes[0]
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.jpg"]
    assert summary(result)["written"] == 2 and any(LEGACY_MANIFEST_NAME in w for w in summary(result)["warnings"])


def test_forget_removes_what_is_kept_for_one_output_folder(tmp_path, state_folder):
    source = photos(tmp_path / "card", ["a.jpg"])
    one, two = tmp_path / "one", tmp_path / "two"
    for out in (one, two):
        assert summary(invoke(source, "-o", out, *FAST, "--json"))["written"] == 1
    done = subprocess.run([sys.executable, "-m", "anonymise", "forget", str(one)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Forgot {one}: a re-run redoes every copy in it.\n"
    assert summary(invoke(source, "-o", one, *FAST, "--json"))["written"] == 1
    assert summary(invoke(source, "-o", two, *FAST, "--json"))["up_to_date"] == 1
    assert photos_in(one) == ["a.jpg"], "forget touches only the resume state, never the copies"

    again = subprocess.run([sys.executable, "-m", "anonymise", "forget", str(tmp_path / "never")],
                           capture_output=True, text=True)
    assert (again.returncode, again.stdout) == (0, f"Nothing was kept for {tmp_path / 'never'}.\n")

    everything = subprocess.run([sys.executable, "-m", "anonymise", "forget", "--all"], capture_output=True, text=True)
    assert everything.returncode == 0 and not state_folder.exists()


@pytest.mark.parametrize("args", [[], ["--nonsense"]])
def test_forget_usage_errors_exit_2(args):
    done = subprocess.run([sys.executable, "-m", "anonymise", "forget", *args], capture_output=True, text=True)
    assert done.returncode == 2


def test_a_folder_named_forget_is_reached_as_a_path(tmp_path, monkeypatch):
    photos(tmp_path / "forget", ["a.jpg"])
    monkeypatch.chdir(tmp_path)
    done = subprocess.run([sys.executable, "-m", "anonymise", "./forget", "-o", "out", *FAST],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert photos_in(tmp_path / "out") == ["a.jpg"]


def test_a_dry_run_keeps_nothing(tmp_path, state_folder):
    source = photos(tmp_path / "card", ["a.jpg"])
    assert invoke(source, "-o", tmp_path / "out", *FAST, "--dry-run").exit_code == 0
    assert not state_folder.exists()


def test_names_that_tell_the_date_or_device_get_a_warning(tmp_path):
    source = photos(tmp_path / "card", ["IMG_20200602_183512.jpg", "DSC_0234.jpg", "march.jpg"])
    result = invoke(source, "-o", tmp_path / "out", *FAST, "--json")
    warnings = summary(result)["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith("2 copies keep names that can tell when or with what the photo was taken")
    assert "--neutral-names" in warnings[0]
    assert result.stderr.count("warning:") == 1 and "--neutral-names" in result.stderr

    neutral = invoke(source, "-o", tmp_path / "neutral", *FAST, "--neutral-names", "--json")
    assert summary(neutral)["warnings"] == [] and "warning" not in neutral.stderr
    quiet = invoke(source, "-o", tmp_path / "quiet", *FAST, "--json", "-q")
    assert len(summary(quiet)["warnings"]) == 1 and quiet.stderr == ""


def test_a_report_inside_the_output_folder_gets_a_warning(tmp_path):
    source = photos(tmp_path / "card", ["march.jpg"])
    out = tmp_path / "out"
    inside = invoke(source, "-o", out, *FAST, "--json", "--report", out / "report.json")
    assert [w for w in summary(inside)["warnings"] if "report" in w] == [
        f"the report {out / 'report.json'} is inside the output folder, which is what gets published, "
        "and it names every input file: keep it elsewhere"
    ]
    outside = invoke(source, "-o", out, *FAST, "--json", "--report", tmp_path / "report.json")
    assert summary(outside)["warnings"] == []
