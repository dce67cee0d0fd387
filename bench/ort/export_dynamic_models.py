#!/usr/bin/python3
# Exports models with dynamic axes the way a user ships them (PyTorch's exporter, opset 14, no
# constant folding, random weights, seed 0): torchvision convnext_tiny and swin_t with a symbolic
# batch, and a 3-layer torch.nn.TransformerDecoder (d_model 256, 4 heads, GELU, causal mask)
# with symbolic seq, mem and batch. Usage: export_dynamic_models.py OUT_DIR
import sys

import torch
import torchvision

out = sys.argv[1] if len(sys.argv) > 1 else "."
torch.manual_seed(0)


def export(model, args, name, inputs, axes):
    model.eval()
    torch.onnx.export(model, args, f"{out}/{name}.onnx", input_names=inputs, output_names=["out"],
                      dynamic_axes=axes, opset_version=14, do_constant_folding=False)


image = torch.randn(1, 3, 224, 224)
batch_axes = {"input": {0: "batch"}, "out": {0: "batch"}}
export(torchvision.models.convnext_tiny(), (image,), "convnext_tiny", ["input"], batch_axes)
export(torchvision.models.swin_t(), (image,), "swin_t", ["input"], batch_axes)


class Decoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerDecoderLayer(d_model=256, nhead=4, dim_feedforward=1024,
                                                 activation="gelu")
        self.decoder = torch.nn.TransformerDecoder(layer, num_layers=3)

    def forward(self, tgt, memory):
        s = tgt.shape[0]
        mask = torch.triu(torch.full((s, s), float("-inf")), diagonal=1)
        return self.decoder(tgt, memory, tgt_mask=mask)


export(Decoder(), (torch.randn(10, 2, 256), torch.randn(12, 2, 256)), "transformer_decoder",
       ["tgt", "memory"],
       {"tgt": {0: "seq", 1: "batch"}, "memory": {0: "mem", 1: "batch"}, "out": {0: "seq", 1: "batch"}})
