"""The opt-in JSON report: where each photo went and which regions were covered.

Coordinates only: never pixels, crops or anything about who is in the photo.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from anonymise.pipeline import FileResult

OK, SKIPPED, FAILED = "ok", "skipped", "failed"


@dataclass
class ReportEntry:
    input: Path
    output: Optional[Path]
    status: str
    reason: Optional[str] = None
    result: Optional[FileResult] = None

    def to_json(self) -> Dict[str, Any]:
        result = self.result
        return {
            "input": str(self.input),
            "output": str(self.output) if self.output is not None else None,
            "status": self.status,
            "reason": self.reason,
            "width": result.width if result else None,
            "height": result.height if result else None,
            "frames": len(result.frames) if result else None,
            "regions": _regions_json(result) if result else [],
        }


def _regions_json(result: FileResult) -> List[Dict[str, Any]]:
    """Every covered region; ``frame`` counts from 0, ``pass`` says which detection found it."""
    return [
        {"box": list(r.box), "score": round(r.score, 4), "detector": r.detector,
         "frame": index, "pass": found_by}
        for index, frame in enumerate(result.frames)
        for found_by, regions in (("first", frame.regions), ("verification", frame.verification_regions))
        for r in regions
    ]


@dataclass
class Report:
    entries: List[ReportEntry] = field(default_factory=list)

    def add(self, entry: ReportEntry) -> None:
        self.entries.append(entry)

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def faces_covered(self) -> int:
        return sum(len(e.result.regions) for e in self.entries if e.result)

    @property
    def faces_found_by_verification(self) -> int:
        return sum(len(e.result.verification_regions) for e in self.entries if e.result)

    def write(self, path: Path) -> None:
        """Write the report atomically (a temporary file renamed into place)."""
        text = json.dumps({"files": [e.to_json() for e in self.entries]}, indent=2)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text + "\n")
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
