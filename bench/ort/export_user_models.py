#!/usr/bin/python3
# Exports two models of the kinds users bring, with dynamic axes (PyTorch's exporter, opset 14,
# random weights, seed 0), since the originals cannot be downloaded here:
# - silero_like: a Silero-VAD-style streaming model: audio chunk (batch, samples) and LSTM state
#   (2, batch, 64); an If on the sample rate input (16 kHz or 8 kHz front end, scripted so the
#   If stays in the graph), Conv1d features, LSTM, Linear + Sigmoid; outputs speech probability
#   and the new state.
# - crnn_rec: a PaddleOCR-rec-like CRNN: Conv/BN/ReLU/MaxPool backbone over (batch, 3, 32,
#   width), bidirectional LSTM over the width, Linear + Softmax per time step.
# - paddle_det: PaddleOCR's ch_ppocr_mobile_v2.0_det architecture (DBNet): MobileNetV3-large
#   x0.5 backbone with SE blocks, DBFPN (1x1 lateral convs, nearest 2x Resize + Add top-down,
#   3x3 convs, nearest 8/4/2x Resize, channel Concat), DB head (Conv/BN/ReLU, two 2x2
#   ConvTranspose, Sigmoid); input (batch, 3, height, width).
# - paddle_cls: PaddleOCR's ch_ppocr_mobile_v2.0_cls architecture: MobileNetV3-small x0.35 of
#   its rec backbone (stride (2, 1) blocks for text lines), 2x2 MaxPool, global average pool,
#   Linear(200, 2) + Softmax; input (batch, 3, height, width), 3x48x192 in PaddleOCR.
#   Both as paddle2onnx ships them: hardswish -> HardSwish, hardsigmoid(slope 0.2, offset 0.5)
#   -> HardSigmoid(alpha 0.2, beta 0.5), nearest upsample -> Resize (asymmetric, floor).
# Usage: export_user_models.py OUT_DIR [NAME ...]   (default: all four)
import sys

import torch

out = sys.argv[1] if len(sys.argv) > 1 else "."
names = sys.argv[2:] or ["silero_like", "crnn_rec", "paddle_det", "paddle_cls"]
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


if "silero_like" in names:
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


if "crnn_rec" in names:
    torch.manual_seed(0)
    crnn = Crnn().eval()
    torch.onnx.export(crnn, (torch.randn(1, 3, 32, 320),), f"{out}/crnn_rec.onnx",
                      input_names=["x"], output_names=["probs"], opset_version=14,
                      dynamic_axes={"x": {0: "batch", 3: "width"},
                                    "probs": {0: "batch", 1: "steps"}})



class PaddleHardSigmoid(torch.autograd.Function):
    """Paddle's hardsigmoid(slope=0.2, offset=0.5), exported as paddle2onnx does: one HardSigmoid
    (torch's own hardsigmoid has slope 1/6)."""

    @staticmethod
    def forward(ctx, x):
        return torch.clamp(x * 0.2 + 0.5, 0.0, 1.0)

    @staticmethod
    def symbolic(g, x):
        return g.op("HardSigmoid", x, alpha_f=0.2, beta_f=0.5)


def make_divisible(v, divisor=8):
    """PaddleOCR's channel rounding (as MobileNetV3's reference code)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def conv_bn(cin, cout, k, stride, groups=1, act=None):
    """PaddleOCR's ConvBNLayer: Conv without bias, BatchNorm, optional relu/hardswish."""
    layers = [torch.nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
              torch.nn.BatchNorm2d(cout)]
    if act == "relu":
        layers.append(torch.nn.ReLU())
    elif act == "hardswish":
        layers.append(torch.nn.Hardswish())
    return torch.nn.Sequential(*layers)


