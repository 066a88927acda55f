"""Files in and out: decode and orient at the edge, write clean copies atomically.

Inside anonymise a photo is a ``Photo``: upright sRGB ``uint8`` frames (plus alpha, if it
had one). Nothing from the input file other than its pixels, frame timing and loop count
reaches the output, and every file written is checked by ``structure`` before it is kept.
"""

from anonymise.imagefile.formats import (
    OUTPUT_FORMATS,
    READABLE_EXTENSIONS,
    OutputFormat,
    format_named_by,
    is_supported,
    output_format,
    output_name,
)
from anonymise.imagefile.photo import Frame, Photo
from anonymise.imagefile.reading import (
    MIN_SIDE, TooLargeError, TooSmallError, check_photo_file, frame_from_image, load_photo, refuse_size,
    refuse_what_is_not_a_photo, refuse_what_is_not_a_photo_type, why_unreadable,
)
from anonymise.imagefile.structure import disallowed_parts
from anonymise.imagefile.writing import image_from_frame, save_photo

__all__ = [
    "MIN_SIDE",
    "OUTPUT_FORMATS",
    "READABLE_EXTENSIONS",
    "Frame",
    "OutputFormat",
    "Photo",
    "TooLargeError",
    "TooSmallError",
    "check_photo_file",
    "disallowed_parts",
    "format_named_by",
    "frame_from_image",
    "image_from_frame",
    "is_supported",
    "load_photo",
    "output_format",
    "output_name",
    "refuse_size",
    "refuse_what_is_not_a_photo",
    "refuse_what_is_not_a_photo_type",
    "save_photo",
    "why_unreadable",
]
