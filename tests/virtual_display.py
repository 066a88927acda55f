"""A private X display (Xvfb) for tests that open real windows, and screenshots of them."""

import os
import select
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import ImageGrab

SCREEN = "1280x860x24"


@pytest.fixture(scope="session")
def x_display():
    """Start Xvfb on a free display number for the session and point DISPLAY at it."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb)")
    read_end, write_end = os.pipe()
    # -displayfd: Xvfb picks a free display number itself and writes it to the pipe.
    # Mesa, in the server, would keep a shader cache in the home folder (anonymise itself
    # tells GL drivers not to: anonymise/dependencies.py).
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "MESA_SHADER_CACHE_DISABLE": "true"},
    )
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 30)
        number = os.read(read_end, 16).decode().strip() if ready else ""
        if not number:
            raise RuntimeError("Xvfb did not start")
        display = f":{number}"
        previous = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = display
        yield display
        if previous is None:
            del os.environ["DISPLAY"]
        else:
            os.environ["DISPLAY"] = previous
    finally:
        os.close(read_end)
        server.terminate()
        server.wait(10)


def screenshot(root, path: Path) -> Path:
    """Save what the X server shows of Tk window ``root`` as a PNG."""
    root.update()
    left, top = root.winfo_rootx(), root.winfo_rooty()
    box = (left, top, left + root.winfo_width(), top + root.winfo_height())
    path.parent.mkdir(parents=True, exist_ok=True)
    ImageGrab.grab(bbox=box, xdisplay=os.environ["DISPLAY"]).save(path)
    return path