class SEModule(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.conv1 = torch.nn.Conv2d(channels, channels // 4, 1)
        self.conv2 = torch.nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x):
        s = self.conv2(torch.relu(self.conv1(self.pool(x))))
        return x * PaddleHardSigmoid.apply(s)


class ResidualUnit(torch.nn.Module):
    def __init__(self, cin, mid, cout, k, stride, use_se, act):
        super().__init__()
        self.expand = conv_bn(cin, mid, 1, 1, act=act)
        self.depthwise = conv_bn(mid, mid, k, stride, groups=mid, act=act)
        self.se = SEModule(mid) if use_se else None
        self.linear = conv_bn(mid, cout, 1, 1)
        self.shortcut = stride == 1 and cin == cout

    def forward(self, x):
        y = self.depthwise(self.expand(x))
        if self.se is not None:
            y = self.se(y)
        y = self.linear(y)
        return x + y if self.shortcut else y


# k, expansion, out channels, SE, activation, stride (PaddleOCR's MobileNetV3 tables).
MV3_LARGE = [(3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2),
             (3, 72, 24, False, "relu", 1), (5, 72, 40, True, "relu", 2),
             (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
             (3, 240, 80, False, "hardswish", 2), (3, 200, 80, False, "hardswish", 1),
             (3, 184, 80, False, "hardswish", 1), (3, 184, 80, False, "hardswish", 1),
             (3, 480, 112, True, "hardswish", 1), (3, 672, 112, True, "hardswish", 1),
             (5, 672, 160, True, "hardswish", 2), (5, 960, 160, True, "hardswish", 1),
             (5, 960, 160, True, "hardswish", 1)]
MV3_SMALL_REC = [(3, 16, 16, True, "relu", (2, 1)), (3, 72, 24, False, "relu", (2, 1)),
                 (3, 88, 24, False, "relu", 1), (5, 96, 40, True, "hardswish", (2, 1)),
                 (5, 240, 40, True, "hardswish", 1), (5, 240, 40, True, "hardswish", 1),
                 (5, 120, 48, True, "hardswish", 1), (5, 144, 48, True, "hardswish", 1),
                 (5, 288, 96, True, "hardswish", (2, 1)), (5, 576, 96, True, "hardswish", 1),
                 (5, 576, 96, True, "hardswish", 1)]


class DetMobileNetV3(torch.nn.Module):
    """Four feature maps (strides 4, 8, 16, 32), one per stage, as PaddleOCR's det backbone."""

    def __init__(self, scale=0.5):
        super().__init__()
        cin = make_divisible(16 * scale)
        self.conv = conv_bn(3, cin, 3, 2, act="hardswish")
        self.stages, stage = torch.nn.ModuleList(), []
        self.out_channels = []
        for i, (k, exp, c, se, act, s) in enumerate(MV3_LARGE):
            if s == 2 and i > 2:  # a new stage starts at each later stride 2
                self.stages.append(torch.nn.Sequential(*stage))
                self.out_channels.append(cin)
                stage = []
            cout = make_divisible(scale * c)
            stage.append(ResidualUnit(cin, make_divisible(scale * exp), cout, k, s, se, act))
            cin = cout
        last = make_divisible(scale * 960)
        stage.append(conv_bn(cin, last, 1, 1, act="hardswish"))
        self.stages.append(torch.nn.Sequential(*stage))
        self.out_channels.append(last)

    def forward(self, x):
        x, outs = self.conv(x), []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs


def upsample(x, factor):
    return torch.nn.functional.interpolate(x, scale_factor=factor, mode="nearest")


class DbNet(torch.nn.Module):
    def __init__(self, fpn_channels=96):
        super().__init__()
        self.backbone = DetMobileNetV3()
        c = fpn_channels
        self.ins = torch.nn.ModuleList(
            [torch.nn.Conv2d(ch, c, 1, bias=False) for ch in self.backbone.out_channels])
        self.ps = torch.nn.ModuleList(
            [torch.nn.Conv2d(c, c // 4, 3, padding=1, bias=False) for _ in range(4)])
        q = c // 4
        self.head = torch.nn.Sequential(
            torch.nn.Conv2d(c, q, 3, padding=1, bias=False), torch.nn.BatchNorm2d(q),
            torch.nn.ReLU(), torch.nn.ConvTranspose2d(q, q, 2, 2), torch.nn.BatchNorm2d(q),
            torch.nn.ReLU(), torch.nn.ConvTranspose2d(q, 1, 2, 2), torch.nn.Sigmoid())

    def forward(self, x):
        c2, c3, c4, c5 = self.backbone(x)
        in2, in3, in4, in5 = [conv(f) for conv, f in zip(self.ins, (c2, c3, c4, c5))]
        out4 = in4 + upsample(in5, 2)
        out3 = in3 + upsample(out4, 2)
        out2 = in2 + upsample(out3, 2)
        p5, p4, p3, p2 = [conv(f) for conv, f in zip(self.ps, (in5, out4, out3, out2))]
        fuse = torch.cat([upsample(p5, 8), upsample(p4, 4), upsample(p3, 2), p2], dim=1)
        return self.head(fuse)


class TextDirectionClassifier(torch.nn.Module):
    def __init__(self, scale=0.35):
        super().__init__()
        cin = make_divisible(16 * scale)
        layers = [conv_bn(3, cin, 3, 2, act="hardswish")]
        for k, exp, c, se, act, s in MV3_SMALL_REC:
            cout = make_divisible(scale * c)
            layers.append(ResidualUnit(cin, make_divisible(scale * exp), cout, k, s, se, act))
            cin = cout
        last = make_divisible(scale * 576)
        layers += [conv_bn(cin, last, 1, 1, act="hardswish"), torch.nn.MaxPool2d(2, 2)]
        self.backbone = torch.nn.Sequential(*layers)
        self.fc = torch.nn.Linear(last, 2)

    def forward(self, x):
        f = torch.nn.functional.adaptive_avg_pool2d(self.backbone(x), 1).flatten(1)
        return torch.softmax(self.fc(f), dim=1)


def randomize_batchnorm(model):
    """Non-trivial BatchNorm statistics (a trained model's), so folding them is tested."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    return model.eval()


IMAGE_AXES = {0: "batch", 2: "height", 3: "width"}
# paddle2onnx keeps every BatchNormalization as a node: no eval-mode Conv+BN peephole here.
AS_PADDLE2ONNX = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
if "paddle_det" in names:
    torch.manual_seed(0)
    torch.onnx.export(randomize_batchnorm(DbNet()), (torch.randn(1, 3, 640, 640),),
                      f"{out}/paddle_det.onnx", input_names=["x"], output_names=["maps"],
                      opset_version=14, dynamic_axes={"x": IMAGE_AXES, "maps": IMAGE_AXES},
                      **AS_PADDLE2ONNX)
if "paddle_cls" in names:
    torch.manual_seed(0)
    torch.onnx.export(randomize_batchnorm(TextDirectionClassifier()), (torch.randn(1, 3, 48, 192),),
                      f"{out}/paddle_cls.onnx", input_names=["x"], output_names=["probs"],
                      opset_version=14, dynamic_axes={"x": IMAGE_AXES, "probs": {0: "batch"}},
                      **AS_PADDLE2ONNX)
