"""Videos: every face covered in every frame (tracked through the detectors' misses), the
copy upright, playable and clean, bad videos refused in one line, runs that resume.

Real detectors on clips made from the sample photos (tests/sampleclip.py); ``solid``
covers where a test compares pixels.
"""

import json
import shutil
import signal
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from anonymise.cli import app
from anonymise.detectors import Detector
from anonymise.faces import Faces
from anonymise.models import Models, build_models
from anonymise.redactors import build_redactor
from anonymise.video import anonymise_video_file
from anonymise.video.structure import disallowed_video_parts
from anonymise.video.tracking import FaceTracks
from dirtyvideos import HANDLER_NAME, MAKE, MODEL, TIMECODE, phone_video_with_everything
from runs import ANONYMISE, leftovers, noise_jpeg
from sampleclip import moving_face_frames, panning_frames, sample_clip, write_clip

# A solid cover decoded from H.264: black, give or take the codec's rounding.
COVERED_LEVEL = 40


@pytest.fixture(scope="module")
def models():
    return build_models()


def decoded_frames(path):
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def middle_covered(rgb, box, share=0.7):
    """Whether ``share`` of the middle of ``box`` (its central half each way) is covered black."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    top, left = max(0, int(y1 + h / 4)), max(0, int(x1 + w / 4))
    middle = rgb[top:int(np.ceil(y2 - h / 4)), left:int(np.ceil(x2 - w / 4))]
    return (middle.max(axis=2) <= COVERED_LEVEL).mean() >= share


def faces_left_uncovered(frames, boxes):
    """(frame index, box) of each of each frame's face ``boxes`` not ``middle_covered``."""
    return [(index, box) for index, (rgb, frame_boxes) in enumerate(zip(frames, boxes))
            for box in frame_boxes if not middle_covered(rgb, box)]


class HiddenInFrames(Detector):
    """A real detector whose input has the face painted out in some frames: what the
    detector sees when it misses a face (a turned head, motion blur), with the face
    still in the frame that is written."""

    def __init__(self, detector, boxes, hidden_frames):
        self.detector, self.boxes, self.hidden_frames = detector, boxes, set(hidden_frames)
        self.name = detector.name
        self.frame = -1

    def detect(self, rgb):
        self.frame += 1
        if self.frame in self.hidden_frames:
            x1, y1, x2, y2 = (int(v) for v in self.boxes[self.frame])
            rgb = rgb.copy()
            rgb[max(0, y1 - 30):y2 + 30, max(0, x1 - 30):x2 + 30] = 128
        return self.detector.detect(rgb)


def test_a_face_the_detectors_miss_for_some_frames_is_covered_in_every_frame(tmp_path, models):
    frames, boxes = moving_face_frames(count=24)
    source = write_clip(tmp_path / "walk.mp4", frames)
    hidden = [5, 6, 7, 14, 15, 16]
    hiding = Models(HiddenInFrames(models.detector, boxes, hidden), HiddenInFrames(models.verifier, boxes, hidden))
    result = anonymise_video_file(source, tmp_path / "out" / "walk.mp4", hiding, build_redactor("solid"))

    assert len(result.frames) == 24
    for index in hidden:  # the detectors really saw nothing there: the tracks covered it
        assert not result.frames[index].regions and not result.frames[index].verification_regions
        assert result.frames[index].track_regions
    written = decoded_frames(tmp_path / "out" / "walk.mp4")
    assert len(written) == 24
    uncovered = [index for index, (rgb, box) in enumerate(zip(written, boxes)) if not middle_covered(rgb, box)]
    assert uncovered == []


def test_every_labelled_face_of_a_panning_clip_is_covered_in_every_frame(tmp_path, models):
    frames, boxes = panning_frames(count=25)
    source = write_clip(tmp_path / "pan.mp4", frames)
    anonymise_video_file(source, tmp_path / "pan-out.mp4", models, build_redactor("solid"))
    written = decoded_frames(tmp_path / "pan-out.mp4")
    assert len(written) == len(frames)
    assert faces_left_uncovered(written, boxes) == []
    # The rest of the frame is the source's, not damaged: most pixels are close to it.
    assert np.mean([np.abs(w.astype(int) - f.astype(int)).max(axis=2).mean() for w, f in zip(written, frames)]) < 40


