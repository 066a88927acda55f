"""GIF: walk the blocks; allow images, frame timing and the loop count, nothing else."""

from __future__ import annotations

from typing import List, Optional, Tuple

from anonymise.imagefile.structure.parsing import MalformedError, printable, unpack
from anonymise.imagefile.structure.parts import COMMENT, ICC_PROFILE, OTHER, STRUCTURAL, TRAILING_DATA, XMP, Part

_IMAGE, _EXTENSION, _TRAILER = 0x2C, 0x21, 0x3B
_GRAPHIC_CONTROL, _COMMENT, _PLAIN_TEXT, _APPLICATION = 0xF9, 0xFE, 0x01, 0xFF
# The application extensions that hold only an animation's loop count: sub-block 1, count.
_LOOP_EXTENSIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")
_APPLICATIONS = {b"XMP DataXMP": XMP, b"ICCRGBG1012": ICC_PROFILE}


def parts(data: bytes) -> List[Part]:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise MalformedError("no GIF header")
    (flags,) = unpack("B", data, 10)
    position = 13 + _colour_table_size(flags)
    found: List[Part] = []
    while True:
        (introducer,) = unpack("B", data, position)
        position += 1
        if introducer == _TRAILER:
            break
        if introducer == _IMAGE:
            (flags,) = unpack("B", data, position + 8)
            position += 9 + _colour_table_size(flags) + 1  # descriptor, palette, LZW code size
            _, position = _sub_blocks(data, position)
        elif introducer == _EXTENSION:
            (label,) = unpack("B", data, position)
            blocks, position = _sub_blocks(data, position + 1)
            problem = _extension_problem(label, blocks)
            if problem:
                found.append(problem)
        else:
            raise MalformedError(f"unknown block 0x{introducer:02X} at byte {position - 1}")
    if position < len(data):
        found.append(Part(TRAILING_DATA, f"{len(data) - position} bytes after the trailer"))
    return found


def _colour_table_size(flags: int) -> int:
    return 3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0


def _sub_blocks(data: bytes, position: int) -> Tuple[List[bytes], int]:
    blocks = []
    while True:
        (size,) = unpack("B", data, position)
        position += 1
        if size == 0:
            return blocks, position
        if position + size > len(data):
            raise MalformedError("a data block overruns the file")
        blocks.append(data[position : position + size])
        position += size


def _extension_problem(label: int, blocks: List[bytes]) -> Optional[Part]:
    if label == _GRAPHIC_CONTROL and len(blocks) == 1 and len(blocks[0]) == 4:
        return None
    if label == _APPLICATION and blocks and blocks[0] in _LOOP_EXTENSIONS:
        if len(blocks) == 2 and len(blocks[1]) == 3 and blocks[1][0] == 1:
            return None
        return Part(OTHER, "a loop extension with extra data")
    if label == _COMMENT:
        return Part(COMMENT, "a comment extension")
    if label == _PLAIN_TEXT:
        return Part(COMMENT, "a plain-text extension")
    if label == _APPLICATION and blocks:
        return Part(_APPLICATIONS.get(blocks[0], OTHER), f"an application extension ({printable(blocks[0])})")
    if label == _GRAPHIC_CONTROL:
        return Part(STRUCTURAL, "a graphic control extension of another size")
    return Part(OTHER, f"an extension 0x{label:02X}")
