"""The review window: Tk widgets that draw a `Review` and turn the mouse into calls on it."""

from __future__ import annotations

import os
import subprocess
import sys
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, messagebox, ttk
from typing import Iterable, Optional, Sequence, Set, Tuple

from anonymise.desktop.review import Review, ReviewedPhoto, Status
from anonymise.desktop.background import (
    BackgroundWork, FacesFound, FramesWritten, PhotoFailed, PhotoSaved, Result, VideoOpened,
)
from anonymise.desktop.canvas import ERROR, PhotoCanvas
from anonymise.detectors import SCORE_FLOOR
from anonymise.imagefile import READABLE_EXTENSIONS
from anonymise.redactors import REDACTORS
from anonymise.run.plan import UnsafeOutputError
from anonymise.video import VIDEO_EXTENSIONS

TITLE = "Anonymise photos"
POLL_MS = 50
# Below this many screen pixels a press-and-release is a click, not a drag.
DRAG_SLOP = 4
HINT = "Click a marked face to leave it uncovered (click again to undo)  ·  Drag a box round a missed face to cover it"
VIDEO_HINT = (
    "A video cannot be reviewed frame by frame: on saving, every face in every frame is found, "
    "checked by a second model, followed between frames and covered with the settings above"
)
# How long closing the window waits for the copy being written to stop and be removed.
STOP_WAIT_SECONDS = 30


