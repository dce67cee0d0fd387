"""Generates and loads the Python gRPC stubs of graphopt's API and of the google.rpc error
details it sends.

An installed package carries them in graphopt_client/_gen/, generated while it was built
(setup.py). Run from a checkout without installing, they are generated on first use into a cache
folder keyed by the protos' content (or into $GRAPHOPT_STUBS_DIR). Either way they come from the
repository's proto/ folder, so they match the server built from the same tree.

This module imports nothing of the package: setup.py loads it by path.
"""

import hashlib
import importlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

PROTOS = ("graphopt/v1/optimizer.proto", "google/rpc/status.proto",
          "google/rpc/error_details.proto")
_HERE = pathlib.Path(__file__).resolve().parent
_MARKER = pathlib.Path("graphopt") / "v1" / "optimizer_pb2_grpc.py"


def proto_root():
    """The folder that holds graphopt/v1/optimizer.proto and google/rpc/*.proto."""
    candidates = []
    if os.environ.get("GRAPHOPT_PROTO_DIR"):
        candidates.append(pathlib.Path(os.environ["GRAPHOPT_PROTO_DIR"]))
    candidates.append(_HERE.parents[2] / "proto")  # the repository: clients/python/graphopt_client
    for root in candidates:
        if all((root / p).is_file() for p in PROTOS):
            return root
    raise FileNotFoundError(
        "cannot find graphopt/v1/optimizer.proto and google/rpc/*.proto; set GRAPHOPT_PROTO_DIR "
        "to the repository's proto/ folder")


def _include_dirs():
    """Folders holding google/protobuf/*.proto (the system's, else grpc_tools' copy)."""
    dirs = [pathlib.Path("/usr/include")]
    try:
        import grpc_tools

        dirs.append(pathlib.Path(grpc_tools.__file__).parent / "_proto")
    except ImportError:
        pass
    return [d for d in dirs if (d / "google" / "protobuf" / "timestamp.proto").is_file()]


def generate_stubs(out_dir):
    """Writes the *_pb2.py and *_pb2_grpc.py modules of PROTOS under out_dir."""
    root = proto_root()
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [f"-I{root}"] + [f"-I{d}" for d in _include_dirs()]
    args += [f"--python_out={out_dir}", f"--grpc_python_out={out_dir}"]
    args += [str(root / p) for p in PROTOS]
    # The API uses proto3 `optional` (protoc >= 3.15). Debian 12's grpc_tools bundles protoc
    # 3.5, which rejects it, so the system protoc with gRPC's Python plugin comes first
    # (Debian: protobuf-compiler, protobuf-compiler-grpc).
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if protoc and plugin:
        result = subprocess.run([protoc, f"--plugin=protoc-gen-grpc_python={plugin}"] + args,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"protoc failed:\n{result.stderr}")
    else:
        from grpc_tools import protoc as grpc_protoc

        if grpc_protoc.main(["grpc_tools.protoc"] + args) != 0:
            raise RuntimeError("grpc_tools.protoc failed (it needs protoc >= 3.15 for proto3 "
                               "optional fields; install protobuf-compiler-grpc)")
    # Packages for the generated folders (google/ stays a namespace package: protobuf owns it).
    for package in ("graphopt", "graphopt/v1"):
        (out_dir / package / "__init__.py").touch()


def _cache_dir():
    root = proto_root()
    digest = hashlib.sha256(b"".join((root / p).read_bytes() for p in PROTOS)).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "graphopt_client" / digest


def _generated_dir():
    built = _HERE / "_gen"  # an installed package
    if (built / _MARKER).is_file():
        return built
    target = pathlib.Path(os.environ["GRAPHOPT_STUBS_DIR"]) if os.environ.get(
        "GRAPHOPT_STUBS_DIR") else _cache_dir()
    if not (target / _MARKER).is_file():
        # Generated beside the target and renamed, so concurrent first uses never see half.
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=".stubs-"))
        try:
            generate_stubs(scratch)
            try:
                os.rename(scratch, target)
            except OSError:
                if not (target / _MARKER).is_file():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def load():
    """Returns the modules (optimizer_pb2, optimizer_pb2_grpc, status_pb2, error_details_pb2)."""
    folder = str(_generated_dir())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return tuple(importlib.import_module(m) for m in (
        "graphopt.v1.optimizer_pb2", "graphopt.v1.optimizer_pb2_grpc", "google.rpc.status_pb2",
        "google.rpc.error_details_pb2"))
