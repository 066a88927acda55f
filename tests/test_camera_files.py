"""What real camera folders hold besides JPEGs: multi-picture (.mpo) and stereo (.jps) files."""

import json

import numpy as np
import pytest
from PIL import Image

from anonymise.faces import Faces
from anonymise.regions import Region, coverage_mask
from anonymise.stereo import MOST_DISPARITY, faces_in_every_view

from conftest import SAMPLES, labelled_boxes
from test_cli import invoke, photos_in

GROUP = "whitehouse-situation-room-group.jpg"


def group_photo(size=(750, 500)):
    with Image.open(SAMPLES / GROUP) as image:
        return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def covered(report, width, height):
    (entry,) = json.loads(report.read_text())["files"]
    regions = [Region(*r["box"], "box", r["score"], r["detector"], tuple(r["box"])) for r in entry["regions"]]
    return coverage_mask(regions, width, height), entry


def test_an_mpo_is_written_as_its_primary_photo_alone(tmp_path, exiftool):
    photos = tmp_path / "card"
    photos.mkdir()
    primary, preview = group_photo(), group_photo((320, 213)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    primary.save(photos / "DSCF0001.MPO", "MPO", save_all=True, append_images=[preview], quality=92)
    with Image.open(photos / "DSCF0001.MPO") as mpo:
        assert mpo.format == "MPO" and mpo.n_frames == 2
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "--style", "solid", "--report", tmp_path / "report.json")
    assert result.exit_code == 0, result.output
    assert photos_in(out) == ["DSCF0001.jpg"]
    with Image.open(out / "DSCF0001.jpg") as copy:
        assert copy.format == "JPEG" and copy.size == primary.size and getattr(copy, "n_frames", 1) == 1
    assert exiftool(out / "DSCF0001.jpg") == {}, "no MPF index, no second picture"
    mask, entry = covered(tmp_path / "report.json", *primary.size)
    assert len(entry["regions"]) >= 10


@pytest.mark.parametrize("disparity", [0, 15, 30])  # pixels, of 750-pixel views: up to 4 %
def test_every_face_of_a_stereo_pair_is_covered_in_both_views(tmp_path, disparity):
    view = group_photo()
    width, height = view.size
    pair = Image.new("RGB", (2 * width, height))
    pair.paste(view, (0, 0))
    # The right eye's view: the scene moved left by the disparity, its edge filled in.
    right = np.asarray(view)
    right = np.concatenate([right[:, disparity:], right[:, -1:].repeat(disparity, axis=1)], axis=1)
    pair.paste(Image.fromarray(right), (width, 0))
    photos = tmp_path / "stereo"
    photos.mkdir()
    pair.save(photos / "group.jps", "JPEG", quality=92)
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "--style", "solid", "--report", tmp_path / "report.json")
    assert result.exit_code == 0, result.output
    assert photos_in(out) == ["group.jpg"]
    mask, _ = covered(tmp_path / "report.json", 2 * width, height)
    faces = labelled_boxes(GROUP) * (width / 1500)
    for shift in (0, width - disparity):
        for x1, y1, x2, y2 in faces.astype(int):
            box = mask[y1:y2, x1 + shift : x2 + shift]
            assert box.mean() >= 0.8, f"a face at x={x1 + shift} is not covered"


def test_a_face_found_in_one_view_only_is_covered_in_the_other_wherever_the_disparity_puts_it():
    width = 2000  # two views of 1000
    left = Faces.from_detector(np.array([[100, 50, 140, 100]]), np.array([0.9]), "centerface")
    mirrored = faces_in_every_view(left, width, views=2)
    assert len(mirrored) == 2
    x1, y1, x2, y2 = mirrored.xyxy[1]
    margin = MOST_DISPARITY * 1000
    assert (x1, x2) == (pytest.approx(1100 - margin), pytest.approx(1140 + margin)) and (y1, y2) == (50, 100)
    assert mirrored.detectors[1] == "centerface (other view)"
    # Found in both views: nothing added.
    both = Faces.concatenate([left, left.transformed(1.0, 1000 - 20)])
    assert len(faces_in_every_view(both, width, views=2)) == 2
    # Near a view's edge, the counterpart stays inside its own view.
    edge = Faces.from_detector(np.array([[980, 50, 1000, 70]]), np.array([0.9]), "centerface")
    assert faces_in_every_view(edge, width, views=2).xyxy[1][0] >= 0
    assert len(faces_in_every_view(left, width, views=1)) == 1


def test_mpo_and_jps_copies_take_jpg_names_and_a_clash_keeps_both(tmp_path):
    photos = tmp_path / "card"
    photos.mkdir()
    small = group_photo((300, 200))
    small.save(photos / "a.mpo", "MPO")
    small.save(photos / "a.jpg")
    small.save(photos / "b.jps", "JPEG")
    out = tmp_path / "out"
    command = [photos, "-o", out, "--detector", "fast", "--json"]
    assert json.loads(invoke(*command).stdout)["written"] == 3
    assert photos_in(out) == ["a.jpg", "a.mpo.jpg", "b.jpg"]
    assert json.loads(invoke(*command).stdout)["up_to_date"] == 3
    assert json.loads(invoke(*command, "--format", "png").stdout)["written"] == 3
    assert sorted(p.name for p in out.glob("*.png")) == ["a.jpg.png", "a.mpo.png", "b.png"]
