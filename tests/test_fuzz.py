"""Fuzzing loading + anonymising: whatever a file holds, only an AnonymiseError escapes.

Small valid photos of every format, mutated (bits flipped, bytes cut, inserted, deleted,
header fields set to extreme sizes), go through the same checks and pipeline as every
photo of a run. A short run is part of the suite; docs/folders.md has the long one:

    ANONYMISE_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py
"""

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from anonymise.errors import AnonymiseError
from anonymise.run.plan import Job
from anonymise.run.settings import CopySettings
from anonymise.run.worker import PhotoWorker

EXAMPLES = int(os.environ.get("ANONYMISE_FUZZ_EXAMPLES", "120"))


def _seed_files():
    """One small photo per format anonymise reads, with the features decoders branch on."""
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated, so exif_transpose runs
    seeds = {}
    for extension, format_name, options in [
        (".jpg", "JPEG", {"quality": 80, "exif": exif.tobytes()}),
        (".jpg", "JPEG", {"quality": 60, "progressive": True}),
        (".png", "PNG", {}),
        (".webp", "WEBP", {"quality": 70}),
        (".tif", "TIFF", {"compression": "tiff_lzw"}),
        (".bmp", "BMP", {}),
    ]:
        buffer = io.BytesIO()
        image.save(buffer, format=format_name, **options)
        seeds[f"{format_name} {options}"] = (extension, buffer.getvalue())
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0], "L").convert("P").save(buffer, format="PNG", transparency=3)
    seeds["palette PNG"] = (".png", buffer.getvalue())
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([pixels, pixels[..., :1]]), "RGBA").save(buffer, format="PNG")
    seeds["RGBA PNG"] = (".png", buffer.getvalue())
    frames = [Image.fromarray(np.roll(pixels, shift, axis=1)) for shift in (0, 8, 16)]
    for extension, format_name in [(".gif", "GIF"), (".png", "PNG"), (".webp", "WEBP")]:
        buffer = io.BytesIO()  # animations: every frame is decoded and covered
        frames[0].save(buffer, format=format_name, save_all=True, append_images=frames[1:], duration=80, loop=0)
        seeds[f"animated {format_name}"] = (extension, buffer.getvalue())
    return seeds


SEEDS = _seed_files()


@st.composite
def mutated_photos(draw):
    extension, data = draw(st.sampled_from(sorted(SEEDS.values())))
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, max(0, len(data) - 1)))
        mutation = draw(st.sampled_from(["flip", "cut", "insert", "delete", "huge", "zero"]))
        if mutation == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif mutation == "cut":
            del data[position:]
        elif mutation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif mutation == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        elif mutation == "huge":  # the size fields of headers, pushed to the extreme
            data[position : position + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x7f\xff", b"\xff\xff"]))
        else:
            data[position : position + 4] = b"\0\0\0\0"
    return extension, bytes(data)


@pytest.fixture(scope="module")
def worker():
    return PhotoWorker.loading_models(CopySettings(detector="centerface"))


@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 500,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(photo=st.one_of(mutated_photos(), st.tuples(st.sampled_from([".jpg", ".png", ".tif", ".gif"]), st.binary())))
def test_only_anonymise_errors_escape_and_nothing_partial_is_left(worker, photo):
    extension, data = photo
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "in" + extension)
        source.write_bytes(data)
        output = Path(folder, "out")
        job = Job(source, output / source.name, output)
        try:
            worker.anonymise(job)
        except AnonymiseError as error:
            assert str(error) and "\n" not in str(error)
            assert not job.destination.exists()
        else:
            with Image.open(job.destination) as written:
                written.load()
        assert source.read_bytes() == data
        temporary_files = [p.name for p in output.iterdir() if p.name.endswith(".part")] if output.exists() else []
        assert temporary_files == []
