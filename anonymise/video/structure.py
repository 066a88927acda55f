"""An independent check that a written MP4 holds nothing but its frames (and, when kept, its sound).

It walks the file's ISO-BMFF boxes against an allow-list of what our writer (FFmpeg's mp4
muxer through PyAV, with ``fflags=+bitexact``) writes, and names everything else: metadata
boxes (``udta`` items, ``keys``, ``XMP_``, ``loci``, ``uuid``), tracks other than one video
track and at most one audio track (timecode, GoPro or Apple timed metadata, subtitles,
hints), the dates and the display matrix in the headers, handler names, the H.264 NAL units
that are not picture (x264 writes its version and settings in an SEI), and bytes of the
media data that no kept sample uses. It does not ask FFmpeg what the file holds, so a writer
that slips something in cannot also hide it from the check.

The file is mapped, not read: a walk touches the boxes and the first bytes of each NAL unit.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from anonymise.imagefile.structure.parsing import (
    MalformedError, a_or_an, boxes, bytes_outside, printable, unpack,
)

_FILE = b""  # the container of the top-level boxes
# Container -> the boxes it may hold. Anything else is named. A free box is allowed only
# empty (FFmpeg reserves 8 bytes before the media data); edts/elst, stss, ctts, sgpd/sbgp
# and btrt are timing, seeking and buffer figures that tell nothing.
_CHILDREN: Dict[bytes, frozenset] = {
    _FILE: frozenset({b"ftyp", b"moov", b"mdat", b"free"}),
    b"moov": frozenset({b"mvhd", b"trak", b"udta"}),
    b"trak": frozenset({b"tkhd", b"edts", b"mdia"}),
    b"edts": frozenset({b"elst"}),
    b"mdia": frozenset({b"mdhd", b"hdlr", b"minf"}),
    b"minf": frozenset({b"vmhd", b"smhd", b"dinf", b"stbl"}),
    b"dinf": frozenset({b"dref"}),
    b"dref": frozenset({b"url "}),
    b"stbl": frozenset({b"stsd", b"stts", b"stss", b"ctts", b"stsc", b"stsz", b"stco", b"co64", b"sgpd", b"sbgp"}),
    b"stsd": frozenset({b"avc1", b"mp4a"}),
    b"avc1": frozenset({b"avcC", b"btrt", b"pasp", b"colr"}),
    b"mp4a": frozenset({b"esds", b"btrt"}),
    # FFmpeg's mp4 muxer always writes an iTunes-style meta box, even with nothing in it:
    # allowed only as that empty shell (an 'mdir' handler, no name, no item in the list).
    b"udta": frozenset({b"meta"}),
    b"meta": frozenset({b"hdlr", b"ilst"}),
    b"ilst": frozenset(),
}
# Bytes between a container's body and its first child: version and flags, entry counts,
# and the fixed fields of a sample entry (version 0 of the audio one, as MP4 writes it).
_FIELDS_BEFORE_CHILDREN = {b"meta": 4, b"dref": 8, b"stsd": 8, b"avc1": 78, b"mp4a": 28}
# The only boxes that may come more than once in their container (free space only empty).
_REPEATABLE = {b"trak", b"mdat", b"free"}
# Tables of fixed-size entries after their version, flags and count: bytes beyond the
# entries would be a hiding place.
_ENTRY_BYTES = {b"stts": 8, b"ctts": 8, b"stss": 4, b"stsc": 12, b"stco": 4, b"co64": 8}
_BODY_BYTES = {b"vmhd": 12, b"smhd": 8, b"btrt": 12, b"pasp": 8}

_IDENTITY_MATRIX = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_UNDETERMINED_LANGUAGE = {0, 0x55C4}  # "und", packed as ISO-639-2/T in 5-bit letters
# What FFmpeg names a track's handler when no handler_name is given: generic, not the device's.
_GENERIC_HANDLER_NAMES = {b"vide": b"VideoHandler", b"soun": b"SoundHandler"}
_TRACK_KINDS = {
    b"vide": "video", b"soun": "audio", b"tmcd": "timecode", b"meta": "timed metadata",
    b"text": "text", b"sbtl": "subtitle", b"subt": "subtitle", b"clcp": "closed caption",
    b"hint": "hint",
}
_SAMPLE_ENTRIES = {b"vide": b"avc1", b"soun": b"mp4a"}
# H.264 NAL units that code the picture: slices, their data partitions, parameter sets,
# access unit delimiters. Not SEI (6), where x264 writes its version and every setting,
# and cameras their own messages; not filler (12) or the reserved and unspecified types.
_PICTURE_NAL_TYPES = {1, 2, 3, 4, 5, 7, 8, 9}
_SEI = 6
_KNOWN = {
    b"\xa9xyz": "a GPS position (©xyz)", b"loci": "a location (loci)",
    b"\xa9mak": "a camera make (©mak)", b"\xa9mod": "a camera model (©mod)",
    b"\xa9day": "a date (©day)", b"\xa9too": "an encoder name (©too)",
    b"\xa9swr": "a software name (©swr)", b"XMP_": "XMP metadata (XMP_)",
    b"uuid": "a uuid box", b"covr": "cover art (covr)", b"chpl": "chapters (chpl)",
    b"tref": "track references (tref)",
}


def disallowed_video_parts(path: Path, audio_allowed: bool = False) -> List[str]:
    """What in the MP4 at ``path`` (a copy anonymise wrote) is not on the allow-list, one
    line each; an empty list means the copy is clean. ``audio_allowed`` lets one audio
    track through, for copies that keep the sound."""
    with open(path, "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:  # nothing to map
            return ["an empty file"]
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            try:
                return _MovieWalk(data, audio_allowed).problems()
            except MalformedError as error:
                return [f"a structure that cannot be checked ({error})"]


class _MovieWalk:
    """One pass over a file: the problems found, the tracks kept and their samples' bytes."""

    def __init__(self, data, audio_allowed: bool):
        self.data = data
        self.audio_allowed = audio_allowed
        self.found: List[str] = []
        self.tracks_kept: Counter = Counter()
        self.media: List[Tuple[int, int]] = []
        self.samples: List[Tuple[int, int]] = []

    def problems(self) -> List[str]:
        top = boxes(self.data, 0, len(self.data))
        if top[0][0] != b"ftyp":
            self.found.append(f"{a_or_an(_name(top[0][0]))} box before the file type")
        self.container(_FILE, 0, len(self.data))
        if not self.tracks_kept[b"vide"]:
            self.found.append("no video track")
        unused = bytes_outside(self.media, self.samples)
        if unused:
            self.found.append(f"{unused} bytes of media data outside the kept tracks' samples")
        outside = sum(1 for start, end in self.samples
                      if not any(m_start <= start and end <= m_end for m_start, m_end in self.media))
        if outside:
            self.found.append(f"{outside} samples outside the media data")
        return self.found

    def container(self, kind: bytes, body: int, end: int) -> None:
        seen: Counter = Counter()
        for child, child_body, child_end in boxes(self.data, body + _FIELDS_BEFORE_CHILDREN.get(kind, 0), end):
            seen[child] += 1
            where = f"in the {_name(kind)} box" if kind else "at the top level"
            if child not in _CHILDREN[kind]:
                self.found.append(_describe(self.data, child, child_body, child_end, where))
            elif seen[child] > 1 and child not in _REPEATABLE:
                self.found.append(f"a second {_name(child)} box {where}")
            elif child in _CHECKS:
                _CHECKS[child](self, kind, child_body, child_end)
            elif child in _CHILDREN:
                self.container(child, child_body, child_end)
            elif child in _ENTRY_BYTES:
                self.found.extend(_table_problems(self.data, child, child_body, child_end))
            elif child in _BODY_BYTES and child_end - child_body != _BODY_BYTES[child]:
                self.found.append(f"{a_or_an(_name(child))} box of {child_end - child_body} bytes")

    def track(self, parent: bytes, body: int, end: int) -> None:
        handler = _find(self.data, body, end, b"mdia", b"hdlr")
        if handler is None:
            raise MalformedError("a track without a handler")
        handler_type = self.data[handler[0] + 8 : handler[0] + 12]
        kind = _TRACK_KINDS.get(handler_type, printable(handler_type))
        allowed = handler_type == b"vide" or (handler_type == b"soun" and self.audio_allowed)
        if not allowed or self.tracks_kept[handler_type]:
            second = "second " if allowed else ""
            self.found.append(f"{a_or_an(second + kind)} track ({printable(handler_type)} handler{_quoted_name(self.data, *handler)})")
            return
        self.tracks_kept[handler_type] += 1
        self.container(b"trak", body, end)
        stbl = _find(self.data, body, end, b"mdia", b"minf", b"stbl")
        descriptions = _find(self.data, body, end, b"mdia", b"minf", b"stbl", b"stsd")
        if descriptions is None:
            raise MalformedError(f"{a_or_an(kind)} track without a sample description")
        entries = [k for k, _, _ in boxes(self.data, descriptions[0] + 8, descriptions[1])]
        if entries != [_SAMPLE_ENTRIES[handler_type]]:
            self.found.append(f"{a_or_an(kind)} track whose samples are not {_name(_SAMPLE_ENTRIES[handler_type])} "
                              f"({', '.join(_name(k) for k in entries) or 'none'})")
            return
        samples = _sample_extents(self.data, *stbl)
        self.samples.extend(samples)
        if handler_type == b"vide":
            config = _find(self.data, body, end, b"mdia", b"minf", b"stbl", b"stsd", b"avc1", b"avcC")
            if config is None:
                raise MalformedError("an H.264 track without its configuration")
            (length_size,) = unpack("B", self.data, config[0] + 4)
            self.found.extend(_nal_problems(self.data, samples, (length_size & 3) + 1))

    def movie_header(self, parent: bytes, body: int, end: int) -> None:
        self.found.extend(_header_problems(self.data, b"mvhd", body, matrix_at=(36, 48)))

    def track_header(self, parent: bytes, body: int, end: int) -> None:
        self.found.extend(_header_problems(self.data, b"tkhd", body, matrix_at=(40, 52)))

    def media_header(self, parent: bytes, body: int, end: int) -> None:
        self.found.extend(_header_problems(self.data, b"mdhd", body, matrix_at=None))

    def handler(self, parent: bytes, body: int, end: int) -> None:
        handler_type = self.data[body + 8 : body + 12]
        name = _handler_name(self.data, body, end)
        expected = (b"mdir", b"") if parent == b"meta" else (handler_type, _GENERIC_HANDLER_NAMES.get(handler_type))
        if handler_type != expected[0]:
            self.found.append(f"{a_or_an(printable(handler_type))} handler in the {_name(parent)} box")
        elif name and name != expected[1]:
            self.found.append(f"a handler name {printable(name, 64)!r}")

    def media_data(self, parent: bytes, body: int, end: int) -> None:
        self.media.append((body, end))

    def free_space(self, parent: bytes, body: int, end: int) -> None:
        if end > body:
            self.found.append(f"a free box holding {end - body} bytes")

    def data_reference(self, parent: bytes, body: int, end: int) -> None:
        (flags,) = unpack(">I", self.data, body)
        if flags & 1 == 0 or end > body + 4:
            self.found.append(f"a data reference to another file ({printable(self.data[body + 4 : end], 64)!r})")

    def colour(self, parent: bytes, body: int, end: int) -> None:
        if self.data[body : body + 4] != b"nclx" or end - body != 11:
            self.found.append(f"a colour box of type {printable(self.data[body : body + 4])} (an ICC profile)")

    def avc_configuration(self, parent: bytes, body: int, end: int) -> None:
        self.found.extend(_avc_configuration_problems(self.data, body, end))


