"""``anonymise check``: real dirty files, photos with faces, and anonymise's own copies."""

import io
import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

import iccprofiles
from anonymise.audit import Auditor
from anonymise.imagefile.structure import parts as kinds

from conftest import REPO, SAMPLES
from test_cli import invoke

REAL_FILES = REPO / "tests" / "data" / "realfiles"
ANONYMISE = [sys.executable, "-m", "anonymise"]

# Each real file, and the kinds of finding it must be flagged for (its faces aside).
DIRTY = [
    ("samsung-galaxy-s.jpg", {kinds.EXIF, kinds.GPS, kinds.EMBEDDED_IMAGE}),
    ("htc-desire.webp", {kinds.EXIF, kinds.GPS}),
    ("canon-eos-350d.jpg", {kinds.EXIF, kinds.XMP}),
    ("iptc-photoshop-xmp.jpg", {kinds.EXIF, kinds.XMP, kinds.IPTC, kinds.EMBEDDED_IMAGE}),
    ("png-exif-time-text.png", {kinds.EXIF, kinds.TIMESTAMP, kinds.COMMENT}),
    ("c2pa-manifest.jpg", {kinds.C2PA, kinds.XMP, kinds.IPTC}),
]


def check(*paths):
    done = subprocess.run(ANONYMISE + ["check", "--json", *map(str, paths)], capture_output=True, text=True,
                          timeout=600)
    return done.returncode, json.loads(done.stdout) if done.stdout else None, done.stderr


@pytest.fixture(scope="module")
def auditor():
    return Auditor()


@pytest.mark.parametrize("name, expected", DIRTY, ids=[name for name, _ in DIRTY])
def test_every_real_dirty_file_is_flagged_for_what_it_holds(auditor, name, expected):
    audit = auditor.audit(REAL_FILES / name)
    assert audit.error is None
    assert expected <= {part.kind for part in audit.findings}, audit.findings
    assert not audit.clean


def test_the_exif_says_what_it_tells_without_the_values(auditor):
    audit = auditor.audit(REAL_FILES / "samsung-galaxy-s.jpg")
    line = audit.account()
    assert line.startswith("EXIF (camera make and model, date and time")
    assert "GPS position" in line and "embedded image (an EXIF thumbnail)" in line
    assert "Samsung" not in line and "GT-I9000" not in line  # what, never the values


def test_structure_that_identifies_no_one_is_not_a_finding(tmp_path, auditor):
    noise = np.random.default_rng(3).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    plain = tmp_path / "plain.png"
    info = PngImagePlugin.PngInfo()
    info.add(b"sRGB", b"\x00")
    info.add(b"gAMA", (45455).to_bytes(4, "big"))
    Image.fromarray(noise).save(plain, dpi=(300, 300), pnginfo=info)
    assert {b"pHYs", b"sRGB", b"gAMA"} <= set(_png_chunks(plain.read_bytes()))
    audit = auditor.audit(plain)
    assert audit.clean and audit.notes == [] and audit.account() == "clean"

    profiled = tmp_path / "profiled.jpg"
    Image.fromarray(noise).save(profiled, icc_profile=iccprofiles.display_p3())
    audit = auditor.audit(profiled)
    assert audit.clean, "a colour profile is a note, not a finding"
    assert [part.kind for part in audit.notes] == [kinds.ICC_PROFILE]
    assert audit.account() == "clean (note: an APP2 ICC profile)"


def _png_chunks(data):
    position, chunks = 8, []
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        chunks.append(data[position + 4 : position + 8])
        position += 12 + length
    return chunks


def test_faces_in_a_photo_are_flagged(auditor):
    audit = auditor.audit(SAMPLES / "whitehouse-situation-room-group.jpg")
    assert len(audit.faces) >= 10
    portrait = auditor.audit(SAMPLES / "nasa-astronaut-eileen-collins.png")
    assert len(portrait.faces) == 1
    x1, y1, x2, y2 = portrait.faces[0].box
    assert 170 < (x1 + x2) / 2 < 260 and 60 < (y1 + y2) / 2 < 170  # on her face


