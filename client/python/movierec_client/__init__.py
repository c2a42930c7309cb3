"""Python client of movierec-server (movierec.v1.Recommender).

    from movierec_client import MovierecClient, MovierecError

    with MovierecClient("localhost:50051", timeout=2.0) as client:
        response = client.recommend("138", 10, genres=["Comedy"],
                                    min_release_year=1990)
        for movie in response.movies:
            print(movie.movie_id, movie.title, movie.score)

The messages are those of proto/movierec/v1/recommender.proto, generated
when the package is built (`pip install ./client/python`): movierec_client.pb2
is recommender_pb2, movierec_client.pb2_grpc recommender_pb2_grpc. The
command line: `movierec-pyclient --help` (or `python3 -m movierec_client`).
"""

try:
    from . import recommender_pb2 as pb2
    from . import recommender_pb2_grpc as pb2_grpc
except ImportError as _error:  # the source folder, never built
    raise ImportError(
        "movierec_client has no generated stubs (recommender_pb2): install "
        "the package, e.g. `pip install --no-build-isolation ./client/python`,"
        " instead of importing it from its source folder") from _error

from .client import (DEFAULT_TARGET, DEFAULT_TIMEOUT, LIVENESS, READINESS,
                     ROUND_ROBIN_SERVICE_CONFIG, MovierecClient,
                     MovierecError, make_channel, make_filter,
                     make_recommend_request, to_dict)

MovieFilter = pb2.MovieFilter
RecommendRequest = pb2.RecommendRequest
RecommendResponse = pb2.RecommendResponse
SimilarMoviesRequest = pb2.SimilarMoviesRequest
SimilarMoviesResponse = pb2.SimilarMoviesResponse
RecommendBatchRequest = pb2.RecommendBatchRequest
RecommendBatchResponse = pb2.RecommendBatchResponse
SearchMoviesRequest = pb2.SearchMoviesRequest
SearchMoviesResponse = pb2.SearchMoviesResponse
ScoredMovie = pb2.ScoredMovie
Personalization = pb2.Personalization

__all__ = [
    "DEFAULT_TARGET", "DEFAULT_TIMEOUT", "LIVENESS", "READINESS",
    "ROUND_ROBIN_SERVICE_CONFIG", "MovierecClient", "MovierecError",
    "make_channel", "make_filter", "make_recommend_request", "to_dict",
    "pb2", "pb2_grpc", "MovieFilter", "RecommendRequest",
    "RecommendResponse", "SimilarMoviesRequest", "SimilarMoviesResponse",
    "RecommendBatchRequest", "RecommendBatchResponse",
    "SearchMoviesRequest", "SearchMoviesResponse", "ScoredMovie",
    "Personalization",
]
