#!/usr/bin/python3
"""Is SkipLayerNormalization worth emitting for ONNX Runtime's CPU provider?

Builds one-node models, SkipLayerNormalization(x, skip, gamma, beta) and
SkipSimplifiedLayerNormalization(x, skip, gamma), and their unfused forms, Add + LayerNormalization
and Add + SimplifiedLayerNormalization, at the shapes of the shared transformers ([1,197,256]
vit_small, [1,64,256] text_encoder) and of BERT-base ([1,128,768]); then times their kernels with
ONNX Runtime's profiler, one thread (kernel_time.js). Prints microseconds per run of each form.

    bench/ort/skip_layer_norm_kernels.py [--runs 200]     (Debian python3-onnx, node)
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(os.path.dirname(os.path.dirname(HERE)), "..", "shared")
ORTBENCH = os.path.join(SHARED, "tools", "ortbench", "ortbench")
ORT_MODULES = os.path.join(os.environ.get("GRAPHOPT_ORT_CACHE",
                                          os.path.expanduser("~/.cache/graphopt-ort")),
                           "node_modules")
SHAPES = {"vit_small [1,197,256]": (197, 256), "text_encoder [1,64,256]": (64, 256),
          "BERT-base [1,128,768]": (128, 768)}


def build(form, seq, hidden, path):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.random(hidden, dtype=np.float32), "gamma"),
             numpy_helper.from_array(rng.random(hidden, dtype=np.float32), "beta")]
    if form == "skip":
        nodes = [helper.make_node("SkipLayerNormalization", ["x", "skip", "gamma", "beta"], ["y"],
                                  domain="com.microsoft", epsilon=1e-6)]
    elif form == "skip_simplified":
        nodes = [helper.make_node("SkipSimplifiedLayerNormalization", ["x", "skip", "gamma"], ["y"],
                                  domain="com.microsoft", epsilon=1e-6)]
    else:
        norm = "LayerNormalization" if form == "add_norm" else "SimplifiedLayerNormalization"
        norm_inputs = ["sum", "gamma", "beta"] if form == "add_norm" else ["sum", "gamma"]
        nodes = [helper.make_node("Add", ["x", "skip"], ["sum"]),
                 helper.make_node(norm, norm_inputs, ["y"], axis=-1, epsilon=1e-6)]
    io = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, seq, hidden])
    graph = helper.make_graph(nodes, form, [io("x"), io("skip")], [io("y")], inits)
    # Opset 14: ONNX Runtime's own default-domain LayerNormalization, as in the shared models.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    onnx.save(model, path)


def kernel_us(path, runs):
    env = dict(os.environ, NODE_PATH=ORT_MODULES)
    out = subprocess.run(["node", os.path.join(HERE, "kernel_time.js"), path, "disabled", str(runs)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return sum(json.loads(out).values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    forms = ["skip", "add_norm", "skip_simplified", "add_simplified"]
    print("| shape | SkipLayerNormalization | Add + LayerNormalization | "
          "SkipSimplifiedLayerNormalization | Add + SimplifiedLayerNormalization |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, (seq, hidden) in SHAPES.items():
            cells = []
            for form in forms:
                path = os.path.join(tmp, f"{form}.onnx")
                build(form, seq, hidden, path)
                if not os.path.isdir(ORT_MODULES):  # ortbench installs onnxruntime-node
                    subprocess.run([ORTBENCH, path, "--levels", "disabled", "--runs", "1"],
                                   check=True, capture_output=True)
                cells.append(f"{kernel_us(path, args.runs):.0f} us")
            print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