class ReviewWindow:
    """Shows the photos of a `Review` one at a time, with the regions that will be covered.

    ``accepts_drops`` says whether ``root`` is a tkinterdnd2 window, so files dropped on it
    are added.
    """

    def __init__(self, root: tk.Tk, review: Review, background: BackgroundWork, accepts_drops: bool) -> None:
        self.root = root
        self.review = review
        self.background = background
        self.accepts_drops = accepts_drops
        self._saving: Set[int] = set()  # photos handed to the worker to save, not yet done
        self._save_failures = 0
        self._frames: Optional[FramesWritten] = None  # of the video being written
        self._press: Optional[Tuple[int, int]] = None

        root.title(TITLE)
        root.geometry("1180x780")
        root.minsize(760, 480)
        self._style_widgets()
        self._build()
        self._bind()
        root.protocol("WM_DELETE_WINDOW", self.close)
        self._poll()

    # The layout -------------------------------------------------------------------------

    def _style_widgets(self) -> None:
        style = ttk.Style(self.root)
        if sys.platform.startswith("linux"):
            style.theme_use("clam")  # the X11 default theme looks like 1995
        style.configure("Save.TButton", font=("TkDefaultFont", 10, "bold"), padding=(14, 4))
        style.configure("Problem.TLabel", foreground=ERROR)
        style.configure("Treeview", rowheight=24)

    def _build(self) -> None:
        root = self.root
        root.columnconfigure(0, weight=1)
        root.rowconfigure(1, weight=1)

        toolbar = ttk.Frame(root, padding=(10, 8))
        toolbar.grid(row=0, column=0, sticky="ew")
        self.add_button = ttk.Button(toolbar, text="Add photos or videos…", command=self.choose_photos)
        self.add_button.pack(side="left")
        ttk.Separator(toolbar, orient="vertical").pack(side="left", fill="y", padx=12)
        ttk.Label(toolbar, text="Cover with").pack(side="left")
        self.style_choice = tk.StringVar(value=self.review.style)
        self.style_buttons = {}
        for name in REDACTORS:
            button = ttk.Radiobutton(
                toolbar, text=name.capitalize(), value=name, variable=self.style_choice,
                style="Toolbutton", command=self._style_chosen,
            )
            button.pack(side="left", padx=(6, 0))
            self.style_buttons[name] = button
        self.show_covered = tk.BooleanVar(value=False)
        self.show_covered_button = ttk.Checkbutton(
            toolbar, text="Show covered", variable=self.show_covered, command=self.refresh
        )
        self.show_covered_button.pack(side="left", padx=(12, 0))
        ttk.Separator(toolbar, orient="vertical").pack(side="left", fill="y", padx=12)
        ttk.Label(toolbar, text="Threshold").pack(side="left")
        self.threshold = tk.DoubleVar(value=self.review.options.threshold)
        self.threshold_scale = ttk.Scale(
            toolbar, from_=SCORE_FLOOR, to=0.95, variable=self.threshold, length=110,
            command=self._threshold_moved,
        )
        self.threshold_scale.pack(side="left", padx=6)
        self.threshold_label = ttk.Label(toolbar)
        self.threshold_label.pack(side="left")
        self.save_button = ttk.Button(
            toolbar, text="Save copies", style="Save.TButton", command=self.save
        )
        self.save_button.pack(side="right")

        body = ttk.Panedwindow(root, orient="horizontal")
        body.grid(row=1, column=0, sticky="nsew", padx=10)
        list_frame = ttk.Frame(body)
        self.photo_list = ttk.Treeview(
            list_frame, columns=("photo", "faces"), selectmode="browse", show="headings"
        )
        self.photo_list.heading("photo", text="Photo", anchor="w")
        self.photo_list.heading("faces", text="Faces", anchor="w")
        self.photo_list.column("photo", width=230, stretch=True)
        self.photo_list.column("faces", width=100, stretch=False)
        self.photo_list.tag_configure("problem", foreground=ERROR)
        scrollbar = ttk.Scrollbar(list_frame, orient="vertical", command=self.photo_list.yview)
        self.photo_list.configure(yscrollcommand=scrollbar.set)
        self.photo_list.pack(side="left", fill="both", expand=True)
        scrollbar.pack(side="left", fill="y")
        body.add(list_frame, weight=0)

        viewer = ttk.Frame(body)
        viewer.columnconfigure(1, weight=1)
        viewer.rowconfigure(0, weight=1)
        self.photo_canvas = PhotoCanvas(viewer, self.accepts_drops)
        self.canvas = self.photo_canvas.widget
        self.canvas.grid(row=0, column=0, columnspan=3, sticky="nsew")
        self.previous_button = ttk.Button(viewer, text="◀ Previous", command=self.previous_photo)
        self.previous_button.grid(row=1, column=0, pady=6)
        self.caption = ttk.Label(viewer, anchor="center")
        self.caption.grid(row=1, column=1, sticky="ew")
        self.next_button = ttk.Button(viewer, text="Next ▶", command=self.next_photo)
        self.next_button.grid(row=1, column=2, pady=6)
        self.hint = ttk.Label(viewer, text=HINT, anchor="center", foreground="#555")
        self.hint.grid(row=2, column=0, columnspan=3, sticky="ew")
        body.add(viewer, weight=1)

        destination = ttk.Frame(root, padding=(10, 8, 10, 4))
        destination.grid(row=2, column=0, sticky="ew")
        ttk.Label(destination, text="Copies go to").pack(side="left")
        self.output_label = ttk.Label(destination, font=("TkDefaultFont", 10, "bold"))
        self.output_label.pack(side="left", padx=6)
        self.output_button = ttk.Button(destination, text="Change…", command=self.choose_output)
        self.output_button.pack(side="left")
        self.open_button = ttk.Button(destination, text="Open folder", command=self.open_output)
        self.neutral_names = tk.BooleanVar(value=self.review.neutral_names)
        self.neutral_names_button = ttk.Checkbutton(
            destination, text="Neutral names (photo-0001.jpg, …)", variable=self.neutral_names,
            command=self._neutral_names_chosen,
        )
        self.neutral_names_button.pack(side="left", padx=(16, 0))
        # Said while copies would keep names like IMG_20200602_183512.jpg.
        self.names_warning = ttk.Label(destination, style="Problem.TLabel")
        self.names_warning.pack(side="left", padx=(8, 0))

        status_bar = ttk.Frame(root, padding=(10, 0, 10, 8))
        status_bar.grid(row=3, column=0, sticky="ew")
        self.status = ttk.Label(status_bar)
        self.status.pack(side="left")
        self.progress = ttk.Progressbar(status_bar, length=200, mode="determinate")
        # One-off messages (files skipped, an output folder refused), apart from the status.
        self.notice = ttk.Label(status_bar, anchor="e")
        self.notice.pack(side="right")

    def _bind(self) -> None:
        self.canvas.bind("<ButtonPress-1>", self.on_press)
        self.canvas.bind("<B1-Motion>", self.on_drag)
        self.canvas.bind("<ButtonRelease-1>", self.on_release)
        self.canvas.bind("<Configure>", lambda event: self.refresh())
        self.photo_list.bind("<<TreeviewSelect>>", self._list_selected)
        self.root.bind("<Left>", lambda event: self.previous_photo())
        self.root.bind("<Right>", lambda event: self.next_photo())
        self.root.bind("<Control-s>", lambda event: self.save())
        if self.accepts_drops:
            from tkinterdnd2 import DND_FILES

            self.root.drop_target_register(DND_FILES)
            self.root.dnd_bind("<<Drop>>", self.on_drop)

    # What the user does -----------------------------------------------------------------

    def add_paths(self, paths: Sequence[Path]) -> None:
        """Add photos, videos and folders (from the command line, a drop or the file chooser)."""
        try:
            added, skipped = self.review.add(list(paths))
        except UnsafeOutputError as error:
            self._notify(str(error), problem=True)
            return
        self._notify("")
        first_new = len(self.review.photos) - len(added)
        for index, photo in enumerate(added, start=first_new):
            if photo.status is not Status.FINDING_FACES:
                continue
            if photo.is_video:
                self.background.open_video(index, photo.source)
            else:
                self.background.find_faces(index, photo.source)
        if added:
            self.review.go_to(first_new)
        if skipped:
            self._notify(f"{skipped} file{'s' * (skipped != 1)} skipped: not a photo or video anonymise reads")
        self.refresh()

    def choose_photos(self) -> None:
        photos = " ".join(f"*{extension}" for extension in sorted(READABLE_EXTENSIONS))
        videos = " ".join(f"*{extension}" for extension in sorted(VIDEO_EXTENSIONS))
        chosen = filedialog.askopenfilenames(
            parent=self.root, title="Add photos or videos",
            filetypes=[("Photos and videos", f"{photos} {videos}"), ("Photos", photos), ("Videos", videos),
                       ("All files", "*")],
        )
        if chosen:
            self.add_paths([Path(name) for name in chosen])

    def choose_output(self) -> None:
        folders = self.review.save_folders()
        chosen = filedialog.askdirectory(
            parent=self.root, title="Save the anonymised copies in",
            initialdir=str(folders[0].parent if folders else Path.home()),
        )
        if chosen:
            self.change_output(Path(chosen))

    def change_output(self, folder: Path) -> None:
        try:
            self.review.change_output(folder)
        except UnsafeOutputError as error:
            self._notify(str(error), problem=True)
            return
        self._notify("")
        self.refresh()

    def on_press(self, event: tk.Event) -> None:
        self._press = (event.x, event.y)

    def on_drag(self, event: tk.Event) -> None:
        if self._press is None or not self._editable():
            return
        x0, y0 = self._press
        if not self.photo_canvas.dragging and max(abs(event.x - x0), abs(event.y - y0)) < DRAG_SLOP:
            return
        self.photo_canvas.drag_box(x0, y0, event.x, event.y)

    def on_release(self, event: tk.Event) -> None:
        press, self._press = self._press, None
        photo = self.review.current_photo
        if press is None or photo is None or not self._editable():
            return
        if self.photo_canvas.dragging:
            self.photo_canvas.end_drag()
            x1, y1 = self._to_photo(*press)
            x2, y2 = self._to_photo(event.x, event.y)
            changed = photo.draw_box(x1, y1, x2, y2)
        else:
            changed = photo.toggle_region_at(*self._to_photo(event.x, event.y), self.review.options)
        if changed:
            self.refresh()

    def previous_photo(self) -> None:
        self.review.go_to(self.review.current - 1)
        self.refresh()

    def next_photo(self) -> None:
        self.review.go_to(self.review.current + 1)
        self.refresh()

    def save(self) -> None:
        """Write every reviewed photo's copy with the regions shown, and every video's with
        the faces the core finds in each frame, on the worker thread."""
        if self._saving or self.review.finding_faces:
            return
        redactor, options = self.review.redactor, self.review.options
        self._save_failures = 0
        for index, photo in enumerate(self.review.photos):
            if not photo.can_be_saved:
                continue
            self._saving.add(index)
            if photo.is_video:
                self.background.save_video(index, photo.source, photo.destination, redactor, options)
            else:
                self.background.save(
                    index, photo.source, photo.destination, photo.covered_regions(options), redactor,
                    (photo.width, photo.height),
                )
        self.refresh()

    def open_output(self) -> None:
        folder = self.review.save_folders()[0]
        if sys.platform == "win32":
            os.startfile(folder)  # type: ignore[attr-defined]
        else:
            subprocess.Popen(["open" if sys.platform == "darwin" else "xdg-open", str(folder)])

    def close(self) -> None:
        unsaved = len(self.review.unsaved())
        if self._saving:
            message = "Copies are still being written. Quit anyway? Unfinished copies are not kept."
        elif unsaved:
            message = f"{unsaved} reviewed photo{'s' * (unsaved != 1)} not saved. Quit anyway?"
        else:
            message = None
        if message and not messagebox.askokcancel(TITLE, message, parent=self.root):
            return
        if self._saving:
            # A video's copy stops at its next frame and is removed, rather than left half
            # written in the output folder when the process ends.
            self.background.stop(timeout=STOP_WAIT_SECONDS)
        self.root.destroy()

    def _neutral_names_chosen(self) -> None:
        self.review.change_neutral_names(self.neutral_names.get())
        self.refresh()

    def _threshold_moved(self, value: str) -> None:
        self.review.change_threshold(round(float(value), 2))
        self.refresh()

    def _style_chosen(self) -> None:
        self.review.change_style(self.style_choice.get())
        self.refresh()

    def _list_selected(self, event: tk.Event) -> None:
        selection = self.photo_list.selection()
        if selection and int(selection[0]) != self.review.current:
            self.review.go_to(int(selection[0]))
            self.refresh()

    def on_drop(self, event: tk.Event) -> None:
        self.add_paths([Path(name) for name in self.root.tk.splitlist(event.data)])

    def _editable(self) -> bool:
        photo = self.review.current_photo
        return photo is not None and photo.can_be_reviewed and not self._saving

    # Results from the worker ------------------------------------------------------------

    def _poll(self) -> None:
        changed = progressed = False
        while not self.background.results.empty():
            result = self.background.results.get_nowait()
            if isinstance(result, FramesWritten):
                # Many a second while a video is written: only the status bar changes.
                self._frames, progressed = result, True
            else:
                self._apply(result)
                changed = True
        if changed:
            self.refresh()
        elif progressed:
            self._refresh_status()
        self.root.after(POLL_MS, self._poll)

    def _apply(self, result: Result) -> None:
        photo = self.review.photos[result.photo]
        if isinstance(result, FacesFound):
            photo.detected(result.width, result.height, result.candidates, result.preview)
        elif isinstance(result, VideoOpened):
            photo.opened(result.width, result.height, result.preview)
        elif isinstance(result, PhotoSaved):
            self._saving.discard(result.photo)
            self._frames = None
            photo.saved(result.result.output)
        elif isinstance(result, PhotoFailed) and result.while_saving:
            self._saving.discard(result.photo)
            self._frames = None
            self._save_failures += 1
            photo.not_saved(result.reason)
        elif isinstance(result, PhotoFailed):
            photo.failed(result.reason)

    # Drawing ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw everything from the model: list, photo, caption, buttons, status."""
        self._refresh_list()
        self.photo_canvas.draw(self.review, self.show_covered.get())
        self._refresh_caption()
        self._refresh_controls()
        self._refresh_status()

    def _refresh_list(self) -> None:
        rows = self.photo_list
        for index, photo in enumerate(self.review.photos):
            values = (photo.name, self._faces_column(photo))
            tags = ("problem",) if photo.status is Status.FAILED or photo.problem else ()
            if rows.exists(str(index)):
                rows.item(str(index), values=values, tags=tags)
            else:
                rows.insert("", "end", iid=str(index), values=values, tags=tags)
        if self.review.photos and rows.selection() != (str(self.review.current),):
            rows.selection_set(str(self.review.current))
            rows.see(str(self.review.current))

    def _faces_column(self, photo: ReviewedPhoto) -> str:
        if photo.status is Status.FINDING_FACES:
            return "opening…" if photo.is_video else "finding…"
        if photo.status is Status.FAILED:
            return "⚠ failed"
        count = "video" if photo.is_video else str(len(photo.covered_regions(self.review.options)))
        if photo.problem:
            return f"{count}  ⚠ not saved"
        return f"{count}  ✓ saved" if photo.saved_to else count

    def photo_placement(self) -> Tuple[float, float, float]:
        """(scale, left, top): where the current photo sits on the canvas."""
        return self.photo_canvas.placement(self.review.current_photo)

    def _to_photo(self, x: float, y: float) -> Tuple[float, float]:
        scale, left, top = self.photo_placement()
        return (x - left) / scale, (y - top) / scale

    def _refresh_caption(self) -> None:
        photo = self.review.current_photo
        if photo is None:
            self.caption.configure(text="No photos yet")
            return
        kind = "Video" if photo.is_video else "Photo"
        position = f"{kind} {self.review.current + 1} of {len(self.review.photos)}: {photo.name}"
        if photo.status is Status.READY and photo.is_video:
            position += "  —  every face in every frame will be covered automatically"
        elif photo.status is Status.READY:
            count = len(photo.covered_regions(self.review.options))
            position += f"  —  {count} face{'s' * (count != 1)} will be covered"
        self.caption.configure(text=position)
        self.hint.configure(text=VIDEO_HINT if photo.is_video else HINT)

    def _refresh_controls(self) -> None:
        has_photos = bool(self.review.photos)
        self.previous_button.state(["!disabled" if self.review.current > 0 else "disabled"])
        last = len(self.review.photos) - 1
        self.next_button.state(["!disabled" if self.review.current < last else "disabled"])
        can_save = bool(self.review.photos_to_save()) and not self.review.finding_faces and not self._saving
        self.save_button.state(["!disabled" if can_save else "disabled"])
        threshold = self.review.options.threshold
        self.threshold_label.configure(text=f"{threshold:.2f}  (lower finds more)")
        folders = self.review.save_folders()
        self.output_label.configure(text=_folder_list(folders) if has_photos else "—")
        self.output_button.state(["!disabled" if has_photos and not self._saving else "disabled"])
        self.neutral_names_button.state(["!disabled" if not self._saving else "disabled"])
        telling = len(self.review.telling_names())
        self.names_warning.configure(text=(
            f"{telling} name{'s' * (telling != 1)} can tell when or with what the photo was taken"
            if telling else ""
        ))

    def _refresh_status(self) -> None:
        total, to_save = len(self.review.photos), len(self.review.photos_to_save())
        all_saved = bool(to_save) and not self.review.unsaved() and not self._saving
        if self._saving:
            done = to_save - len(self._saving)
            saving = f"Saving {done + 1} of {to_save}"
            if self._frames is not None:
                frames = self._frames
                name = self.review.photos[frames.photo].destination.name
                self._show_progress(frames.frames_done, frames.frames_expected)
                self._say(f"{saving}: writing {name}, frame {frames.frames_done} of {frames.frames_expected}…")
            else:
                self._show_progress(done, to_save)
                self._say(f"{saving}…")
        elif self.review.finding_faces:
            done = total - self.review.finding_faces
            self._show_progress(done, total)
            self._say(f"Finding faces: {done} of {total} photos done…")
        else:
            self._show_progress(None, None)
            if self._save_failures:
                failed = [photo for photo in self.review.photos_to_save() if photo.problem]
                self._say(f"{_counted(failed)} not saved: see the marked rows", problem=True)
            elif all_saved:
                folders = _folder_list(self.review.save_folders())
                self._say(f"Saved {_counted(self.review.photos_to_save())} to {folders}")
            else:
                self._say("Check every photo, then save" if total else "")
        if all_saved and not self.open_button.winfo_manager():
            self.open_button.pack(side="left", padx=(8, 0))
        elif not all_saved:
            self.open_button.pack_forget()

    def _show_progress(self, done: Optional[int], total: Optional[int]) -> None:
        if done is None:
            self.progress.pack_forget()
            return
        self.progress.configure(maximum=max(total, 1), value=done)
        if not self.progress.winfo_manager():
            self.progress.pack(side="left", padx=(12, 0))

    def _say(self, text: str, problem: bool = False) -> None:
        self.status.configure(text=text, style="Problem.TLabel" if problem else "TLabel")

    def _notify(self, text: str, problem: bool = False) -> None:
        self.notice.configure(text=text, style="Problem.TLabel" if problem else "TLabel")


def _counted(photos: Sequence[ReviewedPhoto]) -> str:
    """``3 photos``, ``1 video``, ``2 photos and 1 video``."""
    videos = sum(photo.is_video for photo in photos)
    counts = ((len(photos) - videos, "photo"), (videos, "video"))
    return " and ".join(f"{count} {kind}{'s' * (count != 1)}" for count, kind in counts if count)


def _folder_list(folders: Iterable[Path]) -> str:
    folders = list(folders)
    if len(folders) <= 2:
        return " and ".join(str(folder) for folder in folders)
    return f"{folders[0]} and {len(folders) - 1} more folders"
