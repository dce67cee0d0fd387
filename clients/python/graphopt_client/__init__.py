"""Python client of graphopt-server: upload ONNX models, run optimization jobs, download the
optimized model and its report. See clients/python/README.md."""

from graphopt_client.client import (TERMINAL_STATES, Client, GraphoptError, JobFailed, pb,
                                    pb_grpc, state_name)

__all__ = ["Client", "GraphoptError", "JobFailed", "TERMINAL_STATES", "pb", "pb_grpc",
           "state_name"]
