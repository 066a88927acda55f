"""Recall, time and memory on camera-sized photos whose faces keep their native pixel size.

    python benchmarks/large_photos.py DATASET_DIR [--photos 256] [--grids 1x1,2x2,4x4,8x4,8x8]
        [--detector NAME [--detector NAME ...]] [--no-deface] [--json OUT.json] [--markdown]

DATASET_DIR is laid out like the WIDER FACE development split (see recall.py). The same
``--photos`` photos, spread over the set, are cut or padded to 1024x768 cells and tiled
into mosaics of each grid (4x4: 4096x3072, 12.6 MP; 8x8: 8192x6144, 50 MP) with their
faces at their own pixel size, as ``../shared/eval/build_mosaic.py`` does; 1x1 is the
cells one by one. Upscaling a photo would make its faces grow with it, which says nothing
about the small faces of a large photo.

Each tool (anonymise with each detector asked for — default and ``fast`` unless told —
then deface 1.5.0 with its defaults) goes through every mosaic of a grid in its own fresh
process, the tools taking turns photo by photo. A photo is timed as a user meets it, file
to file: decode, detect, cover, verify, encode and check for anonymise (``anonymise_file``
with its default blur), decode, detect, blur and encode for deface (its CLI's
``image_detect``). Peak memory is each process's resident peak over one grid, models
included. Recall and area use recall.py's metric.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recall  # noqa: E402  (the metric and its tables, shared with the 1 MP benchmark)

CELL = (1024, 768)
GREY = (128, 128, 128)
DEFAULT_GRIDS = "1x1,2x2,4x4,8x4,8x8"
# Only a hang reaches this: a 50 MP photo takes tens of seconds.
SECONDS_PER_MEGAPIXEL_TIMEOUT = 20


@dataclass(frozen=True)
class Grid:
    columns: int
    rows: int

    @property
    def cells(self) -> int:
        return self.columns * self.rows

    @property
    def megapixels(self) -> float:
        return self.columns * CELL[0] * self.rows * CELL[1] / 1e6

    def __str__(self) -> str:
        return f"{self.columns}x{self.rows}"


def build_mosaics(dataset: Path, names: List[str], labels: dict, grid: Grid, out: Path) -> Dict[str, list]:
    """Mosaics of ``grid`` under ``out``, and their labels moved into mosaic pixels.

    A face cut by its cell's edge is marked ignore: it neither counts for nor against.
    """
    (out / "images").mkdir(parents=True, exist_ok=True)
    mosaic_labels = {}
    for number in range(len(names) // grid.cells):
        canvas = Image.new("RGB", (CELL[0] * grid.columns, CELL[1] * grid.rows), GREY)
        faces = []
        for index, name in enumerate(names[number * grid.cells : (number + 1) * grid.cells]):
            left, top = (index % grid.columns) * CELL[0], (index // grid.columns) * CELL[1]
            with Image.open(dataset / "images" / name) as image:
                canvas.paste(image.convert("RGB").crop((0, 0, min(CELL[0], image.width), min(CELL[1], image.height))),
                             (left, top))
            for label in labels[name]:
                x, y, width, height = label["box"]
                cut = x < 0 or y < 0 or x + width > CELL[0] or y + height > CELL[1]
                faces.append(dict(label, box=[x + left, y + top, width, height], ignore=label["ignore"] or cut))
        mosaic = f"mosaic_{number:03d}.jpg"
        canvas.save(out / "images" / mosaic, quality=95)
        mosaic_labels[mosaic] = faces
    return mosaic_labels


# --- in the measuring process ---------------------------------------------------------

_run_tool = None


def load_tool(settings: Optional[dict]) -> None:
    """Load anonymise with ``settings``, or deface when None; once, in a fresh process."""
    global _run_tool
    _run_tool = _deface_runner() if settings is None else _anonymise_runner(settings["detector"])
    signal.signal(signal.SIGALRM, _time_out)


class PhotoTimeout(Exception):
    pass


def _time_out(signum, frame):
    raise PhotoTimeout


def measure(source: str, destination: str, boxes: List[recall.Box], timeout: int) -> recall.PhotoResult:
    signal.alarm(timeout)
    try:
        seconds, mask = _run_tool(Path(source), Path(destination))
        failure = ""
    except PhotoTimeout:
        with Image.open(source) as image:
            seconds, mask, failure = timeout, np.zeros((image.height, image.width), dtype=bool), "timed out"
    finally:
        signal.alarm(0)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(destination)
    return recall.PhotoResult(seconds, *recall.score_photo(mask, boxes), failure)


def _anonymise_runner(detector: str):
    from anonymise.models import build_models
    from anonymise.pipeline import Options, anonymise_file
    from anonymise.redactors import build_redactor
    from anonymise.regions import coverage_mask

    models, redactor, options = build_models(detector), build_redactor(), Options()

    def run(source: Path, destination: Path) -> Tuple[float, np.ndarray]:
        start = time.perf_counter()
        result = anonymise_file(source, destination, models, redactor, options)
        seconds = time.perf_counter() - start
        return seconds, coverage_mask(result.regions, result.width, result.height)

    return run


def _deface_runner():
    from deface.centerface import CenterFace
    from deface.deface import image_detect

    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Running on <provider>."
        centerface = CenterFace()
    found = []

    def recording(frame, threshold):
        dets, landmarks = centerface(frame, threshold=threshold)
        found.append((dets, frame.shape[:2]))
        return dets, landmarks

    def run(source: Path, destination: Path) -> Tuple[float, np.ndarray]:
        found.clear()
        start = time.perf_counter()
        image_detect(str(source), str(destination), recording, threshold=recall.DEFACE_THRESHOLD,
                     replacewith="blur", mask_scale=recall.DEFACE_MASK_SCALE, ellipse=True,
                     draw_scores=False, enable_preview=False, keep_metadata=False)
        seconds = time.perf_counter() - start
        dets, (height, width) = found[0]
        return seconds, recall.deface_mask(dets, height, width)

    return run


# --- in the main process ---------------------------------------------------------------


def measure_grid(settings: Dict[str, Optional[dict]], folder: Path, names: List[str],
                 boxes: List[List[recall.Box]], grid: Grid, scratch: Path) -> Dict[str, recall.ToolRun]:
    photos: Dict[str, List[recall.PhotoResult]] = {tool: [] for tool in settings}
    timeout = int(60 + SECONDS_PER_MEGAPIXEL_TIMEOUT * grid.megapixels)
    with contextlib.ExitStack() as stack:
        processes = {
            tool: stack.enter_context(ProcessPoolExecutor(
                max_workers=1, mp_context=get_context("spawn"), initializer=load_tool, initargs=(tool_settings,)))
            for tool, tool_settings in settings.items()
        }
        for name, photo_boxes in zip(names, boxes):
            for tool, process in processes.items():
                destination = scratch / f"out-{tool.replace(' ', '-')}-{name}"
                photos[tool].append(process.submit(
                    measure, str(folder / "images" / name), str(destination), photo_boxes, timeout).result())
        return {tool: recall.ToolRun(photos[tool], process.submit(recall.peak_rss_bytes).result())
                for tool, process in processes.items()}


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path, help="folder holding images/ and labels.json")
    parser.add_argument("--photos", type=int, default=256,
                        help="photos to tile, spread over the set (a multiple of the largest grid's cells)")
    parser.add_argument("--grids", default=DEFAULT_GRIDS, help=f"columns x rows of cells, default {DEFAULT_GRIDS}")
    parser.add_argument("--detector", action="append",
                        help="measure anonymise with this detector (default: multiscale and fast); repeatable")
    parser.add_argument("--no-deface", action="store_true", help="measure anonymise only")
    parser.add_argument("--json", type=Path, help="write every number to this JSON file")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--write-docs", type=Path,
                        help="write the results as a section of this markdown page (docs/benchmarks.md)")
    return parser.parse_args()


def summary_table(results: Dict[str, Dict[str, dict]], grids: List[Grid]) -> List[List[str]]:
    """One row per grid and tool, with each tool's area and time against deface's."""
    rows = [["grid", "MP", "tool", "recall", "< 16 px", "profiles", "area", "outside faces",
             "area / deface", "s/photo", "time / deface", "peak memory"]]
    for grid in grids:
        figures = results[str(grid)]
        deface = figures.get("deface")
        for tool, figure in figures.items():
            ratios = ["", ""]
            if deface and tool != "deface":
                ratios = [f"{figure['area_redacted'] / deface['area_redacted']:.2f}",
                          f"{figure['seconds_per_photo'] / deface['seconds_per_photo']:.2f}"]
            rows.append([str(grid), f"{grid.megapixels:.1f}", tool,
                         recall._formatted(figure["recall"], "percent"),
                         recall._formatted(figure["recall_height_under_16"], "percent"),
                         recall._formatted(figure["recall_pose_1"], "percent"),
                         recall._formatted(figure["area_redacted"], "percent"),
                         recall._formatted(figure["area_redacted_outside_faces"], "percent"),
                         ratios[0],
                         f"{figure['seconds_per_photo']:.2f} s" if figure["seconds_per_photo"] else "-",
                         ratios[1],
                         f"{figure['peak_rss_mb']:.0f} MB"])
    return rows


def docs_section(report: dict, rows: List[List[str]]) -> str:
    faces = ", ".join(f"{grid} {count:,}" for grid, count in report["faces_per_grid"].items())
    return f"""## Camera-sized photos

