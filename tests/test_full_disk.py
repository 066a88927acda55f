"""A disk that fills up: the run stops with one clear message and nothing partial.

Through the real command line, as ``runs`` says.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from conftest import SAMPLES
from test_cli import invoke, photos_in

from runs import leftovers, assert_every_output_decodes, small_photos


def test_a_full_disk_stops_the_run_with_nothing_partial(tmp_path, monkeypatch):
    """Simulated: the third save runs out of space (a real small disk is the next test)."""
    photos = tmp_path / "photos"
    small_photos(photos, 5)
    saves = []
    real_save = Image.Image.save

    def save_until_the_disk_is_full(self, fp, *args, **kwargs):
        saves.append(fp)
        if len(saves) >= 3:
            fp.write(b"half a photo")
            raise OSError(28, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save_until_the_disk_is_full)
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "--json")
    assert result.exit_code == 1, result.output
    assert "Stopped: the disk is full (No space left on device)" in result.stderr
    assert "Nothing partial was left behind" in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["written"], summary["failed"], summary["not_processed"]) == (2, 1, 2)
    assert photos_in(out) == ["photo-000.jpg", "photo-001.jpg"] and leftovers(tmp_path) == []
    assert_every_output_decodes(out)

def _can_mount_a_small_disk():
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run([unshare, "--map-root-user", "--mount", "true"], capture_output=True)
    return probe.returncode == 0

@pytest.mark.skipif(not _can_mount_a_small_disk(), reason="needs unshare and user namespaces to mount a tmpfs")
def test_a_real_full_disk_stops_the_run_with_nothing_partial(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    with Image.open(SAMPLES / "whitehouse-rose-garden-small-profile.jpg") as garden:
        small = garden.resize((384, 256))
    for index in range(10):
        small.save(photos / f"garden-{index}.jpg", quality=90)  # about 40 kB each once anonymised
    disk = tmp_path / "small-disk"
    disk.mkdir()
    check = (
        "import json, pathlib, sys; from PIL import Image\n"
        "files = sorted(p.name for p in pathlib.Path(sys.argv[1]).iterdir())\n"
        "photos = [n for n in files if not n.startswith('.')]\n"
        "[Image.open(pathlib.Path(sys.argv[1], n)).load() for n in photos]\n"
        "print(json.dumps({'files': files, 'decoded': photos}))\n"
    )
    script = (
        f"mount -t tmpfs -o size=300k tmpfs {disk} && "
        f"{sys.executable} -m anonymise {photos} -o {disk} --jobs 1 --json; echo $?; "
        f"{sys.executable} -c \"$CHECK\" {disk}"
    )
    done = subprocess.run(
        ["unshare", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CHECK": check},
    )
    summary_line, exit_code, listing = done.stdout.strip().splitlines()
    assert exit_code == "1", done.stderr
    assert "Stopped: the disk is full" in done.stderr, done.stderr
    summary = json.loads(summary_line)
    listing = json.loads(listing)
    assert 0 < summary["written"] < 10 and summary["not_processed"] > 0
    assert len(listing["decoded"]) == summary["written"]
    assert [name for name in listing["files"] if name.endswith(".part")] == []
