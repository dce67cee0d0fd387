"""Finds or generates the Python gRPC stubs of proto/graphopt/v1/optimizer.proto.

The stubs are not checked in: they are generated with grpc_tools.protoc on first use into a
cache folder keyed by the proto's content (or into $GRAPHOPT_STUBS_DIR), so they always match
the proto next to this package. Pipelines that prefer generating them at build time run
`python3 -m graphopt_client.generate_stubs OUT_DIR` and put OUT_DIR on sys.path.
"""

import hashlib
import importlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

_PROTO_RELATIVE = pathlib.Path("graphopt") / "v1" / "optimizer.proto"


def proto_root():
    """The folder that holds graphopt/v1/optimizer.proto."""
    candidates = []
    if os.environ.get("GRAPHOPT_PROTO_DIR"):
        candidates.append(pathlib.Path(os.environ["GRAPHOPT_PROTO_DIR"]))
    here = pathlib.Path(__file__).resolve().parent
    candidates.append(here / "proto")  # a copy bundled into an installed package
    candidates.append(here.parents[2] / "proto")  # the repository: clients/python/graphopt_client
    for root in candidates:
        if (root / _PROTO_RELATIVE).is_file():
            return root
    raise FileNotFoundError(
        "cannot find graphopt/v1/optimizer.proto; set GRAPHOPT_PROTO_DIR to the folder "
        "that contains graphopt/ (the repository's proto/ folder)")


def _include_dirs():
    """Folders holding google/protobuf/timestamp.proto (grpc_tools' copy, else the system's)."""
    dirs = []
    try:
        import grpc_tools

        dirs.append(pathlib.Path(grpc_tools.__file__).parent / "_proto")
    except ImportError:
        pass
    dirs.append(pathlib.Path("/usr/include"))
    return [d for d in dirs if (d / "google" / "protobuf" / "timestamp.proto").is_file()]


def generate_stubs(out_dir):
    """Writes graphopt/v1/optimizer_pb2.py and optimizer_pb2_grpc.py under out_dir."""
    root = proto_root()
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    proto = str(root / _PROTO_RELATIVE)
    common = [f"-I{root}"] + [f"-I{d}" for d in _include_dirs()]
    common += [f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", proto]
    # The proto uses proto3 `optional` (protoc >= 3.15). Debian 12's grpc_tools bundles protoc
    # 3.5, which rejects it, so the system protoc with gRPC's Python plugin is preferred when
    # both are installed (Debian: protobuf-compiler, protobuf-compiler-grpc).
    system_protoc = shutil.which("protoc")
    plugin = shutil.which("grpc_python_plugin")
    if system_protoc and plugin:
        result = subprocess.run(
            [system_protoc, f"--plugin=protoc-gen-grpc_python={plugin}"] + common,
            capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"protoc failed on {proto}:\n{result.stderr}")
        return
    from grpc_tools import protoc

    if protoc.main(["grpc_tools.protoc"] + common) != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on {proto} (it needs protoc >= 3.15 for "
                           "proto3 optional fields; install protobuf-compiler-grpc)")


def _cache_dir():
    digest = hashlib.sha256((proto_root() / _PROTO_RELATIVE).read_bytes()).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "graphopt_client" / digest


def load():
    """Returns (optimizer_pb2, optimizer_pb2_grpc), generating them when needed."""
    try:  # already importable (generated at build time and on sys.path)
        return (importlib.import_module("graphopt.v1.optimizer_pb2"),
                importlib.import_module("graphopt.v1.optimizer_pb2_grpc"))
    except ImportError:
        pass
    target = pathlib.Path(os.environ["GRAPHOPT_STUBS_DIR"]) if os.environ.get(
        "GRAPHOPT_STUBS_DIR") else _cache_dir()
    if not (target / "graphopt" / "v1" / "optimizer_pb2_grpc.py").is_file():
        # Generate beside the target and rename, so concurrent first uses never see half a
        # package.
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=".stubs-"))
        try:
            generate_stubs(scratch)
            try:
                os.rename(scratch, target)
            except OSError:
                if not (target / "graphopt" / "v1" / "optimizer_pb2_grpc.py").is_file():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    sys.path.insert(0, str(target))
    return (importlib.import_module("graphopt.v1.optimizer_pb2"),
            importlib.import_module("graphopt.v1.optimizer_pb2_grpc"))
