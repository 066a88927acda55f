"""The opt-in JSON report: where each photo went and which regions were covered.

Coordinates only: never pixels, crops or anything about who is in the photo.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

from anonymise.pipeline import FileResult
from anonymise.run.outcome import ReportEntry
from anonymise.tempfiles import remove_stale_temporaries, temporary_beside


def entry_json(entry: ReportEntry) -> Dict[str, Any]:
    result = entry.result
    return {
        "input": str(entry.input),
        "output": str(entry.output) if entry.output is not None else None,
        "status": entry.status,
        "reason": entry.reason,
        "width": result.width if result else None,
        "height": result.height if result else None,
        "frames": len(result.frames) if result else None,
        # null when not known: nothing was written, or an earlier run wrote it.
        "regions": _regions_json(result) if result else None,
    }


def _regions_json(result: FileResult) -> List[Dict[str, Any]]:
    """Every covered region; ``frame`` counts from 0, ``pass`` says which detection found it
    (``track``: a video's face filled in from its sightings in the frames around)."""
    return [
        {"box": list(r.box), "score": round(r.score, 4), "detector": r.detector,
         "frame": index, "pass": found_by}
        for index, frame in enumerate(result.frames)
        for found_by, regions in (("first", frame.regions), ("verification", frame.verification_regions),
                                  ("track", frame.track_regions))
        for r in regions
    ]


class ReportWriter:
    """Writes the report entry by entry as the run goes, so it holds nothing in memory.

    The entries go to a temporary file next to the report, renamed into place by
    ``finish`` (also after an interrupted run, so the report covers what was done);
    ``discard`` removes it. Raises ``OSError`` when the report cannot be written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent, name=path.name)  # of a run that was killed
        handle, self._temporary = temporary_beside(path)
        self._stream = os.fdopen(handle, "w", encoding="utf-8")
        self._entries = 0
        self._stream.write('{"files": [')

    def add(self, entry: ReportEntry) -> None:
        separator = "," if self._entries else ""
        self._stream.write(f"{separator}\n  {json.dumps(entry_json(entry))}")
        self._entries += 1

    def finish(self) -> None:
        try:
            self._stream.write("\n]}\n")
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._stream.close()
            os.replace(self._temporary, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        self._stream.close()
        try:
            os.unlink(self._temporary)
        except FileNotFoundError:
            pass
