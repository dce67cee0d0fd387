"""Builds graphopt-client with its gRPC stubs generated from the .proto files (pyproject.toml
holds the metadata). Generating here, rather than checking generated code in, keeps the stubs
and the server's API from drifting apart: they come from the same files at every build."""

import importlib.util
import pathlib

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent


def _stubs_module():
    # Loaded by path: importing the package itself would need the stubs it is about to build.
    spec = importlib.util.spec_from_file_location("_graphopt_stubs",
                                                  HERE / "graphopt_client" / "_stubs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithStubs(build_py):
    def run(self):
        super().run()
        out = pathlib.Path(self.build_lib) / "graphopt_client" / "_gen"
        _stubs_module().generate_stubs(out)
        self.announce(f"generated gRPC stubs into {out}", level=2)


setup(cmdclass={"build_py": BuildPyWithStubs})
