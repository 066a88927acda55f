"""Regenerate the style gallery in docs/gallery/ from a sample photo.

    python docs/make_gallery.py

One JPEG per style (the same crop of the same photo, faces found by the default
detector), and a sheet of every emoji. The noise of blur and pixelate is seeded, so a
re-run gives the same pictures.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from anonymise.detectors import build_detector
from anonymise.imagefile import load_photo
from anonymise.pipeline import anonymise_pixels
from anonymise.redactors import EMOJIS, REDACTORS, SolidRedactor, build_redactor

REPO = Path(__file__).resolve().parent.parent
GALLERY = REPO / "docs" / "gallery"
PHOTO = REPO / "samples" / "nasa-white-house-iss-call-group.jpg"
CROP = (slice(180, 780), slice(180, 1300))  # rows, columns: six faces of all sizes
WIDTH = 800
QUALITY = 85
SEEDED = {"blur", "pixelate"}


def save(rgb: np.ndarray, name: str) -> None:
    image = Image.fromarray(rgb)
    image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.Resampling.LANCZOS)
    path = GALLERY / name
    image.save(path, quality=QUALITY, optimize=True)
    print(f"{path.relative_to(REPO)}: {path.stat().st_size // 1024} KB")


def emoji_sheet(size: int = 96, gap: int = 8) -> np.ndarray:
    sheet = Image.new("RGB", (len(EMOJIS) * (size + gap) + gap, size + 2 * gap), (255, 255, 255))
    for index, art in enumerate(EMOJIS.values()):
        sheet.paste(art.render(size), (gap + index * (size + gap), gap))
    return np.asarray(sheet)


def main() -> None:
    GALLERY.mkdir(parents=True, exist_ok=True)
    rgb = load_photo(PHOTO).rgb
    _, _, regions = anonymise_pixels(rgb, build_detector(), SolidRedactor())
    for style in REDACTORS:
        redactor = build_redactor(style, **({"seed": 1} if style in SEEDED else {}))
        save(redactor.redact(rgb, regions)[CROP], f"{style}.jpg")
    save(emoji_sheet(), "emoji-set.jpg")


if __name__ == "__main__":
    main()
