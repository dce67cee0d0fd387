"""python3 -m graphopt_client.generate_stubs OUT_DIR: generate the gRPC stubs ahead of time."""

import sys

from graphopt_client._stubs import generate_stubs

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 -m graphopt_client.generate_stubs OUT_DIR")
    generate_stubs(sys.argv[1])
    print(f"wrote the graphopt.v1 and google.rpc stubs under {sys.argv[1]}")
