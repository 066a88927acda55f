"""Temporary files beside their destination: how every file anonymise writes appears.

A file is written to a hidden ``.NAME.*.part`` in its destination's folder and renamed
over the destination only once it is complete, so a run killed at any moment leaves the
whole file or a stale temporary one, which the next run removes.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Optional, Tuple

# tempfile.mkstemp(prefix=".NAME.", suffix=".part"): eight random characters in between.
_TEMPORARY_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.part")


def temporary_beside(destination: Path) -> Tuple[int, str]:
    """An open descriptor and the path of a new temporary file for ``destination``.

    mkstemp makes it readable by its owner only (0600); it gets the mode any new file of
    the user gets (0666 less the umask) instead, so the finished copy can be shared like
    any other. Raises ``OSError``.
    """
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        os.chmod(temporary, 0o666 & ~_umask())
    except BaseException:
        os.close(handle)
        os.unlink(temporary)
        raise
    return handle, temporary


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:  # Linux 4.7 and later
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    # Elsewhere the only way is to set it and set it back; another thread creating a file
    # in between would get 0022 for that moment.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: Path, name: Optional[str] = None) -> int:
    """Delete the temporary files an earlier, killed run left in ``folder``; how many.

    Only those of a file called ``name`` when given (a report's folder is not ours). Call
    it before this run writes anything there, so none of its own can be caught.
    """
    removed = 0
    try:
        entries = os.scandir(folder)
    except OSError:
        return 0  # not there yet (nothing to clean) or unreadable (the write will say so)
    with entries:
        for entry in entries:
            ours = _TEMPORARY_NAME.fullmatch(entry.name) and (name is None or entry.name.startswith(f".{name}."))
            if ours and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed
