#!/usr/bin/python3
# Exports a BERT-like classifier the way a user ships one (PyTorch's exporter, opset 14, dynamic
# batch and seq, random weights, seed 1): token embedding 5000x384, 2 torch.nn
# TransformerEncoderLayers (6 heads, FFN 1536, GELU), mean pooling, Linear to 10 logits.
# graphopt's conversions were not written for it. Usage: export_bert_like.py OUT_DIR
import os
import sys

import torch

out = sys.argv[1] if len(sys.argv) > 1 else "."
torch.manual_seed(1)
class Enc(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(5000, 384)
        layer = torch.nn.TransformerEncoderLayer(384, 6, 1536, activation="gelu", batch_first=True, dropout=0.0)
        self.enc = torch.nn.TransformerEncoder(layer, 2)
        self.head = torch.nn.Linear(384, 10)
    def forward(self, ids):
        h = self.enc(self.emb(ids))
        return self.head(h.mean(dim=1))
m = Enc().eval()
ids = torch.randint(0, 5000, (2, 32))
torch.onnx.export(m, (ids,), os.path.join(out, "bert_like.onnx"), input_names=["input_ids"], output_names=["logits"],
                  dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch"}}, opset_version=14)
print("ok")
