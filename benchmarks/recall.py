"""Coverage recall of anonymise against deface 1.5.0 on labelled crowd photos.

    python benchmarks/recall.py DATASET_DIR [--limit N] [--json OUT.json]
        [--write-docs docs/benchmarks.md] [--detector NAME [--detector NAME ...]]
        [--threshold T] [--mask-scale S] [--shape ellipse|box] [--no-deface]

DATASET_DIR is laid out like the WIDER FACE development split: images/<event>/<file>.jpg
and labels.json, {"<event>/<file>.jpg": [{"box": [left, top, width, height], "pose",
"ignore", "invalid", ...}, ...]}.

The metric: a labelled face is *anonymised* when at least half of its labelled box lies
under the pixels the tool actually redacts. Faces marked ``ignore`` or ``invalid`` (and
boxes with no area) count neither way. Each tool (anonymise with each detector asked for,
then deface) runs over the same photos in its own fresh process, so its peak memory (RSS,
which includes onnxruntime's native buffers) is its own. The tools take turns, a chunk of
photos each, so a change in the machine's load during a long run falls on all of them
alike and their times stay comparable. A photo a tool hangs on is recorded as failed, with
nothing covered, and the run goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import resource
import shlex
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

# Nothing from anonymise or deface is imported at module level: the measuring processes
# re-import this module, and each must load only the tool it measures.

COVERED_ENOUGH = 0.5  # share of a labelled box that must be redacted
DEFACE_THRESHOLD = 0.2  # deface 1.5.0's CLI defaults
DEFACE_MASK_SCALE = 1.3
CHUNK = 50  # photos each tool measures before the next one takes its turn
# Far above any photo's normal time (a few seconds), so only a hang reaches it.
PHOTO_TIMEOUT = 60  # seconds

Box = Tuple[int, int, int, int]  # left, top, width, height

# (JSON key, table label, which labelled faces: (box height, pose) -> bool)
FACE_GROUPS: List[Tuple[str, str, Callable[[int, int], bool]]] = [
    ("recall", "coverage recall, all faces", lambda height, pose: True),
    ("recall_height_under_16", "  box height < 16 px", lambda height, pose: height < 16),
    ("recall_height_16_32", "  box height 16-32 px", lambda height, pose: 16 <= height < 32),
    ("recall_height_32_64", "  box height 32-64 px", lambda height, pose: 32 <= height < 64),
    ("recall_height_64_up", "  box height >= 64 px", lambda height, pose: height >= 64),
    ("recall_pose_1", "  pose == 1 (profile, turned)", lambda height, pose: pose == 1),
]
# (JSON key, table label, unit) for the figures that are not about single faces.
PHOTO_FIGURES = [
    ("area_redacted", "image area redacted (mean)", "percent"),
    ("area_redacted_outside_faces", "  of it outside labelled faces", "percent"),
    ("seconds_per_photo", "seconds per photo (finished photos)", "seconds"),
    ("peak_rss_mb", "peak memory (RSS)", "megabytes"),
    ("failed_photos", "photos the tool hung or raised on", "count"),
]


@dataclass(frozen=True)
class PhotoResult:
    seconds: float  # detection and redaction, decoding excluded
    covered: List[Optional[float]]  # per labelled box, its share under the mask (None: no area)
    redacted: float  # share of the image area
    redacted_outside_faces: float  # share of the image area, outside every labelled box
    failure: str  # why the tool did not finish this photo; empty when it did


@dataclass(frozen=True)
class ToolRun:
    photos: List[PhotoResult]
    peak_rss_bytes: int


# --- in the measuring process ---------------------------------------------------------


_run_tool: Optional["Runner"] = None  # the measuring process's one tool


def load_tool(settings: Optional[dict]) -> None:
    """Load anonymise with ``settings``, or deface when None; once, in a fresh process."""
    global _run_tool
    _run_tool = _deface_runner() if settings is None else _anonymise_runner(settings)
    signal.signal(signal.SIGALRM, _time_out)


def measure(images: Path, names: List[str], boxes: List[List[Box]]) -> List[PhotoResult]:
    """Run the loaded tool over these photos."""
    photos = []
    for name, photo_boxes in zip(names, boxes):
        with Image.open(images / name) as image:
            rgb = np.asarray(image.convert("RGB"))
        signal.alarm(PHOTO_TIMEOUT)
        try:
            seconds, mask, failure = _run_tool(rgb)
        except PhotoTimeout:
            # A hung tool never writes the photo: nothing of it counts as covered.
            seconds, mask, failure = PHOTO_TIMEOUT, np.zeros(rgb.shape[:2], dtype=bool), "timed out"
        finally:
            signal.alarm(0)
        photos.append(PhotoResult(seconds, *score_photo(mask, photo_boxes), failure))
    return photos


def peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class PhotoTimeout(Exception):
    pass


def _time_out(signum, frame):
    raise PhotoTimeout


Runner = Callable[[np.ndarray], Tuple[float, np.ndarray, str]]


def _anonymise_runner(settings: dict) -> Runner:
    """anonymise's own pipeline, from detection to the redacted pixels."""
    from anonymise.detectors import build_detector
    from anonymise.pipeline import Options, anonymise_pixels
    from anonymise.redactors import build_redactor
    from anonymise.regions import coverage_mask

    detector = build_detector(settings["detector"])
    redactor = build_redactor(settings["style"])
    options = Options(threshold=settings["threshold"], mask_scale=settings["mask_scale"],
                      shape=settings["shape"])

    def run(rgb: np.ndarray) -> Tuple[float, np.ndarray, str]:
        start = time.perf_counter()
        _, _, regions = anonymise_pixels(rgb, detector, redactor, options)
        seconds = time.perf_counter() - start
        height, width = rgb.shape[:2]
        return seconds, coverage_mask(regions, width, height), ""

    return run


