#!/usr/bin/python3
# Exports the torchvision CNNs of issue 13 the way a user ships them: PyTorch's exporter (Debian's
# python3-torch / python3-torchvision), opset 14, no constant folding, random weights (seed 0, no
# download: this machine has no internet), a symbolic batch axis on the input and the output.
# Usage: export_torchvision_cnns.py OUT_DIR [NAME ...]   (default: all six)
import sys

import torch
import torchvision

MODELS = {
    "resnet50": lambda: torchvision.models.resnet50(),
    "densenet121": lambda: torchvision.models.densenet121(),
    "regnet_y_400mf": lambda: torchvision.models.regnet_y_400mf(),
    "mobilenet_v3_large": lambda: torchvision.models.mobilenet_v3_large(),
    # aux_logits only matter in training; init_weights avoids scipy's truncated normal.
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False),
    "convnext_tiny": lambda: torchvision.models.convnext_tiny(),
}

out = sys.argv[1] if len(sys.argv) > 1 else "."
names = sys.argv[2:] or list(MODELS)
for name in names:
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), f"{out}/{name}.onnx",
                      input_names=["input"], output_names=["out"],
                      dynamic_axes={"input": {0: "batch"}, "out": {0: "batch"}},
                      opset_version=14, do_constant_folding=False)
    print(f"{out}/{name}.onnx", flush=True)
