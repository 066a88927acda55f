"""The review window: the model without a display, then a real Tk window under Xvfb.

Set ANONYMISE_DOCS_SCREENSHOTS=1 to also write the screenshots used in docs/desktop.md.
"""

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from anonymise.run.plan import UnsafeOutputError, plan_jobs
from anonymise.desktop.review import DRAWN, Origin, Review, ReviewedPhoto, Status
from anonymise.desktop.saving import PhotoChangedError, save_reviewed_photo
from anonymise.desktop.background import BackgroundWork, FacesFound, PhotoFailed, VideoOpened
from anonymise.detectors import DEFAULT_DETECTOR, Detector
from anonymise.faces import Faces
from anonymise.imagefile import load_photo
from anonymise.models import Models
from anonymise.pipeline import Options, anonymise_pixels
from anonymise.redactors import build_redactor
from anonymise.regions import coverage_mask, regions_from_faces

from conftest import REPO, SAMPLES
from sampleclip import panning_frames, sample_clip
from test_video import decoded_frames, faces_left_uncovered
from virtual_display import screenshot, x_display  # noqa: F401  (a fixture)

DOCS_IMAGES = REPO / "docs" / "images"
PORTRAIT = "nasa-astronaut-eileen-collins.png"
GARDEN = "whitehouse-rose-garden-small-profile.jpg"


class FixedDetector(Detector):
    """Finds the same boxes in every photo; ``release`` lets a test hold detection back."""

    name = "fixed"

    def __init__(self, boxes, scores=None, release=None):
        self.faces = Faces.from_detector(
            np.array(boxes, dtype=np.float32).reshape(-1, 4),
            np.array(scores if scores is not None else [0.9] * len(boxes)), self.name,
        )
        self.release = release

    def detect(self, rgb):
        if self.release is not None:
            self.release.wait(30)
        return self.faces


def noise_png(path, width=120, height=90, mode="RGB"):
    pixels = np.random.default_rng(7).integers(0, 256, (height, width, len(mode)), dtype=np.uint8)
    Image.fromarray(pixels, mode).save(path)
    return path


def fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# The model, without a display ---------------------------------------------------------

def ready_photo(boxes, scores, width=200, height=100):
    photo = ReviewedPhoto(Path("a.png"), Path("out/a.png"))
    candidates = Faces.from_detector(np.array(boxes, dtype=np.float32), np.array(scores), "test")
    photo.detected(width, height, candidates, Image.new("RGB", (width, height)))
    return photo


def test_threshold_filters_the_candidates_without_detecting_again():
    photo = ready_photo([(10, 10, 30, 30), (100, 10, 120, 30)], [0.9, 0.1])
    assert [s.index for s in photo.shown_regions(Options(threshold=0.2))] == [0]
    assert [s.index for s in photo.shown_regions(Options(threshold=0.05))] == [0, 1]


def test_the_window_keeps_large_faces_as_the_command_line_does():
    """A face 256 px tall needs 1.25 times the threshold, in the window as in every run."""
    photo = ready_photo([(10, 10, 40, 40), (100, 10, 356, 266), (400, 10, 656, 266)], [0.09, 0.09, 0.11],
                        width=700, height=300)
    assert [s.index for s in photo.shown_regions(Options(threshold=0.08))] == [0, 2]
    assert [s.index for s in photo.shown_regions(Options(threshold=0.07))] == [0, 1, 2]


def test_clicking_a_detection_removes_it_and_clicking_again_brings_it_back():
    photo = ready_photo([(10, 10, 30, 30), (100, 10, 120, 30)], [0.9, 0.8])
    options = Options()
    assert photo.toggle_region_at(20, 20, options)
    assert [s.covered for s in photo.shown_regions(options)] == [False, True]
    assert [r.box for r in photo.covered_regions(options)] == [photo.shown_regions(options)[1].region.box]
    assert photo.toggle_region_at(20, 20, options)
    assert [s.covered for s in photo.shown_regions(options)] == [True, True]
    assert not photo.toggle_region_at(60, 80, options), "a click on no region changed something"


