"""The video check: the writer's recipe passes; phone, camera and FFmpeg-default videos are
refused with a reason naming what they carry (and exiftool, an independent reader, sees it
there too); hand-made damage to a clean file is refused."""

import struct

import pytest

import dirtyvideos
from anonymise.video.structure import disallowed_video_parts

DIRTY_VIDEOS = [
    # builder, file name, what our check names, a tag exiftool reads there
    (dirtyvideos.apple_phone_mov, "IMG_0001.MOV", "com.apple.quicktime.location.ISO6709", "Keys:GPSCoordinates"),
    (dirtyvideos.apple_phone_mov, "IMG_0002.MOV", "com.apple.quicktime.model", "Keys:Model"),
    (dirtyvideos.camera_mov, "camera.mov", "a GPS position (©xyz)", "UserData:GPSCoordinates"),
    (dirtyvideos.camera_mov, "camera.mov", "a camera model (©mod)", "UserData:Model"),
    (dirtyvideos.located_mp4, "located.mp4", "a location (loci)", "UserData:LocationInformation"),
    (dirtyvideos.dated_mp4, "dated.mp4", "a creation or modification time in the mvhd box", "QuickTime:CreateDate"),
    (dirtyvideos.dated_mp4, "dated.mp4", "a creation or modification time in the tkhd box", "Track1:TrackCreateDate"),
    (dirtyvideos.encoder_tagged_mp4, "ffmpeg.mp4", "an encoder name (©too)", "ItemList:Encoder"),
    (dirtyvideos.named_handler_mp4, "handler.mp4", "a handler name 'Core Media Video'", "Track1:HandlerDescription"),
    (dirtyvideos.rotated_mp4, "portrait.mp4", "a display matrix that turns", "Track1:MatrixStructure"),
    (dirtyvideos.timecode_mp4, "timecode.mp4", "a timecode track (tmcd handler", "Track2:HandlerType"),
    (dirtyvideos.gopro_mp4, "GX010001.MP4", "a timed metadata track (meta handler 'GoPro MET')", "Track2:MetaFormat"),
    (dirtyvideos.with_sound_mp4, "sound.mp4", "an audio track (soun handler", "Track2:AudioFormat"),
    (dirtyvideos.two_cameras_mp4, "two.mp4", "a second video track", "Track2:CompressorID"),
]

# What exiftool reads in each track of a clean copy, beyond the image tags conftest allows.
_TRACK_TAGS = {
    "TrackHeaderVersion", "TrackCreateDate", "TrackModifyDate", "TrackID", "TrackDuration", "TrackLayer",
    "TrackVolume", "MatrixStructure", "ImageWidth", "ImageHeight", "MediaHeaderVersion", "MediaCreateDate",
    "MediaModifyDate", "MediaTimeScale", "MediaDuration", "MediaLanguageCode", "HandlerType",
    "HandlerDescription", "GraphicsMode", "OpColor", "CompressorID", "SourceImageWidth", "SourceImageHeight",
    "XResolution", "YResolution", "BitDepth", "BufferSize", "MaxBitrate", "AverageBitrate", "VideoFrameRate",
    "Balance", "AudioFormat", "AudioChannels", "AudioBitsPerSample", "AudioSampleRate",
}
CLEAN_VIDEO_TAGS = {f"Track{track}:{tag}" for track in (1, 2) for tag in _TRACK_TAGS} | {
    f"QuickTime:{tag}" for tag in (
        "MajorBrand", "MinorVersion", "CompatibleBrands", "MovieHeaderVersion", "CreateDate", "ModifyDate",
        "TimeScale", "Duration", "PreferredRate", "PreferredVolume", "MatrixStructure", "PreviewTime",
        "PreviewDuration", "PosterTime", "SelectionTime", "SelectionDuration", "CurrentTime", "NextTrackID",
        # FFmpeg's empty iTunes metadata box: an 'mdir' handler whose reserved field reads 'appl'.
        "HandlerType", "HandlerVendorID", "MediaDataSize", "MediaDataOffset",
    )
} | {"Composite:AvgBitrate", "Composite:Rotation"}
# The tags whose values would tell something if they were not these.
IDENTITY = "1 0 0 0 1 0 0 0 1"
NO_DATE = "0000:00:00 00:00:00"
CLEAN_VALUES = {
    "QuickTime:CreateDate": NO_DATE, "QuickTime:ModifyDate": NO_DATE, "QuickTime:MatrixStructure": IDENTITY,
    "Composite:Rotation": 0,
    "Track1:TrackCreateDate": NO_DATE, "Track1:TrackModifyDate": NO_DATE, "Track1:MediaCreateDate": NO_DATE,
    "Track1:MediaModifyDate": NO_DATE, "Track1:MatrixStructure": IDENTITY, "Track1:HandlerDescription": "VideoHandler",
    "Track1:MediaLanguageCode": "und", "Track1:HandlerType": "Video Track",
    "Track2:TrackCreateDate": NO_DATE, "Track2:TrackModifyDate": NO_DATE, "Track2:MediaCreateDate": NO_DATE,
    "Track2:MediaModifyDate": NO_DATE, "Track2:MatrixStructure": IDENTITY, "Track2:HandlerDescription": "SoundHandler",
    "Track2:MediaLanguageCode": "und", "Track2:HandlerType": "Audio Track",
}
# A display matrix turning the picture a quarter turn, as a phone held upright writes it.
QUARTER_TURN = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)