_CHECKS: Dict[bytes, Callable[[_MovieWalk, bytes, int, int], None]] = {
    b"trak": _MovieWalk.track, b"mvhd": _MovieWalk.movie_header, b"tkhd": _MovieWalk.track_header,
    b"mdhd": _MovieWalk.media_header, b"hdlr": _MovieWalk.handler, b"mdat": _MovieWalk.media_data,
    b"free": _MovieWalk.free_space, b"url ": _MovieWalk.data_reference, b"colr": _MovieWalk.colour,
    b"avcC": _MovieWalk.avc_configuration,
}


def _header_problems(data, kind: bytes, body: int, matrix_at: Optional[Tuple[int, int]]) -> List[str]:
    """The dates (seconds since 1904 of the recording) and the display matrix of a movie or
    track header, or the language of a media header. ``matrix_at`` is where the matrix is
    in versions 0 and 1 of the box."""
    (version,) = unpack("B", data, body)
    if version > 1:
        raise MalformedError(f"{a_or_an(_name(kind))} box of version {version}")
    created, modified = unpack(">II" if version == 0 else ">QQ", data, body + 4)
    found = []
    if created or modified:
        found.append(f"a creation or modification time in the {_name(kind)} box")
    if matrix_at is not None:
        if unpack(">36s", data, body + matrix_at[version])[0] != _IDENTITY_MATRIX:
            found.append(f"a display matrix that turns or mirrors the picture in the {_name(kind)} box")
    else:
        (language,) = unpack(">H", data, body + (20 if version == 0 else 32))
        if language not in _UNDETERMINED_LANGUAGE:
            found.append("a language in the mdhd box")
    return found


