"""What a part of a file is: the kind of thing it could tell about a photo, and a one-line name.

The parsers name every part outside their format's allow-list for the copies anonymise
writes; each part also has a kind, so an audit of someone else's file (``anonymise check``)
can say in a person's words what identifies, and leave out the structure every viewer
needs (a PNG's pixel density, a JPEG's Adobe colour transform), which identifies no one.
"""

from __future__ import annotations

from typing import NamedTuple

EXIF = "EXIF"
GPS = "GPS position"
XMP = "XMP"
IPTC = "IPTC"
COMMENT = "text or comment"
TIMESTAMP = "date and time"
EMBEDDED_IMAGE = "embedded image"
TRAILING_DATA = "hidden data"
C2PA = "C2PA manifest"
UNREADABLE = "unreadable structure"
OTHER = "unknown data"
# Not findings: a colour profile is said as a note (its name and dates can tell the
# device or editor, but it says nothing of who or where); structure identifies no one.
ICC_PROFILE = "ICC profile"
STRUCTURAL = "structure"

NOTES = frozenset({ICC_PROFILE})
NOT_FINDINGS = frozenset({ICC_PROFILE, STRUCTURAL})


class Part(NamedTuple):
    """A part of a file beyond what the copies anonymise writes may hold."""

    kind: str
    description: str
    # What it holds, for a person (``camera make and model, date and time``): never values.
    detail: str = ""

    @property
    def is_finding(self) -> bool:
        """Whether it can identify someone, or hide something that can."""
        return self.kind not in NOT_FINDINGS
