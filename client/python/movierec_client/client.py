"""MovierecClient: every RPC of movierec.v1.Recommender, and health checks.

Results are the generated protobuf messages (recommender_pb2), complete with
every field; to_dict() turns one into a dict through
google.protobuf.json_format. A failed call raises MovierecError carrying the
gRPC status code and message.
"""

import json
import os

import grpc
from google.protobuf import json_format

from . import health
from . import recommender_pb2 as pb2
from . import recommender_pb2_grpc as pb2_grpc

DEFAULT_TARGET = "localhost:50051"
# Seconds each call may take unless told otherwise.
DEFAULT_TIMEOUT = 5.0
# Health service names (docs/api.md, "Health and reflection"): "" is the
# server's liveness, movierec.v1.Recommender its readiness (a model loaded).
LIVENESS = ""
READINESS = "movierec.v1.Recommender"
# Client-side balancing over every address the target resolves to, e.g. the
# pods of a headless Kubernetes Service:
#   dns:///movierec-headless.<namespace>.svc.cluster.local:50051
ROUND_ROBIN_SERVICE_CONFIG = json.dumps(
    {"loadBalancingConfig": [{"round_robin": {}}]})


class MovierecError(Exception):
    """A call that failed: `code` is its grpc.StatusCode (e.g.
    grpc.StatusCode.INVALID_ARGUMENT), `details` the server's message (it
    names the field and the value), `method` the RPC."""

    def __init__(self, code, details, method=""):
        self.code = code
        self.details = details or ""
        self.method = method
        where = f"{method}: " if method else ""
        super().__init__(f"{where}{code.name}: {self.details}")

    @property
    def code_name(self):
        """The code's name, e.g. 'NOT_FOUND'."""
        return self.code.name

    @classmethod
    def from_rpc_error(cls, error, method=""):
        code = error.code() if hasattr(error, "code") else None
        details = error.details() if hasattr(error, "details") else str(error)
        return cls(code or grpc.StatusCode.UNKNOWN, details, method)


