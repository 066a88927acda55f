"""Calibrate the int8 CenterFace: the activation ranges it is quantised with, from real photos.

    python benchmarks/calibrate_int8.py DATASET_DIR [--photos 30]

Runs the float model on ``--photos`` photos spread over DATASET_DIR (a WIDER-style folder,
see recall.py) as the first pass sees them, and on one 152 px patch of each zoomed 2x as
the zoom pass sees it, and writes each tensor's range to
anonymise/detectors/centerface-int8-ranges.json: the lowest of the inputs' 0.001st
percentiles of its values and the highest of their 99.999th. Percentiles rather than onnxruntime's MinMax
calibration (which lost a further 0.5 points of recall) and computed streaming, since
onnxruntime's percentile calibrator keeps every activation of every input in memory
(over 24 GB for 30 photos). The photos are offset from those the recall benchmarks
start on, and nothing of them but these ranges is kept.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime
from PIL import Image

from anonymise.detectors import centerface

PERCENTILE = 99.999
PATCH = 152  # px, about the zoom pass's crops (a 128 px tile and its margins)
SAMPLED_VALUES = 2_000_000  # per tensor and input: a percentile of a sample this big is exact enough


def _network_input(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    padded = np.zeros((1, 3, -(-height // 32) * 32, -(-width // 32) * 32), dtype=np.float32)
    padded[0, :, :height, :width] = rgb.transpose(2, 0, 1)
    return padded


def calibration_inputs(dataset: Path, photos: int):
    names = sorted(json.loads((dataset / "labels.json").read_text()))
    patches = random.Random(0)
    for index in range(photos):
        with Image.open(dataset / "images" / names[index * len(names) // photos + 3]) as image:
            rgb = np.asarray(image.convert("RGB"))
        yield _network_input(rgb)
        height, width = rgb.shape[:2]
        x, y = patches.randrange(0, max(1, width - PATCH)), patches.randrange(0, max(1, height - PATCH))
        zoomed = cv2.resize(rgb[y : y + PATCH, x : x + PATCH], None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
        yield _network_input(zoomed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--photos", type=int, default=30)
    args = parser.parse_args()

    model = centerface._float_model()
    weights = {initializer.name for initializer in model.graph.initializer}
    tensors = ["input.1"] + [name for node in model.graph.node for name in node.output]
    listed = {output.name for output in model.graph.output}
    for name in tensors[1:]:
        if name not in listed:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    outputs = [output.name for output in session.get_outputs()]

    sample = np.random.default_rng(0)
    lowest = {name: 0.0 for name in tensors}
    highest = {name: 0.0 for name in tensors}
    for count, blob in enumerate(calibration_inputs(args.dataset, args.photos), 1):
        values = dict(zip(outputs, session.run(outputs, {"input.1": blob})), **{"input.1": blob})
        for name in tensors:
            flat = values[name].ravel()
            if flat.size > SAMPLED_VALUES:
                flat = sample.choice(flat, SAMPLED_VALUES, replace=False)
            low, high = np.percentile(flat, [100 - PERCENTILE, PERCENTILE])
            lowest[name], highest[name] = min(lowest[name], float(low)), max(highest[name], float(high))
        print(f"{count} inputs", file=sys.stderr, end="\r")

    def array(value: float) -> dict:
        return {"data": [value], "dtype": "float32", "CLS": "numpy.array"}

    ranges = {
        "CLS": "TensorsData",
        "calibration_method": {"CLS": "CalibrationMethod", "value": "CalibrationMethod.MinMax"},
        "data": {name: {"lowest": array(lowest[name]), "highest": array(highest[name]), "CLS": "TensorData"}
                 for name in tensors if name not in weights},
    }
    destination = Path(centerface.__file__).with_name(centerface._INT8_RANGES)
    destination.write_text(json.dumps(ranges, indent=1, sort_keys=True) + "\n")
    print(f"\n{len(ranges['data'])} tensors -> {destination}", file=sys.stderr)


if __name__ == "__main__":
    main()
