"""Videos in and out: frames decoded upright at the edge, faces tracked between frames,
clean H.264 MP4 copies checked before they are kept."""

from anonymise.video.anonymising import VideoOptions, anonymise_video_file
from anonymise.video.formats import VIDEO_EXTENSIONS, is_video, video_copy_name
from anonymise.video.reading import VideoError, VideoSource, check_video_file

__all__ = [
    "VIDEO_EXTENSIONS",
    "VideoError",
    "VideoOptions",
    "VideoSource",
    "anonymise_video_file",
    "check_video_file",
    "is_video",
    "video_copy_name",
]
