import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from anonymise.detectors import Detector, build_detector
from anonymise.faces import Faces

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
LABELLED_FACES = json.loads((Path(__file__).parent / "data" / "sample_faces.json").read_text())["faces"]


@pytest.fixture(autouse=True)
def state_folder(tmp_path_factory, monkeypatch):
    """Every test keeps anonymise's resume state in a fresh folder of its own, beside its
    tmp_path rather than in it (tests compare trees under tmp_path); subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(folder))
    return folder / "anonymise"


@pytest.fixture(scope="session")
def detectors():
    """Each registered detector, loaded once for the whole test session."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = build_detector(name)
        return cache[name]

    return get


@pytest.fixture
def sample_dir(tmp_path):
    """A copy of a few samples (a group photo and a portrait) in a folder of their own."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ["nasa-astronaut-eileen-collins.png", "nasa-white-house-iss-call-group.jpg"]:
        (folder / name).write_bytes((SAMPLES / name).read_bytes())
    return folder


def labelled_boxes(photo_name):
    return np.array(LABELLED_FACES[photo_name], dtype=np.float32)


class NoFaces(Detector):
    """Finds nothing, instantly: for tests about files, where detection is not the point."""

    name = "none"

    def detect(self, rgb):
        return Faces.empty()


# What exiftool may report about an anonymised copy: the file system entry, the file's type,
# size and pixel layout. Anything else (EXIF, GPS, XMP, IPTC, ICC_Profile, MPF, Photoshop,
# comments, warnings about trailers or odd structure) means something survived.
ALLOWED_EXIFTOOL_TAGS = {
    "SourceFile", "ExifTool:ExifToolVersion", "Composite:ImageSize", "Composite:Megapixels",
    "File:FileType", "File:FileTypeExtension", "File:MIMEType", "File:ImageWidth",
    "File:ImageHeight", "File:EncodingProcess", "File:BitsPerSample", "File:ColorComponents",
    "File:YCbCrSubSampling", "File:ExifByteOrder", "File:BMPVersion", "File:Planes",
    "File:BitDepth", "File:Compression", "File:ImageLength", "File:PixelsPerMeterX",
    "File:PixelsPerMeterY", "File:NumColors", "File:NumImportantColors",
    "JFIF:JFIFVersion", "JFIF:ResolutionUnit", "JFIF:XResolution", "JFIF:YResolution",
    "PNG:ImageWidth", "PNG:ImageHeight", "PNG:BitDepth", "PNG:ColorType", "PNG:Compression",
    "PNG:Filter", "PNG:Interlace", "PNG:AnimationFrames", "PNG:AnimationPlays",
    "PNG:Palette", "PNG:Transparency",
    "RIFF:VP8Version", "RIFF:ImageWidth", "RIFF:ImageHeight", "RIFF:HorizontalScale",
    "RIFF:VerticalScale", "RIFF:WebP_Flags", "RIFF:BackgroundColor", "RIFF:AnimationLoopCount",
    "RIFF:Duration", "RIFF:AlphaPreprocessing", "RIFF:AlphaFiltering", "RIFF:AlphaCompression",
    "IFD0:ImageWidth", "IFD0:ImageHeight", "IFD0:BitsPerSample", "IFD0:Compression",
    "IFD0:PhotometricInterpretation", "IFD0:StripOffsets", "IFD0:SamplesPerPixel",
    "IFD0:RowsPerStrip", "IFD0:StripByteCounts", "IFD0:PlanarConfiguration", "IFD0:Predictor",
    "IFD0:ExtraSamples", "IFD0:SubfileType",
    "GIF:GIFVersion", "GIF:ImageWidth", "GIF:ImageHeight", "GIF:HasColorMap",
    "GIF:ColorResolutionDepth", "GIF:BitsPerPixel", "GIF:BackgroundColor",
    "GIF:AnimationIterations", "GIF:TransparentColor", "GIF:FrameCount", "GIF:Duration",
    "QuickTime:MajorBrand", "QuickTime:MinorVersion", "QuickTime:CompatibleBrands",
    "QuickTime:HandlerType", "QuickTime:ImageSpatialExtent", "QuickTime:ImagePixelDepth",
    "QuickTime:CleanAperture", "QuickTime:ColorProfiles", "QuickTime:ColorPrimaries",
    "QuickTime:TransferCharacteristics", "QuickTime:MatrixCoefficients",
    "QuickTime:VideoFullRangeFlag", "QuickTime:MediaDataSize", "QuickTime:MediaDataOffset",
    "QuickTime:AV1ConfigurationVersion", "QuickTime:ChromaFormat",
    "QuickTime:ChromaSamplePosition", "QuickTime:HEVCConfigurationVersion",
    "QuickTime:GeneralProfileSpace", "QuickTime:GeneralTierFlag", "QuickTime:GeneralProfileIDC",
    "QuickTime:GenProfileCompatibilityFlags", "QuickTime:ConstraintIndicatorFlags",
    "QuickTime:GeneralLevelIDC", "QuickTime:MinSpatialSegmentationIDC",
    "QuickTime:ParallelismType", "QuickTime:BitDepthLuma", "QuickTime:BitDepthChroma",
    "QuickTime:AverageFrameRate", "QuickTime:ConstantFrameRate", "QuickTime:NumTemporalLayers",
    "QuickTime:TemporalIDNested", "QuickTime:AuxiliaryImageType", "Meta:PrimaryItemReference",
}


@pytest.fixture(scope="session")
def exiftool():
    """``exiftool(path)``: the tags exiftool reads from a file, beyond the allowed ones.

    exiftool is an independent reader: it does not share our parsers' idea of what a file
    holds. Without it (Debian: libimage-exiftool-perl) the tests using it are skipped.
    """
    program = shutil.which("exiftool")
    if program is None:
        pytest.skip("exiftool is not installed (Debian package libimage-exiftool-perl)")

    def disallowed_tags(path):
        done = subprocess.run([program, "-a", "-G1", "-ee", "-j", str(path)], capture_output=True, text=True)
        (tags,) = json.loads(done.stdout)
        if tags.get("File:FileType") == "TIFF":  # each page of a TIFF has its own IFD group
            tags = {re.sub(r"^IFD\d+:", "IFD0:", key): value for key, value in tags.items()}
        return {key: value for key, value in tags.items()
                if key not in ALLOWED_EXIFTOOL_TAGS and not key.startswith("System:")}

    return disallowed_tags