def _table_problems(data, kind: bytes, body: int, end: int) -> List[str]:
    (count,) = unpack(">I", data, body + 4)
    extra = end - body - 8 - count * _ENTRY_BYTES[kind]
    if extra < 0:
        raise MalformedError(f"the {_name(kind)} box is shorter than its entries")
    return [f"{extra} bytes after the entries of the {_name(kind)} box"] if extra else []


def _sample_extents(data, stbl_body: int, stbl_end: int) -> List[Tuple[int, int]]:
    """Where each sample of a track lies in the file, from its chunk offsets (stco or co64),
    samples per chunk (stsc) and sample sizes (stsz)."""
    tables = {kind: (body, end) for kind, body, end in boxes(data, stbl_body, stbl_end)}
    if b"stsz" not in tables or b"stsc" not in tables or not (b"stco" in tables or b"co64" in tables):
        raise MalformedError("a sample table without sizes, chunks or chunk offsets")
    size_body = tables[b"stsz"][0]
    common_size, sample_count = unpack(">II", data, size_body + 4)
    sizes = [common_size] * sample_count if common_size else list(unpack(f">{sample_count}I", data, size_body + 12))
    offsets_kind, offset_format = (b"stco", "I") if b"stco" in tables else (b"co64", "Q")
    (chunk_count,) = unpack(">I", data, tables[offsets_kind][0] + 4)
    chunk_offsets = unpack(f">{chunk_count}{offset_format}", data, tables[offsets_kind][0] + 8)
    (run_count,) = unpack(">I", data, tables[b"stsc"][0] + 4)
    runs = unpack(f">{run_count * 3}I", data, tables[b"stsc"][0] + 8)
    extents = []
    sample = 0
    for run in range(run_count):
        first_chunk, per_chunk = runs[run * 3], runs[run * 3 + 1]
        last_chunk = runs[run * 3 + 3] - 1 if run + 1 < run_count else chunk_count
        for chunk in range(first_chunk - 1, last_chunk):
            if chunk >= chunk_count or sample + per_chunk > sample_count:
                raise MalformedError("sample tables that do not agree")
            position = chunk_offsets[chunk]
            for size in sizes[sample : sample + per_chunk]:
                extents.append((position, position + size))
                position += size
            sample += per_chunk
    if sample != sample_count:
        raise MalformedError("sample tables that do not agree")
    return extents


