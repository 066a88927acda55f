"""`anonymise install-launcher`: launchers created and removed in a temporary HOME."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageGrab
from typer.testing import CliRunner

from anonymise import launcher
from anonymise.cli import launcher_app

from conftest import SAMPLES
from virtual_display import x_display  # noqa: F401  (a fixture)

runner = CliRunner()
ANONYMISE = Path(sys.executable).with_name("anonymise")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty HOME with a Desktop folder, and no XDG variables from the real session."""
    home = tmp_path / "home"
    (home / "Desktop").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    return home


def exec_command(entry_text):
    """The Exec line of a desktop entry as an argument list, decoded as the desktop entry
    spec says: string escapes first, then double quotes with ``\\`` before ``"`$\\``."""
    [line] = [line for line in entry_text.splitlines() if line.startswith("Exec=")]
    value = line[len("Exec="):].replace("\\\\", "\\")
    arguments, current, in_quotes, escaped = [], None, False, False
    for char in value:
        if escaped:
            current, escaped = current + char, False
        elif in_quotes and char == "\\":
            escaped = True
        elif char == '"':
            current, in_quotes = current or "", not in_quotes
        elif char == " " and not in_quotes:
            if current is not None:
                arguments.append(current)
            current = None
        else:
            current = (current or "") + char
    arguments.append(current)
    return [argument if argument == "%F" else argument.replace("%%", "%") for argument in arguments]


def test_install_and_uninstall_on_linux(home):
    result = runner.invoke(launcher_app, [])
    assert result.exit_code == 0, result.output
    entry = home / ".local" / "share" / "applications" / "anonymise-drop.desktop"
    on_desktop = home / "Desktop" / "anonymise-drop.desktop"
    assert result.output.splitlines() == [f"Created {entry}", f"Created {on_desktop}"]
    text = entry.read_text()
    assert on_desktop.read_text() == text and os.access(on_desktop, os.X_OK)
    assert text.startswith("[Desktop Entry]\nType=Application\n")
    assert "Name=Anonymise photos\n" in text and "Terminal=false\n" in text
    assert exec_command(text) == [sys.executable, "-m", "anonymise.desktop", "%F"]

    result = runner.invoke(launcher_app, ["--uninstall"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"Removed {entry}", f"Removed {on_desktop}"]
    assert not entry.exists() and not on_desktop.exists()
    assert runner.invoke(launcher_app, ["--uninstall"]).output == "No launcher was installed.\n"


def test_xdg_folders_are_respected(home, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "user-dirs.dirs").write_text(
        '# written by xdg-user-dirs-update\nXDG_DESKTOP_DIR="$HOME/Schreibtisch"\n'
    )
    (home / "Schreibtisch").mkdir()
    assert launcher.install() == [
        tmp_path / "data" / "applications" / "anonymise-drop.desktop",
        home / "Schreibtisch" / "anonymise-drop.desktop",
    ]
    assert len(launcher.uninstall()) == 2


@pytest.mark.parametrize("setup, expected_desktop", [
    ("no desktop folder", False),
    ("--no-desktop", False),
    ("relative XDG_DATA_HOME is ignored", True),
])
def test_where_the_entries_go(home, monkeypatch, setup, expected_desktop):
    args = []
    if setup == "no desktop folder":
        (home / "Desktop").rmdir()
    elif setup == "--no-desktop":
        args = ["--no-desktop"]
    else:
        monkeypatch.setenv("XDG_DATA_HOME", "relative/data")
    result = runner.invoke(launcher_app, args)
    assert result.exit_code == 0, result.output
    assert (home / ".local" / "share" / "applications" / "anonymise-drop.desktop").is_file()
    assert (home / "Desktop" / "anonymise-drop.desktop").is_file() == expected_desktop


@pytest.mark.parametrize("argument", [
    "/usr/bin/python3",
    "/home/ana maria/venv/bin/python",
    '/odd/"quoted" $HOME `tick` back\\slash 100%/python',
])
def test_exec_quoting_survives_the_desktop_entry_rules(argument):
    assert exec_command(launcher.desktop_entry([argument, "-m", "anonymise.desktop"])) == [
        argument, "-m", "anonymise.desktop", "%F",
    ]


def test_windows_shortcuts_are_made_by_powershell_in_send_to_and_on_the_desktop():
    command = [r"C:\Users\o'brien\venv\Scripts\pythonw.exe", "-m", "anonymise.desktop"]
    script = launcher.windows_shortcut_script(command, on_desktop=True, remove=False)
    assert "GetFolderPath('SendTo'), [Environment]::GetFolderPath('Desktop')" in script
    assert r"$link.TargetPath = 'C:\Users\o''brien\venv\Scripts\pythonw.exe'" in script
    assert "$link.Arguments = '-m anonymise.desktop'" in script
    removal = launcher.windows_shortcut_script(command, on_desktop=True, remove=True)
    assert "Remove-Item -LiteralPath $path" in removal and "CreateShortcut" not in removal


def test_macos_droplet_passes_each_dropped_item_quoted():
    script = launcher.droplet_script(["/Users/me/my venv/bin/python", "-m", "anonymise.desktop"])
    assert "quoted form of POSIX path of dropped_item" in script
    assert "do shell script \"'/Users/me/my venv/bin/python' -m anonymise.desktop\" & arguments" in script


def test_cli_dispatch_keeps_paths_named_like_the_command_reachable(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    env.pop("XDG_DATA_HOME", None)
    done = subprocess.run([str(ANONYMISE), "install-launcher", "--no-desktop"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / ".local" / "share" / "applications" / "anonymise-drop.desktop").is_file()

    folder = tmp_path / "install-launcher"
    folder.mkdir()
    (folder / "portrait.png").write_bytes((SAMPLES / "nasa-astronaut-eileen-collins.png").read_bytes())
    done = subprocess.run([str(ANONYMISE), "./install-launcher", "--detector", "centerface"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "install-launcher-anonymised" / "portrait.png").is_file()


def test_dropping_two_photos_on_the_launcher_opens_the_window_with_faces_marked(home, tmp_path, x_display):
    [entry] = launcher.install(on_desktop=False)
    photos = tmp_path / "photos"
    photos.mkdir()
    dropped = []
    for name in ("nasa-astronaut-eileen-collins.png", "whitehouse-rose-garden-small-profile.jpg"):
        (photos / name).write_bytes((SAMPLES / name).read_bytes())
        dropped.append(str(photos / name))
    command = [part for argument in exec_command(entry.read_text())
               for part in (dropped if argument == "%F" else [argument])]
    window = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        marked = False
        while not marked and time.monotonic() < deadline and window.poll() is None:
            time.sleep(0.5)
            screen = ImageGrab.grab(xdisplay=x_display)
            marked = bool(np.all(np.asarray(screen) == (0xFF, 0xCC, 0x00), axis=-1).any())  # outline colour
    finally:
        window.terminate()
        _, errors = window.communicate(timeout=30)
    screen.save(tmp_path / "launched.png")
    assert marked, f"no face outline appeared on the screen; stderr: {errors.decode()[-2000:]}"
    assert "Traceback" not in errors.decode()
