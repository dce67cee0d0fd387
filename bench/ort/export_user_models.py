#!/usr/bin/python3
# Exports two models of the kinds users bring, with dynamic axes (PyTorch's exporter, opset 14,
# random weights, seed 0), since the originals cannot be downloaded here:
# - silero_like: a Silero-VAD-style streaming model: audio chunk (batch, samples) and LSTM state
#   (2, batch, 64); an If on the sample rate input (16 kHz or 8 kHz front end, scripted so the
#   If stays in the graph), Conv1d features, LSTM, Linear + Sigmoid; outputs speech probability
#   and the new state.
# - crnn_rec: a PaddleOCR-rec-like CRNN: Conv/BN/ReLU/MaxPool backbone over (batch, 3, 32,
#   width), bidirectional LSTM over the width, Linear + Softmax per time step.
# Usage: export_user_models.py OUT_DIR
import sys

import torch

out = sys.argv[1] if len(sys.argv) > 1 else "."
torch.manual_seed(0)


class FrontEnd(torch.nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 64, kernel_size=stride * 2, stride=stride)

    def forward(self, x):
        return torch.relu(self.conv(x.unsqueeze(1)))


class SileroLike(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fe16 = FrontEnd(16)
        self.fe8 = FrontEnd(8)
        self.lstm = torch.nn.LSTM(64, 64)
        self.out = torch.nn.Linear(64, 1)

    def forward(self, x, sr, h, c):
        if bool(sr == 16000):
            f = self.fe16(x)
        else:
            f = self.fe8(x)
        f = f.permute(2, 0, 1)  # (time, batch, 64)
        y, (h2, c2) = self.lstm(f, (h, c))
        p = torch.sigmoid(self.out(y[-1]))
        return p, h2, c2


silero = torch.jit.script(SileroLike().eval())
torch.onnx.export(
    silero,
    (torch.randn(2, 512), torch.tensor(16000), torch.zeros(1, 2, 64), torch.zeros(1, 2, 64)),
    f"{out}/silero_like.onnx", input_names=["input", "sr", "h", "c"],
    output_names=["prob", "hn", "cn"], opset_version=14,
    dynamic_axes={"input": {0: "batch", 1: "samples"}, "h": {1: "batch"}, "c": {1: "batch"},
                  "prob": {0: "batch"}, "hn": {1: "batch"}, "cn": {1: "batch"}})


class Crnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layers, channels = [], 3
        for width, pool in [(32, (2, 2)), (64, (2, 2)), (96, (2, 1)), (128, (2, 1))]:
            layers += [torch.nn.Conv2d(channels, width, 3, padding=1), torch.nn.BatchNorm2d(width),
                       torch.nn.ReLU(), torch.nn.MaxPool2d(pool, pool)]
            channels = width
        self.backbone = torch.nn.Sequential(*layers)
        self.rnn = torch.nn.LSTM(128 * 2, 96, bidirectional=True, batch_first=True)
        self.fc = torch.nn.Linear(192, 97)

    def forward(self, x):
        f = self.backbone(x)  # (batch, 128, 2, width/4)
        b, c, h, w = f.shape
        f = f.reshape(b, c * h, w).permute(0, 2, 1)
        y, _ = self.rnn(f)
        return torch.softmax(self.fc(y), dim=2)


crnn = Crnn().eval()
torch.onnx.export(crnn, (torch.randn(1, 3, 32, 320),), f"{out}/crnn_rec.onnx",
                  input_names=["x"], output_names=["probs"], opset_version=14,
                  dynamic_axes={"x": {0: "batch", 3: "width"}, "probs": {0: "batch", 1: "steps"}})
