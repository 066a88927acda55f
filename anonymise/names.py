"""File names that tell when, or with what, a photo was taken.

Cameras and phones name photos after the moment and the device (``IMG_20200602_183512.jpg``,
``PXL_20230101_093000123.jpg``, ``DSC_0234.JPG``, ``WhatsApp Image 2020-06-02 at 18.35.12.jpeg``),
and a copy keeps its name unless ``--neutral-names`` is given. Such a name can place a
published photo at a protest at a given minute, or tie it to one person's camera and its
numbering. ``tells_when_or_what`` spots them, so a run can say so.
"""

from __future__ import annotations

import re

# A calendar date: 2020-06-02, 20200602, 2020_06_02, 2020.06.02 (years 1990-2099).
_DATE = r"(?:19[89]\d|20\d\d)[-_.]?(?:0[1-9]|1[0-2])[-_.]?(?:0[1-9]|[12]\d|3[01])"
# The prefixes cameras, phones and apps give their photos, with the number after them.
_DEVICE_PREFIXES = (
    r"IMG", r"_MG", r"MVIMG", r"PXL", r"DSC[NF_]?", r"_DSC", r"SAM", r"SDC", r"GOPR", r"G[HX]\d\d",
    r"DJI", r"MVI", r"VID", r"IMGP", r"PICT", r"CIMG", r"HPIM", r"KIMG", r"DCP", r"EOS", r"RIMG",
    r"P\d{3}", r"Screenshot", r"WhatsApp Image", r"signal", r"PANO", r"BURST",
)
_TELLING = re.compile(
    rf"(?:^|\D){_DATE}(?:\D|$)"
    rf"|^(?:{'|'.join(_DEVICE_PREFIXES)})[-_ ]?\d",
    re.IGNORECASE,
)


def tells_when_or_what(name: str) -> bool:
    """Whether the file name ``name`` carries a date or a camera's or phone's own naming."""
    return _TELLING.search(name) is not None
