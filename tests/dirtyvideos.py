"""Videos as phones and cameras write them, and as our writer does, built by the tests with
PyAV alone (no ffmpeg program).

``clean_video`` follows the writer's recipe (``anonymise/video/writing.py``); each dirty
builder writes a few frames of a real face carrying one kind of identifying data, the way
a phone, a camera or a default FFmpeg run leaves it in the file.
"""

from fractions import Fraction

import av
import numpy as np
from PIL import Image

from conftest import SAMPLES

SIZE = (160, 120)
RATE = Fraction(25, 1)
FRAME_COUNT = 8
LOCATION = "+48.8584+002.2945/"
MAKE, MODEL = "Apple", "iPhone 15 Pro"
CREATION_TIME = "2024-06-02T18:35:12.000000Z"
TIMECODE = "01:02:03:04"
HANDLER_NAME = "Core Media Video"  # what an iPhone names its video track's handler
GOPRO_PAYLOAD = b"DEVC GPS5 +48.8584 +002.2945"
# Where x264 says who encoded, with every setting: in an SEI NAL unit of the first frame.
X264_SIGNATURE = b"x264 - core"

_BITEXACT = av.codec.context.Flags.bitexact


def face_frames(count=FRAME_COUNT):
    """A real face sliding a pixel a frame: enough picture for x264 to code real slices."""
    face = np.asarray(Image.open(SAMPLES / "nasa-astronaut-eileen-collins.png").convert("RGB").resize(SIZE))
    return [np.roll(face, index, axis=1) for index in range(count)]


def clean_video(path, audio=False, remove_sei=True):
    """The writer's recipe: MP4, bit-exact muxer and encoders (no "Lavf"/"Lavc" names, zero
    dates), no metadata, x264's SEI removed by the filter_units bitstream filter."""
    container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart", "fflags": "+bitexact"})
    container.metadata.clear()
    stream = _video_stream(container)
    stream.codec_context.flags |= _BITEXACT
    sound = _tone_stream(container) if audio else None
    sei_filter = av.bitstream.BitStreamFilterContext("filter_units=remove_types=6", "h264") if remove_sei else None
    _write_frames(container, stream, sei_filter)
    if sound:
        _write_tone(container, sound)
    container.close()


def apple_phone_mov(path):
    """QuickTime as an iPhone writes it: named keys (mdta) for place, device and date."""
    container = av.open(str(path), "w", format="mov", options={"movflags": "use_metadata_tags"})
    container.metadata.update({
        "com.apple.quicktime.location.ISO6709": LOCATION,
        "com.apple.quicktime.make": MAKE,
        "com.apple.quicktime.model": MODEL,
        "com.apple.quicktime.creationdate": "2024-06-02T20:35:12+0200",
    })
    _write_frames(container, _video_stream(container))
    container.close()


def camera_mov(path):
    """QuickTime with classic user data items: ©xyz position, ©mak make, ©mod model."""
    container = av.open(str(path), "w", format="mov")
    container.metadata.update({"location": LOCATION, "make": MAKE, "model": MODEL})
    _write_frames(container, _video_stream(container))
    container.close()


def located_mp4(path):
    """An MP4 whose position FFmpeg writes as a 3GPP location box (loci)."""
    _dirty_mp4(path, metadata={"location": LOCATION})


def dated_mp4(path):
    """The recording time in every movie, track and media header."""
    _dirty_mp4(path, metadata={"creation_time": CREATION_TIME})


def encoder_tagged_mp4(path):
    """FFmpeg's defaults without bit-exact: its version as an encoder item (©too)."""
    container = av.open(str(path), "w", format="mp4")
    _write_frames(container, _video_stream(container))
    container.close()


def named_handler_mp4(path):
    _dirty_mp4(path, stream_metadata={"handler_name": HANDLER_NAME})


def rotated_mp4(path):
    """A portrait phone video: frames stored landscape, a display matrix turning them 90°."""
    _dirty_mp4(path, rotation=90)


def timecode_mp4(path):
    """A timecode track (tmcd), as professional cameras write."""
    _dirty_mp4(path, metadata={"timecode": TIMECODE})


