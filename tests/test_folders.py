"""Folders as they come off a memory card: broken files, odd names, kills, full disks.

Every case goes through the real command line (in this process with ``CliRunner``, or as a
subprocess where signals, permissions or mounts are involved) and checks the exit code,
the one-line reason, that nothing partial was written and that no input changed.
"""

import hashlib
import io
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anonymise.resume import LEGACY_MANIFEST_NAME

from conftest import SAMPLES
from test_cli import invoke, photos_in

ANONYMISE = [sys.executable, "-m", "anonymise"]


def noise_jpeg(path, width=160, height=120, seed=1):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return path


def png_claiming(width, height):
    """A valid PNG header claiming ``width`` x ``height`` pixels, with almost no data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 8)) + chunk(b"IEND", b"")


def state_of(folder):
    """Everything about a tree that a run must not change: entries, kinds, sizes, contents."""
    state = {}
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(parent, name)
            info = os.lstat(path)
            content = None
            if os.path.isfile(path) and not os.path.islink(path) and os.access(path, os.R_OK) and info.st_size:
                content = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            state[path] = (info.st_mode, info.st_size, info.st_mtime_ns, content)
    return state


def leftovers(folder):
    """Temporary files left behind anywhere under ``folder``."""
    return [str(p) for p in Path(folder).rglob("*.part")]


def assert_every_output_decodes(folder):
    for name in photos_in(folder):
        with Image.open(Path(folder) / name) as image:
            image.load()


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
    import anonymise.worker

    real_build_detector = anonymise.worker.build_detector

    def detector_that_deletes_the_next_photo(name):
        detector = real_build_detector(name)
        real_detect = detector.detect

        def detect(rgb):
            vanishing.unlink(missing_ok=True)  # while the first photo is processed
            return real_detect(rgb)

        detector.detect = detect
        return detector

    monkeypatch.setattr(anonymise.worker, "build_detector", detector_that_deletes_the_next_photo)
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


def _small_photos(folder, count, size=(96, 72)):
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        noise_jpeg(folder / f"photo-{index:03d}.jpg", *size, seed=index)


def test_a_full_disk_stops_the_run_with_nothing_partial(tmp_path, monkeypatch):
    """Simulated: the third save runs out of space (a real small disk is the next test)."""
    photos = tmp_path / "photos"
    _small_photos(photos, 5)
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


def test_re_running_skips_complete_copies_and_redoes_changed_ones(tmp_path):
    photos = tmp_path / "photos"
    _small_photos(photos, 4)
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


def test_dry_run_lists_the_copies_and_writes_nothing(tmp_path):
    photos = tmp_path / "photos"
    _small_photos(photos, 2)
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
    _small_photos(photos, 2)
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


def _children_of(pid):
    children = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                children.append(int(entry.name))
        except OSError:
            pass
    return children


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition, timeout=120, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find the worker processes")
def test_a_run_killed_mid_way_resumes_and_completes(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    count = 40
    _small_photos(photos, count, size=(320, 240))
    command = ANONYMISE + [str(photos), "-o", str(out), "--jobs", "2", "--json"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: len(photos_in(out)) >= 4 if out.exists() else False), "nothing was written"
        workers = _children_of(running.pid)
        running.send_signal(signal.SIGKILL)  # kill -9: no chance to clean up
        running.wait(timeout=30)
    finally:
        if running.poll() is None:
            running.kill()
    assert _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=30), "a worker outlived the run"
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
    _small_photos(photos, 30, size=(320, 240))
    command = ANONYMISE + [str(photos), "-o", str(out), "--jobs", "1", "--json"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: out.exists() and len(photos_in(out)) >= 2), "nothing was written"
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
    _small_photos(photos, 6)
    noise_jpeg(photos / "photo-002-crash.jpg")
    # Loaded by every Python process started with this path, the spawned workers too.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import os\n"
        "import anonymise.worker as worker\n"
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


def test_runner_output_has_no_progress_bar_when_not_a_terminal(tmp_path):
    photos = tmp_path / "photos"
    _small_photos(photos, 1)
    result = invoke(photos, "-o", tmp_path / "out")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [result.stderr.splitlines()[-1]]
    assert "Anonymising" not in result.stderr


def test_an_unexpected_error_fails_the_photo_without_a_traceback_unless_debug(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    _small_photos(photos, 2)
    import anonymise.worker

    real_anonymise_file = anonymise.worker.anonymise_file

    def anonymise_file_with_a_bug(source, *args, **kwargs):
        if source.name == "photo-001.jpg":
            raise ZeroDivisionError("a bug\nover two lines")
        return real_anonymise_file(source, *args, **kwargs)

    monkeypatch.setattr(anonymise.worker, "anonymise_file", anonymise_file_with_a_bug)
    quiet = invoke(photos, "-o", tmp_path / "out")
    assert quiet.exit_code == 1
    assert f"failed: {photos / 'photo-001.jpg'}: unexpected error: ZeroDivisionError: a bug over two lines" in quiet.stderr
    assert "Traceback" not in quiet.output and photos_in(tmp_path / "out") == ["photo-000.jpg"]

    debug = invoke(photos, "-o", tmp_path / "out", "--debug")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr and "anonymise_file_with_a_bug" in debug.stderr


def test_an_unexpected_error_outside_the_photos_is_one_line(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    _small_photos(photos, 1)
    import anonymise.run

    def broken(self):
        raise RuntimeError("the scheduler broke")
        yield

    monkeypatch.setattr(anonymise.run.Run, "outcomes", broken)
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
    _small_photos(photos, 1)
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
    _small_photos(photos, 2)
    command = [photos, "-o", out, "--detector", "fast", "--style", "emoji", "--emoji-file", picture, "--json"]
    Image.new("RGB", (32, 32), "orange").save(picture)
    assert json.loads(invoke(*command).stdout)["written"] == 2
    assert json.loads(invoke(*command).stdout)["up_to_date"] == 2
    Image.new("RGB", (32, 32), "purple").save(picture)  # same name, other picture
    assert json.loads(invoke(*command).stdout)["written"] == 2


def test_neutral_names_are_found_again_by_a_re_run(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    _small_photos(photos / "day 1", 2)
    _small_photos(photos / "day 2", 2)
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
