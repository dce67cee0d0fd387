"""A synchronous, typed client for graphopt-server's OptimizerService.

Every call carries a deadline, an `x-request-id` (the server logs it with the call) and, when
configured, a bearer token. Calls that failed with UNAVAILABLE, or with a RetryInfo telling when
to come back (a full queue), are retried with exponential backoff and jitter; `wait()` re-opens
its WatchJob stream when a replica dies and carries on from the last state it saw.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import pathlib
import random
import time
import uuid
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import grpc

from graphopt_client import _stubs

pb, pb_grpc, status_pb2, error_details_pb2 = _stubs.load()

_LEVELS = {
    "disabled": pb.LEVEL_DISABLED,
    "basic": pb.LEVEL_BASIC,
    "extended": pb.LEVEL_EXTENDED,
    "layout": pb.LEVEL_LAYOUT,
    "all": pb.LEVEL_ALL,
}
_STATES = {
    "queued": pb.JOB_STATE_QUEUED,
    "running": pb.JOB_STATE_RUNNING,
    "succeeded": pb.JOB_STATE_SUCCEEDED,
    "failed": pb.JOB_STATE_FAILED,
    "cancelled": pb.JOB_STATE_CANCELLED,
}
_ARTIFACTS = {
    "model": pb.ARTIFACT_KIND_MODEL,
    "report": pb.ARTIFACT_KIND_REPORT,
    "report_html": pb.ARTIFACT_KIND_REPORT_HTML,
}
TERMINAL_STATES = (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED)
CHUNK_BYTES = 1 << 20
_DETAILS_KEY = "grpc-status-details-bin"


class GraphoptError(Exception):
    """Any failed call. `code`: the gRPC status code name ("NOT_FOUND"); `message`: the server's
    words; and the decoded google.rpc details when the server sent them: `reason`
    ("QUEUE_FULL"), `domain` ("graphopt.dev"), `metadata` (dict), `field_violations` (list of
    (field, description)), `retry_delay` (seconds, or None)."""

    def __init__(self, code: str, message: str, reason: str = "", domain: str = "",
                 metadata: Optional[Dict[str, str]] = None,
                 field_violations: Optional[List[Tuple[str, str]]] = None,
                 retry_delay: Optional[float] = None, request_id: str = ""):
        text = f"{code}: {message}"
        extras = [reason] if reason else []
        extras += [f"field {f}" for f, _ in field_violations or [] if f]
        if retry_delay is not None:
            extras.append(f"retry after {retry_delay:g}s")
        super().__init__(text + (f" [{', '.join(extras)}]" if extras else ""))
        self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata = dict(metadata or {})
        self.field_violations = list(field_violations or [])
        self.retry_delay = retry_delay
        self.request_id = request_id

    @classmethod
    def from_rpc(cls, error: grpc.RpcError, request_id: str = "") -> "GraphoptError":
        code = error.code().name if hasattr(error, "code") and error.code() else "UNKNOWN"
        message = (error.details() if hasattr(error, "details") else "") or \
            "(the server gave no message)"
        kwargs = {}
        trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
        for key, value in trailers or ():
            if key == _DETAILS_KEY:
                kwargs = _decode_details(value)
        return cls(code, message, request_id=request_id, **kwargs)


def _decode_details(blob: bytes) -> dict:
    status = status_pb2.Status()
    try:
        status.ParseFromString(blob)
    except Exception:  # a malformed trailer must not hide the error itself
        return {}
    out: dict = {}
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        bad_request = error_details_pb2.BadRequest()
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            out.update(reason=info.reason, domain=info.domain, metadata=dict(info.metadata))
        elif detail.Unpack(bad_request):
            out["field_violations"] = [(v.field, v.description)
                                       for v in bad_request.field_violations]
        elif detail.Unpack(retry):
            out["retry_delay"] = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return out


class JobFailed(GraphoptError):
    """The job ended FAILED or CANCELLED; `job` is the finished Job message."""

    def __init__(self, job):
        state = pb.JobState.Name(job.state)
        super().__init__(job.error.code or state, job.error.message or f"job {job.id} {state}")
        self.job = job


def state_name(state: int) -> str:
    """JOB_STATE_SUCCEEDED -> "succeeded"."""
    return pb.JobState.Name(state).removeprefix("JOB_STATE_").lower()


def _sha256_of(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            h.update(block)
    return h.hexdigest()


def _read_pem(path, what):
    if path is None:
        return None
    data = pathlib.Path(path).read_bytes()
    if b"-----BEGIN" not in data:
        raise ValueError(f"{what} {path} is not a PEM file")
    return data


def _timestamp(value: Union[None, float, int, datetime.datetime], out) -> None:
    """Sets a Timestamp field from a datetime (naive = UTC) or seconds since the epoch."""
    if value is None:
        return
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        value = value.timestamp()
    out.seconds = int(value)
    out.nanos = int(round((value - int(value)) * 1e9))


class Client:
    """Connects to graphopt-server at `target` ("host:port"; default $GRAPHOPT_SERVER or
    127.0.0.1:50051).

    Deadlines: unary calls `timeout` seconds; uploads and downloads `transfer_timeout`; each
    WatchJob stream `watch_timeout` (wait() re-opens it until the job ends or its own timeout).
    Retries: up to `retries` more attempts on UNAVAILABLE (and on RESOURCE_EXHAUSTED when the
    server says when to retry), sleeping `backoff` * 2^n seconds (capped at `max_backoff`, full
    jitter) or the server's retry delay, whichever is longer.

    Security: `tls_ca` (PEM file of the CA that signed the server's certificate) connects with
    TLS; `tls_cert`/`tls_key` add a client certificate (mutual TLS); `token` (default
    $GRAPHOPT_TOKEN) is sent as "authorization: Bearer TOKEN" on every call.
    """

    def __init__(self, target: Optional[str] = None, timeout: float = 60.0,
                 tls_ca: Optional[str] = None, tls_cert: Optional[str] = None,
                 tls_key: Optional[str] = None, token: Optional[str] = None, retries: int = 5,
                 backoff: float = 0.2, max_backoff: float = 10.0,
                 transfer_timeout: float = 3600.0, watch_timeout: float = 600.0):
        self.target = target or os.environ.get("GRAPHOPT_SERVER") or "127.0.0.1:50051"
        self.timeout = timeout
        self.transfer_timeout = transfer_timeout
        self.watch_timeout = watch_timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        options = [("grpc.max_receive_message_length", 64 << 20)]
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if tls_ca is not None or tls_cert is not None:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read_pem(tls_ca, "tls_ca"),
                private_key=_read_pem(tls_key, "tls_key"),
                certificate_chain=_read_pem(tls_cert, "tls_cert"))
            self._channel = grpc.secure_channel(self.target, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(self.target, options=options)
        token = token if token is not None else os.environ.get("GRAPHOPT_TOKEN")
        self._auth = [("authorization", f"Bearer {token}")] if token else []
        self._stub = pb_grpc.OptimizerServiceStub(self._channel)
        self.last_request_id = ""

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------------

    def _metadata(self, request_id: str):
        return [("x-request-id", request_id)] + self._auth

    def _new_request_id(self) -> str:
        # One id per logical call, kept across its retries, so the server's audit lines of the
        # attempts share it.
        self.last_request_id = uuid.uuid4().hex[:16]
        return self.last_request_id

    def _delay(self, attempt: int, error: GraphoptError) -> Optional[float]:
        """Seconds to sleep before retrying `error`, or None when it must not be retried."""
        if attempt >= self.retries:
            return None
        if error.code == "UNAVAILABLE" or (error.code == "RESOURCE_EXHAUSTED" and
                                           error.retry_delay is not None):
            jitter = random.uniform(0, min(self.max_backoff, self.backoff * (2 ** attempt)))
            return max(jitter, error.retry_delay or 0.0)
        return None

    def _retrying(self, call: Callable[[str], object]):
        """Runs call(request_id), retrying what _delay allows; raises GraphoptError."""
        request_id = self._new_request_id()
        attempt = 0
        while True:
            try:
                return call(request_id)
            except grpc.RpcError as e:
                error = GraphoptError.from_rpc(e, request_id)
            delay = self._delay(attempt, error)
            if delay is None:
                raise error
            time.sleep(delay)
            attempt += 1

    def _unary(self, method, request, timeout: Optional[float] = None):
        return self._retrying(lambda rid: method(request, timeout=timeout or self.timeout,
                                                 metadata=self._metadata(rid)))

    # --- models ---------------------------------------------------------------------------

    def upload(self, path: Union[str, os.PathLike], name: str = "", version: str = "",
               labels: Optional[Mapping[str, str]] = None, kind: str = "model",
               on_progress: Optional[Callable[[int, int], None]] = None):
        """Uploads a file and returns its Model (digest "sha256:..."). `name`/`version` give the
        model a human identity and `labels` select it later (list_models); `kind` is "model" or
        "external_data"; on_progress(sent_bytes, total_bytes) is called per chunk. Uploads are
        content-addressed, so a retried upload stores nothing twice."""
        path = pathlib.Path(path)
        size = path.stat().st_size
        metadata = pb.UploadModelRequest.Metadata(
            file_name=path.name, declared_size=size, sha256=_sha256_of(path),
            kind=pb.FILE_KIND_EXTERNAL_DATA if kind == "external_data" else pb.FILE_KIND_ONNX_MODEL,
            name=name, version=version, labels=dict(labels or {}))

        def requests():
            yield pb.UploadModelRequest(metadata=metadata)
            sent = 0
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(CHUNK_BYTES), b""):
                    sent += len(block)
                    yield pb.UploadModelRequest(chunk=block)
                    if on_progress:
                        on_progress(sent, size)

        return self._retrying(lambda rid: self._stub.UploadModel(
            requests(), timeout=self.transfer_timeout, metadata=self._metadata(rid)))

    def get_model(self, digest: str):
        return self._unary(self._stub.GetModel, pb.GetModelRequest(digest=digest))

    def list_models(self, name: str = "", label_selector: str = "",
                    page_size: int = 50) -> Iterator:
        """Yields every matching Model, newest first, fetching pages as needed."""
        request = pb.ListModelsRequest(name=name, label_selector=label_selector,
                                       page_size=page_size)
        while True:
            page = self._unary(self._stub.ListModels, request)
            yield from page.models
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def delete_model(self, digest: str) -> int:
        """Deletes a model no queued or running job uses; returns the bytes freed at once."""
        return self._unary(self._stub.DeleteModel,
                           pb.DeleteModelRequest(digest=digest)).reclaimed_bytes

    # --- jobs -----------------------------------------------------------------------------

    def create_job(self, model_digest: str, level: str = "basic", target: str = "",
                   dims: Optional[Mapping[str, int]] = None, enable: Iterable[str] = (),
                   disable: Iterable[str] = (), verify: bool = True,
                   atol: Optional[float] = None, rtol: Optional[float] = None,
                   priority: int = 0, fresh: bool = False, idempotency_key: str = "",
                   external_data: Optional[Mapping[str, str]] = None,
                   labels: Optional[Mapping[str, str]] = None):
        """Queues a job (or returns the cached result of an identical one unless `fresh`).
        `target` is a profile name (`graphopt targets`: generic, cpu, cuda, ...). Without an
        `idempotency_key` one is made up, so a retry after a lost reply finds the same job."""
        if level not in _LEVELS:
            raise ValueError(f"unknown level {level!r}; one of {', '.join(_LEVELS)}")
        options = pb.JobOptions(level=_LEVELS[level], target=target, dims=dict(dims or {}),
                                enable_passes=list(enable), disable_passes=list(disable),
                                priority=priority)
        if not verify:
            options.verify = False
        if atol is not None:
            options.atol = atol
        if rtol is not None:
            options.rtol = rtol
        request = pb.CreateJobRequest(model_digest=model_digest, options=options, fresh=fresh,
                                      idempotency_key=idempotency_key or uuid.uuid4().hex,
                                      external_data=dict(external_data or {}),
                                      labels=dict(labels or {}))
        return self._unary(self._stub.CreateJob, request)

    def get_job(self, job_id: str):
        return self._unary(self._stub.GetJob, pb.GetJobRequest(job_id=job_id))

    def cancel_job(self, job_id: str):
        return self._unary(self._stub.CancelJob, pb.CancelJobRequest(job_id=job_id))

    def delete_job(self, job_id: str) -> int:
        """Deletes a finished job; returns the artifact bytes freed at once."""
        return self._unary(self._stub.DeleteJob,
                           pb.DeleteJobRequest(job_id=job_id)).reclaimed_bytes

    def list_jobs(self, state: Optional[str] = None, label_selector: str = "",
                  model_name: str = "",
                  since: Union[None, float, datetime.datetime] = None,
                  until: Union[None, float, datetime.datetime] = None,
                  limit: Optional[int] = None, page_size: int = 50) -> Iterator:
        """Yields jobs newest first, page after page: `state` ("running"), `label_selector`
        ("team=vision,stage!=canary"), `model_name`, created in [since, until) (datetimes or
        epoch seconds); at most `limit` when given."""
        if state is not None and state not in _STATES:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(_STATES)}")
        request = pb.ListJobsRequest(state=_STATES[state] if state else 0,
                                     label_selector=label_selector, model_name=model_name,
                                     page_size=page_size)
        _timestamp(since, request.created_after)
        _timestamp(until, request.created_before)
        count = 0
        while True:
            page = self._unary(self._stub.ListJobs, request)
            for job in page.jobs:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield job
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def watch(self, job_id: str, timeout: Optional[float] = None) -> Iterator:
        """Yields the JobEvents of one WatchJob stream: a snapshot, then every change until the
        job ends (or the stream's deadline, `timeout` or watch_timeout seconds). No retries:
        wait() is the resumable form."""
        request_id = self._new_request_id()
        try:
            for event in self._stub.WatchJob(pb.WatchJobRequest(job_id=job_id),
                                             timeout=timeout or self.watch_timeout,
                                             metadata=self._metadata(request_id)):
                yield event
                if event.state in TERMINAL_STATES and event.type != event.TYPE_UNSPECIFIED:
                    return
        except grpc.RpcError as e:
            raise GraphoptError.from_rpc(e, request_id) from None

    def wait(self, job_id: str, on_event: Optional[Callable[[object], None]] = None,
             timeout: Optional[float] = None):
        """Blocks until the job ends and returns the final Job; raises JobFailed unless it
        succeeded, GraphoptError("DEADLINE_EXCEEDED") after `timeout` seconds. When the stream
        breaks (the replica died, a deadline passed) it is re-opened with backoff; the new
        stream's snapshot is passed on only if it differs from the last event seen, so
        on_event sees one continuous history."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None  # (state, progress) of the last event passed on
        failures = 0
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise GraphoptError("DEADLINE_EXCEEDED", f"job {job_id} did not end within "
                                    f"{timeout:g}s", request_id=self.last_request_id)
            stream_timeout = self.watch_timeout if remaining is None else min(
                self.watch_timeout, remaining)
            try:
                for event in self.watch(job_id, timeout=stream_timeout):
                    failures = 0
                    key = (event.state, event.progress.SerializeToString())
                    if event.type == event.TYPE_SNAPSHOT and key == last:
                        continue
                    last = key
                    if on_event:
                        on_event(event)
                    if event.state in TERMINAL_STATES and event.HasField("job"):
                        return self._finished(event.job)
            except GraphoptError as error:
                if error.code not in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED"):
                    raise
                if error.code == "UNAVAILABLE":
                    delay = self._delay(failures, error)
                    if delay is None:
                        raise
                    failures += 1
                    time.sleep(delay)
                continue
            # The stream ended without a terminal event (a server draining): ask, then resume.
            job = self.get_job(job_id)
            if job.state in TERMINAL_STATES:
                return self._finished(job)

    @staticmethod
    def _finished(job):
        if job.state != pb.JOB_STATE_SUCCEEDED:
            raise JobFailed(job)
        return job

    # --- artifacts ------------------------------------------------------------------------

    def download(self, job_id: str, path: Union[str, os.PathLike], kind: str = "model") -> int:
        """Writes the job's optimized model (kind="model"), report JSON ("report") or HTML
        report ("report_html") to `path` through a temporary file; returns the number of bytes.
        A broken transfer starts again (retries as for unary calls)."""
        if kind not in _ARTIFACTS:
            raise ValueError(f"unknown artifact kind {kind!r}; one of {', '.join(_ARTIFACTS)}")
        request = pb.DownloadArtifactRequest(job_id=job_id, kind=_ARTIFACTS[kind])
        path = pathlib.Path(path)
        partial = path.with_name(path.name + ".part")

        def attempt(request_id):
            total, received = None, 0
            digest = hashlib.sha256()
            expected = ""
            with open(partial, "wb") as out:
                for chunk in self._stub.DownloadArtifact(request, timeout=self.transfer_timeout,
                                                         metadata=self._metadata(request_id)):
                    if total is None:
                        total, expected = chunk.total_size, chunk.digest
                    if chunk.offset != received:
                        raise GraphoptError("DATA_LOSS",
                                            f"chunk at {chunk.offset}, expected {received}")
                    out.write(chunk.data)
                    digest.update(chunk.data)
                    received += len(chunk.data)
            if total is not None and received != total:
                raise GraphoptError("DATA_LOSS", f"received {received} of {total} bytes")
            if expected and expected != "sha256:" + digest.hexdigest():
                raise GraphoptError("DATA_LOSS", f"the artifact does not hash to {expected}")
            os.replace(partial, path)
            return received

        try:
            return self._retrying(attempt)
        finally:
            if partial.exists():
                partial.unlink()

    # --- all in one -----------------------------------------------------------------------

    def optimize(self, model_path, output_path, report_path=None, on_event=None,
                 on_upload=None, **job_options):
        """Uploads `model_path`, runs a job with `job_options` (see create_job), waits, and
        downloads the optimized model (and the report). Returns the finished Job; raises
        JobFailed (with the report downloaded, when there is one) if it did not succeed."""
        model = self.upload(model_path, on_progress=on_upload)
        job = self.create_job(model.digest, **job_options)
        try:
            job = self.wait(job.id, on_event=on_event)
        except JobFailed as failed:
            if report_path and failed.job.report_digest:
                self.download(failed.job.id, report_path, kind="report")
            raise
        self.download(job.id, output_path)
        if report_path:
            self.download(job.id, report_path, kind="report")
        return job