def _nal_problems(data, samples: List[Tuple[int, int]], length_size: int) -> List[str]:
    """The H.264 NAL units in the video samples that are not picture, counted by type."""
    types: Counter = Counter()
    for start, end in samples:
        position = start
        while position < end:
            length = int.from_bytes(unpack(f"{length_size}s", data, position)[0], "big")
            position += length_size
            if length == 0 or position + length > end:
                raise MalformedError(f"a NAL unit that overruns its sample at byte {position}")
            types[data[position] & 0x1F] += 1
            position += length
    found = []
    if types[_SEI]:
        found.append(f"{types[_SEI]} H.264 SEI NAL units (encoder settings, camera messages)")
    found.extend(f"{count} H.264 NAL units of type {kind}"
                 for kind, count in sorted(types.items()) if kind not in _PICTURE_NAL_TYPES and kind != _SEI)
    return found


def _avc_configuration_problems(data, body: int, end: int) -> List[str]:
    """The H.264 configuration may hold parameter sets only, and the range extension fields
    of the High profiles; an SEI or bytes after them would go unseen by a player."""
    (profile,) = unpack("B", data, body + 1)
    position = body + 5
    found = []
    for expected, count_mask in ((7, 0x1F), (8, 0xFF)):
        (count,) = unpack("B", data, position)
        position += 1
        for _ in range(count & count_mask):
            (length,) = unpack(">H", data, position)
            (header,) = unpack("B", data, position + 2)
            if header & 0x1F != expected:
                found.append(f"an H.264 NAL unit of type {header & 0x1F} in the avcC box")
            position += 2 + length
    if profile in (100, 110, 122, 144) and end - position >= 4:
        (extensions,) = unpack("B", data, position + 3)
        position += 4
        for _ in range(extensions):
            (length,) = unpack(">H", data, position)
            position += 2 + length
    if position > end:
        raise MalformedError("the avcC box is shorter than its parameter sets")
    if position < end:
        found.append(f"{end - position} bytes after the parameter sets in the avcC box")
    return found


