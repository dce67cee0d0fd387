"""Checks of graphopt_client's helpers against a running server (run by python_client_test.cc).

usage: python_client_checks.py HOST:PORT MODEL.onnx TMPDIR
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python"))

import graphopt_client as g  # noqa: E402


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def main(server, model, tmp):
    with g.Client(server) as c:
        # Content-addressed uploads: the same bytes give the same digest.
        sent = []
        first = c.upload(model, on_progress=lambda done, total: sent.append((done, total)))
        second = c.upload(model)
        check(first.digest == second.digest and first.digest.startswith("sha256:"), "digest")
        check(first.size_bytes == os.path.getsize(model), "size")
        check(sent and sent[-1][0] == sent[-1][1] == first.size_bytes, f"progress {sent[-3:]}")

        # A job through create/watch/wait/download.
        job = c.create_job(first.digest, level="basic", fresh=True, priority=3)
        check(job.options.priority == 3, "priority")
        events = []
        done = c.wait(job.id, on_event=events.append)
        check(done.state == g.pb.JOB_STATE_SUCCEEDED, g.state_name(done.state))
        check(events[0].type == g.pb.JobEvent.TYPE_SNAPSHOT, "snapshot first")
        check(events[-1].state == g.pb.JOB_STATE_SUCCEEDED, "ends succeeded")
        check(any(e.type == g.pb.JobEvent.TYPE_PASS for e in events) or
              events[0].state == g.pb.JOB_STATE_SUCCEEDED, "pass events")
        out = os.path.join(tmp, "out.onnx")
        size = c.download(job.id, out)
        check(size == os.path.getsize(out) == done.artifact_size_bytes, "download size")
        check(not os.path.exists(out + ".part"), "no partial file left")
        report = os.path.join(tmp, "report.json")
        c.download(job.id, report, kind="report")
        check(open(report).read().lstrip().startswith("{"), "report is JSON")

        # Listing and filtering.
        ids = [j.id for j in c.list_jobs(state="succeeded", limit=500)]
        check(job.id in ids, "listed")
        check(all(j.state == g.pb.JOB_STATE_QUEUED for j in c.list_jobs(state="queued")),
              "filtered")
        check(len(list(c.list_jobs(limit=1))) == 1, "limit")

        # Errors carry the gRPC code name.
        try:
            c.get_job("job-does-not-exist")
            check(False, "NOT_FOUND expected")
        except g.GraphoptError as e:
            check(e.code == "NOT_FOUND", e.code)
            check(e.reason == "JOB_NOT_FOUND" and e.domain == "graphopt.dev", e.reason)
            check(e.request_id == c.last_request_id != "", "request id")
        # The server's google.rpc details, decoded: the field at fault, in the server's words.
        try:
            c.create_job(first.digest, target="ort-cpu")
            check(False, "INVALID_ARGUMENT expected")
        except g.GraphoptError as e:
            check(e.code == "INVALID_ARGUMENT", e.code)
            check(e.reason == "UNKNOWN_TARGET", e.reason)
            check(e.field_violations == [("options.target", e.message)], e.field_violations)
            check("unknown target 'ort-cpu'" in e.message, e.message)
            print(f"request id {e.request_id}")
        try:
            c.create_job("sha256:" + "0" * 64)
            check(False, "NOT_FOUND expected for an unknown model")
        except g.GraphoptError as e:
            check(e.code == "NOT_FOUND", e.code)
        try:
            c.cancel_job(job.id)
            check(False, "FAILED_PRECONDITION expected")
        except g.GraphoptError as e:
            check(e.code == "FAILED_PRECONDITION", e.code)
        try:
            c.create_job(first.digest, level="turbo")
            check(False, "ValueError expected")
        except ValueError:
            pass
    print("all checks passed")


if __name__ == "__main__":
    main(*sys.argv[1:4])