def _deface_runner() -> Runner:
    """deface 1.5.0 as its CLI runs on a photo by default: CenterFace, then a blurred ellipse."""
    import cv2
    from deface.centerface import CenterFace
    from deface.deface import anonymize_frame

    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Running on <provider>."
        centerface = CenterFace()

    def run(rgb: np.ndarray) -> Tuple[float, np.ndarray, str]:
        start = time.perf_counter()
        dets, _ = centerface(rgb, threshold=DEFACE_THRESHOLD)
        failure = ""
        try:
            anonymize_frame(dets, rgb.copy(), mask_scale=DEFACE_MASK_SCALE, replacewith="blur",
                            ellipse=True, draw_scores=False, replaceimg=None, mosaicsize=20)
        except cv2.error:
            # cv2.blur rejects a box under 2 px (deface's CLI stops there). Its coverage is
            # still scored, as if deface had skipped that box.
            failure = "cv2.error in its blur"
        seconds = time.perf_counter() - start
        return seconds, deface_mask(dets, *rgb.shape[:2]), failure

    return run


def deface_mask(dets: np.ndarray, height: int, width: int) -> np.ndarray:
    """The pixels deface 1.5.0's anonymize_frame blurs, by its own formulas.

    The blurred ellipse cannot be read back from the output (a blur may leave a pixel as it
    was), so its geometry is recomputed: boxes truncated to int, grown by ``scale_bb``,
    clipped one pixel short of the last row and column, ellipse drawn by skimage.
    """
    import skimage.draw
    from deface.deface import scale_bb

    mask = np.zeros((height, width), dtype=bool)
    for det in dets:
        x1, y1, x2, y2 = scale_bb(*det[:4].astype(int), DEFACE_MASK_SCALE)
        y1, y2 = max(0, y1), min(height - 1, y2)
        x1, x2 = max(0, x1), min(width - 1, x2)
        box_h, box_w = y2 - y1, x2 - x1
        if box_h < 2 or box_w < 2:  # an empty ellipse (and the cv2.blur failure above)
            continue
        rows, cols = skimage.draw.ellipse(box_h // 2, box_w // 2, box_h // 2, box_w // 2)
        mask[y1 + rows, x1 + cols] = True
    return mask


def score_photo(mask: np.ndarray, boxes: Sequence[Box]) -> Tuple[List[Optional[float]], float, float]:
    """Share of each labelled box under ``mask``, and the shares of the image redacted."""
    in_faces = np.zeros_like(mask)
    covered: List[Optional[float]] = []
    for left, top, width, height in boxes:
        box = np.s_[max(top, 0) : max(top + height, 0), max(left, 0) : max(left + width, 0)]
        in_faces[box] = True
        # Divided by the labelled area: any part outside the image counts as uncovered.
        covered.append(float(mask[box].sum()) / (width * height) if width > 0 and height > 0 else None)
    return covered, float(mask.mean()), float((mask & ~in_faces).mean())


# --- in the main process ---------------------------------------------------------------


@dataclass(frozen=True)
class Face:
    """A labelled face the metric counts, by where its score is found."""

    photo: int
    index: int
    height: int
    pose: int


def counted_faces(names: List[str], labels: dict) -> List[Face]:
    faces = []
    for photo, name in enumerate(names):
        for index, label in enumerate(labels[name]):
            _, _, width, height = label_box(label)
            if not (label["ignore"] or label["invalid"]) and width > 0 and height > 0:
                faces.append(Face(photo, index, height, label["pose"]))
    return faces


def label_box(label: dict) -> Box:
    left, top, width, height = (int(round(v)) for v in label["box"])
    return left, top, width, height


def figures(faces: List[Face], names: List[str], run: ToolRun) -> dict:
    """Every reported number for one tool, keyed as in FACE_GROUPS and PHOTO_FIGURES."""
    result: dict = {}
    for key, _, member in FACE_GROUPS:
        hits = [run.photos[f.photo].covered[f.index] >= COVERED_ENOUGH
                for f in faces if member(f.height, f.pose)]
        result[key] = float(np.mean(hits)) if hits else None
    result["area_redacted"] = float(np.mean([p.redacted for p in run.photos]))
    result["area_redacted_outside_faces"] = float(np.mean([p.redacted_outside_faces for p in run.photos]))
    finished = [p.seconds for p in run.photos if not p.failure]
    result["seconds_per_photo"] = float(np.mean(finished)) if finished else None
    result["peak_rss_mb"] = run.peak_rss_bytes / 2**20
    result["failures"] = {name: p.failure for name, p in zip(names, run.photos) if p.failure}
    result["failed_photos"] = len(result["failures"])
    return result


def table_rows(group_sizes: Dict[str, int], results: Dict[str, dict]) -> List[List[str]]:
    """Header and one row per figure: label, each tool's value, then each anonymise / deface."""
    tools = list(results)
    ours = [tool for tool in tools if tool != "deface"] if "deface" in tools else []
    rows = [["", *tools] + [f"ratio ({tool} / deface)" for tool in ours]]
    units = {key: "percent" for key, _, _ in FACE_GROUPS}
    labels = {key: f"{label} (n={group_sizes[key]:,})" for key, label, _ in FACE_GROUPS}
    units.update({key: unit for key, _, unit in PHOTO_FIGURES})
    labels.update({key: label for key, label, _ in PHOTO_FIGURES})
    for key, label in labels.items():
        values = [results[tool][key] for tool in tools]
        row = [label] + [_formatted(value, units[key]) for value in values]
        for tool in ours:
            mine, theirs = results[tool][key], results["deface"][key]
            comparable = units[key] != "count" and mine is not None and theirs
            row.append(f"{mine / theirs:.2f}" if comparable else "-")
        rows.append(row)
    return rows


def _formatted(value: Optional[float], unit: str) -> str:
    if value is None:
        return "-"
    return {"percent": f"{100 * value:.1f} %", "seconds": f"{value:.3f} s",
            "megabytes": f"{value:.0f} MB", "count": f"{value:,}"}[unit]


def plain_table(rows: List[List[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    )


def markdown_table(rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|---" + "|---:" * (len(rows[0]) - 1) + "|"]
    # Markdown drops leading spaces, so sub-rows are marked by an indent of their own.
    lines += ["| " + " | ".join([row[0].replace("  ", "&nbsp;&nbsp;&nbsp;", 1), *row[1:]]) + " |"
              for row in rows[1:]]
    return "\n".join(lines)


def docs_page(report: dict, rows: List[List[str]]) -> str:
    faces = report["faces"]
    anonymise_settings = "".join(
        f"- {tool}: anonymise {report['versions']['anonymise']} "
        f"(source `{report['anonymise_source_sha256']}`), detector `{settings['detector']}`, "
        f"threshold {settings['threshold']}, mask scale {settings['mask_scale']}, "
        f"{settings['shape']} regions.\n"
        for tool, settings in report["settings"].items() if tool != "deface"
    )
    failure_note = "".join(
        f"\n{tool} failed on {len(figures['failures'])} photos "
        f"({', '.join(sorted(set(figures['failures'].values())))}; listed in the JSON).\n"
        for tool, figures in report["results"].items() if figures["failures"]
    )
    return f"""## Face coverage on crowd photos

*Written by `benchmarks/recall.py` on {report["date"]}; run the command again to refresh it.*

{report["photos"]:,} photos of `{report["dataset"]}`, {faces["counted"]:,} labelled faces counted \
({faces["ignored_or_invalid"]:,} marked ignore or invalid and {faces["empty_box"]} with an empty box \
left out), on a machine with {report["machine"]["cpu_count"]} CPUs:

```
{report["command"]}
```

{markdown_table(rows)}
{failure_note}
A labelled face counts as anonymised when at least {COVERED_ENOUGH:.0%} of its labelled box
lies under the pixels the tool actually redacts. "Outside labelled faces" is the part of the
image redacted outside every labelled box, ignored ones included: damage to the photo.
Seconds are the wall time of detection and redaction per photo, decoding excluded; the
tools take turns, {CHUNK} photos at a time, so a change in the machine's load falls on all of
them alike. Memory is the peak resident size of a process running one tool over all the
photos. A photo
a tool hangs on (no result after {PHOTO_TIMEOUT} s) counts as nothing covered; when deface
raises, its boxes are scored as if it had skipped the failing one.

{anonymise_settings}- deface {report["versions"]["deface"]} with its defaults: CenterFace at threshold \
{DEFACE_THRESHOLD}, mask scale {DEFACE_MASK_SCALE}, blurred ellipse.
"""


def write_docs_section(page: Path, name: str, text: str) -> None:
    """Put ``text`` in ``page`` as the section written by ``name``, keeping the others.

    recall.py and large_photos.py each own a section of docs/benchmarks.md.
    """
    begin, end = f"<!-- begin: written by {name} -->\n", f"<!-- end: written by {name} -->\n"
    current = page.read_text() if page.exists() else "# Benchmarks\n\n"
    section = begin + text.rstrip("\n") + "\n" + end
    if begin in current and end in current:
        before, rest = current.split(begin, 1)
        current = before + section + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + section
    page.write_text(current)


def anonymise_source_digest() -> str:
    """A fingerprint of the anonymise code measured: its version number does not change per edit."""
    import anonymise

    package = Path(anonymise.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _parse_args() -> argparse.Namespace:
    from anonymise.detectors import DEFAULT_DETECTOR, DETECTORS
    from anonymise.pipeline import Options
    from anonymise.regions import SHAPES

    defaults = Options()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path, help="folder holding images/ and labels.json")
    parser.add_argument("--limit", type=int, help="measure only N photos, spread over the set")
    parser.add_argument("--json", type=Path, help="write every number to this JSON file")
    parser.add_argument("--write-docs", type=Path, help="write the results as this markdown page")
    parser.add_argument("--detector", choices=list(DETECTORS), action="append",
                        help=f"measure anonymise with this detector (default {DEFAULT_DETECTOR}); "
                             "repeat to measure several in the same run")
    parser.add_argument("--threshold", type=float, default=defaults.threshold)
    parser.add_argument("--mask-scale", type=float, default=defaults.mask_scale)
    parser.add_argument("--shape", choices=SHAPES, default=defaults.shape)
    parser.add_argument("--no-deface", action="store_true", help="measure anonymise only")
    return parser.parse_args()


def measure_in_turns(settings: Dict[str, Optional[dict]], images: Path, names: List[str],
                     boxes: List[List[Box]]) -> Dict[str, ToolRun]:
    """Every tool over every photo, each in its own process, taking turns a chunk at a time."""
    photos: Dict[str, List[PhotoResult]] = {tool: [] for tool in settings}
    elapsed = {tool: 0.0 for tool in settings}
    with contextlib.ExitStack() as stack:
        processes = {
            tool: stack.enter_context(ProcessPoolExecutor(
                max_workers=1, mp_context=get_context("spawn"),
                initializer=load_tool, initargs=(tool_settings,)))
            for tool, tool_settings in settings.items()
        }
        for first in range(0, len(names), CHUNK):
            chunk = slice(first, first + CHUNK)
            for tool, process in processes.items():
                start = time.perf_counter()
                photos[tool] += process.submit(measure, images, names[chunk], boxes[chunk]).result()
                elapsed[tool] += time.perf_counter() - start
            done = len(photos[next(iter(settings))])
            print(f"{done}/{len(names)} photos; s/photo with decoding and loading: " + ", ".join(
                f"{tool} {elapsed[tool] / done:.2f}" for tool in settings), file=sys.stderr, flush=True)
        return {tool: ToolRun(photos[tool], process.submit(peak_rss_bytes).result())
                for tool, process in processes.items()}


def main() -> None:
    from anonymise.detectors import DEFAULT_DETECTOR

    args = _parse_args()
    labels = json.loads((args.dataset / "labels.json").read_text())
    names = sorted(labels)
    if args.limit and args.limit < len(names):
        # Evenly spread over the sorted names, so every kind of scene is represented.
        names = [names[i * len(names) // args.limit] for i in range(args.limit)]
    boxes = [[label_box(label) for label in labels[name]] for name in names]
    faces = counted_faces(names, labels)
    # Every style covers the same pixels; solid is the cheapest, so timing is mostly detection.
    settings: Dict[str, Optional[dict]] = {
        "anonymise" if detector == DEFAULT_DETECTOR else f"anonymise {detector}": {
            "detector": detector, "threshold": args.threshold, "mask_scale": args.mask_scale,
            "shape": args.shape, "style": "solid"}
        for detector in args.detector or [DEFAULT_DETECTOR]
    }
    if not args.no_deface:
        settings["deface"] = None

    source = anonymise_source_digest()
    # Timings mean little on a busy machine: record how busy it was.
    load_at_start = os.getloadavg()
    runs = measure_in_turns(settings, args.dataset / "images", names, boxes)
    results = {tool: figures(faces, names, run) for tool, run in runs.items()}

    labelled = sum(len(labels[name]) for name in names)
    skipped = sum(bool(label["ignore"] or label["invalid"]) for name in names for label in labels[name])
    group_sizes = {key: sum(member(f.height, f.pose) for f in faces) for key, _, member in FACE_GROUPS}
    report = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join(["python", *sys.argv]),
        "dataset": str(args.dataset),
        "photos": len(names),
        "faces": {"labelled": labelled, "counted": len(faces), "ignored_or_invalid": skipped,
                  "empty_box": labelled - skipped - len(faces), "per_group": group_sizes},
        "settings": {tool: tool_settings or {
                         "threshold": DEFACE_THRESHOLD, "mask_scale": DEFACE_MASK_SCALE,
                         "replacewith": "blur", "ellipse": True}
                     for tool, tool_settings in settings.items()},
        "covered_enough": COVERED_ENOUGH,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_average_1_5_15_min": {"start": load_at_start, "end": os.getloadavg()}},
        "versions": {package: importlib.metadata.version(package)
                     for package in ("anonymise", "deface", "onnxruntime")},
        "anonymise_source_sha256": source,
        "results": results,
    }

    rows = table_rows(group_sizes, results)
    print(plain_table(rows))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.write_docs:
        write_docs_section(args.write_docs, "benchmarks/recall.py", docs_page(report, rows))


if __name__ == "__main__":
    main()