def with_sound_mp4(path):
    """The writer's recipe with the sound kept: clean, except for someone who wants no sound."""
    clean_video(path, audio=True)


def with_sei_mp4(path):
    """The writer's recipe without the SEI filter: x264's version and settings stay."""
    clean_video(path, remove_sei=False)


def gopro_mp4(path):
    """A timed metadata track as GoPro cameras write their GPS and sensors (gpmd)."""
    container = av.open(str(path), "w", format="mp4", options={"fflags": "+bitexact"})
    container.metadata.clear()
    stream = _video_stream(container)
    stream.codec_context.flags |= _BITEXACT
    data = container.add_data_stream("bin_data")
    _write_frames(container, stream)
    _write_gps_data(container, data)
    container.close()


def _write_gps_data(container, data):
    """Two seconds of a GoPro-style GPS payload in the data track."""
    for second in range(2):
        packet = av.Packet(GOPRO_PAYLOAD)
        packet.stream, packet.time_base, packet.pts, packet.dts = data, Fraction(1, 1), second, second
        container.mux(packet)


def _dirty_mp4(path, metadata=(), stream_metadata=(), rotation=None):
    """The writer's recipe with one dirty thing added, so that it is the thing refused."""
    container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart", "fflags": "+bitexact"})
    container.metadata.clear()
    container.metadata.update(dict(metadata))
    stream = _video_stream(container)
    stream.codec_context.flags |= _BITEXACT
    stream.metadata.update(dict(stream_metadata))
    if rotation is not None:
        stream.set_display_rotation(rotation)
    _write_frames(container, stream, av.bitstream.BitStreamFilterContext("filter_units=remove_types=6", "h264"))
    container.close()


def _video_stream(container):
    stream = container.add_stream("libx264", rate=RATE)
    # PyAV 18 passes a size set on the stream to the muxer only, not to the encoder.
    stream.codec_context.width, stream.codec_context.height = SIZE
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": "20", "preset": "veryfast"}
    return stream


def _write_frames(container, stream, sei_filter=None):
    def mux(packets):
        for packet in packets:
            container.mux(sei_filter.filter(packet) if sei_filter else packet)

    for pixels in face_frames():
        mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
    mux(stream.encode(None))
    if sei_filter:
        container.mux(sei_filter.filter(None))


def _tone_stream(container):
    stream = container.add_stream("aac", rate=48000)
    stream.codec_context.flags |= _BITEXACT
    return stream


def _write_tone(container, stream):
    """A 440 Hz sine as long as the frames."""
    seconds = np.arange(int(48000 * FRAME_COUNT / RATE)) / 48000
    frame = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * seconds)).astype(np.float32)[None, :],
                                       format="fltp", layout="mono")
    frame.sample_rate = 48000
    container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def two_cameras_mp4(path):
    """Two video tracks, as a phone filming with both cameras may write."""
    container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart", "fflags": "+bitexact"})
    container.metadata.clear()
    streams = [_video_stream(container), _video_stream(container)]
    for stream in streams:
        stream.codec_context.flags |= _BITEXACT
        sei_filter = av.bitstream.BitStreamFilterContext("filter_units=remove_types=6", "h264")
        _write_frames(container, stream, sei_filter)
    container.close()


def phone_video_with_everything(path):
    """All a phone or action camera leaves in one file: place, make and model, recording
    time (as named keys and in every header), a timecode track, sound, and a GPS data track."""
    container = av.open(str(path), "w", format="mp4", options={"movflags": "use_metadata_tags"})
    container.metadata.update({
        "com.apple.quicktime.location.ISO6709": LOCATION,
        "com.apple.quicktime.make": MAKE,
        "com.apple.quicktime.model": MODEL,
        "creation_time": CREATION_TIME,
        "timecode": TIMECODE,
    })
    stream = _video_stream(container)
    stream.metadata["handler_name"] = HANDLER_NAME
    sound = _tone_stream(container)
    data = container.add_data_stream("bin_data")
    _write_frames(container, stream)
    _write_tone(container, sound)
    _write_gps_data(container, data)
    container.close()