def _pem(value, what):
    """PEM bytes from bytes, or from the file a str / path names."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, (str, os.PathLike)):
        with open(value, "rb") as f:
            return f.read()
    raise TypeError(f"{what}: PEM bytes or a file path, not "
                    f"{type(value).__name__}")


def make_channel(target=DEFAULT_TARGET, *, tls=False, root_certificates=None,
                 certificate_chain=None, private_key=None, server_name=None,
                 round_robin=False, options=()):
    """A grpc.Channel to movierec-server.

    tls: talk TLS; implied by any of the three PEMs. root_certificates: the
    CA bundle the server's certificate must chain to (None: the system's
    roots). certificate_chain and private_key: the client's own certificate
    and key, for a server that requires mutual TLS (--tls_client_ca). Each
    PEM is bytes or a file path. server_name: the name the server's
    certificate is checked against, when not the target's host.
    round_robin: balance calls over every address of the target.
    options: more gRPC channel arguments, (name, value) pairs.
    """
    channel_options = list(options)
    if round_robin:
        channel_options.append(("grpc.service_config",
                                ROUND_ROBIN_SERVICE_CONFIG))
    if (certificate_chain is None) != (private_key is None):
        raise ValueError("certificate_chain and private_key go together "
                         "(mutual TLS needs both)")
    pems = (root_certificates, certificate_chain, private_key)
    if not tls and all(pem is None for pem in pems):
        if server_name:
            raise ValueError("server_name is for TLS")
        return grpc.insecure_channel(target, options=channel_options)
    if server_name:
        channel_options.append(("grpc.ssl_target_name_override", server_name))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_pem(root_certificates, "root_certificates"),
        private_key=_pem(private_key, "private_key"),
        certificate_chain=_pem(certificate_chain, "certificate_chain"))
    return grpc.secure_channel(target, credentials, options=channel_options)


def _ids(values, what):
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what}: a list of ids, not one string")
    return [str(value) for value in values]


def make_filter(genres=(), min_release_year=0, max_release_year=0,
                exclude_movie_ids=()):
    """A MovieFilter; every part optional, the parts combine with AND.

    genres: names as in u.genre (a movie passes with any one);
    min/max_release_year: inclusive, 0 leaves that side open;
    exclude_movie_ids: movies never to return.
    """
    if isinstance(genres, str):
        raise TypeError("genres: a list of names, not one string")
    return pb2.MovieFilter(
        genres=list(genres), min_release_year=min_release_year,
        max_release_year=max_release_year,
        exclude_movie_ids=_ids(exclude_movie_ids, "exclude_movie_ids"))


def _with_filter(movie_filter, genres, min_release_year, max_release_year,
                 exclude_movie_ids):
    combined = pb2.MovieFilter()
    if movie_filter is not None:
        if isinstance(movie_filter, dict):
            movie_filter = make_filter(**movie_filter)
        combined.CopyFrom(movie_filter)
    combined.MergeFrom(make_filter(genres, min_release_year, max_release_year,
                                   exclude_movie_ids))
    return combined


def make_recommend_request(user_id="", count=0, *, recent_movie_ids=(),
                           movie_filter=None, genres=(), min_release_year=0,
                           max_release_year=0, exclude_movie_ids=()):
    """A RecommendRequest (the arguments of MovierecClient.recommend)."""
    return pb2.RecommendRequest(
        user_id=str(user_id), count=count,
        recent_movie_ids=_ids(recent_movie_ids, "recent_movie_ids"),
        filter=_with_filter(movie_filter, genres, min_release_year,
                            max_release_year, exclude_movie_ids))


def to_dict(message):
    """A response as a dict (json_format.MessageToDict): proto field names,
    every field present, including those at their default (fallback false,
    a score of 0); enums by name; int64s would be strings (there are none)."""
    try:
        return json_format.MessageToDict(
            message, preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True)  # protobuf >= 5.26
    except TypeError:
        return json_format.MessageToDict(
            message, preserving_proto_field_name=True,
            including_default_value_fields=True)


# The default of each method's `timeout`: the client's.
_DEFAULT = object()


class MovierecClient:
    """A client of movierec-server; a context manager that closes its channel.

        with MovierecClient("localhost:50051") as client:
            response = client.recommend("138", 10, genres=["Comedy"])
            for movie in response.movies:
                print(movie.movie_id, movie.title, movie.score)

    target: a gRPC target, e.g. "localhost:50051",
    "dns:///movierec-headless.movierec.svc.cluster.local:50051" (with
    round_robin=True) or "ipv4:10.0.0.1:50051,10.0.0.2:50051".
    timeout: the default deadline of each call in seconds (None: none);
    every method takes its own `timeout` too. The TLS and balancing
    arguments are make_channel's. channel: an existing grpc.Channel to use
    instead (not closed by close()).
    """

    def __init__(self, target=DEFAULT_TARGET, *, timeout=DEFAULT_TIMEOUT,
                 tls=False, root_certificates=None, certificate_chain=None,
                 private_key=None, server_name=None, round_robin=False,
                 options=(), channel=None):
        self.target = target
        self.timeout = timeout
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else make_channel(
            target, tls=tls, root_certificates=root_certificates,
            certificate_chain=certificate_chain, private_key=private_key,
            server_name=server_name, round_robin=round_robin,
            options=options)
        self._stub = pb2_grpc.RecommenderStub(self._channel)
        self._health_check = self._channel.unary_unary(
            health.CHECK_METHOD,
            request_serializer=health.HealthCheckRequest.SerializeToString,
            response_deserializer=health.HealthCheckResponse.FromString)

    @property
    def channel(self):
        return self._channel

    def close(self):
        if self._owns_channel:
            self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _call(self, method, rpc, request, timeout, metadata):
        if timeout is _DEFAULT:
            timeout = self.timeout
        try:
            return rpc(request, timeout=timeout, metadata=metadata)
        except grpc.RpcError as error:
            raise MovierecError.from_rpc_error(error, method) from error

    def recommend(self, user_id="", count=0, *, recent_movie_ids=(),
                  movie_filter=None, genres=(), min_release_year=0,
                  max_release_year=0, exclude_movie_ids=(), timeout=_DEFAULT,
                  metadata=None):
        """Recommend: the top `count` movies (0 means 10, at most 100) for a
        MovieLens user id. An unknown (or empty) user_id with
        recent_movie_ids is a new visitor served from those movies
        (personalization RECENT_MOVIES); without them, the most popular
        movies (fallback true). The filter: movie_filter (a MovieFilter or a
        dict of make_filter's arguments) and/or genres, min_release_year,
        max_release_year, exclude_movie_ids. Returns a RecommendResponse."""
        request = make_recommend_request(
            user_id, count, recent_movie_ids=recent_movie_ids,
            movie_filter=movie_filter, genres=genres,
            min_release_year=min_release_year,
            max_release_year=max_release_year,
            exclude_movie_ids=exclude_movie_ids)
        return self._call("Recommend", self._stub.Recommend, request,
                          timeout, metadata)

    def similar_movies(self, movie_id, count=0, *, movie_filter=None,
                       genres=(), min_release_year=0, max_release_year=0,
                       exclude_movie_ids=(), timeout=_DEFAULT, metadata=None):
        """SimilarMovies: the `count` movies nearest to `movie_id` (cosine
        of the movie vectors), most similar first, the movie itself left
        out; filtered as in recommend(). Returns a SimilarMoviesResponse."""
        request = pb2.SimilarMoviesRequest(
            movie_id=str(movie_id), count=count,
            filter=_with_filter(movie_filter, genres, min_release_year,
                                max_release_year, exclude_movie_ids))
        return self._call("SimilarMovies", self._stub.SimilarMovies, request,
                          timeout, metadata)

    def recommend_batch(self, requests, *, timeout=_DEFAULT, metadata=None):
        """RecommendBatch: 1 to 100 requests answered by one model version,
        each a RecommendRequest or a dict of recommend()'s arguments (e.g.
        {"user_id": "138", "count": 5, "genres": ["Drama"]}). Returns a
        RecommendBatchResponse, its `responses` in the requests' order."""
        batch = pb2.RecommendBatchRequest()
        for request in requests:
            if isinstance(request, dict):
                request = make_recommend_request(**request)
            batch.requests.append(request)
        return self._call("RecommendBatch", self._stub.RecommendBatch, batch,
                          timeout, metadata)

    def search_movies(self, query="", count=0, *, movie_ids=(),
                      timeout=_DEFAULT, metadata=None):
        """SearchMovies: the catalogue's movies whose title contains
        `query` (ASCII case ignored; empty: every movie), the most rated in
        training first, at most `count` (0 means 10); with movie_ids, only
        those movies (a title lookup). Returns a SearchMoviesResponse, with
        total_matches and the catalogue's genre names."""
        request = pb2.SearchMoviesRequest(
            query=query, count=count,
            movie_ids=[str(movie) for movie in movie_ids])
        return self._call("SearchMovies", self._stub.SearchMovies, request,
                          timeout, metadata)

    def check_health(self, service=READINESS, *, timeout=_DEFAULT):
        """grpc.health.v1.Health/Check of `service` (READINESS, or LIVENESS
        ""); its status name: 'SERVING' or 'NOT_SERVING'. A name the server
        does not know raises MovierecError NOT_FOUND."""
        response = self._call("Health/Check", self._health_check,
                              health.HealthCheckRequest(service=service),
                              timeout, None)
        return health.status_name(response)

    def is_live(self, *, timeout=_DEFAULT):
        """Whether the server answers health "" with SERVING (it listens and
        is not shutting down); False when it cannot be reached."""
        return self._is_serving(LIVENESS, timeout)

    def is_ready(self, *, timeout=_DEFAULT):
        """Whether calls will be answered: health movierec.v1.Recommender is
        SERVING (a model is loaded); False when it cannot be reached."""
        return self._is_serving(READINESS, timeout)

    def _is_serving(self, service, timeout):
        try:
            return self.check_health(service, timeout=timeout) == "SERVING"
        except MovierecError:
            return False
