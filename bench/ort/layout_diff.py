#!/usr/bin/python3
"""graphopt's `--level all --target cpu` artifact against ONNX Runtime's own `all` graph, op by op.

For each model: optimizes it with graphopt (`--level all --target cpu`, with `--dim batch=1`
unless --no-dim), saves the graph ONNX Runtime's `all` level builds from the original (ortbench
--save-dir), and compares the two graphs node by node:

  - both graphs are put into one canonical topological order (among ready nodes, the one with the
    smallest structural signature first), so independent branches emitted in another order still
    line up; the two sequences are then aligned on (domain, op, weight shapes);
  - aligned pairs: attributes (defaults dropped: auto_pad NOTSET, channels_last 0, ...;
    activation_params compared within 1e-6), constant inputs (shape, values: max |diff| of the
    reordered weights and biases; an absent bias against an all-zero one is reported as such),
    and wiring (each non-constant input comes from the aligned producer);
  - unaligned nodes on either side, then a summary: op counts, fused activations, Conv with a Sum
    input, where ReorderInput/ReorderOutput sit (producer -> reorder -> readers), Concat and pools.

    bench/ort/layout_diff.py resnet18.raw mobilenet_v2.raw ...        (names or paths)
    bench/ort/layout_diff.py --no-dim /tmp/tv/resnet50.onnx
    bench/ort/layout_diff.py --pair ORT_ALL.onnx ARTIFACT.onnx      (two saved graphs)
    bench/ort/layout_diff.py --rounds 6 resnet18.raw   (and time both graphs in ONNX Runtime with
                                                       its optimizer disabled: only graphs differ)

Exit status 0; the report is the output (--brief: summary and differences only).
Uses Debian's python3-onnx (run with /usr/bin/python3).
"""
import argparse
import collections
import difflib
import heapq
import hashlib
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
ORTBENCH = os.path.join(SHARED, "tools", "ortbench", "ortbench")

# Attribute values that mean the same as the attribute's absence.
DEFAULTS = {
    "auto_pad": "NOTSET", "channels_last": 0, "storage_order": 0, "ceil_mode": 0, "transA": 0,
    "transB": 0, "alpha": 1.0, "beta": 1.0, "count_include_pad": 0,
}
ALL_ONES = {"dilations", "strides"}  # a list of ones is the default too
OP_DEFAULTS = {("Upsample", "mode"): "nearest", ("Upsample", "coordinate_transformation_mode"):
               "asymmetric", ("Reshape", "allowzero"): 0}


def model_path(name):
    if os.path.exists(name):
        return name
    return os.path.join(SHARED, "models", name if name.endswith(".onnx") else name + ".onnx")


def attr_value(a):
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [x.decode() if isinstance(x, bytes) else x for x in v]
    return v


