#!/usr/bin/python3
# One Swin stage-1 shifted-window attention block as torchvision exports it after graphopt's
# shape folding (nW 64, N 49, C 96, H 3, symbolic batch, opset 14), to time the fused
# Attention + Tile against the unfused block in ONNX Runtime.
# Usage: export_swin_shifted_block.py OUT.onnx
import sys

import numpy as np
import onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
rng = np.random.default_rng(0)
nW, N, C, H = 64, 49, 96, 3
d = C // H
def init(name, a): return nh.from_array(np.asarray(a), name)
inits = [
  init('wqkv', rng.standard_normal((C, 3*C)).astype(np.float32) * 0.1),
  init('bqkv', rng.standard_normal(3*C).astype(np.float32) * 0.1),
  init('s_x', np.array([-1, N, C], np.int64)),
  init('s_heads', np.array([-1, N, 3, H, d], np.int64)),
  init('i0', np.array(0, np.int64)), init('i1', np.array(1, np.int64)), init('i2', np.array(2, np.int64)),
  init('scale', np.array(d ** -0.5, np.float32)),
  init('rpb', rng.standard_normal((1, H, N, N)).astype(np.float32)),
  init('s_view', np.array([-1, nW, H, N, N], np.int64)),
  init('mask', np.where(rng.random((1, nW, 1, N, N)) < 0.3, -100.0, 0.0).astype(np.float32)),
  init('s_back', np.array([-1, H, N, N], np.int64)),
]
nodes = [
  h.make_node('Reshape', ['tokens', 's_x'], ['x']),
  h.make_node('MatMul', ['x', 'wqkv'], ['mm']),
  h.make_node('Add', ['mm', 'bqkv'], ['qkv']),
  h.make_node('Reshape', ['qkv', 's_heads'], ['qkv5']),
  h.make_node('Transpose', ['qkv5'], ['heads'], perm=[2, 0, 3, 1, 4]),
  h.make_node('Gather', ['heads', 'i0'], ['q0'], axis=0),
  h.make_node('Gather', ['heads', 'i1'], ['k'], axis=0),
  h.make_node('Gather', ['heads', 'i2'], ['v'], axis=0),
  h.make_node('Mul', ['q0', 'scale'], ['q']),
  h.make_node('Transpose', ['k'], ['kt'], perm=[0, 1, 3, 2]),
  h.make_node('MatMul', ['q', 'kt'], ['qk']),
  h.make_node('Add', ['qk', 'rpb'], ['biased']),
  h.make_node('Reshape', ['biased', 's_view'], ['view']),
  h.make_node('Add', ['view', 'mask'], ['masked']),
  h.make_node('Reshape', ['masked', 's_back'], ['scores']),
  h.make_node('Softmax', ['scores'], ['probs'], axis=-1),
  h.make_node('MatMul', ['probs', 'v'], ['ctx']),
  h.make_node('Transpose', ['ctx'], ['ctxt'], perm=[0, 2, 1, 3]),
  h.make_node('Reshape', ['ctxt', 's_x'], ['out']),
]
g = h.make_graph(nodes, 'block', [h.make_tensor_value_info('tokens', T.FLOAT, ['batch', nW * N, C])],
                 [h.make_tensor_value_info('out', T.FLOAT, ['batch*64', N, C])], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid('', 14)])
onnx.save(m, sys.argv[1] if len(sys.argv) > 1 else 'swin_shifted_block.onnx')
