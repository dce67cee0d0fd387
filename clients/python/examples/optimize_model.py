#!/usr/bin/env python3
"""Optimize an ONNX model on graphopt-server: a pipeline step to copy into your MLOps flow.

    optimize_model.py model.onnx --out model.opt.onnx --report report.json \
        --server graphopt:50051 --level extended --target cpu --dim batch=1

Exit codes: 0 optimized and verified; 1 the optimized model did not match the original
(report written); 2 any other failure (message on stderr). Progress goes to stderr; the last
line on stdout is a JSON summary a later step can parse.
"""

import argparse
import json
import pathlib
import sys

try:
    import graphopt_client  # noqa: F401  (installed: pip install clients/python)
except ImportError:  # run from a checkout without installing: the package lives one folder up
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from graphopt_client import (TERMINAL_STATES, Client, GraphoptError, JobFailed,  # noqa: E402
                             state_name)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="the ONNX model to optimize")
    p.add_argument("--out", required=True, help="where to write the optimized model")
    p.add_argument("--report", help="where to write the JSON report")
    p.add_argument("--server", help="graphopt-server HOST:PORT (default $GRAPHOPT_SERVER)")
    p.add_argument("--tls-ca", help="PEM CA of the server's certificate: connect with TLS")
    p.add_argument("--tls-cert", help="PEM client certificate (mutual TLS)")
    p.add_argument("--tls-key", help="PEM key of --tls-cert")
    p.add_argument("--token", help="bearer token (default $GRAPHOPT_TOKEN)")
    p.add_argument("--level", default="basic",
                   choices=["disabled", "basic", "extended", "layout", "all"])
    p.add_argument("--target", default="", help="target profile (default generic)")
    p.add_argument("--dim", action="append", default=[], metavar="NAME=VALUE",
                   help="fix a symbolic dimension (repeatable)")
    p.add_argument("--no-verify", action="store_true", help="skip the numerical check")
    p.add_argument("--fresh", action="store_true", help="ignore the server's result cache")
    return p.parse_args()


def main():
    args = parse_args()
    dims = {}
    for spec in args.dim:
        name, _, value = spec.partition("=")
        if not name or not value.isdigit():
            sys.exit(f"--dim expects NAME=VALUE, got {spec!r}")
        dims[name] = int(value)

    def on_upload(sent, total):
        if sent == total:
            print(f"uploaded {total} bytes", file=sys.stderr)

    def on_event(event):
        p = event.progress
        # pass_index counts from 0 and names the pass about to run.
        shown = min(p.pass_index + 1, p.pass_count)
        round_ = f" round {p.round}," if p.round else ""
        where = f"{round_} pass {shown}/{p.pass_count} {p.pass_name}" if p.pass_count else ""
        if not where and p.stage and event.state not in TERMINAL_STATES:
            where = f" ({p.stage})"
        print(f"job {event.job_id}: {state_name(event.state)}{where}", file=sys.stderr)

    with Client(args.server, tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key,
                token=args.token) as client:
        try:
            job = client.optimize(args.model, args.out, report_path=args.report,
                                  on_event=on_event, on_upload=on_upload, level=args.level,
                                  target=args.target, dims=dims, verify=not args.no_verify,
                                  fresh=args.fresh)
        except JobFailed as e:
            print(f"optimization failed: {e}", file=sys.stderr)
            verification = e.job.report.verification_status
            print(json.dumps({"job_id": e.job.id, "state": state_name(e.job.state),
                              "error": e.code, "verification": verification}))
            return 1 if verification == "failed" else 2
        except GraphoptError as e:
            print(f"graphopt-server at {client.target}: {e}", file=sys.stderr)
            return 2
        except OSError as e:
            print(f"{e}", file=sys.stderr)
            return 2

    r = job.report
    print(json.dumps({
        "job_id": job.id,
        "state": state_name(job.state),
        "artifact": args.out,
        "artifact_digest": job.artifact_digest,
        "nodes_before": r.nodes_before,
        "nodes_after": r.nodes_after,
        "verification": r.verification_status,
        "cached_from_job_id": job.cached_from_job_id,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