*Written by `benchmarks/large_photos.py` on {report["date"]}; run the command again to refresh it.*

The same {report["photos"]} photos of the development split, cut or padded to 1024x768 cells,
alone (1x1) and tiled into mosaics of 2x2 to 8x8 cells (3.1 to 50 MP), their faces at their
own pixel size; faces counted: {faces}. On a machine with {report["machine"]["cpu_count"]} CPUs:

```
{report["command"]}
```

{recall.markdown_table(rows)}

Recall and area use the metric above; a face cut by its cell's edge is ignored. Seconds are
whole files as a user meets them: decode, detect, cover, verify, encode and check for
anonymise (default blur), decode, detect, blur and encode for deface 1.5.0 with its
defaults. Each tool runs in a fresh process per grid, the tools taking turns photo by
photo; peak memory is that process's resident peak over the grid, models included.
anonymise source `{report["anonymise_source_sha256"]}`.
"""


def main() -> None:
    args = _parse_args()
    grids = [Grid(*map(int, text.split("x"))) for text in args.grids.split(",")]
    labels = json.loads((args.dataset / "labels.json").read_text())
    every = sorted(labels)
    largest = max(grid.cells for grid in grids)
    count = min(args.photos, len(every)) // largest * largest
    if not count:
        sys.exit(f"need at least {largest} photos for a {max(grids, key=lambda g: g.cells)} mosaic")
    # Evenly spread over the sorted names, so every kind of scene is represented.
    names = [every[i * len(every) // count] for i in range(count)]
    settings: Dict[str, Optional[dict]] = {
        "anonymise" if detector == "multiscale" else f"anonymise {detector}": {"detector": detector}
        for detector in args.detector or ["multiscale", "fast"]
    }
    if not args.no_deface:
        settings["deface"] = None

    load_at_start = os.getloadavg()
    results: Dict[str, Dict[str, dict]] = {}
    faces_per_grid = {}
    with tempfile.TemporaryDirectory(prefix="anonymise-large-photos-") as scratch_name:
        scratch = Path(scratch_name)
        for grid in grids:
            folder = scratch / str(grid)
            mosaic_labels = build_mosaics(args.dataset, names, labels, grid, folder)
            mosaics = sorted(mosaic_labels)
            boxes = [[recall.label_box(label) for label in mosaic_labels[m]] for m in mosaics]
            faces = recall.counted_faces(mosaics, mosaic_labels)
            faces_per_grid[str(grid)] = len(faces)
            runs = measure_grid(settings, folder, mosaics, boxes, grid, scratch)
            results[str(grid)] = {tool: recall.figures(faces, mosaics, run) for tool, run in runs.items()}
            print(f"{grid} ({grid.megapixels:.1f} MP, {len(mosaics)} photos, {len(faces):,} faces): " + ", ".join(
                f"{tool} {100 * r['recall']:.1f} % in {r['seconds_per_photo']:.2f} s"
                for tool, r in results[str(grid)].items()), file=sys.stderr, flush=True)

    print(f"{count} photos; faces counted per grid: {faces_per_grid}")
    rows = summary_table(results, grids)
    print(recall.markdown_table(rows) if args.markdown else recall.plain_table(rows))
    report = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join(["python", *sys.argv]),
        "photos": count,
        "faces_per_grid": faces_per_grid,
        "machine": {"cpu_count": os.cpu_count(),
                    "load_average_1_5_15_min": {"start": load_at_start, "end": os.getloadavg()}},
        "anonymise_source_sha256": recall.anonymise_source_digest(),
        "results": results,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.write_docs:
        recall.write_docs_section(args.write_docs, "benchmarks/large_photos.py", docs_section(report, rows))


if __name__ == "__main__":
    main()
