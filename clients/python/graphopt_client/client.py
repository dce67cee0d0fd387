"""A small, synchronous client for graphopt-server's OptimizerService."""

import hashlib
import os
import pathlib

import grpc

from graphopt_client import _stubs

pb, pb_grpc = _stubs.load()

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
TERMINAL_STATES = (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED)
CHUNK_BYTES = 1 << 20


class GraphoptError(Exception):
    """A failed call: `code` is the gRPC status code name ("NOT_FOUND"), `message` the reason."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @classmethod
    def from_rpc(cls, error):
        return cls(error.code().name, error.details() or str(error))


class JobFailed(GraphoptError):
    """The job ended FAILED or CANCELLED; `job` is the finished Job message."""

    def __init__(self, job):
        state = pb.JobState.Name(job.state)
        super().__init__(job.error.code or state, job.error.message or f"job {job.id} {state}")
        self.job = job


def state_name(state):
    """JOB_STATE_SUCCEEDED -> "succeeded"."""
    return pb.JobState.Name(state).removeprefix("JOB_STATE_").lower()


def _sha256_of(path):
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


class _TokenInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                        grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds "authorization: Bearer TOKEN" to every call (plaintext and TLS channels alike)."""

    def __init__(self, token):
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, details):
        metadata = list(details.metadata or []) + [self._header]
        return details._replace(metadata=metadata) if hasattr(details, "_replace") else \
            _CallDetails(details.method, details.timeout, metadata, details.credentials,
                         getattr(details, "wait_for_ready", None),
                         getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


class Client:
    """Connects to graphopt-server at `target` ("host:port"; default $GRAPHOPT_SERVER or
    127.0.0.1:50051). Unary calls time out after `timeout` seconds; streams have no deadline.

    Security: `tls_ca` (PEM file of the CA that signed the server's certificate) connects with
    TLS; `tls_cert`/`tls_key` add a client certificate (mutual TLS); `token` (default
    $GRAPHOPT_TOKEN) is sent as "authorization: Bearer TOKEN" on every call.

        with Client("127.0.0.1:50051") as c:
            job = c.optimize("model.onnx", "model.opt.onnx", level="extended")
    """

    def __init__(self, target=None, timeout=60.0, tls_ca=None, tls_cert=None, tls_key=None,
                 token=None):
        self.target = target or os.environ.get("GRAPHOPT_SERVER") or "127.0.0.1:50051"
        self.timeout = timeout
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
        channel = self._channel
        if token:
            channel = grpc.intercept_channel(channel, _TokenInterceptor(token))
        self._stub = pb_grpc.OptimizerServiceStub(channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _unary(self, method, request):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise GraphoptError.from_rpc(e) from None

    # --- models ---------------------------------------------------------------------------

    def upload(self, path, kind="model", on_progress=None):
        """Uploads a file and returns its Model (digest "sha256:..."). `kind` is "model" or
        "external_data"; on_progress(sent_bytes, total_bytes) is called per chunk."""
        path = pathlib.Path(path)
        size = path.stat().st_size
        metadata = pb.UploadModelRequest.Metadata(
            file_name=path.name,
            declared_size=size,
            sha256=_sha256_of(path),
            kind=pb.FILE_KIND_EXTERNAL_DATA if kind == "external_data" else pb.FILE_KIND_ONNX_MODEL)

        def requests():
            yield pb.UploadModelRequest(metadata=metadata)
            sent = 0
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(CHUNK_BYTES), b""):
                    sent += len(block)
                    yield pb.UploadModelRequest(chunk=block)
                    if on_progress:
                        on_progress(sent, size)

        try:
            return self._stub.UploadModel(requests())
        except grpc.RpcError as e:
            raise GraphoptError.from_rpc(e) from None

    # --- jobs -----------------------------------------------------------------------------

    def create_job(self, model_digest, level="basic", target="", dims=None, enable=(),
                   disable=(), verify=True, atol=None, rtol=None, priority=0, fresh=False,
                   idempotency_key="", external_data=None):
        """Queues a job (or returns the cached result of an identical one unless `fresh`)."""
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
                                      idempotency_key=idempotency_key,
                                      external_data=dict(external_data or {}))
        return self._unary(self._stub.CreateJob, request)

    def get_job(self, job_id):
        return self._unary(self._stub.GetJob, pb.GetJobRequest(job_id=job_id))

    def cancel_job(self, job_id):
        return self._unary(self._stub.CancelJob, pb.CancelJobRequest(job_id=job_id))

    def list_jobs(self, state=None, limit=50):
        """Yields up to `limit` jobs, newest first; `state` is e.g. "running"."""
        request = pb.ListJobsRequest(state=_STATES[state] if state else 0)
        count = 0
        while count < limit:
            request.page_size = min(500, limit - count)
            page = self._unary(self._stub.ListJobs, request)
            for job in page.jobs:
                if count == limit:
                    return
                count += 1
                yield job
            if not page.next_page_token or not page.jobs:
                return
            request.page_token = page.next_page_token

    def watch(self, job_id):
        """Yields JobEvents: first a snapshot of the job, then every change until it ends."""
        try:
            for event in self._stub.WatchJob(pb.WatchJobRequest(job_id=job_id)):
                yield event
                if event.state in TERMINAL_STATES and event.type != event.TYPE_UNSPECIFIED:
                    return
        except grpc.RpcError as e:
            raise GraphoptError.from_rpc(e) from None

    def wait(self, job_id, on_event=None):
        """Blocks until the job ends and returns the final Job; raises JobFailed unless it
        succeeded. on_event(JobEvent) sees every event (progress: pass k of n)."""
        job = None
        for event in self.watch(job_id):
            if on_event:
                on_event(event)
            if event.HasField("job"):
                job = event.job
        if job is None or job.state not in TERMINAL_STATES:
            job = self.get_job(job_id)  # the stream ended early (server restarting)
        if job.state != pb.JOB_STATE_SUCCEEDED:
            raise JobFailed(job)
        return job

    # --- artifacts ------------------------------------------------------------------------

    def download(self, job_id, path, kind="model"):
        """Writes the job's optimized model (kind="model") or report JSON (kind="report") to
        `path` through a temporary file; returns the number of bytes."""
        request = pb.DownloadArtifactRequest(
            job_id=job_id,
            kind=pb.ARTIFACT_KIND_REPORT if kind == "report" else pb.ARTIFACT_KIND_MODEL)
        path = pathlib.Path(path)
        partial = path.with_name(path.name + ".part")
        total, received = None, 0
        try:
            with open(partial, "wb") as out:
                for chunk in self._stub.DownloadArtifact(request):
                    if total is None:
                        total = chunk.total_size
                    if chunk.offset != received:
                        raise GraphoptError("DATA_LOSS", f"chunk at {chunk.offset}, expected {received}")
                    out.write(chunk.data)
                    received += len(chunk.data)
            if total is not None and received != total:
                raise GraphoptError("DATA_LOSS", f"received {received} of {total} bytes")
            os.replace(partial, path)
        except grpc.RpcError as e:
            raise GraphoptError.from_rpc(e) from None
        finally:
            if partial.exists():
                partial.unlink()
        return received

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