class Graph:
    """The nodes of a model with their attributes, constants and producers."""

    def __init__(self, path):
        self.model = onnx.load(path)
        g = self.model.graph
        self.consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.inputs = {i.name for i in g.input if i.name not in self.consts}
        self.outputs = {o.name for o in g.output}
        self.nodes = []
        for n in g.node:
            if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
                self.consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
                continue
            self.nodes.append(n)
        self.producer = {o: i for i, n in enumerate(self.nodes) for o in n.output if o}
        self.readers = collections.defaultdict(list)
        for i, n in enumerate(self.nodes):
            for x in n.input:
                if x:
                    self.readers[x].append(i)
        self.order = self.canonical_order()

    def attrs(self, i):
        out = {}
        for a in self.nodes[i].attribute:
            v = attr_value(a)
            if a.name in DEFAULTS and v == DEFAULTS[a.name]:
                continue
            if OP_DEFAULTS.get((self.nodes[i].op_type, a.name), None) == v:
                continue
            if a.name in ALL_ONES and isinstance(v, list) and all(x == 1 for x in v):
                continue
            if a.name == "pads" and isinstance(v, list) and not any(v):
                continue
            out[a.name] = v
        return out

    def op(self, i):
        n = self.nodes[i]
        return f"{n.domain or 'ai.onnx'}:{n.op_type}"

    def weak_key(self, i):
        """What aligns two nodes: operator and the shapes of its constant inputs."""
        shapes = [list(self.consts[x].shape) for x in self.nodes[i].input if x in self.consts]
        return f"{self.op(i)}{shapes[:1]}"

    def canonical_order(self):
        sig = {}
        for i, n in enumerate(self.nodes):  # nodes are stored topologically sorted
            # Sibling branches with equal weight shapes (an inception block's 1x1 convs) are told
            # apart by their weights: the sum of |w| is the same in any layout, padded or not.
            w = next((self.consts[x] for x in n.input if x in self.consts), None)
            mass = f"{float(np.abs(w.astype(np.float64)).sum()):.3g}" if w is not None and w.dtype.kind == "f" else ""
            parts = [self.weak_key(i), mass]
            for x in n.input:  # constants and absent inputs (a dropped bias) do not count
                if x in self.producer:
                    parts.append(sig[self.producer[x]])
                elif x and x not in self.consts:
                    parts.append("in:" + x)
            sig[i] = hashlib.sha1("|".join(parts).encode()).hexdigest()
        indeg = {i: sum(1 for x in n.input if x in self.producer) for i, n in enumerate(self.nodes)}
        ready = [(sig[i], i) for i, d in indeg.items() if d == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            _, i = heapq.heappop(ready)
            order.append(i)
            for o in self.nodes[i].output:
                for r in self.readers.get(o, []):
                    for x in self.nodes[r].input:
                        if x == o:
                            indeg[r] -= 1
                    if indeg[r] == 0:
                        heapq.heappush(ready, (sig[r], r))
        return order

    def source(self, x):
        """What feeds value x: ('node', index), ('const', name), ('input', name), ('none', '')."""
        if not x:
            return ("none", "")
        if x in self.producer:
            return ("node", self.producer[x])
        if x in self.consts:
            return ("const", x)
        return ("input", x)

    def describe(self, i):
        a = self.attrs(i)
        keep = {k: v for k, v in a.items() if k in ("activation", "activation_params", "group",
                                                      "strides", "channels", "channels_last",
                                                      "kernel_shape", "scales", "mode")}
        return f"{self.op(i)} {self.nodes[i].name!r} {keep}" if keep else f"{self.op(i)} {self.nodes[i].name!r}"


def close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return all(close(x, y) for x, y in zip(a, b))
    return a == b


def compare_pair(ort, art, i, j, pairs_ort_to_art, stats):
    """Differences between ORT's node i and graphopt's node j, as strings; `stats` collects the
    largest relative difference of equal-shaped float constants (the reordered weights)."""
    diffs = []
    aa, ab = ort.attrs(i), art.attrs(j)
    for k in sorted(set(aa) | set(ab)):
        if k not in aa or k not in ab or not close(aa[k], ab[k]):
            diffs.append(f"attr {k}: ORT {aa.get(k, '-')} graphopt {ab.get(k, '-')}")
    ni, nj = ort.nodes[i], art.nodes[j]
    for k in range(max(len(ni.input), len(nj.input))):
        sa = ort.source(ni.input[k] if k < len(ni.input) else "")
        sb = art.source(nj.input[k] if k < len(nj.input) else "")
        if sa[0] == "const" or sb[0] == "const":
            ta = ort.consts.get(sa[1]) if sa[0] == "const" else None
            tb = art.consts.get(sb[1]) if sb[0] == "const" else None
            if ta is None or tb is None:
                t = ta if ta is not None else tb
                if sa[0] in ("none",) or sb[0] in ("none",):
                    zero = t is not None and t.dtype.kind == "f" and not np.any(t)
                    who = "graphopt" if sb[0] == "none" else "ORT"
                    diffs.append(f"input {k}: absent in {who}, other side "
                                 f"{'all zeros' if zero else 'nonzero'} {list(t.shape)}")
                else:
                    diffs.append(f"input {k}: ORT {sa[0]} graphopt {sb[0]}")
            elif ta.shape != tb.shape:
                diffs.append(f"input {k}: shape ORT {list(ta.shape)} graphopt {list(tb.shape)}")
            elif ta.dtype.kind == "f":
                d = float(np.max(np.abs(ta.astype(np.float64) - tb.astype(np.float64)))) if ta.size else 0.0
                scale = float(np.max(np.abs(ta))) if ta.size else 0.0
                stats["constants compared"] += 1
                stats["max rel diff"] = max(stats["max rel diff"], d / max(scale, 1e-30))
                if d > 1e-5 * max(1.0, scale):
                    diffs.append(f"input {k}: values differ, max |diff| {d:.2e} (max |ORT| {scale:.2e})")
            elif not np.array_equal(ta, tb):
                diffs.append(f"input {k}: integer values differ")
        elif sa[0] != sb[0]:
            diffs.append(f"input {k}: ORT {sa[0]} graphopt {sb[0]}")
        elif sa[0] == "node" and pairs_ort_to_art.get(sa[1]) != sb[1]:
            diffs.append(f"input {k}: from {ort.describe(sa[1])} in ORT, "
                         f"{art.describe(sb[1])} in graphopt")
    return diffs


def category(d):
    """A difference without its per-node details (values, shapes, names), for counting."""
    if d.startswith("attr"):
        return d if len(d) < 90 else d[:87] + "..."
    head, rest = d.split(": ", 1)
    if rest.startswith("from "):
        return head + ": wiring"
    if rest.startswith("absent"):
        return head + ": " + rest.rsplit(" [", 1)[0]
    return head + ": " + rest.split(",")[0]


def reorder_sites(g):
    """ReorderInput/ReorderOutput with what feeds and reads them."""
    sites = collections.Counter()
    for i, n in enumerate(g.nodes):
        if n.domain != "com.microsoft.nchwc" or not n.op_type.startswith("Reorder"):
            continue
        s = g.source(n.input[0])
        src = g.op(s[1]).split(":")[-1] if s[0] == "node" else s[0]
        if s[0] == "node" and g.nodes[s[1]].domain == "com.microsoft.nchwc":
            src = "nchwc." + src
        readers = sorted({g.op(r).replace("com.microsoft.nchwc:", "nchwc.").split(":")[-1]
                          for r in g.readers.get(n.output[0], [])})
        if n.output[0] in g.outputs:
            readers.append("graph output")
        cl = " channels_last" if g.attrs(i).get("channels_last") else ""
        sites[f"{src} -> {n.op_type}{cl} -> {','.join(readers) or '-'}"] += 1
    return sites


def summary(g):
    s = collections.Counter()
    for i, n in enumerate(g.nodes):
        op = g.op(i)
        s[f"op {op}"] += 1
        a = g.attrs(i)
        if n.domain == "com.microsoft.nchwc" and n.op_type == "Conv":
            act = a.get("activation", "none")
            s[f"nchwc.Conv activation {act}"] += 1
            if len(n.input) > 3 and n.input[3]:
                s["nchwc.Conv with Sum input"] += 1
            if len(n.input) < 3 or not n.input[2]:
                s["nchwc.Conv without bias"] += 1
            if a.get("group", 1) > 1:
                s["nchwc.Conv grouped (depthwise)"] += 1
        if n.op_type == "Concat":
            blocked = all(g.source(x)[0] == "node" and
                          g.nodes[g.source(x)[1]].domain == "com.microsoft.nchwc" for x in n.input)
            s[f"Concat inputs {'blocked' if blocked else 'plain'}"] += 1
    return s


def diff_graphs(ort_path, art_path, brief=False):
    ort, art = Graph(ort_path), Graph(art_path)
    ka = [ort.weak_key(i) for i in ort.order]
    kb = [art.weak_key(j) for j in art.order]
    sm = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
    pairs, only_ort, only_art = {}, [], []
    for tag, a0, a1, b0, b1 in sm.get_opcodes():
        if tag == "equal":
            for x, y in zip(range(a0, a1), range(b0, b1)):
                pairs[ort.order[x]] = art.order[y]
        else:
            only_ort += [ort.order[x] for x in range(a0, a1)]
            only_art += [art.order[y] for y in range(b0, b1)]
    lines = [f"nodes: ORT all {len(ort.nodes)}, graphopt {len(art.nodes)}; aligned {len(pairs)}"]
    kinds = collections.Counter()
    stats = collections.Counter({"max rel diff": 0.0})
    detail = []
    for i in ort.order:
        if i not in pairs:
            continue
        d = compare_pair(ort, art, i, pairs[i], pairs, stats)
        for x in d:
            kinds[category(x)] += 1
        if d:
            detail.append(f"  {ort.describe(i)}  <->  {art.nodes[pairs[i]].name!r}")
            detail += [f"      {x}" for x in d]
    lines.append(f"aligned pairs that differ: {sum(1 for x in detail if not x.startswith('      '))}")
    for k, c in sorted(kinds.items()):
        lines.append(f"  {c:4d} x {k}")
    lines.append(f"float constants of equal shape compared: {stats['constants compared']}, largest "
                 f"|diff| / max|ORT|: {stats['max rel diff']:.1e}")
    if only_ort or only_art:
        lines.append(f"only in ORT all ({len(only_ort)}):")
        lines += [f"  {ort.describe(i)}" for i in only_ort]
        lines.append(f"only in graphopt ({len(only_art)}):")
        lines += [f"  {art.describe(j)}" for j in only_art]
    sa, sb = summary(ort), summary(art)
    ra, rb = reorder_sites(ort), reorder_sites(art)
    rows = [("summary", sa, sb), ("reorders", ra, rb)]
    for title, ca, cb in rows:
        keys = sorted(set(ca) | set(cb))
        differing = [k for k in keys if ca[k] != cb[k]]
        shown = differing if brief else keys
        lines.append(f"{title}: ORT all | graphopt" + ("  (differences only)" if brief else ""))
        for k in shown:
            mark = "  " if ca[k] == cb[k] else "* "
            lines.append(f"  {mark}{ca[k]:4d} | {cb[k]:4d}  {k}")
        if brief and not differing:
            lines.append("     (none)")
    if not brief and detail:
        lines.append("aligned pairs, differences:")
        lines += detail
    return "\n".join(lines)


def make_graphs(model, cli, out_dir, dims, run_dims):
    base = os.path.basename(model).replace(".onnx", "")
    art = os.path.join(out_dir, base + ".graphopt.all.onnx")
    cmd = [cli, "optimize", model, "-o", art, "--level", "all", "--target", "cpu"]
    for d in dims:
        cmd += ["--dim", d]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    # ONNX Runtime optimizes the original as it is (its symbolic axes stay symbolic); the dims
    # only size the inputs of the one run that makes it save the graph.
    save = os.path.join(out_dir, "ort")
    cmd = [ORTBENCH, model, "--levels", "all", "--runs", "1", "--save-dir", save]
    for d in ["batch=1"] + run_dims:
        cmd += ["--dim", d]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return os.path.join(save, base + ".orig.all.onnx"), art


def time_graphs(ort_path, art_path, rounds, runs, dims):
    """Both saved graphs with ONNX Runtime's optimizer disabled, in alternating order: the same
    engine at the same level, so only the graphs differ. Median of per-round p50 ratios."""
    import json
    import statistics
    ratios, ort_ms, art_ms = [], [], []
    for r in range(rounds):
        first, second = (art_path, ort_path) if r % 2 else (ort_path, art_path)
        cmd = [ORTBENCH, first, "--levels", "disabled", "--candidate", second, "--cand-levels",
               "disabled", "--runs", str(runs), "--threads", "1", "--json",
               "--save-dir", tempfile.mkdtemp()]
        for d in dims:
            cmd += ["--dim", d]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows = json.loads(out.strip().splitlines()[-1])["rows"]
        a, b = rows[0]["p50"], rows[1]["p50"]
        o, g = (b, a) if r % 2 else (a, b)
        ort_ms.append(o)
        art_ms.append(g)
        ratios.append(g / o)
    return (f"timed with ONNX Runtime's optimizer disabled on both ({rounds} rounds x {runs} runs):"
            f" ORT's graph p50 {statistics.median(ort_ms):.2f} ms, graphopt's "
            f"{statistics.median(art_ms):.2f} ms, ratio {statistics.median(ratios):.3f} "
            f"(graphopt faster in {sum(x <= 1 for x in ratios)}/{rounds})")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*")
    p.add_argument("--pair", nargs=2, metavar=("ORT_ALL", "ARTIFACT"))
    p.add_argument("--no-dim", action="store_true", help="optimize without --dim batch=1")
    p.add_argument("--run-dim", action="append", default=[], metavar="NAME=V",
                   help="size of another symbolic axis for ONNX Runtime's run (height=640)")
    p.add_argument("--cli", default=os.path.join(ROOT, "build", "graphopt"))
    p.add_argument("--keep", help="directory for the graphs (default: a temporary one)")
    p.add_argument("--brief", action="store_true", help="summary rows that differ only")
    p.add_argument("--rounds", type=int, default=0,
                   help="also time the two saved graphs, both with ONNX Runtime's optimizer "
                        "disabled, in this many alternating rounds")
    p.add_argument("--runs", type=int, default=20, help="runs per graph and round")
    args = p.parse_args()
    if args.pair:
        print(diff_graphs(*args.pair, brief=args.brief))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.keep or tmp
        os.makedirs(out_dir, exist_ok=True)
        for name in args.models:
            model = model_path(name)
            dims = [] if args.no_dim else ["batch=1"]
            ort_path, art_path = make_graphs(model, args.cli, out_dir, dims, args.run_dim)
            print(f"== {os.path.basename(model)}" + (" (no --dim)" if args.no_dim else " --dim batch=1"))
            print(diff_graphs(ort_path, art_path, brief=args.brief), flush=True)
            if args.rounds:
                print(time_graphs(ort_path, art_path, args.rounds, args.runs,
                                  ["batch=1"] + args.run_dim), flush=True)
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
