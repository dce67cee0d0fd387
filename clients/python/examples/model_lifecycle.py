#!/usr/bin/env python3
"""A model's life on graphopt-server, as a registry-driven MLOps pipeline runs it: upload a
model with a name, version and labels, optimize it in a labelled job, find both again by label,
download the result, then delete the job and the model.

    python3 model_lifecycle.py model.onnx --name resnet --version 3 --label team=vision \\
        --target cpu --out-dir out/ --server 127.0.0.1:50051

Prints one line per step on stderr and a JSON summary on stdout; exits 0 when every step did
what it should, 1 when the job failed, 2 on any other error.
"""

import argparse
import json
import pathlib
import sys

try:
    import graphopt_client  # noqa: F401  (installed: pip install clients/python)
except ImportError:  # run from a checkout without installing: the package lives one folder up
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from graphopt_client import Client, GraphoptError, JobFailed, state_name  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="the ONNX model to optimize")
    p.add_argument("--name", required=True, help="the model's name")
    p.add_argument("--version", default="", help="the model's version")
    p.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                   help="a label of the model and the job (repeatable)")
    p.add_argument("--target", default="cpu", help="target profile (graphopt targets)")
    p.add_argument("--level", default="extended",
                   choices=["disabled", "basic", "extended", "layout", "all"])
    p.add_argument("--out-dir", default=".", help="where the optimized model and report go")
    p.add_argument("--keep", action="store_true", help="do not delete the job and the model")
    p.add_argument("--server", help="graphopt-server HOST:PORT (default $GRAPHOPT_SERVER)")
    p.add_argument("--tls-ca", help="PEM CA of the server's certificate: connect with TLS")
    p.add_argument("--tls-cert", help="PEM client certificate (mutual TLS)")
    p.add_argument("--tls-key", help="PEM key of --tls-cert")
    p.add_argument("--token", help="bearer token (default $GRAPHOPT_TOKEN)")
    return p.parse_args()


def step(text):
    print(text, file=sys.stderr)


def main():
    args = parse_args()
    labels = {}
    for spec in args.label:
        key, sep, value = spec.partition("=")
        if not key or not sep:
            sys.exit(f"--label expects KEY=VALUE, got {spec!r}")
        labels[key] = value
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    out_dir = pathlib.Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {}

    with Client(args.server, tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key,
                token=args.token) as client:
        try:
            model = client.upload(args.model, name=args.name, version=args.version,
                                  labels=labels)
            step(f"uploaded {model.name}:{model.version} as {model.digest} ({model.size_bytes} "
                 f"bytes)")
            job = client.create_job(model.digest, level=args.level, target=args.target,
                                    labels=labels)
            step(f"job {job.id}: {state_name(job.state)}")

            listed_jobs = [j.id for j in client.list_jobs(label_selector=selector)]
            listed_models = [m.digest for m in client.list_models(label_selector=selector)]
            step(f"label selector {selector!r}: {len(listed_jobs)} job(s), "
                 f"{len(listed_models)} model(s)")
            if job.id not in listed_jobs or model.digest not in listed_models:
                raise GraphoptError("NOT_FOUND", f"the job or model is not listed by {selector}")

            done = client.wait(job.id, on_event=lambda e: step(
                f"job {e.job_id}: {state_name(e.state)} {e.progress.stage}"))
            artifact = out_dir / (pathlib.Path(args.model).stem + ".opt.onnx")
            size = client.download(done.id, artifact)
            client.download(done.id, out_dir / "report.json", kind="report")
            step(f"downloaded {artifact} ({size} bytes) and report.json")
            summary.update(job_id=done.id, model_digest=model.digest, artifact=str(artifact),
                           artifact_bytes=size, nodes_before=done.report.nodes_before,
                           nodes_after=done.report.nodes_after,
                           verification=done.report.verification_status,
                           listed_jobs=len(listed_jobs), listed_models=len(listed_models))

            if not args.keep:
                summary["job_reclaimed_bytes"] = client.delete_job(done.id)
                summary["model_reclaimed_bytes"] = client.delete_model(model.digest)
                step(f"deleted job {done.id} and model {model.digest}")
        except JobFailed as e:
            step(f"job failed: {e}")
            print(json.dumps({"job_id": e.job.id, "state": state_name(e.job.state),
                              "error": e.code}))
            return 1
        except GraphoptError as e:
            step(f"graphopt-server at {client.target}: {e}")
            print(json.dumps({"error": e.code, "reason": e.reason, "message": e.message}))
            return 2
        except OSError as e:
            step(str(e))
            return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
