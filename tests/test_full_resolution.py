"""Full-resolution photos: a face is found as well in a 50 MP photo as in a 1 MP one, and no
network input grows with the photo."""

import numpy as np
import pytest

from anonymise.detectors import DEFAULT_DETECTOR
from anonymise.faces import box_iou
from anonymise.imagefile import load_photo
from anonymise.pipeline import DEFAULT_THRESHOLD

from conftest import SAMPLES, labelled_boxes
from test_detectors import found_fraction

# A face the detector is sure of; below this, a faint candidate (0.08 is the default
# threshold) comes and goes with what surrounds it, in any photo.
SURE = 0.5
# The same face seen at another place in the network's input, with other context round
# it, moves by a cell or two of the network's 4 px grid; a large face by a little more. A
# face half hidden behind another moves more, and is held to overlapping its box.
CLEAR = 0.8
SAME_BOX_PX, SAME_BOX_SHARE = 8, 0.06
SAME_FACE_IOU = 0.75


@pytest.mark.parametrize(
    "photo, left, top",
    [
        # Across the borders of the first pass's tiles (every 1152 px), and over a corner.
        ("whitehouse-situation-room-group.jpg", 1000, 900),
        ("whitehouse-situation-room-group.jpg", 2250, 2200),
    ],
)
def test_faces_are_found_the_same_in_a_canvas_four_times_larger(detectors, photo, left, top):
    detector = detectors(DEFAULT_DETECTOR)
    rgb = load_photo(SAMPLES / photo).rgb
    height, width = rgb.shape[:2]
    canvas = np.full((4 * height, 4 * width, 3), 128, dtype=np.uint8)
    canvas[top : top + height, left : left + width] = rgb

    alone = detector.detect(rgb).above(DEFAULT_THRESHOLD)
    placed = detector.detect(canvas).above(DEFAULT_THRESHOLD).transformed(1.0, -left, -top)

    assert len(placed.above(SURE)) == len(alone.above(SURE))
    labels = labelled_boxes(photo)
    assert found_fraction(alone, labels) == found_fraction(placed, labels) == 1.0
    # A face cut by the photo's edge is seen against grey in the canvas: only found, there.
    whole = (labels[:, 0] > SAME_BOX_PX) & (labels[:, 1] > SAME_BOX_PX) & (labels[:, 2] < width - SAME_BOX_PX)
    for label in labels[whole & (labels[:, 3] < height - SAME_BOX_PX)]:
        face_alone = alone[int(box_iou(label, alone.xyxy).argmax())]
        box_alone, box_placed = face_alone.xyxy[0], placed.xyxy[box_iou(label, placed.xyxy).argmax()]
        assert box_iou(box_alone, box_placed[None])[0] >= SAME_FACE_IOU, (label, box_alone, box_placed)
        if face_alone.scores[0] >= CLEAR:
            tolerance = max(SAME_BOX_PX, SAME_BOX_SHARE * face_alone.heights[0])
            assert np.abs(box_placed - box_alone).max() <= tolerance, (label, box_alone, box_placed)


class RecordingSession:
    """An onnxruntime session that notes the shape of every input it is given."""

    def __init__(self, session):
        self._session = session
        self.shapes = []

    def run(self, outputs, feeds):
        (blob,) = feeds.values()
        self.shapes.append(blob.shape)
        return self._session.run(outputs, feeds)


def test_a_50_megapixel_photo_never_reaches_the_network_whole(detectors, monkeypatch):
    detector = detectors(DEFAULT_DETECTOR)
    session = RecordingSession(detector._session)
    monkeypatch.setattr(detector, "_session", session)
    group = load_photo(SAMPLES / "nasa-white-house-iss-call-group.jpg").rgb
    height, width = group.shape[:2]
    # 8192x6144, with the group photo in a row across the whole width, so that one row of
    # the zoomed tiles would be a single input 8192 px wide if runs of tiles were not cut.
    photo = np.full((6144, 8192, 3), 90, dtype=np.uint8)
    for left in range(0, 8192 - width + 1, width):
        photo[2000 : 2000 + height, left : left + width] = group

    faces = detector.detect(photo).above(DEFAULT_THRESHOLD)

    assert max(batch * rows * columns for batch, _, rows, columns in session.shapes) <= detector.max_megapixels * 1e6
    sides = {shape[2:] for shape in session.shapes}
    assert (1408, 1408) in sides and len(sides) > 2  # whole tiles, edge tiles, zoomed runs
    copies = 8192 // width
    assert len(faces) >= copies * len(labelled_boxes("nasa-white-house-iss-call-group.jpg"))
