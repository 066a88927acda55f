"""anonymise: cover every face in a photo and save a clean copy.

The Python API::

    from anonymise import anonymise_image, build_detector
    detector = build_detector()          # load the models once
    result = anonymise_image(image, detector)
    result.image, result.faces, result.regions
"""

from anonymise import dependencies

# Before anything loads onnxruntime or mediapipe (see anonymise/dependencies.py).
dependencies.silence_onnxruntime_telemetry()
dependencies.silence_gl_shader_caches()

from anonymise.detectors import DETECTORS, build_detector
from anonymise.errors import AnonymiseError
from anonymise.faces import Faces
from anonymise.pipeline import (
    AnonymisedImage, FileResult, FrameResult, Options, anonymise_file, anonymise_image,
)
from anonymise.redactors import REDACTORS, build_redactor
from anonymise.regions import Region

__version__ = "0.1.0"

__all__ = [
    "DETECTORS",
    "REDACTORS",
    "AnonymiseError",
    "AnonymisedImage",
    "Faces",
    "FileResult",
    "FrameResult",
    "Options",
    "Region",
    "anonymise_file",
    "anonymise_image",
    "build_detector",
    "build_redactor",
    "__version__",
]