def test_tracks_fill_gaps_between_sightings_and_carry_a_confirmed_face_on():
    tracks = FaceTracks(reach=3)

    def seen(*box):
        return Faces.from_detector(np.array([box], dtype=np.float32), np.array([0.9], dtype=np.float32), "test")

    tracks.add(0, seen(0, 0, 10, 10))
    tracks.add(1, Faces.empty())
    tracks.add(2, Faces.empty())
    tracks.add(3, seen(6, 0, 16, 10))
    for frame in range(4, 8):
        tracks.add(frame, Faces.empty())
    fills = tracks.fills_until(7)
    # Between the sightings: moved along the line from one to the other (grown a little).
    for frame, centre in ((1, 7.0), (2, 9.0)):
        box = fills[frame].xyxy[0]
        assert abs((box[0] + box[2]) / 2 - centre) < 1e-3 and box[0] <= centre - 5 and box[2] >= centre + 5
    # After the last sighting, carried on with the motion for ``reach`` frames, no further.
    assert sorted(f for f in fills if len(fills[f])) == [1, 2, 4, 5, 6]
    assert fills[4].xyxy[0][0] > 6
    # Nothing is handed out twice.
    assert tracks.fills_until(7) == {}


def test_a_face_seen_in_one_frame_only_is_not_carried_on():
    tracks = FaceTracks(reach=5)
    tracks.add(0, Faces.empty())
    tracks.add(1, Faces.from_detector(np.array([[5, 5, 20, 20]], np.float32), np.array([0.3], np.float32), "test"))
    for frame in range(2, 9):
        tracks.add(frame, Faces.empty())
    assert all(len(faces) == 0 for faces in tracks.fills_until(8).values())


def run_cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def streams_of(path):
    with av.open(str(path)) as container:
        return sorted(stream.type for stream in container.streams)


def test_a_folder_of_photos_and_videos_with_neutral_names_report_and_rerun(tmp_path):
    folder = tmp_path / "march"
    sample_clip(folder / "VID_20240501_101500.mp4")
    sample_clip(folder / "day two" / "clip.mov", )
    noise_jpeg(folder / "IMG_0001.jpg")
    out, report = tmp_path / "out", tmp_path / "report.json"

    listed = run_cli(folder, "-o", out, "--neutral-names", "--dry-run")
    assert listed.exit_code == 0
    assert sorted(line.split(" -> ")[1].replace(str(out) + "/", "") for line in listed.stdout.splitlines()) == [
        "day two/video-0002.mp4", "photo-0001.jpg", "video-0001.mp4"]
    assert not out.exists()

    done = run_cli(folder, "-o", out, "--neutral-names", "--report", report, "--style", "solid")
    assert done.exit_code == 0, done.stderr
    assert "1 photo and 2 videos written" in done.stderr and "in the frames of videos" in done.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "day two/video-0002.mp4", "photo-0001.jpg", "video-0001.mp4"]
    entries = {Path(e["input"]).name: e for e in json.loads(report.read_text())["files"]}
    video = entries["VID_20240501_101500.mp4"]
    assert video["frames"] == 25 and (video["width"], video["height"]) == (640, 360)
    assert {r["frame"] for r in video["regions"]} == set(range(25))
    assert {r["pass"] for r in video["regions"]} <= {"first", "verification", "track"}

    again = run_cli(folder, "-o", out, "--neutral-names", "--style", "solid", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["up_to_date"] == 3


def test_audio_is_dropped_unless_asked_for_and_then_kept_without_tags(tmp_path):
    source = tmp_path / "in" / "talk.mp4"
    source.parent.mkdir()
    frames, _ = panning_frames(count=25)
    with av.open(str(source), "w") as container:
        container.metadata["title"] = "Speech by someone"
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        audio = container.add_stream("aac", rate=44100, layout="mono")
        audio.metadata["handler_name"] = "Recorded on Pixel 7"
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)).astype(np.float32)
        for start in range(0, 44100, 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024].copy(), format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 44100, start
            for packet in audio.encode(chunk):
                container.mux(packet)
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)

    assert run_cli(source, "-o", tmp_path / "silent").exit_code == 0
    assert streams_of(tmp_path / "silent" / "talk.mp4") == ["video"]

    kept = run_cli(source, "-o", tmp_path / "sound", "--keep-audio")
    assert kept.exit_code == 0, kept.stderr
    copy = tmp_path / "sound" / "talk.mp4"
    assert streams_of(copy) == ["audio", "video"]
    with av.open(str(copy)) as container:
        # Only what the file type box says (ISO base media), no tag.
        assert set(container.metadata) <= {"major_brand", "minor_version", "compatible_brands"}
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert abs(samples - 44100) < 4096  # the second of sound is there
    assert b"Pixel" not in copy.read_bytes() and b"Speech" not in copy.read_bytes()


