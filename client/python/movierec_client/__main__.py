"""movierec-pyclient: the Python client's command line.

    movierec-pyclient [--target localhost:50051] recommend --user 138 [--count 10] [--json]
    movierec-pyclient recommend --recent 50,181,258 --genres Comedy,Drama --min_year 1990
    movierec-pyclient similar --movie 50 --exclude 172,181
    movierec-pyclient batch --users 1,2,138 --count 5 --json
    movierec-pyclient health [--service movierec.v1.Recommender]

TLS: --tls_ca CA.pem (--tls alone: the system's roots), and for mutual TLS
--tls_cert and --tls_key. --round_robin balances over every address of the
target (e.g. dns:///movierec-headless:50051).

Exit status: 0 on success; 1 when the call fails (the gRPC status code and
message are printed on stderr: "error: CODE: message"), or when `health` is
not SERVING; 2 on bad usage.
"""

import argparse
import json
import sys

from . import recommender_pb2 as pb2
from .client import (DEFAULT_TARGET, DEFAULT_TIMEOUT, READINESS,
                     MovierecClient, MovierecError, to_dict)


def _list(text):
    return [item for item in text.split(",") if item]


def _add_filter_flags(parser):
    parser.add_argument("--count", type=int, default=10,
                        help="how many movies (0 means 10; at most 100)")
    parser.add_argument("--genres", type=_list, default=[],
                        help="comma-separated genre names, any one passes")
    parser.add_argument("--min_year", type=int, default=0,
                        help="earliest release year (inclusive)")
    parser.add_argument("--max_year", type=int, default=0,
                        help="latest release year (inclusive)")
    parser.add_argument("--exclude", type=_list, default=[],
                        help="comma-separated movie ids never to return")
    parser.add_argument("--json", action="store_true",
                        help="print the response as JSON (every field)")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="movierec-pyclient",
        description="Python client of movierec-server.")
    parser.add_argument("--target", default=DEFAULT_TARGET,
                        help="gRPC target, e.g. HOST:PORT or "
                        "dns:///movierec-headless:50051")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="deadline of the call, in seconds")
    parser.add_argument("--tls", action="store_true",
                        help="talk TLS (implied by any --tls_* file)")
    parser.add_argument("--tls_ca", help="PEM CA bundle the server's "
                        "certificate must chain to")
    parser.add_argument("--tls_cert", help="PEM client certificate (mutual "
                        "TLS)")
    parser.add_argument("--tls_key", help="PEM private key of --tls_cert")
    parser.add_argument("--server_name", help="name to check the server's "
                        "certificate against, when not the target's host")
    parser.add_argument("--round_robin", action="store_true",
                        help="balance calls over all addresses of the target")
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("recommend", help="call Recommend")
    rec.add_argument("--user", help="MovieLens user id")
    rec.add_argument("--recent", type=_list, default=[],
                     help="comma-separated movie ids the user watched "
                     "recently (a new visitor: no --user)")
    _add_filter_flags(rec)
    similar = commands.add_parser("similar", help="call SimilarMovies")
    similar.add_argument("--movie", required=True, help="MovieLens movie id")
    _add_filter_flags(similar)
    batch = commands.add_parser(
        "batch", help="call RecommendBatch, one request per user")
    batch.add_argument("--users", type=_list, required=True,
                       help="comma-separated MovieLens user ids")
    _add_filter_flags(batch)
    check = commands.add_parser("health", help="call grpc.health.v1 Check")
    check.add_argument("--service", default=READINESS,
                       help='service name; "" for the whole server')
    args = parser.parse_args(argv)
    if args.command == "recommend" and args.user is None and not args.recent:
        rec.error("give --user or --recent (or both)")
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls_cert and --tls_key go together")
    return args


def _print_movies(movies):
    for rank, movie in enumerate(movies, 1):
        print(f"{rank:4d}  {movie.movie_id:>8}  {movie.title:<60}  "
              f"{movie.score:.4f}")


def _print_recommendations(response):
    notes = {"PERSONALIZATION_POPULAR":
             " (unknown user: the most popular movies)",
             "PERSONALIZATION_RECENT_MOVIES":
             " (unknown user: from the recent movies)"}
    personalization = pb2.Personalization.Name(response.personalization)
    note = notes.get(personalization, "")
    if response.fallback and not note:
        note = notes["PERSONALIZATION_POPULAR"]
    print(f"model version {response.model_version}{note}")
    _print_movies(response.movies)


def run(client, args):
    """The command's call and output; its exit status."""
    filters = {"genres": args.__dict__.get("genres", []),
               "min_release_year": args.__dict__.get("min_year", 0),
               "max_release_year": args.__dict__.get("max_year", 0),
               "exclude_movie_ids": args.__dict__.get("exclude", [])}
    if args.command == "health":
        status = client.check_health(args.service)
        print(status)
        return 0 if status == "SERVING" else 1
    if args.command == "recommend":
        response = client.recommend(args.user or "", args.count,
                                    recent_movie_ids=args.recent, **filters)
    elif args.command == "similar":
        response = client.similar_movies(args.movie, args.count, **filters)
    else:
        response = client.recommend_batch(
            [dict(user_id=user, count=args.count, **filters)
             for user in args.users])
    if args.json:
        print(json.dumps(to_dict(response), indent=2))
    elif args.command == "recommend":
        _print_recommendations(response)
    elif args.command == "similar":
        print(f"model version {response.model_version}")
        _print_movies(response.movies)
    else:
        for user, answer in zip(args.users, response.responses):
            print(f"user {user}:")
            _print_recommendations(answer)
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with MovierecClient(
                args.target, timeout=args.timeout, tls=args.tls,
                root_certificates=args.tls_ca,
                certificate_chain=args.tls_cert, private_key=args.tls_key,
                server_name=args.server_name,
                round_robin=args.round_robin) as client:
            return run(client, args)
    except MovierecError as error:
        print(f"error: {error.code.name}: {error.details}", file=sys.stderr)
        return 1
    except OSError as error:  # an unreadable PEM file
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