def test_a_click_where_regions_overlap_means_the_one_whose_centre_is_nearest():
    photo = ready_photo([(10, 10, 50, 50), (30, 30, 70, 70)], [0.9, 0.9])
    options = Options(mask_scale=1.0)
    photo.toggle_region_at(60, 60, options)  # inside both, nearer the second's centre
    assert [s.covered for s in photo.shown_regions(options)] == [True, False]


def test_a_removed_detection_stays_removed_across_threshold_changes():
    photo = ready_photo([(10, 10, 30, 30), (100, 10, 120, 30)], [0.9, 0.1])
    photo.toggle_region_at(20, 20, Options())
    low = Options(threshold=0.05)
    assert [(s.index, s.covered) for s in photo.shown_regions(low)] == [(0, False), (1, True)]


@pytest.mark.parametrize("corners, expected", [
    ((40, 20, 60, 50), (40, 20, 60, 50)),
    ((60, 50, 40, 20), (40, 20, 60, 50)),        # dragged up and left
    ((-30, -10, 20, 20), (0, 0, 20, 20)),       # started outside the photo
    ((180, 80, 260, 140), (180, 80, 200, 100)),  # ended outside the photo
    ((40, 20, 41, 50), None),                    # a slip, not a box
    ((-30, -30, -5, -5), None),                  # entirely outside
])
def test_a_drawn_box_is_clipped_to_the_photo_and_covered_like_a_face(corners, expected):
    photo = ready_photo([], [])
    options = Options()
    assert photo.draw_box(*corners) == (expected is not None)
    if expected is None:
        assert photo.shown_regions(options) == []
        return
    assert photo.drawn == [tuple(float(v) for v in expected)]
    [shown] = photo.shown_regions(options)
    assert shown.origin is Origin.DRAWN and shown.region.detector == DRAWN
    grown = regions_from_faces(Faces.from_detector(np.array([expected]), np.ones(1), DRAWN), 200, 100)
    assert shown.region == grown[0]


def test_clicking_a_drawn_box_deletes_it():
    photo = ready_photo([], [])
    photo.draw_box(40, 20, 60, 50)
    assert photo.toggle_region_at(50, 35, Options())
    assert photo.drawn == [] and photo.shown_regions(Options()) == []


def test_an_edit_after_saving_marks_the_photo_unsaved():
    photo = ready_photo([(10, 10, 30, 30)], [0.9])
    photo.saved(Path("out/a.png"))
    photo.toggle_region_at(20, 20, Options())
    assert photo.saved_to is None


def test_adding_inputs_plans_copies_like_the_command_line(sample_dir):
    (sample_dir / "notes.txt").write_text("shot list")
    review = Review()
    added, skipped = review.add([sample_dir, sample_dir / PORTRAIT])
    assert skipped == 1
    assert [p.name for p in added] == sorted(p.name for p in sample_dir.glob("*.*") if p.suffix != ".txt")
    assert review.save_folders() == [sample_dir.parent / "photos-anonymised"]
    for photo in review.photos:
        assert photo.destination == sample_dir.parent / "photos-anonymised" / photo.name
        assert photo.status is Status.FINDING_FACES
    assert review.add([sample_dir]) == ([], 1), "adding the same folder again added photos"


@pytest.mark.parametrize("output, error", [
    ("{photos}", "refusing to write into the input folder"),
    ("{photos}/copies", "refusing to write into the input folder"),
    ("{tmp}/elsewhere", None),
])
def test_changing_the_output_refuses_folders_inside_the_inputs(tmp_path, sample_dir, output, error):
    review = Review()
    review.add([sample_dir])
    before = [p.destination for p in review.photos]
    folder = Path(output.format(photos=sample_dir, tmp=tmp_path))
    if error:
        with pytest.raises(UnsafeOutputError, match=error):
            review.change_output(folder)
        assert [p.destination for p in review.photos] == before and review.output is None
    else:
        review.change_output(folder)
        assert [p.destination.parent for p in review.photos] == [folder, folder]
        assert review.save_folders() == [folder]


