"""Throughput and peak memory of a large folder run, and a kill-halfway-and-resume check.

Makes a folder of N copies of the sample photos outside the repository (a memory card's
layout: DCIM/100/, DCIM/101/, ... of 500 each), runs ``anonymise`` on it with ``--jobs``
equal to the CPU count while sampling the memory of its whole process tree, then runs it
again into a fresh folder, kills it with SIGKILL when about half the copies are written,
re-runs the same command and checks that every output decodes, none is missing or
duplicated and nothing temporary is left. Writes the figures to docs/throughput.md.

    python benchmarks/throughput.py                  # 2,000 photos
    python benchmarks/throughput.py --photos 200     # a quicker look
    python benchmarks/throughput.py --photos 500 --engine local --engine ray --no-resume-check

With ``--engine ray`` (needs ``pip install '.[ray]'``) the same photos are anonymised by the
Ray engine on a Ray of this machine, its actors as many as ``--jobs``; Ray's processes are
children of the command, so they are in the memory figures, and the largest process is an
actor (the peak memory of one).

Linux only: memory is read from /proc. Peak memory is the largest sum, over samples
taken every 0.2 s, of the resident memory of the main process and all its workers; the
sum counts shared library pages once per process, so it overstates the real use (PSS,
which shares them out, is given too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

from anonymise.detectors import DEFAULT_DETECTOR
from anonymise.redactors import DEFAULT_STYLE

REPO = Path(__file__).resolve().parent.parent
SAMPLES = sorted(p for p in (REPO / "samples").iterdir() if p.suffix.lower() in {".jpg", ".png"})
PER_FOLDER = 500
PAGE = os.sysconf("SC_PAGE_SIZE")


def make_folder(folder: Path, count: int) -> None:
    for index in range(count):
        sample = SAMPLES[index % len(SAMPLES)]
        target = folder / "DCIM" / f"{100 + index // PER_FOLDER}" / f"IMG_{index:05d}{sample.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample, target)


def process_tree(root: int) -> list:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def memory_of(pid: int) -> tuple:
    """(RSS, PSS) in bytes, or zeros for a process that is gone."""
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        pss = 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
        return rss, pss
    except (OSError, ValueError, IndexError):
        return 0, 0


class MemorySampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = self.peak_processes = self.peak_one_process = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            tree = process_tree(self.pid)
            sizes = [memory_of(pid) for pid in tree]
            self.peak_rss = max(self.peak_rss, sum(rss for rss, _ in sizes))
            self.peak_pss = max(self.peak_pss, sum(pss for _, pss in sizes))
            self.peak_one_process = max([self.peak_one_process] + [rss for rss, _ in sizes])
            self.peak_processes = max(self.peak_processes, len(tree))
            self.stopped.wait(self.interval)


def photos_in(folder: Path) -> list:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def timed_run(command: list) -> dict:
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    sampler.stopped.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"the run failed ({process.returncode}):\n{stderr}")
    return {
        "wall_seconds": time.monotonic() - started,
        "summary": json.loads(stdout),
        "peak_rss": sampler.peak_rss,
        "peak_pss": sampler.peak_pss,
        "peak_one_process": sampler.peak_one_process,
        "processes": sampler.peak_processes,
    }


def kill_halfway_and_resume(command: list, photos: Path, output: Path) -> dict:
    sources = photos_in(photos)
    count = len(sources)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None and (not output.exists() or len(photos_in(output)) < count // 2):
        time.sleep(0.2)
    if process.poll() is not None:
        raise SystemExit("the run ended before it could be killed halfway")
    workers = process_tree(process.pid)[1:]
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.1)
    at_kill = len(photos_in(output))
    temporary_after_kill = [str(p) for p in output.rglob("*.part")]
    orphans = [pid for pid in workers if Path(f"/proc/{pid}").exists()]

    resumed = subprocess.run(command, capture_output=True, text=True)
    summary = json.loads(resumed.stdout)
    written = photos_in(output)
    undecodable = []
    for name in written:
        try:
            with Image.open(output / name) as image:
                image.load()
        except Exception as error:  # noqa: BLE001 - any failure to decode is the finding
            undecodable.append(f"{name}: {error}")
    return {
        "written_before_kill": at_kill,
        "temporary_files_after_kill": temporary_after_kill,
        "workers_alive_after_kill": orphans,
        "resume_exit_code": resumed.returncode,
        "resume_summary": summary,
        "outputs": len(written),
        "missing": sorted(set(sources) - set(written)),
        "strays": sorted(set(written) - set(sources)),
        "undecodable": undecodable,
        "temporary_files_after_resume": [str(p) for p in output.rglob("*.part")],
    }


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))) // 1024
    return f"{os.cpu_count()} × {model}, {memory:,} MB RAM, Python {platform.python_version()}"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_doc(path: Path, args, jobs: int, runs: dict, resume: dict, load: tuple) -> None:
    mb = 2**20
    engines = " ".join(f"--engine {engine}" for engine in runs)
    lines = [
        "# Throughput of a large folder",
        "",
        f"Measured by `python benchmarks/throughput.py --photos {args.photos} {engines}`, which rewrites this file:",
        f"{args.photos:,} copies of the {len(SAMPLES)} sample photos (512×512 to 1600×1152 pixels, 1 to 17",
        "faces each) in a memory card's layout, anonymised with the default settings",
        f"({DEFAULT_DETECTOR} detector, {DEFAULT_STYLE}, verification pass on).",
        "",
        f"- Machine: {machine()}; load average {load[0]:.1f} when the run started"
        + (" (the machine was shared with other work, so these are lower bounds on throughput)."
           if load[0] >= 1.0 else "."),
        f"- Commit: `{git_commit()}`, {datetime.now(timezone.utc):%Y-%m-%d}.",
        f"- Command: `anonymise PHOTOS -o OUT --jobs {jobs} --json --quiet [--engine ray]`",
        "",
        "| engine | photos | jobs | wall time | throughput | faces covered | peak memory (RSS sum) | peak memory (PSS sum) | largest process |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for engine, run in runs.items():
        summary = run["summary"]
        lines.append(
            f"| {engine} | {summary['written']:,} | {jobs} | {run['wall_seconds']:.0f} s "
            f"| {summary['photos_per_second']:.2f} photos/s | {summary['faces_covered']:,} "
            f"| {run['peak_rss'] / mb:,.0f} MB | {run['peak_pss'] / mb:,.0f} MB | {run['peak_one_process'] / mb:,.0f} MB |")
    if "local" in runs and "ray" in runs:
        ratio = runs["ray"]["summary"]["photos_per_second"] / max(runs["local"]["summary"]["photos_per_second"], 1e-9)
        lines += ["", f"The Ray engine ran at {ratio:.0%} of the local pool's throughput on the same photos."]
    processes = ", ".join(f"{engine}: {run['processes']}" for engine, run in runs.items())
    lines += [
        "",
        "Throughput counts from the start of the command to the end (worker start-up and model",
        f"loading included; for Ray, starting Ray too). Processes at most: {processes} (the command,",
        "its workers and multiprocessing's resource tracker; for Ray, Ray's own processes and its actors).",
        "The largest process is one worker, or one Ray actor: the peak memory of one.",
        "",
    ]
    if args.note:
        lines += [args.note, ""]
    if resume:
        summary = resume["resume_summary"]
        ok = (resume["resume_exit_code"] == 0 and resume["outputs"] == args.photos
              and not resume["undecodable"] and not resume["temporary_files_after_resume"]
              and not resume["missing"] and not resume["strays"] and not resume["workers_alive_after_kill"])
        lines += [
            "## Killed halfway, then resumed",
            "",
            "The same command, into a fresh folder, killed with SIGKILL once half the copies",
            "were written, then run again:",
            "",
            f"- written before the kill: {resume['written_before_kill']:,}; temporary files left by the kill:"
            f" {len(resume['temporary_files_after_kill'])}; workers still alive after it:"
            f" {len(resume['workers_alive_after_kill'])}",
            f"- the re-run: exit {resume['resume_exit_code']}, {summary['up_to_date']:,} up to date,"
            f" {summary['written']:,} written, {summary['failed']} failed",
            f"- afterwards: {resume['outputs']:,} copies for {args.photos:,} photos: {len(resume['missing'])} missing,"
            f" {len(resume['strays'])} strays, {len(resume['undecodable'])} that do not decode,"
            f" {len(resume['temporary_files_after_resume'])} temporary files",
            f"- **{'every output valid, none missing or duplicated' if ok else 'CHECK FAILED'}**",
            "",
        ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=2000, help="how many photos (default 2,000)")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)), help="default: the CPU count")
    parser.add_argument("--workdir", type=Path, help="where the photos go (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the photos and copies afterwards")
    parser.add_argument("--no-resume-check", dest="resume_check", action="store_false")
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "throughput.md")
    parser.add_argument("--note", help="a paragraph added to the document (e.g. why N is small)")
    parser.add_argument("--engine", action="append", choices=["local", "ray"],
                        help="the engines to time, one after the other on the same photos (default: local)")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="anonymise-throughput-"))
    if REPO in workdir.resolve().parents:
        raise SystemExit("put the work folder outside the repository")
    photos = workdir / "photos"
    # The runs' resume records go with the photos, and are removed with them.
    os.environ["XDG_STATE_HOME"] = str(workdir / "state")
    try:
        print(f"making {args.photos:,} photos in {photos}", file=sys.stderr)
        make_folder(photos, args.photos)
        load = os.getloadavg()
        command = [sys.executable, "-m", "anonymise", str(photos), "--jobs", str(args.jobs), "--json", "--quiet"]
        runs = {}
        for engine in args.engine or ["local"]:
            print(f"timing a full run, {engine} engine", file=sys.stderr)
            runs[engine] = timed_run(command + ["-o", str(workdir / f"out-{engine}"), "--engine", engine])
            print(json.dumps(runs[engine], indent=2), file=sys.stderr)
        resume = {}
        if args.resume_check:
            print("killing a run halfway and resuming it", file=sys.stderr)
            resumed_out = workdir / "out-resumed"
            resume = kill_halfway_and_resume(command + ["-o", str(resumed_out)], photos, resumed_out)
            print(json.dumps(resume, indent=2), file=sys.stderr)
        write_doc(args.doc, args, args.jobs, runs, resume, load)
        print(f"wrote {args.doc}", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
