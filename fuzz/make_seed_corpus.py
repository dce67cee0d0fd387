#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus from the shared models, never into the repository.

Usage: make_seed_corpus.py SHARED_DIR OUT_DIR

Each model of SHARED_DIR/models becomes a seed with its graph intact and its large weights
turned into typed graph inputs (a few KB instead of MB, so mutations hit the structure); each
ONNX backend node test model (SHARED_DIR/onnx-backend-tests/node, small already) is a seed
as it is. Seeds are named after their source.
"""
import glob
import os
import sys

import onnx

WEIGHT_BYTES = 1024  # initializers above this become graph inputs


def strip_weights(model):
    graph = model.graph
    inputs = {i.name for i in graph.input}
    kept = []
    for init in graph.initializer:
        if len(init.raw_data) <= WEIGHT_BYTES and init.data_location != onnx.TensorProto.EXTERNAL:
            kept.append(init)
            continue
        if init.name not in inputs:
            graph.input.append(
                onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return model


def main():
    shared, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    count = 0
    for path in sorted(glob.glob(os.path.join(shared, "models", "*.onnx"))):
        model = onnx.load(path, load_external_data=False)
        name = os.path.basename(path)[: -len(".onnx")]
        with open(os.path.join(out, "model-" + name), "wb") as f:
            f.write(strip_weights(model).SerializeToString())
        count += 1
    for path in sorted(glob.glob(os.path.join(shared, "onnx-backend-tests", "node", "*",
                                              "model.onnx"))):
        name = os.path.basename(os.path.dirname(path))
        with open(path, "rb") as src, open(os.path.join(out, "node-" + name), "wb") as f:
            f.write(src.read())
        count += 1
    print(f"{count} seeds in {out}")


if __name__ == "__main__":
    main()
