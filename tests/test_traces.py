"""No trace: a run writes the copies and nothing else, anywhere.

Each door (the command line, the desktop window, the Python API) runs as its own process,
on real photos with the real models, with its home, every XDG folder and its temporary
folder pointed at empty folders; afterwards they must still be empty, apart from
anonymise's own resume state (a key and keyed hashes) in its state folder. What a
dependency would write there (onnxruntime's device ID and telemetry queue, matplotlib's
font cache, fontconfig's or Tk's caches) fails these tests. .ci/run also traces a run on
the samples for network use.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import SAMPLES
from virtual_display import x_display  # noqa: F401  (a fixture)

PHOTOS = ["nasa-astronaut-eileen-collins.png", "whitehouse-rose-garden-small-profile.jpg"]


@pytest.fixture
def empty_home(tmp_path):
    """An environment whose home, XDG folders and temporary folder are empty folders."""
    folders = {name: tmp_path / "env" / name for name in ("home", "cache", "config", "data", "state", "runtime", "tmp")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    folders["runtime"].chmod(0o700)
    environment = {
        **os.environ,
        "HOME": str(folders["home"]),
        "XDG_CACHE_HOME": str(folders["cache"]),
        "XDG_CONFIG_HOME": str(folders["config"]),
        "XDG_DATA_HOME": str(folders["data"]),
        "XDG_STATE_HOME": str(folders["state"]),
        "XDG_RUNTIME_DIR": str(folders["runtime"]),
        "TMPDIR": str(folders["tmp"]),
    }
    return environment, folders


def left_behind(folders):
    """Everything in those folders but anonymise's resume state."""
    found = []
    for name, folder in folders.items():
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            ours = name == "state" and (
                relative in ("anonymise", "anonymise/key", "anonymise/resume")
                or (relative.startswith("anonymise/resume/") and relative.endswith(".sqlite3"))
            )
            if not ours:
                found.append(f"{name}/{relative}")
    return found


def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(SAMPLES / name, folder)
    return folder


@pytest.mark.parametrize("desktop", [False, True], ids=["no display", "on a desktop"])
def test_the_command_line_leaves_nothing_but_the_copies(tmp_path, empty_home, request, desktop):
    environment, folders = empty_home
    if desktop:  # with a display, mediapipe starts OpenGL, whose driver would keep a shader cache
        environment["DISPLAY"] = request.getfixturevalue("x_display")
    else:
        environment.pop("DISPLAY", None)
    photos, out = photo_folder(tmp_path), tmp_path / "out"
    command = [sys.executable, "-m", "anonymise", str(photos), "-o", str(out), "--jobs", "2", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["written"] == len(PHOTOS)
    assert sorted(p.name for p in out.iterdir()) == sorted(PHOTOS), "the output folder holds only the photos"
    assert left_behind(folders) == []
    assert (folders["state"] / "anonymise" / "key").is_file()

    again = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
    assert json.loads(again.stdout)["up_to_date"] == len(PHOTOS)
    assert left_behind(folders) == []


def test_the_python_api_leaves_nothing_but_the_copy(tmp_path, empty_home):
    environment, folders = empty_home
    environment.pop("DISPLAY", None)
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from PIL import Image
        from anonymise import anonymise_file, anonymise_image, build_detector, build_redactor
        detector = build_detector()
        result = anonymise_image(Image.open(sys.argv[1]), detector)
        assert len(result.faces) >= 1
        anonymise_file(Path(sys.argv[1]), Path(sys.argv[2]), detector, build_redactor())
    """)
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run([sys.executable, "-c", script, str(SAMPLES / PHOTOS[0]), str(out / "copy.png")],
                          capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in out.iterdir()] == ["copy.png"]
    assert left_behind(folders) == []


def test_the_desktop_window_leaves_nothing_but_the_copies(tmp_path, empty_home, x_display):
    pytest.importorskip("tkinter", reason="this Python has no Tk (Debian: apt-get install python3-tk)")
    environment, folders = empty_home
    script = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        from anonymise.desktop.app import open_window

        window = open_window([Path(sys.argv[2])], Path(sys.argv[1]))
        deadline = time.monotonic() + 300

        def wait_until(condition):
            while not condition():
                assert time.monotonic() < deadline, "the window did not get there in time"
                window.root.update()
                time.sleep(0.02)

        wait_until(lambda: window.review.photos and not window.review.finding_faces)
        window.save_button.invoke()
        wait_until(lambda: all(photo.saved_to for photo in window.review.photos))
        window.background.stop(timeout=30)
        window.root.destroy()
    """)
    photos, out = photo_folder(tmp_path), tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", script, str(out), str(photos)],
                          capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(PHOTOS)
    assert left_behind(folders) == []