def clean_bytes(tmp_path, audio=False):
    path = tmp_path / "clean.mp4"
    dirtyvideos.clean_video(path, audio=audio)
    return path.read_bytes()


def written(tmp_path, data, name="changed.mp4"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def with_field(data, box, offset, value):
    """``data`` with ``value`` written ``offset`` bytes into the body of its first ``box``."""
    at = data.index(box) + 4 + offset
    return data[:at] + value + data[at + len(value) :]


def with_grown_media_data(data, extra):
    """Grow the trailing mdat box (the writer puts it last) by bytes no sample points at."""
    at = data.rindex(b"mdat") - 4
    (size,) = struct.unpack(">I", data[at : at + 4])
    assert at + size == len(data)
    return data[:at] + struct.pack(">I", size + len(extra)) + data[at + 4 :] + extra


def box(kind, body):
    return struct.pack(">I", 8 + len(body)) + kind + body


@pytest.mark.parametrize("audio", [False, True])
def test_the_writer_recipe_passes(tmp_path, audio):
    path = written(tmp_path, clean_bytes(tmp_path, audio))
    assert disallowed_video_parts(path, audio_allowed=audio) == []


def test_the_writer_recipe_carries_no_tags_for_exiftool(tmp_path, exiftool):
    path = written(tmp_path, clean_bytes(tmp_path, audio=True))
    tags = exiftool(path)
    assert set(tags) - CLEAN_VIDEO_TAGS == set()
    assert {tag: tags[tag] for tag in CLEAN_VALUES if tag in tags} == CLEAN_VALUES


def test_sound_is_refused_unless_allowed(tmp_path):
    path = written(tmp_path, clean_bytes(tmp_path, audio=True))
    audio_track, its_samples = disallowed_video_parts(path)
    assert audio_track == "an audio track (soun handler 'SoundHandler')"
    assert its_samples.endswith("bytes of media data outside the kept tracks' samples")


@pytest.mark.parametrize("build, name, check_finds, exiftool_finds", DIRTY_VIDEOS)
def test_dirty_video_is_refused_naming_what_it_carries(tmp_path, build, name, check_finds, exiftool_finds):
    source = tmp_path / name
    build(source)
    assert any(check_finds in reason for reason in disallowed_video_parts(source))


@pytest.mark.parametrize("build, name, check_finds, exiftool_finds", DIRTY_VIDEOS)
def test_dirty_video_is_dirty_for_exiftool_too(tmp_path, exiftool, build, name, check_finds, exiftool_finds):
    source = tmp_path / name
    build(source)
    tags = exiftool(source)
    assert exiftool_finds in tags
    assert tags[exiftool_finds] != CLEAN_VALUES.get(exiftool_finds)


def test_x264_settings_in_an_sei_are_refused(tmp_path):
    source = tmp_path / "sei.mp4"
    dirtyvideos.with_sei_mp4(source)
    assert dirtyvideos.X264_SIGNATURE in source.read_bytes()  # exiftool does not read inside samples
    assert disallowed_video_parts(source) == ["1 H.264 SEI NAL units (encoder settings, camera messages)"]


CHANGES = [
    # a change to the writer's clean output, what the check must name
    (lambda data: data[:-100], "a structure that cannot be checked (box mdat overruns its container)"),
    (lambda data: data[:-3], "a structure that cannot be checked (box mdat overruns its container)"),
    (lambda data: data + b"\x00\x00\x00", "a structure that cannot be checked (truncated at byte"),
    (lambda data: data + b"hidden after the last box", "a structure that cannot be checked (box"),
    (lambda data: data + box(b"free", b"hidden"), "a free box holding 6 bytes"),
    (lambda data: data + box(b"uuid", b"\x00" * 16 + b"camera"), "a uuid box at the top level"),
    (lambda data: with_grown_media_data(data, b"hidden preview"), "14 bytes of media data outside the kept tracks' samples"),
    (lambda data: with_field(data, b"tkhd", 40, QUARTER_TURN), "a display matrix that turns or mirrors the picture in the tkhd box"),
    (lambda data: with_field(data, b"mvhd", 36, QUARTER_TURN), "a display matrix that turns or mirrors the picture in the mvhd box"),
    (lambda data: with_field(data, b"mvhd", 4, struct.pack(">I", 3800000000)), "a creation or modification time in the mvhd box"),
    (lambda data: with_field(data, b"mdhd", 8, struct.pack(">I", 3800000000)), "a creation or modification time in the mdhd box"),
    (lambda data: with_field(data, b"mdhd", 20, struct.pack(">H", 0x15C7)), "a language in the mdhd box"),
    (lambda data: with_field(data, b"VideoHandler", -4, b"Jane's phone"), "a handler name \"Jane's phone\""),
    (lambda data: with_field(data, b"ilst", -4, b"XMP_"), "XMP metadata (XMP_) in the meta box"),
]


@pytest.mark.parametrize("change, check_finds", CHANGES)
def test_changed_clean_file_is_refused(tmp_path, change, check_finds):
    path = written(tmp_path, change(clean_bytes(tmp_path)))
    assert any(reason.startswith(check_finds) for reason in disallowed_video_parts(path)), disallowed_video_parts(path)


def test_empty_file_is_refused(tmp_path):
    assert disallowed_video_parts(written(tmp_path, b"")) == ["an empty file"]
