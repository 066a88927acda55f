"""Running the same command again: complete copies kept, changed ones redone, names found again.

Through the real command line, as ``runs`` says.
"""

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from test_cli import invoke, photos_in

from runs import noise_jpeg, leftovers, small_photos


def test_re_running_skips_complete_copies_and_redoes_changed_ones(tmp_path):
    photos = tmp_path / "photos"
    small_photos(photos, 4)
    out = tmp_path / "out"
    assert invoke(photos, "-o", out).exit_code == 0
    written = {name: os.stat(out / name).st_mtime_ns for name in photos_in(out)}

    again = invoke(photos, "-o", out, "--json")
    assert again.exit_code == 0
    assert (json.loads(again.stdout)["up_to_date"], json.loads(again.stdout)["written"]) == (4, 0)
    assert {name: os.stat(out / name).st_mtime_ns for name in photos_in(out)} == written

    noise_jpeg(photos / "photo-001.jpg", seed=99)  # the source changed
    (out / "photo-002.jpg").unlink()  # the copy was deleted
    (out / ".photo-003.jpg.abcd1234.part").write_bytes(b"left by a killed run")
    (tmp_path / ".report.json.abcd1234.part").write_bytes(b"left by a killed run")
    changed = invoke(photos, "-o", out, "--json", "--report", tmp_path / "report.json")
    assert json.loads(changed.stdout)["written"] == 2 and leftovers(tmp_path) == []
    statuses = {Path(e["input"]).name: e["status"] for e in json.loads((tmp_path / "report.json").read_text())["files"]}
    assert statuses == {"photo-000.jpg": "up-to-date", "photo-001.jpg": "ok", "photo-002.jpg": "ok",
                        "photo-003.jpg": "up-to-date"}

    other_settings = invoke(photos, "-o", out, "--threshold", "0.1", "--json")
    assert json.loads(other_settings.stdout)["written"] == 4

    overwritten = invoke(photos, "-o", out, "--threshold", "0.1", "--overwrite", "--json")
    assert json.loads(overwritten.stdout)["written"] == 4

SETTINGS_CHANGES = [
    # the first run's options, the re-run's, and whether the copy is redone
    ([], [], False),
    ([], ["--style", "pixelate"], True),
    (["--style", "emoji"], ["--style", "emoji", "--emoji", "heart"], True),
    ([], ["--detector", "centerface"], True),
    ([], ["--threshold", "0.3"], True),
    ([], ["--mask-scale", "2"], True),
    ([], ["--shape", "box"], True),
    ([], ["--no-verify"], True),
    # The photo is called photo-0001.jpg: the copy's name is the same either way.
    ([], ["--format", "jpeg"], True),
    ([], ["--neutral-names"], True),
    (["--neutral-names", "--format", "jpeg"], ["--neutral-names", "--format", "jpeg"], False),
]

@pytest.mark.parametrize("first, again, redone", SETTINGS_CHANGES, ids=lambda v: " ".join(v) if isinstance(v, list) else str(v))
def test_a_copy_made_with_other_settings_is_redone(tmp_path, first, again, redone):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    noise_jpeg(photos / "photo-0001.jpg")
    assert invoke(photos, "-o", out, "--detector", "fast", *first).exit_code == 0
    detector = [] if "--detector" in again else ["--detector", "fast"]
    result = invoke(photos, "-o", out, *detector, *again, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["written"], summary["up_to_date"]) == ((1, 0) if redone else (0, 1))

def test_a_changed_emoji_picture_redoes_the_copies(tmp_path):
    photos, out, picture = tmp_path / "photos", tmp_path / "out", tmp_path / "mask.png"
    small_photos(photos, 2)
    command = [photos, "-o", out, "--detector", "fast", "--style", "emoji", "--emoji-file", picture, "--json"]
    Image.new("RGB", (32, 32), "orange").save(picture)
    assert json.loads(invoke(*command).stdout)["written"] == 2
    assert json.loads(invoke(*command).stdout)["up_to_date"] == 2
    Image.new("RGB", (32, 32), "purple").save(picture)  # same name, other picture
    assert json.loads(invoke(*command).stdout)["written"] == 2

def test_neutral_names_are_found_again_by_a_re_run(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    small_photos(photos / "day 1", 2)
    small_photos(photos / "day 2", 2)
    command = [photos, "-o", out, "--detector", "fast", "--neutral-names", "--json"]
    first = invoke(*command)
    assert json.loads(first.stdout)["written"] == 4
    expected = ["day 1/photo-0001.jpg", "day 1/photo-0002.jpg", "day 2/photo-0003.jpg", "day 2/photo-0004.jpg"]
    assert photos_in(out) == expected
    (out / "day 2" / "photo-0003.jpg").unlink()
    again = json.loads(invoke(*command).stdout)
    assert (again["written"], again["up_to_date"]) == (1, 3)
    assert photos_in(out) == expected

def test_photos_of_one_folder_sharing_a_copy_name_are_all_written_those_of_two_are_not(tmp_path):
    one, two, out = tmp_path / "one" / "photos", tmp_path / "two" / "photos", tmp_path / "out"
    noise_jpeg(tmp_path / "seed.jpg")
    for folder in (one, two):
        folder.mkdir(parents=True)
    with Image.open(tmp_path / "seed.jpg") as seed:
        seed.save(one / "a.heic")  # written as a.jpg by default
        seed.save(one / "a.jpg")
        seed.save(two / "b.png")
        seed.save(one / "b.webp")
    command = [one, two, "-o", out, "--detector", "fast", "--format", "jpeg", "--json"]
    result = invoke(*command)
    assert result.exit_code == 1, result.output
    failures = sorted(line for line in result.stderr.splitlines() if line.startswith("failed:"))
    # Two folders of the same name merged under -o: their b.jpg is refused, as before.
    assert failures == [
        f"failed: {two / 'b.png'}: another input ({one / 'b.webp'}) is written to the same output {out / 'photos' / 'b.jpg'}",
    ]
    # In one folder, the photo whose format changes keeps its own extension before the new one.
    assert photos_in(out) == ["photos/a.heic.jpg", "photos/a.jpg", "photos/b.jpg"]
    again = invoke(*command)
    assert json.loads(again.stdout)["up_to_date"] == 3 and photos_in(out) == ["photos/a.heic.jpg", "photos/a.jpg", "photos/b.jpg"]
    # The same names when the files are given one by one.
    singly = invoke(one / "a.jpg", one / "a.heic", "-o", tmp_path / "singly", "--detector", "fast")
    assert singly.exit_code == 0, singly.output
    assert photos_in(tmp_path / "singly") == ["a.heic.jpg", "a.jpg"]
