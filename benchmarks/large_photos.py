"""Seconds and peak memory per 12-megapixel photo, end to end, at default settings.

    python benchmarks/large_photos.py DATASET_DIR [--photos N] [--megapixels 12]

Takes N photos from DATASET_DIR/images (any folder of JPEGs works), upscales each to the
given size as a camera-sized JPEG in a temporary folder, then anonymises each one with
``anonymise_file`` (decode, detect, cover, verify, write, check) in a fresh process, so
the peak resident memory reported is that of one photo's run, models included.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

from PIL import Image


def upscale(source: Path, destination: Path, megapixels: float) -> None:
    with Image.open(source) as image:
        factor = math.sqrt(megapixels * 1e6 / (image.width * image.height))
        size = (round(image.width * factor), round(image.height * factor))
        image.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(destination, quality=92)


def measure_one(source: str, destination: str) -> dict:
    """Runs in a fresh process: load the models, then time one photo end to end."""
    from anonymise.detectors import build_detector
    from anonymise.pipeline import Options, anonymise_file
    from anonymise.redactors import build_redactor

    detector, redactor = build_detector(), build_redactor()
    started = time.perf_counter()
    result = anonymise_file(Path(source), Path(destination), detector, redactor, Options())
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return {"seconds": seconds, "peak_rss_mb": peak_mb, "regions": len(result.regions)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    sources = sorted((args.dataset / "images").rglob("*.jpg"))
    step = max(1, len(sources) // args.photos)
    sources = sources[::step][: args.photos]
    context = get_context("spawn")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, source in enumerate(sources):
            large = Path(scratch) / f"large-{index}.jpg"
            upscale(source, large, args.megapixels)
            with context.Pool(1) as pool:
                row = pool.apply(measure_one, (str(large), str(Path(scratch) / f"out-{index}.jpg")))
            with Image.open(large) as image:
                row["size"] = image.size
            rows.append(row)
            print(f"{source.name}: {row['size'][0]}x{row['size'][1]} {row['seconds']:.2f} s "
                  f"{row['peak_rss_mb']:.0f} MB {row['regions']} regions", file=sys.stderr)
    summary = {
        "photos": len(rows),
        "megapixels": args.megapixels,
        "seconds_mean": sum(r["seconds"] for r in rows) / len(rows),
        "seconds_max": max(r["seconds"] for r in rows),
        "peak_rss_mb_max": max(r["peak_rss_mb"] for r in rows),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "photos": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
