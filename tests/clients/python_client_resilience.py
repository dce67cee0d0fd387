"""graphopt_client's retry, resume, deadline and request-id behaviour against a scripted
in-process gRPC server (run by python_client_test.cc): the failures a real server produces only
by dying at the right moment, produced on cue.

usage: python_client_resilience.py   (prints "all resilience checks passed")
"""

import os
import sys
import threading
import time
from concurrent import futures

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python"))

import grpc  # noqa: E402

import graphopt_client as g  # noqa: E402
from graphopt_client import client as client_module  # noqa: E402

pb = g.pb
rpc_status = client_module.status_pb2
details_pb2 = client_module.error_details_pb2


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def abort_with_details(context, code, message, reason, retry_seconds=None, field=None):
    status = rpc_status.Status(code=code.value[0], message=message)
    status.details.add().Pack(details_pb2.ErrorInfo(reason=reason, domain="graphopt.dev"))
    if field is not None:
        bad = details_pb2.BadRequest()
        bad.field_violations.add(field=field, description=message)
        status.details.add().Pack(bad)
    if retry_seconds is not None:
        retry = details_pb2.RetryInfo()
        retry.retry_delay.FromMilliseconds(int(retry_seconds * 1000))
        status.details.add().Pack(retry)
    context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
    context.abort(code, message)


class ScriptedService(g.pb_grpc.OptimizerServiceServicer):
    """Each method fails the first `fail_times[method]` calls, then answers."""

    def __init__(self):
        self.calls = {}  # method -> list of (request id, deadline seconds left or None)
        self.lock = threading.Lock()

    def _record(self, method, context):
        metadata = dict(context.invocation_metadata())
        with self.lock:
            self.calls.setdefault(method, []).append(
                (metadata.get("x-request-id"), context.time_remaining()))
            return len(self.calls[method])

    def CreateJob(self, request, context):
        n = self._record("CreateJob", context)
        if n == 1:
            abort_with_details(context, grpc.StatusCode.RESOURCE_EXHAUSTED,
                               "the job queue is full (1 jobs waiting); retry later",
                               "QUEUE_FULL", retry_seconds=0.3)
        if request.options.target == "ort-cpu":
            abort_with_details(context, grpc.StatusCode.INVALID_ARGUMENT,
                               "unknown target 'ort-cpu' (known: generic, cpu)",
                               "UNKNOWN_TARGET", field="options.target")
        return pb.Job(id="job-0000000000000001", state=pb.JOB_STATE_QUEUED,
                      idempotency_key=request.idempotency_key)

    def GetJob(self, request, context):
        n = self._record("GetJob", context)
        if n <= 2:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the server is shutting down")
        return pb.Job(id=request.job_id, state=pb.JOB_STATE_RUNNING)

    def WatchJob(self, request, context):
        n = self._record("WatchJob", context)
        running = pb.JobEvent(job_id=request.job_id, type=pb.JobEvent.TYPE_SNAPSHOT,
                              state=pb.JOB_STATE_RUNNING,
                              progress=pb.JobProgress(stage="optimizing", pass_index=1,
                                                      pass_count=4),
                              job=pb.Job(id=request.job_id, state=pb.JOB_STATE_RUNNING))
        yield running
        if n == 1:  # the replica dies mid-stream
            context.abort(grpc.StatusCode.UNAVAILABLE, "replica went away")
        done = pb.Job(id=request.job_id, state=pb.JOB_STATE_SUCCEEDED)
        yield pb.JobEvent(job_id=request.job_id, type=pb.JobEvent.TYPE_SUCCEEDED,
                          state=pb.JOB_STATE_SUCCEEDED, job=done)


def main():
    service = ScriptedService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    g.pb_grpc.add_OptimizerServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sleeps = []
    real_sleep = time.sleep
    client_module.time.sleep = lambda s: (sleeps.append(s), real_sleep(s))
    try:
        with g.Client(f"127.0.0.1:{port}", retries=3, backoff=0.01, timeout=7,
                      watch_timeout=30) as c:
            # RESOURCE_EXHAUSTED with RetryInfo: retried after at least the server's delay, with
            # the same request id and idempotency key.
            job = c.create_job("sha256:" + "a" * 64, target="cpu")
            calls = service.calls["CreateJob"]
            check(len(calls) == 2, f"CreateJob attempts {len(calls)}")
            check(sleeps and sleeps[0] >= 0.3, f"slept {sleeps} before retrying a full queue")
            check(calls[0][0] and calls[0][0] == calls[1][0] == c.last_request_id,
                  f"request ids {calls}")
            check(job.idempotency_key, "an idempotency key is made up")
            check(all(0 < left <= 7.5 for _, left in calls), f"unary deadlines {calls}")

            # A refusal: decoded details, no retry.
            try:
                c.create_job("sha256:" + "a" * 64, target="ort-cpu")
                check(False, "INVALID_ARGUMENT expected")
            except g.GraphoptError as e:
                check(e.code == "INVALID_ARGUMENT", e.code)
                check(e.reason == "UNKNOWN_TARGET" and e.domain == "graphopt.dev", e.reason)
                check(e.field_violations == [("options.target", e.message)],
                      f"{e.field_violations}")
                check(e.retry_delay is None, "no retry delay")
            check(len(service.calls["CreateJob"]) == 3, "an invalid argument is not retried")

            # UNAVAILABLE: retried with growing backoff until it answers.
            sleeps.clear()
            check(c.get_job("job-x").state == pb.JOB_STATE_RUNNING, "get_job after retries")
            check(len(service.calls["GetJob"]) == 3 and len(sleeps) == 2, f"sleeps {sleeps}")

            # wait(): the first stream dies after its snapshot; the second one's snapshot says
            # the same and is not passed on again; the job's end is.
            events = []
            done = c.wait("job-0000000000000001", on_event=events.append)
            check(done.state == pb.JOB_STATE_SUCCEEDED, "waited to the end")
            check(len(service.calls["WatchJob"]) == 2, "the watch was re-opened")
            check([e.state for e in events] == [pb.JOB_STATE_RUNNING, pb.JOB_STATE_SUCCEEDED],
                  f"events {[e.state for e in events]}")
            check(all(left is not None and left <= 30.5 for _, left in service.calls["WatchJob"]),
                  "streams have deadlines")
            check(all(rid for rid, _ in service.calls["WatchJob"]), "streams carry request ids")

        # Retries end: a server that never answers is UNAVAILABLE after retries+1 attempts.
        sleeps.clear()
        with g.Client("127.0.0.1:1", retries=2, backoff=0.01, timeout=2) as dead:
            try:
                dead.get_job("job-x")
                check(False, "UNAVAILABLE expected")
            except g.GraphoptError as e:
                check(e.code == "UNAVAILABLE", e.code)
            check(len(sleeps) == 2, f"two retries, slept {sleeps}")
    finally:
        client_module.time.sleep = real_sleep
        server.stop(0)
    print("all resilience checks passed")


if __name__ == "__main__":
    main()