def test_a_weak_blur_still_shows_the_face(tmp_path, auditor):
    """A Gaussian blur that deblurring can undo is not a cover: the face is still seen."""
    rgb = np.asarray(Image.open(SAMPLES / "nasa-astronaut-eileen-collins.png").convert("RGB")).copy()
    x1, y1, x2, y2 = 165, 60, 270, 190
    rgb[y1:y2, x1:x2] = cv2.GaussianBlur(rgb[y1:y2, x1:x2], (0, 0), 2.0)
    Image.fromarray(rgb).save(tmp_path / "weak-blur.png")
    assert len(auditor.audit(tmp_path / "weak-blur.png").faces) == 1


STYLES = [
    ["--style", "blur"],
    ["--style", "pixelate"],
    ["--style", "solid"],
    ["--style", "emoji"],
    ["--style", "emoji", "--emoji", "heart"],
    ["--style", "emoji", "--emoji", "fist-dark"],
    ["--style", "emoji", "--emoji-file", "{picture}"],
]


@pytest.mark.parametrize("style", STYLES, ids=lambda args: " ".join(args[1:]))
def test_anonymises_own_copies_pass_in_every_style(tmp_path, style):
    picture = tmp_path / "mask.png"
    Image.new("RGB", (64, 64), "orange").save(picture)
    photos = tmp_path / "photos"
    shutil.copytree(SAMPLES, photos, ignore=shutil.ignore_patterns("*.md"))
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, *[a.format(picture=picture) for a in style])
    assert result.exit_code == 0, result.output
    code, report, stderr = check(out)
    assert code == 0, json.dumps([f for f in report["files"] if not f["clean"]], indent=1)
    assert report["clean"] and len(report["files"]) == 5


def test_a_dirty_phone_photo_is_flagged_and_its_anonymised_copy_passes(tmp_path):
    phone = tmp_path / "phone"
    phone.mkdir()
    shutil.copy(REAL_FILES / "samsung-galaxy-s.jpg", phone)
    code, report, _ = check(phone / "samsung-galaxy-s.jpg")
    (dirty,) = report["files"]
    assert code == 1 and not dirty["clean"] and len(dirty["faces"]) >= 1
    assert {kinds.EXIF, kinds.GPS} <= {finding["kind"] for finding in dirty["findings"]}
    assert invoke(phone, "-o", tmp_path / "out").exit_code == 0
    code, report, _ = check(tmp_path / "out" / "samsung-galaxy-s.jpg")
    assert code == 0 and report["clean"], report


def test_lines_exit_codes_and_json(tmp_path):
    folder = tmp_path / "check"  # a folder named like the command: reached as a path
    folder.mkdir()
    noise = np.random.default_rng(1).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "clean.png")
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG")
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[:200])
    (folder / "notes.txt").write_text("shot list")

    done = subprocess.run(ANONYMISE + ["check", str(folder / "clean.png")], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, f"{folder / 'clean.png'}: clean\n")

    done = subprocess.run(ANONYMISE + ["check", str(folder)], capture_output=True, text=True)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == f"{folder / 'clean.png'}: clean"
    assert lines[1].startswith(f"{folder / 'truncated.jpg'}: ") and "cannot be checked: cannot read image" in lines[1]
    assert f"skipped: {folder / 'notes.txt'}: not a supported photo type (.txt)" in done.stderr

    code, report, _ = check(folder)
    assert code == 1 and report["clean"] is False
    assert [set(f) for f in report["files"]] == [{"path", "clean", "findings", "notes", "faces", "error"}] * 2
    assert report["files"][1]["error"].startswith("cannot read image")

    for args in (["check"], ["check", str(tmp_path / "missing.jpg")], ["check", "--nonsense", str(folder)]):
        assert subprocess.run(ANONYMISE + args, capture_output=True).returncode == 2
