#!/usr/bin/env python3
"""graphopt's artifacts against ONNX Runtime's own optimizer, in ONNX Runtime.

For each model: optimizes it with `graphopt optimize --level extended --target cpu` (or
--target T), then runs
ortbench (../shared/tools/ortbench) several rounds. Each round measures, on the same inputs and in
one process, the original under ONNX Runtime's `disabled` (the reference outputs) and `extended`
levels, and the artifact with ONNX Runtime's optimizer disabled; one thread each; every other
round measures the artifact first, so the order favours neither. Reported: node
counts, the median over rounds of each round's median latency, the median over rounds of the
per-round ratio artifact / ORT-extended (a ratio within one round cancels slow drift of a noisy
machine), and the largest output difference of the artifact against `disabled`.

    bench/ort/compare_with_ort.py [--rounds 10] [--runs 30] [MODEL ...]   (names or paths)
    bench/ort/compare_with_ort.py --target generic --ort-level basic      (standard ops only)
    bench/ort/compare_with_ort.py --no-dim ...   (artifact keeps its symbolic dims; ONNX Runtime
                                                  still runs every model at batch=1, seq=64)

Two presets for the layout level (--mode):
  blocked   artifact of `--level all` run with ONNX Runtime's optimizer disabled, against the
            original at ONNX Runtime `all` (does graphopt's layout level replace ONNX Runtime's?)
  runtime   artifact (of --level, default extended; run it again with --level all) loaded at
            ONNX Runtime `all`, against the original at `all` (does an artifact ever hinder the
            runtime's own optimizer?)

    bench/ort/compare_with_ort.py --quantize dynamic-int8 text_encoder.raw
  compares the converted artifact with graphopt's float artifact of the same level and target,
  both at ONNX Runtime `--artifact-ort-level` (is the int8 model faster where it is deployed?);
  "max diff" is then the converted artifact's difference from the original.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
ORTBENCH = os.path.join(SHARED, "tools", "ortbench", "ortbench")
DEFAULT_MODELS = ["resnet18.raw", "mobilenet_v2.raw", "mobilenet_v3_small.raw",
                  "efficientnet_b0.raw", "squeezenet1_1.raw", "vit_small.raw", "text_encoder.raw"]
DIMS = ["batch=1", "seq=64"]


def dims_of(model):
    """The DIMS the model has (graphopt refuses a --dim the model does not have)."""
    return DIMS if "text_encoder" in os.path.basename(model) else [d for d in DIMS if d.startswith("batch=")]


def model_path(name):
    if os.path.exists(name):
        return name
    return os.path.join(SHARED, "models", name if name.endswith(".onnx") else name + ".onnx")


def optimize(cli, model, out_dir, target, level, fix_dims=True, quantize=None):
    suffix = f".{target}.{level}" + (f".{quantize}" if quantize else "")
    artifact = os.path.join(out_dir, os.path.basename(model).replace(".onnx", suffix + ".onnx"))
    cmd = [cli, "optimize", model, "-o", artifact, "--level", level, "--target", target]
    if quantize:
        cmd += ["--quantize", quantize]
    for d in dims_of(model) if fix_dims else []:
        cmd += ["--dim", d]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return artifact


def levels(*names):
    return ",".join(dict.fromkeys(names))  # "disabled,disabled" -> "disabled"


def one_round(model, artifact, runs, artifact_first, ort_level, artifact_level, save_dir,
              run_dims=()):
    """(original at ORT `ort_level`, artifact at ORT `artifact_level`, |artifact - original|
    under ORT `disabled`)."""
    if artifact_first:  # ortbench measures its MODEL's levels before the candidate's
        cmd = [ORTBENCH, artifact, "--levels", levels("disabled", artifact_level),
               "--candidate", model, "--cand-levels", levels("disabled", ort_level)]
    else:
        cmd = [ORTBENCH, model, "--levels", levels("disabled", ort_level), "--candidate", artifact,
               "--cand-levels", levels("disabled", artifact_level)]
    # Its own --save-dir: concurrent runs would overwrite each other's saved graphs otherwise.
    cmd += ["--runs", str(runs), "--threads", "1", "--json", "--save-dir", save_dir]
    for d in DIMS + list(run_dims):
        cmd += ["--dim", d]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = json.loads(out.strip().splitlines()[-1])["rows"]
    pick = lambda m, lv: next(r for r in rows if r["model"] == m and r["level"] == lv)
    # Each row's maxDiff is against the first row measured (the MODEL at `disabled`).
    if artifact_first:
        return (pick("cand", ort_level), pick("orig", artifact_level),
                pick("cand", "disabled")["maxDiff"])
    return (pick("orig", ort_level), pick("cand", artifact_level),
            pick("cand", "disabled")["maxDiff"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cli", default=os.path.join(ROOT, "build", "graphopt"))
    parser.add_argument("--target", default="cpu", help="graphopt target profile (cpu, generic)")
    parser.add_argument("--ort-level", default="extended",
                        help="ONNX Runtime level to compare with (basic for generic artifacts)")
    parser.add_argument("--level", default="extended", help="graphopt level of the artifact")
    parser.add_argument("--artifact-ort-level", default="disabled",
                        help="ONNX Runtime level the artifact runs at")
    parser.add_argument("--no-dim", action="store_true",
                        help="optimize without --dim: the artifact keeps its symbolic dims")
    parser.add_argument("--quantize", help="compare this conversion with the float artifact")
    parser.add_argument("--run-dim", action="append", default=[], metavar="NAME=V",
                        help="size of another symbolic axis for ONNX Runtime's runs only "
                             "(PaddleOCR det: height=640 width=640); graphopt keeps it symbolic")
    parser.add_argument("--mode", choices=["blocked", "runtime"],
                        help="preset: see the module documentation")
    args = parser.parse_args()
    if args.mode == "blocked":
        args.level, args.ort_level, args.artifact_ort_level = "all", "all", "disabled"
    elif args.mode == "runtime":
        args.ort_level, args.artifact_ort_level = "all", "all"
    if args.quantize:
        args.ort_level = args.artifact_ort_level  # both artifacts where they are deployed
    lv = args.ort_level
    dim_note = " (no --dim)" if args.no_dim else " --dim batch=1"
    print(f"artifact: graphopt --level {args.level} --target {args.target}{dim_note}, run at ONNX Runtime "
          f"`{args.artifact_ort_level}`; original at `{lv}`; load {os.getloadavg()[0]:.2f}\n")

    print(f"| model | nodes ORT {lv} | nodes artifact | ORT {lv} p50 ms | artifact p50 ms "
          "| artifact / ORT (median of rounds) | rounds artifact faster | max diff |")
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            model = model_path(name)
            artifact = optimize(args.cli, model, tmp, args.target, args.level, not args.no_dim,
                                args.quantize)
            if args.quantize:  # the float artifact takes the original's place
                model = optimize(args.cli, model, tmp, args.target, args.level, not args.no_dim)
            ort_ms, art_ms, ratios, diffs = [], [], [], []
            nodes = (None, None)
            for round_index in range(args.rounds):
                ort, art, diff = one_round(model, artifact, args.runs, round_index % 2 == 1, lv,
                                           args.artifact_ort_level, tmp, args.run_dim)
                ort_ms.append(ort["p50"])
                art_ms.append(art["p50"])
                ratios.append(art["p50"] / ort["p50"])
                diffs.append(diff)
                nodes = (ort["nodes"], art["nodes"])
            ratio = statistics.median(ratios)
            worst = max(worst, ratio)
            faster = sum(r <= 1.0 for r in ratios)
            print(f"| {os.path.basename(model)} | {nodes[0]} | {nodes[1]} | "
                  f"{statistics.median(ort_ms):.2f} | {statistics.median(art_ms):.2f} | "
                  f"{ratio:.3f} | {faster}/{len(ratios)} | {max(diffs):.1e} |", flush=True)
    print(f"\nworst median ratio: {worst:.3f}")


if __name__ == "__main__":
    sys.exit(main())
