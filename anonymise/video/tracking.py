"""Faces linked from frame to frame, so a face the detector misses for a moment stays covered.

A detector scores each frame on its own, and a face it finds in one frame it may miss in
the next (motion blur, a turn of the head, compression): one frame shown uncovered is a
leak. ``FaceTracks`` links each frame's faces into tracks and fills in a box wherever a
tracked face was missed:

- between two sightings of a face up to ``reach`` frames apart, the box moved linearly
  from one to the other;
- up to ``reach`` frames after a face's last sighting and before its first, the box
  carried on with the face's motion (a face seen in only one frame is not carried on: it
  is as likely a false find as a face);

each grown with the distance from the nearest sighting, so a face that speeds up or turns
is still under it. The settings below were chosen on 12 labelled crowd clips
(docs/implementation-notes.md, "Videos"). Fills reach back up to ``reach`` frames, so frames are written that many
behind the one being read (``pending_reach``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from anonymise.faces import Faces, pairwise_iou

# A detection continues a track when its box overlaps the track's predicted box this much,
# or when its centre is this close to the predicted centre (in face sizes).
_SAME_FACE_IOU = 0.2
_SAME_FACE_CENTRE_DISTANCE = 0.75
# ... and their sizes differ by no more than this factor.
_SAME_FACE_SIZE_RATIO = 2.0
# How much a filled box grows at a full ``reach`` from the nearest sighting (a share of
# its size on each side), on top of the ground its motion could cover in that time.
_GROWTH_AT_FULL_REACH = 0.25
# A filled box also grows by this share of the ground its motion covers since the sighting,
# for motion that changes (a head that turns, a camera that slows).
_MOTION_SPREAD = 0.5
# A track is carried on past its first and last sightings once it was seen this many times.
_CARRY_ON_SIGHTINGS = 2
# Each new sighting's motion counts this much against the motion measured before it.
_VELOCITY_SMOOTHING = 0.5
# The motion a carried-on box follows is capped at this share of the face's size per frame:
# a mismatched pair of sightings must not fling the box across the frame.
_MAX_SPEED_IN_FACE_SIZES = 0.5

TRACK_DETECTOR = "track"


@dataclass(eq=False)
class _Track:
    identity: int
    last_frame: int
    box: np.ndarray  # xyxy of the last sighting
    score: float
    first_frame: int = 0
    first_box: np.ndarray = field(default_factory=lambda: np.zeros(4))
    sightings: int = 1
    # Whether its boxes are carried on past its sightings yet.
    carried: bool = False
    # Per-frame motion of the centre (dx, dy), from the last two sightings.
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def predicted(self, frame: int, prior_velocity: np.ndarray) -> np.ndarray:
        velocity = self.velocity if self.sightings > 1 else prior_velocity
        return _shifted(self.box, velocity * (frame - self.last_frame))


class FaceTracks:
    """The tracks of one video: ``add`` each frame's faces in order, then ``finish``.

    Both return the boxes filled in for frames at most ``reach`` before the latest one, as
    ``{frame: Faces}``, with ``TRACK_DETECTOR`` as their detector; a frame's fills are
    final once a frame ``reach`` later has been added (or ``finish`` was called).
    """

    def __init__(self, reach: int) -> None:
        self.reach = max(0, reach)
        self._tracks: List[_Track] = []
        self._next_identity = 0
        # Frame -> track identity -> (box, score): the fills not yet handed out.
        self._fills: Dict[int, Dict[int, Tuple[np.ndarray, float]]] = {}
        self._latest = -1

    def add(self, frame: int, faces: Faces) -> None:
        """The faces covered in ``frame`` (frames come in order, each once)."""
        self._latest = frame
        self._tracks = [t for t in self._tracks if frame - t.last_frame <= self.reach + 1]
        matched = self._match(frame, faces)
        continued = {track.identity for track in matched.values()}
        for track in self._tracks:
            if track.last_frame == frame - 1 and track.identity not in continued:
                self._carry_on(track)  # missed for the first time since its last sighting
        for index in range(len(faces)):
            box, score = faces.xyxy[index].astype(float), float(faces.scores[index])
            track = matched.get(index)
            if track is None:
                self._tracks.append(_Track(self._next_identity, frame, box, score, frame, box))
                self._next_identity += 1
            else:
                self._sighted(track, frame, box, score)

    def fills_until(self, frame: int) -> Dict[int, Faces]:
        """The fills of every frame up to ``frame``, handed out once (final only for frames
        at least ``reach`` before the latest added)."""
        done = [f for f in self._fills if f <= frame]
        return {f: _as_faces(self._fills.pop(f)) for f in sorted(done)}

    def _match(self, frame: int, faces: Faces) -> Dict[int, _Track]:
        """Detection index -> the track it continues: first the tracks whose motion is
        known, then, predicted with the motion those show (a camera pan moves every face
        alike), the tracks seen once."""
        matched: Dict[int, _Track] = {}
        moving = [t for t in self._tracks if t.sightings > 1]
        young = [t for t in self._tracks if t.sightings == 1]
        matched.update(self._greedy(frame, faces, moving, np.zeros(2), taken=set()))
        prior = self._common_motion(frame, faces, matched)
        matched.update(self._greedy(frame, faces, young, prior, taken=set(matched)))
        return matched

    @staticmethod
    def _greedy(frame: int, faces: Faces, tracks: List[_Track], prior: np.ndarray, taken: set) -> Dict[int, _Track]:
        if not tracks or len(faces) == 0:
            return {}
        predicted = np.array([t.predicted(frame, prior) for t in tracks])
        overlap = pairwise_iou(faces.xyxy.astype(float), predicted)
        close = _closeness(faces.xyxy.astype(float), predicted)
        # Overlap first; a small fast face that no longer overlaps is matched by distance.
        affinity = np.where(overlap >= _SAME_FACE_IOU, 1.0 + overlap, close)
        detections, candidates = np.nonzero(affinity > 0)
        best_first = np.argsort(-affinity[detections, candidates], kind="stable")
        matched: Dict[int, _Track] = {}
        used = set()
        for detection, track in zip(detections[best_first].tolist(), candidates[best_first].tolist()):
            if detection in taken or detection in matched or track in used:
                continue
            matched[int(detection)] = tracks[track]
            used.add(track)
        return matched

    @staticmethod
    def _common_motion(frame: int, faces: Faces, matched: Dict[int, _Track]) -> np.ndarray:
        """The median per-frame motion of the faces just matched to moving tracks."""
        if not matched:
            return np.zeros(2)
        motions = [
            (_centre(faces.xyxy[i].astype(float)) - _centre(t.box)) / max(1, frame - t.last_frame)
            for i, t in matched.items()
        ]
        return np.median(np.array(motions), axis=0)

    def _sighted(self, track: _Track, frame: int, box: np.ndarray, score: float) -> None:
        gap = frame - track.last_frame
        velocity = (_centre(box) - _centre(track.box)) / gap
        fills = {}
        for f in range(track.last_frame + 1, frame):  # between the two sightings
            share = (f - track.last_frame) / gap
            moved = track.box + (box - track.box) * share
            nearest = min(f - track.last_frame, frame - f)
            fills[f] = _grown(moved, nearest, self.reach, np.zeros(2))
        if track.sightings > 1:  # two sightings of a small face give a noisy motion: smooth it
            velocity = _VELOCITY_SMOOTHING * velocity + (1 - _VELOCITY_SMOOTHING) * track.velocity
        track.velocity = _capped(velocity, box)
        carried = track.sightings + 1 >= _CARRY_ON_SIGHTINGS
        first_confirmation = carried and not track.carried
        track.carried = track.carried or carried
        if first_confirmation:  # a face, so carried back before its first sighting too
            for f in range(track.first_frame - self.reach, track.first_frame):
                distance = track.first_frame - f
                fills[f] = _grown(_shifted(track.first_box, -track.velocity * distance), distance, self.reach,
                                  track.velocity)
        self._drop_fills(track.identity, frame)  # what the last sighting carried on
        self._keep_fills(track, fills, score)
        track.last_frame, track.box, track.score = frame, box, score
        track.sightings += 1

    def _carry_on(self, track: _Track) -> None:
        """Boxes carried on past the last sighting of a face, with its motion; replaced by
        the line between the sightings if it is seen again."""
        if not track.carried:
            return
        fills = {}
        for distance in range(1, self.reach + 1):
            fills[track.last_frame + distance] = _grown(_shifted(track.box, track.velocity * distance), distance,
                                                        self.reach, track.velocity)
        self._keep_fills(track, fills, track.score)

    def _keep_fills(self, track: _Track, fills: Dict[int, np.ndarray], score: float) -> None:
        for f, filled in fills.items():
            if f >= 0 and f >= self._latest - self.reach:  # frames not yet handed out
                self._fills.setdefault(f, {})[track.identity] = (filled, score)

    def _drop_fills(self, identity: int, frame: int) -> None:
        """A sighting in ``frame`` makes the fill there, and any carried on past it, moot."""
        for f in range(frame, frame + self.reach + 1):
            self._fills.get(f, {}).pop(identity, None)


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def _size(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], box[3] - box[1], 1.0))


def _shifted(box: np.ndarray, motion: np.ndarray) -> np.ndarray:
    return box + np.array([motion[0], motion[1], motion[0], motion[1]])


def _capped(velocity: np.ndarray, box: np.ndarray) -> np.ndarray:
    limit = _MAX_SPEED_IN_FACE_SIZES * _size(box)
    speed = float(np.hypot(*velocity))
    return velocity * (limit / speed) if speed > limit else velocity


def _grown(box: np.ndarray, distance: int, reach: int, velocity: np.ndarray) -> np.ndarray:
    """``box`` grown for being ``distance`` frames from a sighting: a share of its size,
    and half the ground its motion covers in that time, on each side."""
    width, height = box[2] - box[0], box[3] - box[1]
    share = _GROWTH_AT_FULL_REACH * min(1.0, distance / max(1, reach))
    spread_x = share * width + _MOTION_SPREAD * abs(velocity[0]) * distance
    spread_y = share * height + _MOTION_SPREAD * abs(velocity[1]) * distance
    return box + np.array([-spread_x, -spread_y, spread_x, spread_y])


def _closeness(boxes: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """For each (detection, prediction) pair, how close their centres are (0: too far or
    too different in size to be the same face; up to 1: the same place)."""
    boxes, predicted = boxes.astype(np.float32), predicted.astype(np.float32)
    sizes = np.maximum(boxes[:, 2:] - boxes[:, :2], 1.0).max(axis=1)[:, None]
    predicted_sizes = np.maximum(predicted[:, 2:] - predicted[:, :2], 1.0).max(axis=1)[None, :]
    dx = (boxes[:, 0] + boxes[:, 2])[:, None] / 2 - (predicted[:, 0] + predicted[:, 2])[None, :] / 2
    dy = (boxes[:, 1] + boxes[:, 3])[:, None] / 2 - (predicted[:, 1] + predicted[:, 3])[None, :] / 2
    larger, smaller = np.maximum(sizes, predicted_sizes), np.minimum(sizes, predicted_sizes)
    near = 1.0 - np.sqrt(dx * dx + dy * dy) / (_SAME_FACE_CENTRE_DISTANCE * larger)
    return np.where((larger <= _SAME_FACE_SIZE_RATIO * smaller) & (near > 0), near, 0.0)


def _as_faces(fills: Dict[int, Tuple[np.ndarray, float]]) -> Faces:
    if not fills:
        return Faces.empty()
    boxes = np.array([box for box, _ in fills.values()], dtype=np.float32)
    scores = np.array([score for _, score in fills.values()], dtype=np.float32)
    return Faces.from_detector(boxes, scores, TRACK_DETECTOR)


def pending_reach(frame_rate: float, seconds: float) -> int:
    """How many frames make ``seconds`` at ``frame_rate`` (at least one)."""
    return max(1, round(frame_rate * seconds))


__all__ = ["TRACK_DETECTOR", "FaceTracks", "pending_reach"]
