"""Launchers that open the review window with the photos dropped on them.

Linux: a desktop entry (``Exec=... %F``) in the applications folder, and a copy on the
desktop. Windows: a shortcut in Send To and on the desktop. macOS: a droplet application
in ~/Applications, made by the system's own ``osacompile``, and an alias on the desktop.
Every launcher runs this Python, so it keeps working whatever PATH the desktop session has.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence

NAME = "Anonymise photos"
COMMENT = "Cover every face in photos and save clean copies"
DESKTOP_ENTRY = "anonymise-drop.desktop"
# What a desktop entry offers to open (for "Open with"); %F passes any dropped file anyway.
MIME_TYPES = ("image/jpeg", "image/png", "image/webp", "image/tiff", "image/bmp", "inode/directory")


class LauncherError(Exception):
    """A launcher could not be created or removed; the message is one line for the user."""


def launch_command() -> List[str]:
    """The command a launcher runs, before the dropped paths."""
    python = Path(sys.executable)
    if sys.platform == "win32":
        # pythonw opens no console window behind the review window.
        windowless = python.with_name("pythonw.exe")
        python = windowless if windowless.exists() else python
    return [str(python), "-m", "anonymise.desktop"]


def install(on_desktop: bool = True) -> List[Path]:
    """Create the launchers for this platform; returns the paths created."""
    if sys.platform == "win32":
        return _windows_shortcuts(on_desktop, remove=False)
    if sys.platform == "darwin":
        return _install_macos_droplet(on_desktop)
    return _install_desktop_entries(on_desktop)


def uninstall() -> List[Path]:
    """Remove every launcher ``install`` may have created; returns the paths removed."""
    if sys.platform == "win32":
        return _windows_shortcuts(True, remove=True)
    if sys.platform == "darwin":
        candidates = [_macos_droplet(), Path.home() / "Desktop" / f"{NAME}.app"]
    else:
        candidates = [applications_folder() / DESKTOP_ENTRY]
        desktop = desktop_folder()
        if desktop is not None:
            candidates.append(desktop / DESKTOP_ENTRY)
    removed = []
    for path in candidates:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            continue
        removed.append(path)
    return removed


# Linux and other freedesktop.org systems ----------------------------------------------

def applications_folder() -> Path:
    """``$XDG_DATA_HOME/applications``, ``~/.local/share/applications`` by default."""
    data_home = os.environ.get("XDG_DATA_HOME", "")
    # The base directory spec says to ignore a relative path here.
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return base / "applications"


def desktop_folder() -> Optional[Path]:
    """The user's desktop folder as ``xdg-user-dirs`` records it, if it exists."""
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    config = Path(config_home) if os.path.isabs(config_home) else Path.home() / ".config"
    folder = Path.home() / "Desktop"
    try:
        text = (config / "user-dirs.dirs").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    match = re.search(r'^XDG_DESKTOP_DIR="([^"]*)"', text, re.MULTILINE)
    if match:
        value = match.group(1).replace("$HOME", str(Path.home()))
        if os.path.isabs(value):
            folder = Path(value)
    return folder if folder.is_dir() else None


def desktop_entry(command: Sequence[str]) -> str:
    """A desktop entry whose ``Exec`` runs ``command`` with the dropped files (``%F``)."""
    exec_line = " ".join(_exec_argument(argument) for argument in command)
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        f"Name={NAME}",
        f"Comment={COMMENT}",
        f"Exec={exec_line} %F",
        "Icon=image-x-generic",
        "Terminal=false",
        "Categories=Graphics;Photography;",
        f"MimeType={';'.join(MIME_TYPES)};",
        "",
    ])


def _exec_argument(argument: str) -> str:
    """Quote one argument for an ``Exec`` key, as the desktop entry spec asks.

    Quoted arguments escape ``"`$\\`` with a backslash; then, like every string value, the
    line escapes backslashes again. ``%`` is doubled so it is not a field code.
    """
    argument = argument.replace("%", "%%")
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", argument):
        return argument
    quoted = '"' + re.sub(r'(["`$\\])', r"\\\1", argument) + '"'
    return quoted.replace("\\", "\\\\")


def _install_desktop_entries(on_desktop: bool) -> List[Path]:
    text = desktop_entry(launch_command())
    targets = [applications_folder() / DESKTOP_ENTRY]
    desktop = desktop_folder() if on_desktop else None
    if desktop is not None:
        targets.append(desktop / DESKTOP_ENTRY)
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        # File managers run a desktop entry from the desktop only if it is executable.
        target.chmod(0o755)
    return targets


# Windows ------------------------------------------------------------------------------

def windows_shortcut_script(command: Sequence[str], on_desktop: bool, remove: bool) -> str:
    """PowerShell that creates (or removes) the Send To and desktop shortcuts, printing
    each path it touched."""
    folders = ["[Environment]::GetFolderPath('SendTo')"]
    if on_desktop:
        folders.append("[Environment]::GetFolderPath('Desktop')")
    lines = [
        "$ErrorActionPreference = 'Stop'",
        "$shell = New-Object -ComObject WScript.Shell",
        f"foreach ($folder in @({', '.join(folders)})) {{",
        f"  $path = Join-Path $folder {_powershell_string(NAME + '.lnk')}",
    ]
    if remove:
        lines += ["  if (Test-Path -LiteralPath $path) { Remove-Item -LiteralPath $path; $path }"]
    else:
        lines += [
            "  $link = $shell.CreateShortcut($path)",
            f"  $link.TargetPath = {_powershell_string(command[0])}",
            f"  $link.Arguments = {_powershell_string(subprocess.list2cmdline(command[1:]))}",
            f"  $link.Description = {_powershell_string(COMMENT)}",
            "  $link.Save()",
            "  $path",
        ]
    return "\n".join(lines + ["}", ""])


def _powershell_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _windows_shortcuts(on_desktop: bool, remove: bool) -> List[Path]:
    script = windows_shortcut_script(launch_command(), on_desktop, remove)
    done = _run(["powershell", "-NoProfile", "-NonInteractive", "-Command", script])
    return [Path(line) for line in done.splitlines() if line.strip()]


# macOS --------------------------------------------------------------------------------

def droplet_script(command: Sequence[str]) -> str:
    """AppleScript for an application that runs ``command`` with the items dropped on it."""
    shell_command = _applescript_string(shlex.join(command))
    return "\n".join([
        "on open dropped_items",
        '\tset arguments to ""',
        "\trepeat with dropped_item in dropped_items",
        '\t\tset arguments to arguments & " " & quoted form of POSIX path of dropped_item',
        "\tend repeat",
        f'\tdo shell script {shell_command} & arguments & " > /dev/null 2>&1 &"',
        "end open",
        "",
        "on run",
        f'\tdo shell script {shell_command} & " > /dev/null 2>&1 &"',
        "end run",
        "",
    ])


def _applescript_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _macos_droplet() -> Path:
    return Path.home() / "Applications" / f"{NAME}.app"


def _install_macos_droplet(on_desktop: bool) -> List[Path]:
    droplet = _macos_droplet()
    droplet.parent.mkdir(parents=True, exist_ok=True)
    _run(["osacompile", "-o", str(droplet), "-e", droplet_script(launch_command())])
    created = [droplet]
    alias = Path.home() / "Desktop" / droplet.name
    if on_desktop and alias.parent.is_dir():
        if alias.is_symlink():
            alias.unlink()
        alias.symlink_to(droplet)
        created.append(alias)
    return created


def _run(command: List[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        raise LauncherError(f"cannot run {command[0]}: {error.strerror or error}") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise LauncherError(f"{command[0]} failed: {detail}")
    return done.stdout
