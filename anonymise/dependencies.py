"""What our dependencies would leave on the user's disk or send, and how each is stopped.

anonymise promises that a run writes nothing but the copies (and the report, when asked)
and opens no network connection. Three of its dependencies break that on their own:

- **onnxruntime** 1.29 and later start Microsoft's 1DS telemetry with the first inference
  session on Linux and macOS: a persistent device ID
  (``~/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid``), an event queue beside it
  (``onnxruntime.db``: device ID, session, OS, CPU, memory, the Python running us),
  ``$TMPDIR/.ses`` and ``$TMPDIR/mat-debug-PID.log``, and an uploader that posts the queue
  with curl to ``mobile.events.data.microsoft.com``. ``disable_telemetry_events()`` does
  not stop it. The project pins onnxruntime below 1.29 (1.28.0 is the highest release
  that writes nothing, found by trying each); ``ORT_DISABLE_TELEMETRY=1``, which those
  releases read once before their first session, is set as well, so a newer onnxruntime
  forced into the environment stays silent too (measured on 1.29.0 and 1.32.0).
- **mediapipe** starts an OpenGL context for its optional GPU service whenever a display
  is at hand (any desktop session), and the GL driver keeps a shader cache in the home
  folder (Mesa: ``~/.cache/mesa_shader_cache``; NVIDIA: ``~/.cache/nvidia/GLCache``).
  mediapipe's Python API cannot turn the service off, so ``silence_gl_shader_caches``
  tells the drivers not to keep one; anonymise draws nothing with OpenGL itself.
- **matplotlib**, which mediapipe imports for drawing landmarks we never draw, makes
  ``~/.config/matplotlib`` and writes a font cache into ``~/.cache/matplotlib`` the first
  time it is imported. ``mediapipe_without_matplotlib`` keeps it from being imported.

``tests/test_traces.py`` runs the command line, the desktop window's core and the Python
API with an empty home and temporary folder and checks that they stay empty.
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from typing import Iterator

# What mediapipe's drawing helpers import.
_PLOTTING_MODULES = ("matplotlib", "matplotlib.pyplot")


def silence_onnxruntime_telemetry() -> None:
    """Switch off onnxruntime's telemetry; call before onnxruntime creates its first session."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"


def silence_gl_shader_caches() -> None:
    """Keep OpenGL drivers from writing shader caches; call before mediapipe starts a graph."""
    os.environ["MESA_SHADER_CACHE_DISABLE"] = "true"
    os.environ["MESA_GLSL_CACHE_DISABLE"] = "true"  # its name before Mesa 20
    os.environ["__GL_SHADER_DISK_CACHE"] = "0"  # NVIDIA's driver


class _NotImported(types.ModuleType):
    """Stands in for matplotlib while mediapipe is imported; never meant to be used."""

    def __getattr__(self, name: str):
        # AttributeError, as for any missing attribute: the import machinery relies on it.
        raise AttributeError(f"anonymise kept {self.__name__} from being imported (it writes caches)")


@contextlib.contextmanager
def mediapipe_without_matplotlib() -> Iterator[None]:
    """Import mediapipe inside this block: its drawing helpers get a stand-in for matplotlib.

    Only ``mediapipe.python.solutions.drawing_utils`` imports matplotlib (for
    ``plot_landmarks``), and importing it writes matplotlib's config folder and font cache.
    The stand-ins are taken out again afterwards, so a program that imports matplotlib
    itself later gets the real one. If matplotlib is already imported, nothing changes.
    """
    if "matplotlib" in sys.modules:
        yield
        return
    stand_ins = {name: _NotImported(name) for name in _PLOTTING_MODULES}
    stand_ins["matplotlib"].pyplot = stand_ins["matplotlib.pyplot"]  # for `import a.b as c`
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