def test_portrait_phone_video_is_turned_upright_and_written_without_a_display_matrix(tmp_path):
    frames, _ = moving_face_frames(count=10, size=(320, 480))
    stored = [np.ascontiguousarray(np.rot90(rgb, -1)) for rgb in frames]  # sideways, as a phone stores it
    source = tmp_path / "portrait.mp4"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 480, 320, "yuv420p"
        stream.set_display_rotation(90)  # players turn it a quarter counter-clockwise
        for index, rgb in enumerate(stored):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)

    result = anonymise_video_file(source, tmp_path / "upright.mp4", build_models(), build_redactor("solid"))
    assert (result.width, result.height) == (320, 480)
    written = decoded_frames(tmp_path / "upright.mp4")
    assert written[0].shape == (480, 320, 3)
    with av.open(str(tmp_path / "upright.mp4")) as container:
        assert next(container.decode(video=0)).rotation == 0
    # Upright: the uncovered top rows match the upright source, not a turned one.
    assert np.abs(written[0][:60].astype(int) - frames[0][:60].astype(int)).mean() < 8


def test_a_variable_frame_rate_video_keeps_its_timestamps(tmp_path):
    frames, _ = panning_frames(count=12)
    shown_at = [0, 40, 80, 100, 180, 200, 260, 300, 380, 400, 410, 500]  # milliseconds
    source = tmp_path / "vfr.mp4"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for at, rgb in zip(shown_at, frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = at, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)

    run = run_cli(source, "-o", tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    with av.open(str(tmp_path / "out" / "vfr.mp4")) as container:
        times = [round(frame.time * 1000) for frame in container.decode(video=0)]
    assert times == shown_at


@pytest.mark.parametrize("name, make, reason", [
    ("cut.mp4", lambda p, clip: p.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2]), "cannot read video"),
    ("notes.mp4", lambda p, clip: p.write_text("not a video at all\n"), "cannot read video"),
    ("empty.mov", lambda p, clip: p.write_bytes(b""), "empty file (0 bytes)"),
])
def test_a_bad_video_fails_in_one_line_leaves_nothing_and_the_run_goes_on(tmp_path, name, make, reason):
    folder = tmp_path / "clips"
    good = sample_clip(folder / "good.mp4")
    clip = sample_clip(tmp_path / "whole.mp4")
    make(folder / name, clip)
    run = run_cli(folder, "-o", tmp_path / "out")
    assert run.exit_code == 1
    failures = [line for line in run.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == 1 and name in failures[0] and reason in failures[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [good.name]
    assert leftovers(tmp_path / "out") == []


def test_a_video_cut_short_after_its_index_is_refused(tmp_path):
    """A file whose index is whole but whose frames stop early (a copy that did not finish)."""
    frames, _ = panning_frames(count=25)
    clip = write_clip(tmp_path / "whole.mp4", frames, container_format="mp4")
    # The index first (as phones and our copies write it), so the cut leaves it readable.
    with av.open(str(clip)) as source, av.open(str(tmp_path / "indexed.mp4"), "w",
                                                 options={"movflags": "+faststart"}) as indexed:
        stream = indexed.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                indexed.mux(packet)
    folder = tmp_path / "clips"
    folder.mkdir()
    data = (tmp_path / "indexed.mp4").read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) * 2 // 3])
    run = run_cli(folder, "-o", tmp_path / "out")
    assert run.exit_code == 1
    assert "failed:" in run.stderr and "cut.mp4" in run.stderr
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_run_killed_mid_video_leaves_no_copy_and_the_rerun_writes_it(tmp_path):
    frames, _ = panning_frames(count=150)
    write_clip(tmp_path / "clips" / "long.mp4", frames)
    out = tmp_path / "out"
    command = ANONYMISE + [str(tmp_path / "clips"), "-o", str(out), "-q"]
    running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not leftovers(out) and time.monotonic() < deadline and running.poll() is None:
            time.sleep(0.05)
        time.sleep(1.0)  # well into the frames
        assert running.poll() is None, "the video was written before it could be killed"
        running.send_signal(signal.SIGKILL)
        running.wait()
    finally:
        if running.poll() is None:
            running.kill()
    assert not (out / "long.mp4").exists()  # only the hidden temporary file, never a partial copy
    rerun = subprocess.run(command, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert len(decoded_frames(out / "long.mp4")) == 150
    assert leftovers(out) == []


def exiftool_tags(path):
    """Every tag exiftool reads, embedded documents and unknown tags included."""
    done = subprocess.run(["exiftool", "-j", "-ee", "-a", "-G1", "-u", str(path)], capture_output=True, text=True)
    return json.loads(done.stdout)[0]


def test_a_phone_video_loses_place_device_time_sound_and_extra_tracks(tmp_path):
    source = tmp_path / "in" / "PXL_20240602_183512.mp4"
    source.parent.mkdir()
    phone_video_with_everything(source)
    with av.open(str(source)) as container:  # the source really carries all of it
        assert sorted(stream.type for stream in container.streams) == ["audio", "data", "data", "video"]
        assert container.metadata.get("com.apple.quicktime.model") == MODEL
    run = run_cli(source, "-o", tmp_path / "out", "--neutral-names")
    assert run.exit_code == 0, run.stderr
    copy = tmp_path / "out" / "video-0001.mp4"
    assert streams_of(copy) == ["video"]
    data = copy.read_bytes()
    for telling in (MODEL, MAKE, "48.8584", HANDLER_NAME, TIMECODE, "2024", "x264", "Lavf"):
        assert telling.encode() not in data
    assert disallowed_video_parts(copy) == []
    if shutil.which("exiftool"):
        tags = exiftool_tags(copy)
        found = {key for key in tags if not key.startswith(("System:", "File:", "Composite:"))}
        identifying = [key for key in found if any(word in key for word in (
            "GPS", "Location", "Make", "Model", "Encoder", "Software", "TimeCode", "Audio", "Author", "Title"))]
        assert identifying == []
        assert all(str(tags.get(key, "0000:00:00 00:00:00")).startswith("0000:00:00")
                   for key in found if key.endswith("Date"))


def test_an_odd_sized_mkv_is_written_as_mp4_cropped_to_even_sides(tmp_path):
    source = tmp_path / "odd.mkv"
    with av.open(str(source), "w") as container:  # lossless FFV1 in Matroska, 101x75
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 101, 75, "yuv444p"
        for index in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((75, 101, 3), 100, np.uint8), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    run = run_cli(source, "-o", tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    written = decoded_frames(tmp_path / "out" / "odd.mp4")
    assert len(written) == 5 and written[0].shape == (74, 100, 3)
