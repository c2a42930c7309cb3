#!/usr/bin/python3
"""An example movierec client in Python: how a non-C++ service calls Recommend.

The stubs are generated from the repository's proto/ with grpc_tools.protoc
when the client starts (into a temporary directory), so they always match
the API; a service of your own would generate them once at build time with
the same command:

    python3 -m grpc_tools.protoc -I proto --python_out=OUT \
        --grpc_python_out=OUT proto/movierec/v1/recommender.proto

Debian 12 packages: python3-grpcio, python3-grpc-tools (and grpc-proto for
the `health` command, which needs grpc/health/v1/health.proto).

    movierec_client.py [--target localhost:50051] recommend --user 138 [--count 10] [--json]
    movierec_client.py [--target localhost:50051] health [--service movierec.v1.Recommender]

Exit status: 0 on success; 1 when the call fails (the gRPC status code and
message are printed on stderr), or when `health` is not SERVING; 2 on bad
usage.
"""

import argparse
import importlib
import json
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROTO_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))
DEFAULT_GRPC_PROTO_DIR = "/usr/share/grpc-proto"  # Debian's grpc-proto
# The generated health stubs live under this package, not under `grpc`,
# which is grpcio's own package.
_GRPC_PROTO_PACKAGE = "movierec_grpc_proto"


def generate_stubs(out_dir, proto_dir, grpc_proto_dir=None):
    """Runs protoc on recommender.proto (and health.proto when
    `grpc_proto_dir` is given) into `out_dir`; raises on a protoc error."""
    jobs = [(["-I", proto_dir], "movierec/v1/recommender.proto")]
    if grpc_proto_dir:
        jobs.append(([f"-I{_GRPC_PROTO_PACKAGE}={grpc_proto_dir}"],
                     f"{_GRPC_PROTO_PACKAGE}/grpc/health/v1/health.proto"))
    for include, proto in jobs:
        code = protoc.main(["grpc_tools.protoc", *include,
                            f"--python_out={out_dir}",
                            f"--grpc_python_out={out_dir}", proto])
        if code != 0:
            raise RuntimeError(f"protoc failed ({code}) on {proto} with "
                               f"{' '.join(include)}")
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)


def recommend(channel, user_id, count, timeout):
    """Calls movierec.v1.Recommender/Recommend; returns the response or
    raises grpc.RpcError."""
    pb2 = importlib.import_module("movierec.v1.recommender_pb2")
    pb2_grpc = importlib.import_module("movierec.v1.recommender_pb2_grpc")
    stub = pb2_grpc.RecommenderStub(channel)
    return stub.Recommend(pb2.RecommendRequest(user_id=user_id, count=count),
                          timeout=timeout)


def health(channel, service, timeout):
    """Calls grpc.health.v1.Health/Check; returns the status name, e.g.
    'SERVING'."""
    prefix = f"{_GRPC_PROTO_PACKAGE}.grpc.health.v1"
    pb2 = importlib.import_module(f"{prefix}.health_pb2")
    pb2_grpc = importlib.import_module(f"{prefix}.health_pb2_grpc")
    stub = pb2_grpc.HealthStub(channel)
    response = stub.Check(pb2.HealthCheckRequest(service=service),
                          timeout=timeout)
    return pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def response_to_dict(response):
    return {
        "model_version": response.model_version,
        "fallback": response.fallback,
        "movies": [{"movie_id": m.movie_id, "title": m.title,
                    "score": m.score, "retrieval_score": m.retrieval_score}
                   for m in response.movies],
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Example Python client of movierec-server.")
    parser.add_argument("--target", default="localhost:50051",
                        help="server address HOST:PORT")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="deadline of the call, in seconds")
    parser.add_argument("--proto_dir", default=DEFAULT_PROTO_DIR,
                        help="the repository's proto/ folder")
    parser.add_argument("--grpc_proto_dir", default=DEFAULT_GRPC_PROTO_DIR,
                        help="folder holding grpc/health/v1/health.proto")
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("recommend", help="call Recommend")
    rec.add_argument("--user", required=True, help="MovieLens user id")
    rec.add_argument("--count", type=int, default=10,
                     help="how many movies (0 means 10; at most 100)")
    rec.add_argument("--json", action="store_true",
                     help="print the response as JSON")
    check = commands.add_parser("health", help="call grpc.health.v1 Check")
    check.add_argument("--service", default="movierec.v1.Recommender",
                       help='service name; "" for the whole server')
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="movierec-stubs-") as stubs:
        generate_stubs(stubs, args.proto_dir,
                       args.grpc_proto_dir if args.command == "health" else None)
        with grpc.insecure_channel(args.target) as channel:
            try:
                if args.command == "health":
                    status = health(channel, args.service, args.timeout)
                    print(status)
                    return 0 if status == "SERVING" else 1
                response = recommend(channel, args.user, args.count,
                                     args.timeout)
            except grpc.RpcError as error:
                print(f"error: {error.code().name}: {error.details()}",
                      file=sys.stderr)
                return 1
    if args.json:
        print(json.dumps(response_to_dict(response), indent=2))
        return 0
    note = " (unknown user: the most popular movies)" if response.fallback else ""
    print(f"model version {response.model_version}{note}")
    for rank, movie in enumerate(response.movies, 1):
        print(f"{rank:4d}  {movie.movie_id:>8}  {movie.title:<60}  "
              f"{movie.score:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
