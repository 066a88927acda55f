"""Short clips made from the sample photos (public domain, see samples/SOURCES.md), with the
labelled faces moved as the camera moves: the redistributable videos the tests run on.
They are built when needed, never committed.

    python tests/sampleclip.py OUT.mp4    # the sample clip, to try anonymise on by hand

``panning_clip`` pans across a labelled group photo; ``moving_face_clip`` moves the
portrait's face across a plain background. Both return the face boxes of each frame.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import List, Optional, Tuple

import av
import cv2
import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
LABELLED_FACES = json.loads((Path(__file__).parent / "data" / "sample_faces.json").read_text())["faces"]

GROUP_PHOTO = "whitehouse-situation-room-group.jpg"
PORTRAIT = "nasa-astronaut-eileen-collins.png"

Box = Tuple[float, float, float, float]


def sample_rgb(name: str) -> np.ndarray:
    with Image.open(SAMPLES / name) as image:
        return np.asarray(image.convert("RGB"))


def write_clip(path: Path, frames: List[np.ndarray], fps: int = 25, crf: int = 23,
               container_format: Optional[str] = None) -> Path:
    """Encode ``frames`` (RGB) as H.264 at ``fps``, as a phone would (crf 23, 1 s GOP)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "g": str(fps), "preset": "veryfast"}
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def panning_frames(count: int = 25, size: Tuple[int, int] = (640, 360)) -> Tuple[List[np.ndarray], List[List[Box]]]:
    """A pan from left to right across the group photo: the frames and each frame's
    labelled face boxes (those at least half inside the frame)."""
    photo = sample_rgb(GROUP_PHOTO)
    height, width = photo.shape[:2]
    out_width, out_height = size
    crop_width = int(width * 0.7)
    crop_height = int(crop_width * out_height / out_width)
    top = (height - crop_height) // 2
    scale = out_width / crop_width
    frames, boxes = [], []
    for index in range(count):
        left = round((width - crop_width) * index / max(1, count - 1))
        crop = photo[top:top + crop_height, left:left + crop_width]
        frames.append(cv2.resize(crop, size, interpolation=cv2.INTER_AREA))
        moved = [((x1 - left) * scale, (y1 - top) * scale, (x2 - left) * scale, (y2 - top) * scale)
                 for x1, y1, x2, y2 in LABELLED_FACES[GROUP_PHOTO]]
        boxes.append([box for box in moved if _inside_share(box, size) >= 0.5])
    return frames, boxes


def moving_face_frames(count: int = 24, size: Tuple[int, int] = (640, 360)) -> Tuple[List[np.ndarray], List[Box]]:
    """The portrait's head moving from left to right across a grey wall: the frames and the
    face's box in each."""
    portrait = sample_rgb(PORTRAIT)
    x1, y1, x2, y2 = LABELLED_FACES[PORTRAIT][0]
    # The head with some shoulders and hair around the labelled face.
    head = portrait[max(0, y1 - 40):y2 + 40, max(0, x1 - 40):x2 + 40]
    head_height, head_width = head.shape[:2]
    face = (x1 - max(0, x1 - 40), y1 - max(0, y1 - 40), x2 - max(0, x1 - 40), y2 - max(0, y1 - 40))
    out_width, out_height = size
    top = (out_height - head_height) // 2
    frames, boxes = [], []
    for index in range(count):
        left = round(20 + (out_width - head_width - 40) * index / max(1, count - 1))
        frame = np.full((out_height, out_width, 3), 128, dtype=np.uint8)
        frame[top:top + head_height, left:left + head_width] = head
        frames.append(frame)
        boxes.append((left + face[0], top + face[1], left + face[2], top + face[3]))
    return frames, boxes


def _inside_share(box: Box, size: Tuple[int, int]) -> float:
    x1, y1, x2, y2 = box
    inside = max(0.0, min(x2, size[0]) - max(x1, 0)) * max(0.0, min(y2, size[1]) - max(y1, 0))
    return inside / max(1e-6, (x2 - x1) * (y2 - y1))


def sample_clip(path: Path) -> Path:
    """The sample clip: one second panning across the group photo."""
    frames, _ = panning_frames()
    return write_clip(path, frames)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/sampleclip.py OUT.mp4")
    print(sample_clip(Path(sys.argv[1])))
