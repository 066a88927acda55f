"""``anonymise check``: what in a photo about to be published still identifies someone.

For any photo, ours or not: the parts of the file beyond its picture, named by the same
structural parsers that check every copy anonymise writes (EXIF and what it tells, a GPS
position, XMP, IPTC, comments, embedded images, data after the image, C2PA; a colour profile
as a note; the structure every viewer needs is not a finding), and the faces a detector
still sees in its pixels.

The file keeps no record of where anonymise put its covers, so a cover is told from a face
by its pixels: detectors answer to the outline of a covered head (hair, ears, shoulders)
even where the face itself is gone. A confident find counts as a visible face when the
inside of its box, shown alone on a plain background, is still seen as a face — which a
cover, made of at most 8×8 cells of colour plus noise, one flat colour or a drawn emoji,
is not — or when CenterFace is surer of it than it ever was of a cover. The measurements
behind the thresholds are in docs/implementation-notes.md; like any detector, this one
can miss a face, small ones in crowds most of all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

from anonymise.detectors import build_detector
from anonymise.errors import AnonymiseError, NotAnImageError
from anonymise.faces import Faces
from anonymise.imagefile import load_photo, refuse_what_is_not_a_photo, why_unreadable
from anonymise.imagefile.structure import Part, parts_beyond_the_picture
from anonymise.imagefile.structure import parts as kinds
from anonymise.imagefile.structure.parts import NOTES
from anonymise.models import Models, build_models
from anonymise.pipeline import VERIFIER_THRESHOLD

# A find this sure is a face someone could see, unless it is a cover (below). BlazeFace's is
# the verification pass's own standard; CenterFace also sees the small faces of a crowd
# that BlazeFace misses.
CENTERFACE_SURE = 0.5
# The inside of a find's box, shown alone, that CenterFace scores at least this is a face.
# On 60 development photos anonymised in every style, the insides of covers found as
# faces scored at most 0.34 (BlazeFace finds on blur; 0.14 for CenterFace's finds).
FACE_SEEN_ALONE = 0.4
# CenterFace scored covers at most 0.79 there: a find above this is a face whatever its inside
# shows alone (small faces, shown alone, lose what CenterFace knows them by).
CENTERFACE_CERTAIN = 0.85
# How the inside of a box is shown alone: the ellipse within this share of the box, this
# many pixels high, in the middle of a plain grey canvas twice its size.
_INSIDE_SHARE = 0.85
_ALONE_HEIGHT = 96
_BACKGROUND = 128
# The order findings are said in, and how much of each is said.
_ORDER = [kinds.EXIF, kinds.GPS, kinds.TIMESTAMP, kinds.XMP, kinds.IPTC, kinds.COMMENT, kinds.EMBEDDED_IMAGE,
          kinds.C2PA, kinds.TRAILING_DATA, kinds.OTHER, kinds.UNREADABLE]
_SAID_WITH_DETAIL = {kinds.EXIF, kinds.COMMENT}
_SAID_WITH_DESCRIPTION = {kinds.EMBEDDED_IMAGE, kinds.TRAILING_DATA, kinds.OTHER, kinds.UNREADABLE}


@dataclass(frozen=True)
class VisibleFace:
    box: tuple
    score: float
    detector: str
    frame: int = 0


@dataclass(frozen=True)
class Audit:
    """What one file holds that identifies, or why it could not be checked."""

    path: Path
    findings: List[Part] = field(default_factory=list)
    notes: List[Part] = field(default_factory=list)
    faces: List[VisibleFace] = field(default_factory=list)
    error: Optional[str] = None
    skipped: Optional[str] = None

    @property
    def clean(self) -> bool:
        return not self.findings and not self.faces and self.error is None

    def account(self) -> str:
        """What identifies, in a person's words, on one line (no values from the file)."""
        said = []
        for kind in _ORDER:
            of_kind = [part for part in self.findings if part.kind == kind]
            if not of_kind:
                continue
            if kind in _SAID_WITH_DETAIL:
                details = [part.detail for part in of_kind if part.detail]
                said.append(f"{kind} ({'; '.join(details)})" if details else kind)
            elif kind in _SAID_WITH_DESCRIPTION:
                said.append(f"{kind} ({'; '.join(part.description for part in of_kind)})")
            else:
                said.append(kind)
        if self.faces:
            said.append(f"{len(self.faces)} face{'s' * (len(self.faces) != 1)} still visible")
        if self.error is not None:
            said.append(f"cannot be checked: {self.error}")
        line = ", ".join(said) if said else "clean"
        if self.notes:
            line += f" (note: {'; '.join(part.description for part in self.notes)})"
        return line

    def to_json(self) -> dict:
        return {
            "path": str(self.path),
            "clean": self.clean,
            "findings": [part._asdict() for part in self.findings],
            "notes": [part._asdict() for part in self.notes],
            "faces": [{"box": list(face.box), "score": round(face.score, 4), "detector": face.detector,
                       "frame": face.frame} for face in self.faces],
            "error": self.error,
        }


