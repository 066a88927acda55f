"""Starting or joining Ray so that it writes and sends nothing beyond what a run needs.

This engine is the one place anonymise talks over a network: Ray's own traffic between
the driver, the cluster and the storage the user named. Left to itself Ray does more, and
each is stopped here before Ray is imported or started:

- **usage statistics**: ``RAY_USAGE_STATS_ENABLED=0``, whenever anonymise starts or joins Ray;
- **the node's address**: Ray finds it with a UDP "connect" to a public resolver
  (8.8.8.8) and then binds its servers to the machine's network address, even when given
  ``_node_ip_address="127.0.0.1"`` (it turns loopback into that address). A local Ray is
  told it is a single-machine Ray (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, Ray's own
  switch for laptops), so every server binds to 127.0.0.1 and nothing is probed;
- **cloud detection**: Ray's dashboard process (started even without the dashboard, for
  usage statistics) asks the cloud metadata services (169.254.169.254,
  metadata.google.internal) which cloud it runs on, unless it finds the cluster file that
  ``ray up`` leaves in the home folder. Ray's processes get a home of their own in the run's
  temporary folder, holding an empty one, so they ask nothing — and anything Ray would
  keep in a home folder (its authentication token) goes there too;
- **authentication**: a local Ray uses Ray's token authentication with a random token
  passed in the environment, so no other user of the machine can submit work to it;
- **files**: everything Ray writes (sockets, logs, spilled objects) goes to that temporary
  folder, removed when the run ends; no dashboard, no log forwarding to the terminal.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterator, Optional

from anonymise.errors import AnonymiseError

RAY_EXTRA = "pip install 'anonymise[ray]'"
# What a local Ray listens on: this machine only.
LOOPBACK = "127.0.0.1"
_RAY_DATA_LOGGING = Path(__file__).with_name("ray-data-logging.yaml")
# Ray makes Unix sockets in its temporary folder, at most this far down
# (/session_2026-12-03_13-15-59_835368_29610/sockets/plasma_store); a socket's path holds
# at most 107 bytes on Linux (103 on macOS).
_LONGEST_SOCKET_PATH = 62
_SOCKET_PATH_LIMIT = 103 if sys.platform == "darwin" else 107


class RayUnavailableError(AnonymiseError):
    """Ray is not installed, or the cluster cannot be reached."""


def require_ray() -> None:
    """Raise ``RayUnavailableError`` unless Ray Data can be imported, without importing it
    (Ray reads how to start from the environment once, when it is first imported)."""
    for module in ("ray", "pyarrow"):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise RayUnavailableError(f"the Ray engine needs Ray ({module} is missing): {RAY_EXTRA}")


def import_ray():
    """Ray, imported with its usage statistics off; a one-line error when it is missing."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    # The terminal is anonymise's: Ray Data says only errors, Ray's core only fatal ones
    # (it warns about its own design choices as errors), unless the user asks for more.
    os.environ.setdefault("RAY_DATA_LOGGING_CONFIG", str(_RAY_DATA_LOGGING))
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        import ray
        import ray.data  # noqa: F401  (the engine needs Ray Data, not only Ray core)
    except ImportError as error:
        raise RayUnavailableError(f"the Ray engine needs Ray ({error.name or error} is missing): {RAY_EXTRA}") from None
    logging.getLogger("ray").setLevel(logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False
    return ray


@contextlib.contextmanager
def ray_session(address: Optional[str] = None, num_cpus: Optional[int] = None) -> Iterator[None]:
    """Ray, for the length of the block: the one already running in this process, the
    cluster at ``address`` (``auto``: the one this machine belongs to), or else a local
    Ray on this machine's cores (``num_cpus``), started and removed again here."""
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        import_ray()
        yield  # a pipeline of the caller's own: theirs to shut down
        return
    if address is not None:
        ray = import_ray()
        try:
            with _quiet_standard_error():
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise RayUnavailableError(f"cannot join the Ray cluster at {address}: {_first_line(error)}") from None
        try:
            yield
        finally:
            ray.shutdown()
        return
    with local_ray(num_cpus):
        yield


@contextlib.contextmanager
def local_ray(num_cpus: Optional[int] = None, temporary_root: Optional[Path] = None) -> Iterator[Path]:
    """A Ray of this machine only (see the module notes); yields its temporary folder.

    It is made in ``temporary_root`` (default: the temporary folder). Call it before
    anything imports Ray in this process: Ray reads from the environment
    once, on import, whether it is a single-machine Ray and how it authenticates.
    """
    folder = _temporary_folder(temporary_root)
    home = folder / "home"
    home.mkdir()
    # What ray up leaves on a head node; finding it, Ray asks no cloud metadata service.
    (home / "ray_bootstrap_config.yaml").write_text("{}\n")
    session = {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
    }
    ray = None
    try:
        with _environment(session):
            ray = import_ray()
            # Ray's processes inherit this home; this process gets its own back at once
            # (its resume state is found through it).
            with _environment({"HOME": str(home)}), _quiet_standard_error():
                try:
                    ray.init(
                        num_cpus=num_cpus,
                        _node_ip_address=LOOPBACK,
                        include_dashboard=False,
                        _temp_dir=str(folder),
                        log_to_driver=False,
                        configure_logging=False,
                    )
                except (ConnectionError, RuntimeError, ValueError) as error:
                    raise RayUnavailableError(f"cannot start Ray on this computer: {_first_line(error)}") from None
            try:
                yield folder
            finally:
                ray.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _temporary_folder(root: Optional[Path]) -> Path:
    """A new folder for a local Ray, short enough a path for the sockets Ray makes in it."""
    folder = Path(tempfile.mkdtemp(prefix="ray-", dir=root))
    if len(os.fsencode(folder)) + _LONGEST_SOCKET_PATH > _SOCKET_PATH_LIMIT and root != Path("/tmp"):
        folder.rmdir()
        return _temporary_folder(Path("/tmp"))
    return folder


@contextlib.contextmanager
def _quiet_standard_error() -> Iterator[None]:
    """Ray's core prints a line when it reads its log level, to the file descriptor
    itself: keep it off the terminal (whatever fails raises an exception of its own)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as nowhere:
        os.dup2(nowhere.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _environment(variables: Dict[str, str]) -> Iterator[None]:
    """These environment variables set for the block, then as they were."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
