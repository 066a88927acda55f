"""The photo under review on a Tk canvas: the photo, its regions' outlines, the box being
dragged, and what to show when there is no photo to review (a video shows its first frame)."""

from __future__ import annotations

import tkinter as tk
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageTk

from anonymise.desktop.review import Review, ReviewedPhoto, ShownRegion, Status

# The photo is never enlarged more than this to fill the window: past it, pixels just blur.
MOST_ENLARGEMENT = 2.0
MARGIN = 12

BACKDROP = "#2b2d31"
COVERED = "#ffcc00"
SHADOW = "#1a1a1a"
UNCOVERED = "#e8e8e8"
DRAWING = "#00d0ff"
ERROR = "#c62828"
ERROR_ON_BACKDROP = "#ff8a80"


class PhotoCanvas:
    """Draws a ``Review``'s current photo on ``widget``; ``accepts_drops`` changes what the
    empty canvas invites the user to do."""

    def __init__(self, parent: tk.Widget, accepts_drops: bool) -> None:
        self.widget = tk.Canvas(parent, background=BACKDROP, highlightthickness=0, cursor="crosshair")
        self.accepts_drops = accepts_drops
        self._rubber_band: Optional[int] = None
        # The photo as last displayed and what it showed (photo, size, style, covered regions):
        # redrawing the outlines after a click needs no resampling or covering.
        self._shown_image: Optional[Tuple[tuple, ImageTk.PhotoImage]] = None

    @property
    def dragging(self) -> bool:
        return self._rubber_band is not None

    def drag_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Show the box being dragged from (x0, y0) to (x1, y1), in canvas pixels."""
        if self._rubber_band is None:
            self._rubber_band = self.widget.create_rectangle(x0, y0, x1, y1, outline=DRAWING, width=2, dash=(6, 3))
        self.widget.coords(self._rubber_band, x0, y0, x1, y1)

    def end_drag(self) -> None:
        if self._rubber_band is not None:
            self.widget.delete(self._rubber_band)
            self._rubber_band = None

    def draw(self, review: Review, show_covered: bool) -> None:
        """Everything from the model: the current photo with its regions, or why there is none."""
        canvas = self.widget
        canvas.delete("all")
        self._rubber_band = None
        width, height = canvas.winfo_width(), canvas.winfo_height()
        photo = review.current_photo
        if photo is None:
            self._draw_drop_zone(width, height)
        elif photo.status is Status.FINDING_FACES:
            self._centre_text(width, height, f"{'Opening' if photo.is_video else 'Finding faces in'} {photo.name}…")
        elif photo.status is Status.FAILED:
            self._centre_text(
                width, height, f"{photo.name} cannot be anonymised:\n{photo.problem}", ERROR_ON_BACKDROP
            )
        else:
            self._draw_regions_on_photo(review, photo, width, height, show_covered)

    def _draw_drop_zone(self, width: int, height: int) -> None:
        inset = 40
        self.widget.create_rectangle(
            inset, inset, width - inset, height - inset, outline="#8a8f98", width=2, dash=(8, 6)
        )
        if self.accepts_drops:
            headline, detail = "Drop photos, videos or folders here", "or choose them with Add photos or videos…"
        else:
            headline, detail = "Choose photos or videos with Add photos or videos…", ""
        self.widget.create_text(
            width / 2, height / 2 - 14, text=headline, fill="#f0f0f0", font=("TkDefaultFont", 18)
        )
        self.widget.create_text(
            width / 2, height / 2 + 18, text=detail, fill="#b8bcc4", font=("TkDefaultFont", 11)
        )

    def _centre_text(self, width: int, height: int, text: str, colour: str = "#f0f0f0") -> None:
        self.widget.create_text(
            width / 2, height / 2, text=text, fill=colour,
            font=("TkDefaultFont", 13), justify="center", width=max(width - 80, 200),
        )

    def _draw_regions_on_photo(
        self, review: Review, photo: ReviewedPhoto, width: int, height: int, show_covered: bool
    ) -> None:
        scale, left, top = self.placement(photo)
        # Rounded as shown_regions rounds, so the covered regions fit this size exactly.
        size = (round(photo.width * scale), round(photo.height * scale))
        covered = tuple(photo.covered_regions(review.options, scale)) if show_covered else ()
        shows = (review.current, size, review.style, covered)
        if self._shown_image is None or self._shown_image[0] != shows:
            image = photo.preview.resize(size, Image.Resampling.LANCZOS)
            if covered:
                image = Image.fromarray(review.redactor.redact(np.asarray(image), covered))
            self._shown_image = (shows, ImageTk.PhotoImage(image, master=self.widget))
        self.widget.create_image(left, top, image=self._shown_image[1], anchor="nw")
        for shown in photo.shown_regions(review.options):
            self._draw_region(shown, scale, left, top)
        if photo.problem:
            self.widget.create_rectangle(0, 0, width, 30, fill=ERROR, outline="")
            self.widget.create_text(
                10, 15, text=photo.problem, fill="white", anchor="w", font=("TkDefaultFont", 10, "bold")
            )

    def _draw_region(self, shown: ShownRegion, scale: float, left: float, top: float) -> None:
        region = shown.region
        if region.shape == "ellipse":
            x1, y1, x2, y2 = region.outline
            draw = self.widget.create_oval
        else:
            x1, y1, x2, y2 = region.box
            draw = self.widget.create_rectangle
        coords = (left + x1 * scale, top + y1 * scale, left + x2 * scale, top + y2 * scale)
        if shown.covered:
            # A dark line under the bright one keeps the outline visible on any background.
            draw(*coords, outline=SHADOW, width=5)
            draw(*coords, outline=COVERED, width=3, tags=("region", "covered", shown.origin.value))
        else:
            draw(*coords, outline=SHADOW, width=3)
            draw(*coords, outline=UNCOVERED, width=1, dash=(4, 4), tags=("region", "uncovered"))

    def placement(self, photo: ReviewedPhoto) -> Tuple[float, float, float]:
        """(scale, left, top): where ``photo`` sits on the canvas."""
        width = max(self.widget.winfo_width() - 2 * MARGIN, 1)
        height = max(self.widget.winfo_height() - 2 * MARGIN, 1)
        scale = min(width / photo.width, height / photo.height, MOST_ENLARGEMENT)
        left = MARGIN + (width - photo.width * scale) / 2
        top = MARGIN + (height - photo.height * scale) / 2
        return scale, left, top