class Auditor:
    """Loads the detectors once, then checks one file after another."""

    def __init__(self, models: Optional[Models] = None) -> None:
        models = models or build_models()
        self.detector, self.verifier = models.detector, models.verifier
        # Looks at the inside of a find alone: one pass at the size it is shown at.
        self._alone = build_detector("centerface", threads=models.threads)

    def audit(self, path: Path) -> Audit:
        try:
            refuse_what_is_not_a_photo(path)
        except NotAnImageError as error:
            return Audit(path, skipped=str(error))
        try:
            data = path.read_bytes()
        except OSError as error:
            return Audit(path, error=why_unreadable(path, error))
        if not data:
            return Audit(path, error="empty file (0 bytes)")
        parts = parts_beyond_the_picture(data, _format_of(data))
        findings = [part for part in parts if part.is_finding]
        notes = [part for part in parts if part.kind in NOTES]
        try:
            photo = load_photo(path)
        except AnonymiseError as error:  # unreadable, or too small to look for faces in
            return Audit(path, findings, notes, error=str(error))
        faces = [face for index, frame in enumerate(photo.frames) for face in self.visible_faces(frame.rgb, index)]
        return Audit(path, findings, notes, faces)

    def visible_faces(self, rgb: np.ndarray, frame: int = 0) -> List[VisibleFace]:
        """The faces in upright RGB pixels that someone could still see (covers left out)."""
        centerface = self.detector.detect(rgb)
        certain = centerface.above(CENTERFACE_CERTAIN)
        sure = Faces.concatenate([self.verifier.detect(rgb).above(VERIFIER_THRESHOLD), centerface.above(CENTERFACE_SURE)])
        seen = sure[np.array([self.seen_alone(rgb, box) >= FACE_SEEN_ALONE for box in sure.xyxy], dtype=bool)]
        visible = Faces.concatenate([certain, seen]).merged()
        return [
            VisibleFace(tuple(round(float(v), 1) for v in box), float(score), str(name), frame)
            for box, score, name in zip(visible.xyxy, visible.scores, visible.detectors)
        ]

    def seen_alone(self, rgb: np.ndarray, box: np.ndarray) -> float:
        """How sure CenterFace is of a face in the inside of ``box`` shown on its own."""
        inside = _inside_on_plain_background(rgb, box)
        if inside is None:
            return 0.0
        faces = self._alone.detect(inside)
        return float(faces.scores.max()) if len(faces) else 0.0


def _inside_on_plain_background(rgb: np.ndarray, box: np.ndarray) -> Optional[np.ndarray]:
    """The ellipse inside ``box``, scaled to a standard height, alone on a grey canvas.

    What made a detector find the box may be around it (a covered head's outline); what is
    left here is only what the box holds.
    """
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_w, half_h = (x2 - x1) * _INSIDE_SHARE / 2, (y2 - y1) * _INSIDE_SHARE / 2
    left, top = max(0, int(cx - half_w)), max(0, int(cy - half_h))
    right, bottom = min(width, int(np.ceil(cx + half_w))), min(height, int(np.ceil(cy + half_h)))
    if right - left < 2 or bottom - top < 2:
        return None
    crop = rgb[top:bottom, left:right]
    scale = _ALONE_HEIGHT / crop.shape[0]
    size = (max(1, round(crop.shape[1] * scale)), _ALONE_HEIGHT)
    crop = cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
    crop_h, crop_w = crop.shape[:2]
    rows, columns = np.mgrid[0:crop_h, 0:crop_w]
    ellipse = ((rows + 0.5 - crop_h / 2) / (crop_h / 2)) ** 2 + ((columns + 0.5 - crop_w / 2) / (crop_w / 2)) ** 2 <= 1
    canvas = np.full((2 * crop_h, max(2 * crop_w, 2 * crop_h), 3), _BACKGROUND, dtype=np.uint8)
    top, left = (canvas.shape[0] - crop_h) // 2, (canvas.shape[1] - crop_w) // 2
    canvas[top : top + crop_h, left : left + crop_w][ellipse] = crop[ellipse]
    return canvas


def _format_of(data: bytes) -> str:
    """The format the file's own first bytes say it is in (not its name), as Pillow names it."""
    if data[:2] == b"\xff\xd8":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:2] == b"BM":
        return "BMP"
    if data[4:8] == b"ftyp":
        return "AVIF" if data[8:12] in (b"avif", b"avis") else "HEIF"
    return "unknown"
