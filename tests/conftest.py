import json
from pathlib import Path

import numpy as np
import pytest

from anonymise.detectors import build_detector

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
LABELLED_FACES = json.loads((Path(__file__).parent / "data" / "sample_faces.json").read_text())["faces"]


@pytest.fixture(scope="session")
def detectors():
    """Each registered detector, loaded once for the whole test session."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = build_detector(name)
        return cache[name]

    return get


@pytest.fixture
def sample_dir(tmp_path):
    """A copy of a few samples (a group photo and a portrait) in a folder of their own."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ["nasa-astronaut-eileen-collins.png", "nasa-white-house-iss-call-group.jpg"]:
        (folder / name).write_bytes((SAMPLES / name).read_bytes())
    return folder


def labelled_boxes(photo_name):
    return np.array(LABELLED_FACES[photo_name], dtype=np.float32)
