"""Every style on real photos: CenterFace finds no face in what a cover leaves.

CenterFace at 0.2 answers to the outline of a covered head in its surroundings, not only
to faces: over a solid black fill it still scores the head of the rose-garden photo 0.30
(and the dog's covered head 0.44). So the detector is shown what the covers contain and
nothing else: the covered pixels, on grey. A face that survived a cover is found there;
the original faces are (the control row below).
"""

import numpy as np
import pytest

from anonymise.imagefile import load_photo
from anonymise.pipeline import anonymise_pixels
from anonymise.redactors import EMOJIS, EmojiRedactor, SolidRedactor, build_redactor
from anonymise.regions import coverage_mask

from conftest import LABELLED_FACES, SAMPLES

THRESHOLD = 0.2


def with_every_emoji(rgb, regions):
    """Each region gets the next of our emoji, so one photo shows the detector all of them."""
    for index, region in enumerate(regions):
        rgb = EmojiRedactor(sorted(EMOJIS)[index % len(EMOJIS)]).redact(rgb, [region])
    return rgb


def styled(style, **options):
    return lambda rgb, regions: build_redactor(style, **options).redact(rgb, regions)


# (style, how it redacts, whether faces may be found in what it leaves)
STYLES = [
    ("blur", styled("blur", seed=11), False),
    ("pixelate", styled("pixelate", seed=11), False),
    ("solid", styled("solid"), False),
    ("emoji", with_every_emoji, False),
    ("unchanged (control)", lambda rgb, regions: rgb, True),
]


@pytest.fixture(scope="module")
def covered_photos(detectors):
    """For each labelled photo: its pixels, the regions the default pipeline covers, and their pixels."""
    photos = {}
    for name in LABELLED_FACES:
        rgb = load_photo(SAMPLES / name).rgb
        _, _, regions = anonymise_pixels(rgb, detectors("ensemble"), SolidRedactor())
        photos[name] = (rgb, regions, coverage_mask(regions, rgb.shape[1], rgb.shape[0]))
    return photos


@pytest.mark.parametrize("style, redact, faces_expected", STYLES, ids=[s[0] for s in STYLES])
@pytest.mark.parametrize("photo", sorted(LABELLED_FACES))
def test_no_face_is_found_in_what_a_cover_leaves(detectors, covered_photos, photo, style, redact, faces_expected):
    rgb, regions, covered = covered_photos[photo]
    out = redact(rgb, regions)
    only_covers = np.full_like(out, 128)
    only_covers[covered] = out[covered]
    found = detectors("centerface").detect(only_covers).above(THRESHOLD)
    if faces_expected:
        assert len(found) >= len(regions) // 2
    else:
        assert len(found) == 0, f"{style}: faces scored {np.round(found.scores, 2).tolist()} in {photo}"