def test_two_inputs_with_the_same_output_name_fail_rather_than_overwrite(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        noise_png(tmp_path / folder / "same.png")
    review = Review(output=tmp_path / "out")
    review.add([tmp_path / "a" / "same.png", tmp_path / "b" / "same.png"])
    first, second = review.photos
    assert first.status is Status.FINDING_FACES and first.destination == tmp_path / "out" / "same.png"
    assert second.status is Status.FAILED and "same output" in second.problem


def test_neutral_names_rename_the_copies_as_on_the_command_line(tmp_path):
    (tmp_path / "card").mkdir()
    for name in ("IMG_20200602_183512.png", "march.png"):
        noise_png(tmp_path / "card" / name)
    review = Review(output=tmp_path / "out")
    review.add([tmp_path / "card"])
    for photo in review.photos:
        photo.detected(120, 90, Faces.empty(), Image.new("RGB", (120, 90)))
    assert [p.name for p in review.telling_names()] == ["IMG_20200602_183512.png"]
    review.change_neutral_names(True)
    assert [p.destination.name for p in review.photos] == ["photo-0001.png", "photo-0002.png"]
    assert review.telling_names() == []
    review.change_neutral_names(False)
    assert [p.destination.name for p in review.photos] == ["IMG_20200602_183512.png", "march.png"]


def test_videos_are_added_beside_photos_with_the_command_lines_copy_names(tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    noise_png(card / "march.png")
    # Planning reads names only: empty files will do.
    for name in ("clip.mov", "VID_20200602_183512.mp4", "notes.txt"):
        (card / name).touch()
    review = Review(output=tmp_path / "out")
    added, skipped = review.add([card])
    assert skipped == 1
    assert [(p.name, p.is_video) for p in added] == [
        ("VID_20200602_183512.mp4", True), ("clip.mov", True), ("march.png", False)]
    planned = {job.source: job.destination for job in plan_jobs([card], tmp_path / "out")}
    assert {p.source: p.destination for p in added} == {s: planned[s] for s in planned if s.suffix != ".txt"}
    assert [p.destination.name for p in added] == ["VID_20200602_183512.mp4", "clip.mp4", "march.png"]
    for photo in added:
        photo.opened(640, 360, Image.new("RGB", (640, 360)))
    assert [p.name for p in review.telling_names()] == ["VID_20200602_183512.mp4"]
    review.change_neutral_names(True)
    assert [p.destination.name for p in review.photos] == ["video-0001.mp4", "video-0002.mp4", "photo-0001.png"]
    video, photo = review.photos[1], review.photos[2]
    assert video.can_be_saved and not video.can_be_reviewed
    assert photo.can_be_saved and photo.can_be_reviewed


def test_saving_covers_exactly_the_reviewed_regions(tmp_path):
    source = noise_png(tmp_path / "in.png")
    photo = ready_photo([(10, 10, 40, 40), (60, 20, 90, 60)], [0.9, 0.9], 120, 90)
    photo.toggle_region_at(25, 25, Options())
    photo.draw_box(95, 60, 115, 85)
    regions = photo.covered_regions(Options())
    result = save_reviewed_photo(source, tmp_path / "out.png", regions, build_redactor("solid"), (120, 90))
    assert result.regions == regions and (result.width, result.height) == (120, 90)
    before, after = np.asarray(Image.open(source)), np.asarray(Image.open(tmp_path / "out.png"))
    covered = coverage_mask(regions, 120, 90)
    assert np.any(before != after, axis=-1)[covered].all()
    assert np.array_equal(before[~covered], after[~covered])


def test_saving_refuses_a_photo_that_changed_since_the_review(tmp_path):
    source = noise_png(tmp_path / "in.png", 120, 90)
    with pytest.raises(PhotoChangedError):
        save_reviewed_photo(source, tmp_path / "out.png", [], build_redactor(), (90, 120))
    assert not (tmp_path / "out.png").exists()


def test_saving_makes_covered_transparent_pixels_opaque(tmp_path):
    source = noise_png(tmp_path / "in.png", mode="RGBA")
    regions = ready_photo([(10, 10, 40, 40)], [0.9], 120, 90).covered_regions(Options())
    save_reviewed_photo(source, tmp_path / "out.png", regions, build_redactor(), (120, 90))
    alpha = np.asarray(Image.open(tmp_path / "out.png"))[..., 3]
    assert (alpha[coverage_mask(regions, 120, 90)] == 255).all()


def results_then_stop(worker, count):
    """The first ``count`` results of the tasks handed to ``worker``, which is then stopped."""
    try:
        return [worker.results.get(timeout=30) for _ in range(count)]
    finally:
        worker.stop(timeout=10)


def test_the_worker_reports_each_photo_and_goes_on_after_a_failure(tmp_path):
    good = noise_png(tmp_path / "good.png")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(good.read_bytes()[:100])
    worker = BackgroundWork(lambda: Models(FixedDetector([(1, 2, 30, 40)])))
    worker.find_faces(0, corrupt)
    worker.find_faces(1, good)
    failed, found = results_then_stop(worker, 2)
    assert isinstance(failed, PhotoFailed) and failed.photo == 0 and not failed.while_saving
    assert "cannot read image" in failed.reason
    assert isinstance(found, FacesFound) and found.photo == 1
    assert (found.width, found.height) == (120, 90) and found.preview.size == (120, 90)
    assert found.candidates.xyxy.tolist() == [[1, 2, 30, 40]]


def test_the_worker_shows_a_videos_first_frame_and_refuses_a_broken_one(tmp_path):
    clip = sample_clip(tmp_path / "clip.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip.read_bytes()[:200])
    worker = BackgroundWork(lambda: pytest.fail("opening a video loaded the models"))
    worker.open_video(0, clip)
    worker.open_video(1, broken)
    opened, failed = results_then_stop(worker, 2)
    assert isinstance(opened, VideoOpened) and opened.photo == 0
    assert (opened.width, opened.height) == (640, 360) and opened.preview.size == (640, 360)
    first = decoded_frames(clip)[0]
    assert np.abs(np.asarray(opened.preview, dtype=int) - first.astype(int)).mean() < 1
    assert isinstance(failed, PhotoFailed) and failed.photo == 1 and not failed.while_saving
    assert "cannot read video" in failed.reason and "\n" not in failed.reason


# A real window under Xvfb ----------------------------------------------------------------

@pytest.fixture
def open_window(x_display):
    """Opens review windows the way ``anonymise-drop`` does; closes them after the test."""
    pytest.importorskip("tkinter", reason="this Python has no Tk (Debian: apt-get install python3-tk)")
    from anonymise.desktop.app import open_window as open_review_window

    windows = []

    def open_(*args, **kwargs):
        window = open_review_window(*args, **kwargs)
        windows.append(window)
        settle(window)
        return window

    yield open_
    import tkinter

    for window in windows:
        window.background.stop(timeout=30)
        try:
            window.root.destroy()
        except tkinter.TclError:  # the test closed it, as the user would
            pass


def settle(window, condition=lambda: True, timeout=120):
    """Run the window's event loop until ``condition()`` holds, as a user would wait."""
    deadline = time.monotonic() + timeout
    while True:
        window.root.update()
        if condition():
            break
        assert time.monotonic() < deadline, "the window did not get there in time"
        time.sleep(0.02)
    for _ in range(3):
        window.root.update()


def save_screenshot(window, tmp_path, name):
    shot = screenshot(window.root, tmp_path / "screenshots" / name)
    if os.environ.get("ANONYMISE_DOCS_SCREENSHOTS"):
        # 256 colours keep the docs' screenshots a third of the size, and look the same.
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        Image.open(shot).convert("RGB").quantize(256).save(DOCS_IMAGES / name, optimize=True)
    return shot


def click(canvas, x, y):
    canvas.event_generate("<ButtonPress-1>", x=round(x), y=round(y))
    canvas.event_generate("<ButtonRelease-1>", x=round(x), y=round(y))


def drag(canvas, start, end, steps=5):
    canvas.event_generate("<ButtonPress-1>", x=round(start[0]), y=round(start[1]))
    for step in range(1, steps + 1):
        x = start[0] + (end[0] - start[0]) * step / steps
        y = start[1] + (end[1] - start[1]) * step / steps
        canvas.event_generate("<B1-Motion>", x=round(x), y=round(y))
    canvas.event_generate("<ButtonRelease-1>", x=round(end[0]), y=round(end[1]))


def on_canvas(window, x, y):
    scale, left, top = window.photo_placement()
    return left + x * scale, top + y * scale


def outlines_drawn(window, tag):
    """The ellipses drawn with ``tag``, as photo pixel coordinates, sorted."""
    scale, left, top = window.photo_placement()
    boxes = []
    for item in window.canvas.find_withtag(tag):
        x1, y1, x2, y2 = window.canvas.coords(item)
        boxes.append(tuple(round(v, 1) for v in ((x1 - left) / scale, (y1 - top) / scale,
                                                 (x2 - left) / scale, (y2 - top) / scale)))
    return sorted(boxes)


def rounded(regions):
    return sorted(tuple(round(v, 1) for v in region.outline) for region in regions)


@pytest.fixture
def two_photos(tmp_path):
    """The portrait as shipped, and the garden photo as a PNG that keeps the JPEG's EXIF and
    gains a text chunk: lossless, so pixels outside covered regions can be compared exactly."""
    folder = tmp_path / "photos"
    folder.mkdir()
    portrait = folder / PORTRAIT
    portrait.write_bytes((SAMPLES / PORTRAIT).read_bytes())
    garden = folder / "rose-garden.png"
    with Image.open(SAMPLES / GARDEN) as original:
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "Taken in the Rose Garden")
        original.save(garden, exif=original.info["exif"], pnginfo=text)
    return [portrait, garden]


def test_review_fix_and_save_two_photos(open_window, two_photos, detectors, tmp_path):
    originals = {path: fingerprint(path) for path in two_photos}
    window = open_window(two_photos)
    assert window.root.title() == "Anonymise photos"
    settle(window, lambda: not window.review.finding_faces)

    # What the window shows is what the core detects.
    detector = detectors(DEFAULT_DETECTOR)
    expected = {}
    for index, path in enumerate(two_photos):
        rgb = load_photo(path).rgb
        _, _, expected[path] = anonymise_pixels(rgb, detector, build_redactor(), Options())
        window.review.go_to(index)
        window.refresh()
        photo = window.review.current_photo
        assert photo.status is Status.READY
        assert photo.covered_regions(window.review.options) == expected[path]
        assert outlines_drawn(window, "covered") == rounded(expected[path])
        count = len(expected[path])
        assert f"{count} face{'s' * (count != 1)} will be covered" in window.caption.cget("text")
        assert window.photo_list.item(str(index), "values")[1] == str(count)
    portrait, garden = two_photos
    assert len(expected[portrait]) >= 1 and len(expected[garden]) >= 2

    # On the garden photo, remove the lowest-scored region (a detection on the dog) and
    # draw a box round the hand holding the ball, as the mouse would.
    window.review.go_to(1)
    window.refresh()
    removed = min(expected[garden], key=lambda region: region.score)
    left, top, right, bottom = removed.outline
    click(window.canvas, *on_canvas(window, (left + right) / 2, (top + bottom) / 2))
    drag(window.canvas, on_canvas(window, 360, 232), on_canvas(window, 402, 280))
    settle(window)
    [added] = [s.region for s in window.review.current_photo.shown_regions(window.review.options)
               if s.origin is Origin.DRAWN]
    kept = [region for region in expected[garden] if region is not removed]
    assert outlines_drawn(window, "covered") == rounded(kept + [added])
    assert outlines_drawn(window, "uncovered") == rounded([removed])
    assert outlines_drawn(window, "drawn") == rounded([added])
    save_screenshot(window, tmp_path, "review-window.png")

    assert not (tmp_path / "photos-anonymised").exists(), "something was written before Save"
    window.save_button.invoke()
    settle(window, lambda: all(photo.saved_to for photo in window.review.photos))
    assert "Saved 2 photos to" in window.status.cget("text")
    assert str(tmp_path / "photos-anonymised") in window.status.cget("text")
    window.show_covered_button.invoke()
    settle(window)
    save_screenshot(window, tmp_path, "saved-and-shown-covered.png")

    assert {path: fingerprint(path) for path in two_photos} == originals, "an original changed"
    written = tmp_path / "photos-anonymised"
    assert sorted(p.name for p in written.iterdir()) == sorted(p.name for p in two_photos)
    covered_by_photo = {portrait: expected[portrait], garden: kept + [added]}
    for path, covered in covered_by_photo.items():
        before = load_photo(path).rgb
        with Image.open(written / path.name) as image:
            assert image.format == "PNG"
            assert not image.getexif() and not image.text
            assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment"} & set(image.info)
            after = np.asarray(image.convert("RGB"))
        height, width = before.shape[:2]
        mask = coverage_mask(covered, width, height)
        changed = np.any(before != after, axis=-1)
        assert changed[mask].all(), f"{path.name}: a covered pixel kept its value"
        assert np.array_equal(before[~mask], after[~mask]), f"{path.name}: a pixel outside the regions changed"
        if path == garden:
            # Spelled out: the removed region is untouched and the drawn one covered.
            left_alone = coverage_mask([removed], width, height) & ~mask
            assert left_alone.any() and np.array_equal(before[left_alone], after[left_alone])
            assert changed[coverage_mask([added], width, height)].all()


def test_detection_runs_off_the_ui_thread_with_progress(open_window, tmp_path):
    release = threading.Event()
    photos = [noise_png(tmp_path / "a.png"), noise_png(tmp_path / "b.png")]
    window = open_window(photos, models_factory=lambda: Models(FixedDetector([(10, 10, 40, 40)], release=release)))
    ticks = []
    for _ in range(5):
        window.root.after(10, lambda: ticks.append(time.monotonic()))
        settle(window, lambda: len(ticks) == _ + 1, timeout=5)
    assert window.progress.winfo_ismapped()
    assert window.status.cget("text") == "Finding faces: 0 of 2 photos done…"
    assert window.save_button.instate(["disabled"])
    release.set()
    settle(window, lambda: not window.review.finding_faces, timeout=30)
    assert not window.progress.winfo_ismapped()
    assert window.save_button.instate(["!disabled"])


def test_a_photo_that_fails_shows_why_and_the_others_go_on(open_window, tmp_path):
    (tmp_path / "photos").mkdir()
    good = noise_png(tmp_path / "photos" / "good.png")
    broken = tmp_path / "photos" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    window = open_window([broken, good], models_factory=lambda: Models(FixedDetector([(10, 10, 40, 40)])))
    settle(window, lambda: not window.review.finding_faces, timeout=30)
    failed, ready = window.review.photos
    assert failed.status is Status.FAILED and "cannot read image" in failed.problem
    assert ready.status is Status.READY
    texts = [window.canvas.itemcget(item, "text") for item in window.canvas.find_all()
             if window.canvas.type(item) == "text"]
    assert any("broken.jpg cannot be anonymised" in text and "cannot read image" in text for text in texts)
    assert window.photo_list.item("0", "values")[1] == "⚠ failed"

    window.save_button.invoke()
    settle(window, lambda: ready.saved_to is not None, timeout=30)
    assert sorted(p.name for p in (tmp_path / "photos-anonymised").iterdir()) == ["good.png"]


def test_the_window_warns_of_telling_names_and_offers_neutral_ones(open_window, tmp_path):
    (tmp_path / "card").mkdir()
    photo = noise_png(tmp_path / "card" / "IMG_20200602_183512.png")
    window = open_window([photo], models_factory=lambda: Models(FixedDetector([(10, 10, 40, 40)])))
    settle(window, lambda: not window.review.finding_faces, timeout=30)
    assert window.names_warning.cget("text") == "1 name can tell when or with what the photo was taken"
    window.neutral_names_button.invoke()
    settle(window)
    assert window.names_warning.cget("text") == ""
    window.save_button.invoke()
    settle(window, lambda: window.review.photos[0].saved_to is not None, timeout=30)
    assert [p.name for p in (tmp_path / "card-anonymised").iterdir()] == ["photo-0001.png"]


def test_show_covered_previews_the_chosen_style(open_window, tmp_path):
    photo = noise_png(tmp_path / "noise.png", 300, 200)
    window = open_window([photo], models_factory=lambda: Models(FixedDetector([(100, 60, 180, 140)])))
    settle(window, lambda: not window.review.finding_faces, timeout=30)
    centre = on_canvas(window, 140, 100)

    def screen_near_centre():
        grab = np.asarray(Image.open(screenshot(window.root, tmp_path / "shot.png")))
        x = round(centre[0]) + window.canvas.winfo_rootx() - window.root.winfo_rootx()
        y = round(centre[1]) + window.canvas.winfo_rooty() - window.root.winfo_rooty()
        return grab[y - 3:y + 4, x - 3:x + 4]

    assert screen_near_centre().max() > 1, "the face is covered before asking"
    window.style_buttons["solid"].invoke()
    window.show_covered_button.invoke()
    settle(window)
    assert window.review.style == "solid"
    assert screen_near_centre().max() <= 1, "the solid (black) cover is not shown"
    window.show_covered_button.invoke()
    settle(window)
    assert screen_near_centre().max() > 1


def test_an_empty_window_invites_drops_and_adds_what_is_dropped(open_window, tmp_path):
    window = open_window([], models_factory=lambda: Models(FixedDetector([])))
    assert window.accepts_drops, "tkdnd did not load from the tkinterdnd2 wheel"
    texts = [window.canvas.itemcget(item, "text") for item in window.canvas.find_withtag("all")
             if window.canvas.type(item) == "text"]
    assert "Drop photos, videos or folders here" in texts
    assert window.save_button.instate(["disabled"])
    save_screenshot(window, tmp_path, "drop-zone.png")

    folder = tmp_path / "a folder with spaces"
    folder.mkdir()
    photo = noise_png(folder / "one photo.png")
    (folder / "notes.txt").write_text("not a photo")
    # What tkdnd hands over for a drop: a Tcl list, names with spaces in braces.
    window.on_drop(SimpleNamespace(data=f"{{{folder}}} {{{photo}}}"))
    settle(window, lambda: not window.review.finding_faces, timeout=30)
    assert [p.source for p in window.review.photos] == [photo]
    assert "1 file skipped" in window.notice.cget("text")


def test_the_entry_points_start(tmp_path):
    script = Path(sys.executable).with_name("anonymise-drop")
    for command in ([str(script), "--help"], [sys.executable, "-m", "anonymise.desktop", "--help"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Usage: anonymise-drop [OPTIONS] [PATH]..." in done.stdout


# Videos in the window -------------------------------------------------------------------

def test_a_video_is_saved_with_every_face_in_every_frame_covered_and_its_frames_shown(open_window, tmp_path):
    folder = tmp_path / "clips"
    clip = sample_clip(folder / "clip.mov")
    photo = noise_png(folder / "wall.png")
    originals = {path: fingerprint(path) for path in (clip, photo)}
    window = open_window([folder])
    settle(window, lambda: not window.review.finding_faces)
    window.style_buttons["solid"].invoke()
    video = window.review.photos[0]
    assert (video.name, video.is_video, video.status) == ("clip.mov", True, Status.READY)
    assert window.photo_list.item("0", "values") == ("clip.mov", "video")
    window.review.go_to(0)
    window.refresh()
    assert "Video 1 of 2: clip.mov" in window.caption.cget("text")
    assert "every face in every frame will be covered automatically" in window.caption.cget("text")
    assert "cannot be reviewed frame by frame" in window.hint.cget("text")
    assert window.canvas.find_withtag("region") == ()
    # Its first frame is shown, but a drag or a click changes nothing.
    assert any(window.canvas.type(item) == "image" for item in window.canvas.find_all())
    drag(window.canvas, on_canvas(window, 100, 100), on_canvas(window, 200, 200))
    click(window.canvas, *on_canvas(window, 150, 150))
    assert video.drawn == [] and video.removed == set()

    shown = []

    def saved_and_watched():
        shown.append((window.status.cget("text"), window.progress.cget("value"), window.progress.cget("maximum")))
        return all(p.saved_to for p in window.review.photos)

    window.save_button.invoke()
    settle(window, saved_and_watched)
    frames_shown = [(value, maximum) for text, value, maximum in shown if "writing clip.mp4, frame" in text]
    assert frames_shown, f"no frame progress was shown: {sorted(set(text for text, _, _ in shown))}"
    assert {maximum for _, maximum in frames_shown} == {25}
    assert any(f"frame {int(value)} of 25" in text for text, value, _ in shown if "writing clip.mp4" in text)
    assert "Saved 1 photo and 1 video to" in window.status.cget("text")
    assert window.photo_list.item("0", "values") == ("clip.mov", "video  ✓ saved")

    assert {path: fingerprint(path) for path in (clip, photo)} == originals, "an original changed"
    written = tmp_path / "clips-anonymised"
    assert sorted(p.name for p in written.iterdir()) == ["clip.mp4", "wall.png"]
    frames = decoded_frames(written / "clip.mp4")
    assert len(frames) == 25
    _, boxes = panning_frames()
    assert faces_left_uncovered(frames, boxes) == []


def test_a_video_that_fails_shows_why_in_one_line_and_leaves_nothing(open_window, tmp_path):
    folder = tmp_path / "clips"
    clip = sample_clip(folder / "clip.mp4")
    window = open_window([clip], models_factory=lambda: Models(FixedDetector([(10, 10, 40, 40)])))
    settle(window, lambda: not window.review.finding_faces, timeout=60)
    video = window.review.photos[0]
    assert video.status is Status.READY
    clip.write_bytes(b"\0" * 4096)  # replaced after it was opened
    window.save_button.invoke()
    settle(window, lambda: not window._saving, timeout=60)
    assert video.saved_to is None and video.problem.startswith("not saved: cannot read video")
    assert "\n" not in video.problem
    assert window.photo_list.item("0", "values") == ("clip.mp4", "video  ⚠ not saved")
    assert window.status.cget("text") == "1 video not saved: see the marked rows"
    output = tmp_path / "clips-anonymised"
    assert not output.exists() or list(output.iterdir()) == []


class SlowAfter(Detector):
    """Finds nothing; from its ``after``-th call on it waits for ``release``: a long video."""

    name = "slow"

    def __init__(self, after, release):
        self.after, self.release, self.calls = after, release, 0

    def detect(self, rgb):
        self.calls += 1
        if self.calls > self.after:
            self.release.wait(30)
        return Faces.empty()


def test_closing_the_window_while_a_video_is_written_keeps_no_part_of_it(open_window, tmp_path, monkeypatch):
    clip = sample_clip(tmp_path / "clips" / "clip.mp4")
    release = threading.Event()
    window = open_window([clip], models_factory=lambda: Models(SlowAfter(16, release), SlowAfter(10**6, release)))
    settle(window, lambda: not window.review.finding_faces, timeout=60)
    window.save_button.invoke()
    settle(window, lambda: "writing clip.mp4, frame" in window.status.cget("text"), timeout=60)
    asked = []
    monkeypatch.setattr("anonymise.desktop.window.messagebox.askokcancel",
                        lambda title, message, parent: asked.append(message) or True)
    # The copy stops at its next frame once the detector goes on.
    threading.Timer(0.5, release.set).start()
    window.close()
    assert asked == ["Copies are still being written. Quit anyway? Unfinished copies are not kept."]
    assert not window.background._thread.is_alive()
    output = tmp_path / "clips-anonymised"
    assert [p.name for p in output.iterdir()] == []
