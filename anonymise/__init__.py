"""anonymise: cover every face in a photo and save a clean copy.

The Python API::

    from anonymise import anonymise_image, build_models
    models = build_models()              # load the models once (a detector alone also works)
    result = anonymise_image(image, models)
    result.image, result.faces, result.regions
"""

from anonymise import dependencies

# Before anything loads onnxruntime or mediapipe (see anonymise/dependencies.py).
dependencies.silence_onnxruntime_telemetry()
dependencies.silence_gl_shader_caches()

from anonymise.detectors import DETECTORS, build_detector
from anonymise.errors import AnonymiseError
from anonymise.faces import Faces
from anonymise.models import Models, build_models
from anonymise.pipeline import (
    AnonymisedImage, FileResult, FrameResult, Options, anonymise_file, anonymise_image,
)
from anonymise.redactors import REDACTORS, build_redactor
from anonymise.regions import Region

__version__ = "0.3.0"

__all__ = [
    "DETECTORS",
    "REDACTORS",
    "AnonymiseError",
    "AnonymisedImage",
    "Faces",
    "FileResult",
    "FrameResult",
    "Models",
    "Options",
    "Region",
    "anonymise_file",
    "anonymise_image",
    "build_detector",
    "build_models",
    "build_redactor",
    "__version__",
]