def _find(data, body: int, end: int, *path: bytes) -> Optional[Tuple[int, int]]:
    """Body and end of the first box along ``path`` inside a trak box's ``data[body:end]``."""
    container = b"trak"
    for kind in path:
        first = body + _FIELDS_BEFORE_CHILDREN.get(container, 0)
        match = next(((b, e) for k, b, e in boxes(data, first, end) if k == kind), None)
        if match is None:
            return None
        (body, end), container = match, kind
    return body, end


def _handler_name(data, body: int, end: int) -> bytes:
    """MP4 writes a C string; QuickTime a length byte first."""
    name = bytes(data[body + 24 : end]).rstrip(b"\x00")
    if name and name[0] == len(name) - 1:
        name = name[1:]
    return name


def _quoted_name(data, body: int, end: int) -> str:
    name = _handler_name(data, body, end)
    return f" {printable(name, 64)!r}" if name else ""


def _describe(data, kind: bytes, body: int, end: int, where: str) -> str:
    if kind == b"keys":  # Apple's named metadata: say which names it holds
        return f"metadata keys ({', '.join(_key_names(data, body, end))}) {where}"
    if kind[:1] == b"\x00" and where == "in the ilst box":
        return f"metadata item {int.from_bytes(kind, 'big')} {where}"
    return f"{_KNOWN.get(kind) or a_or_an(_name(kind) + ' box')} {where}"


def _key_names(data, body: int, end: int) -> List[str]:
    (count,) = unpack(">I", data, body + 4)
    names, position = [], body + 8
    for _ in range(count):
        (size,) = unpack(">I", data, position)
        if size < 8 or position + size > end:
            raise MalformedError("a metadata key that overruns its box")
        names.append(printable(data[position + 8 : position + size], 64))
        position += size
    return names


def _name(kind: bytes) -> str:
    """A box type as QuickTime writes it (© is the first byte of its user data types)."""
    return "©" + printable(kind[1:]) if kind[:1] == b"\xa9" else printable(kind)
