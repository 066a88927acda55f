"""Helpers for the tests of folder runs: photos to make, trees to compare, processes to watch.

Every case of those tests goes through the real command line (in this process with
``CliRunner``, or as a subprocess where signals, permissions or mounts are involved) and
checks the exit code, the one-line reason, that nothing partial was written and that no
input changed.
"""

import hashlib
import os
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from test_cli import photos_in


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


def small_photos(folder, count, size=(96, 72)):
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        noise_jpeg(folder / f"photo-{index:03d}.jpg", *size, seed=index)


def children_of(pid):
    children = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                children.append(int(entry.name))
        except OSError:
            pass
    return children


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(condition, timeout=120, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False
