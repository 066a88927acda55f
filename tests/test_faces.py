"""Faces: suppression and merging follow the greedy rule they document (synthetic boxes)."""

import numpy as np
import pytest

from anonymise.faces import Faces, non_max_suppression, pairwise_iou


def greedy_groups(xyxy, scores, iou_threshold):
    """The rule written out slowly: best box left, plus every box left overlapping it."""
    order = list(np.argsort(-scores, kind="stable"))
    groups = []
    while order:
        best = order[0]
        overlaps = pairwise_iou(xyxy[best][None], xyxy[order])[0] > iou_threshold
        overlaps[0] = True
        groups.append([index for index, same in zip(order, overlaps) if same])
        order = [index for index, same in zip(order, overlaps) if not same]
    return groups


def random_boxes(seed):
    rng = np.random.default_rng(seed)
    # Up to a crowd's worth, so merging goes through several blocks of group leaders.
    count = int(rng.integers(1, 60 if seed % 4 else 1500))
    side = 100 if count < 60 else 1000
    corner = rng.uniform(0, side, (count, 2))
    size = rng.uniform(1, 30, (count, 2))
    return (np.concatenate([corner, corner + size], axis=1).astype(np.float32),
            rng.uniform(0.05, 1, count).astype(np.float32))


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("iou_threshold", [0.3, 0.4])
def test_suppression_and_merging_follow_the_greedy_rule(seed, iou_threshold):
    xyxy, scores = random_boxes(seed)
    groups = greedy_groups(xyxy, scores, iou_threshold)
    assert non_max_suppression(xyxy, scores, iou_threshold).tolist() == [g[0] for g in groups]

    merged = Faces.from_detector(xyxy, scores, "centerface").merged(iou_threshold)
    expected = [np.average(xyxy[g], axis=0, weights=scores[g]) for g in groups]
    np.testing.assert_allclose(merged.xyxy, np.array(expected), atol=1e-3)
    np.testing.assert_array_equal(merged.scores, scores[[g[0] for g in groups]])


def test_merging_survives_boxes_with_no_area():
    # A box clipped to nothing overlaps nothing, not even itself; merging once looped forever.
    faces = Faces.from_detector(
        np.array([[10, 10, 10, 30], [0, 0, 20, 20], [2, 2, 21, 21]], dtype=np.float32),
        np.array([0.9, 0.5, 0.4], dtype=np.float32),
        "centerface",
    )
    merged = faces.merged()
    assert len(merged) == 1 and np.isfinite(merged.xyxy).all()
    assert non_max_suppression(faces.xyxy, faces.scores, 0.4).tolist() == [1]
