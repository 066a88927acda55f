"""Runs cut short or spread over processes: kill -9, Ctrl-C, a crashing worker, parallel = serial.

Through the real command line, as ``runs`` says.
"""

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import SAMPLES
from test_cli import invoke, photos_in

from runs import ANONYMISE, noise_jpeg, leftovers, assert_every_output_decodes, small_photos, children_of, alive, wait_for


def test_a_parallel_run_writes_what_a_serial_run_writes(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SAMPLES / "nasa-astronaut-eileen-collins.png", photos)
    with Image.open(SAMPLES / "whitehouse-situation-room-group.jpg") as group:
        group.resize((750, 500)).save(photos / "group.jpg", quality=95)
    noise_jpeg(photos / "no-faces.jpg")
    (photos / "empty.jpg").write_bytes(b"")

    reports = {}
    for jobs in (1, 2):
        result = invoke(photos, "-o", tmp_path / f"out-{jobs}", "--jobs", jobs, "--report", tmp_path / f"{jobs}.json")
        assert result.exit_code == 1, result.output
        reports[jobs] = json.loads((tmp_path / f"{jobs}.json").read_text())["files"]

    assert photos_in(tmp_path / "out-1") == photos_in(tmp_path / "out-2")
    assert [(e["input"], e["status"], e["reason"]) for e in reports[1]] == [
        (e["input"], e["status"], e["reason"]) for e in reports[2]
    ]
    for serial, parallel in zip(reports[1], reports[2]):
        if serial["status"] != "ok":
            continue
        assert len(serial["regions"]) == len(parallel["regions"])
        for a, b in zip(serial["regions"], parallel["regions"]):
            assert np.allclose(a["box"], b["box"], atol=1) and abs(a["score"] - b["score"]) < 1e-3
        name = Path(serial["input"]).name
        with Image.open(tmp_path / "out-1" / name) as one, Image.open(tmp_path / "out-2" / name) as two:
            one_pixels, two_pixels = np.asarray(one.convert("RGB")), np.asarray(two.convert("RGB"))
        outside = np.ones(one_pixels.shape[:2], dtype=bool)
        for region in serial["regions"]:
            # JPEG codes 8x8 blocks: a block touching a cover may differ anywhere in it.
            x1, y1, x2, y2 = region["box"]
            outside[(y1 - 1) // 8 * 8 : -(-(y2 + 1) // 8) * 8, (x1 - 1) // 8 * 8 : -(-(x2 + 1) // 8) * 8] = False
        assert outside.any()
        assert np.array_equal(one_pixels[outside], two_pixels[outside]), name

@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find the worker processes")
def test_a_run_killed_mid_way_resumes_and_completes(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    count = 40
    small_photos(photos, count, size=(320, 240))
    command = ANONYMISE + [str(photos), "-o", str(out), "--jobs", "2", "--json"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: len(photos_in(out)) >= 4 if out.exists() else False), "nothing was written"
        workers = children_of(running.pid)
        running.send_signal(signal.SIGKILL)  # kill -9: no chance to clean up
        running.wait(timeout=30)
    finally:
        if running.poll() is None:
            running.kill()
    assert wait_for(lambda: not any(alive(pid) for pid in workers), timeout=30), "a worker outlived the run"
    present = {name: os.stat(out / name).st_ino for name in photos_in(out)}
    assert 0 < len(present) < count, "the run was not killed mid-way"
    assert_every_output_decodes(out)

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["written"] + summary["up_to_date"] == count
    # Copies a worker renamed into place just before the kill, whose result the main
    # process had not yet recorded, are redone (how many depends on the machine's load);
    # every copy recorded is kept as it was.
    assert summary["up_to_date"] > 0, "every complete copy was redone"
    assert photos_in(out) == [f"photo-{i:03d}.jpg" for i in range(count)] and leftovers(out) == []
    assert_every_output_decodes(out)
    kept = sum(os.stat(out / name).st_ino == inode for name, inode in present.items())
    assert kept == summary["up_to_date"]

def test_ctrl_c_finishes_the_photos_in_progress_and_exits_130(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    small_photos(photos, 30, size=(320, 240))
    command = ANONYMISE + [str(photos), "-o", str(out), "--jobs", "1", "--json"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: out.exists() and len(photos_in(out)) >= 2), "nothing was written"
        running.send_signal(signal.SIGINT)
        stdout, stderr = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 130, stderr
    assert "Interrupted:" in stderr and "Traceback" not in stderr
    summary = json.loads(stdout)
    assert summary["interrupted"] and summary["not_processed"] > 0
    assert summary["written"] == len(photos_in(out)) and leftovers(out) == []
    assert_every_output_decodes(out)

def test_a_photo_that_kills_its_worker_fails_alone(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    small_photos(photos, 6)
    noise_jpeg(photos / "photo-002-crash.jpg")
    # Loaded by every Python process started with this path, the spawned workers too.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import os\n"
        "import anonymise.run.worker as worker\n"
        "real_process = worker.PhotoWorker.process\n"
        "def process(self, job):\n"
        "    if 'crash' in job.source.name:\n"
        "        os._exit(9)  # as if the decoder had crashed\n"
        "    return real_process(self, job)\n"
        "worker.PhotoWorker.process = process\n"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        ANONYMISE + [str(photos), "-o", str(out), "--jobs", "2", "--json"],
        capture_output=True, text=True, timeout=600, env=environment,
    )
    assert done.returncode == 1, done.stderr
    failures = [line for line in done.stderr.splitlines() if line.startswith("failed:")]
    assert failures == [f"failed: {photos / 'photo-002-crash.jpg'}: the worker process died while anonymising it "
                        "(out of memory, or a crash in an image decoder)"]
    assert json.loads(done.stdout)["written"] == 6
    assert len(photos_in(out)) == 6 and leftovers(out) == []
