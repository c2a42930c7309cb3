// Every malformed request the API can receive, through the Recommender
// (server/recommender.h, server/request.h): each gets INVALID_ARGUMENT or
// NOT_FOUND with a message naming the field and the value, and requests at
// exactly the documented limits pass.
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/recommender.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

// Movie ids of the small catalogue are odd: "2" and "4" are not movies.
class RequestTest : public ::testing::Test {
 protected:
  RequestTest()
      : snapshot_(std::make_shared<const Snapshot>(
            7, std::make_shared<const Model>(MakeRandomModel(
                   SmallMovieLens(5, 40, 6), SmallRetrievalConfig(true), 2)))),
        recommender_([this] { return snapshot_; }) {}

  static v1::RecommendRequest Valid() {
    v1::RecommendRequest request;
    request.set_user_id("1");
    request.set_count(5);
    return request;
  }

  absl::Status Recommend(const v1::RecommendRequest& request) const {
    v1::RecommendResponse response;
    const absl::Status status = recommender_.Recommend(request, &response);
    if (!status.ok()) {
      EXPECT_EQ(response.movies_size(), 0);
    }
    return status;
  }

  std::shared_ptr<const Snapshot> snapshot_;
  Recommender recommender_;
};

struct BadRequest {
  const char* name;
  std::function<void(v1::RecommendRequest*)> edit;
  absl::StatusCode code;
  std::vector<std::string> parts;
};

std::vector<BadRequest> BadRecommendRequests() {
  using R = v1::RecommendRequest;
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const auto kNotFound = absl::StatusCode::kNotFound;
  return {
      {"NoUserNorRecent",
       [](R* r) { r->clear_user_id(); },
       kInvalid,
       {"user_id is empty", "recent_movie_ids"}},
      {"NegativeCount",
       [](R* r) { r->set_count(-1); },
       kInvalid,
       {"count -1 is outside 0-100"}},
      {"CountOverLimit",
       [](R* r) { r->set_count(kMaxCount + 1); },
       kInvalid,
       {"count 101 is outside 0-100"}},
      {"TooManyRecent",
       [](R* r) {
         for (int i = 0; i <= kMaxRecentMovies; ++i)
           r->add_recent_movie_ids("1");
       },
       kInvalid,
       {"recent_movie_ids has 101 entries; at most 100 are allowed"}},
      {"EmptyRecentId",
       [](R* r) {
         r->add_recent_movie_ids("1");
         r->add_recent_movie_ids("");
       },
       kInvalid,
       {"recent_movie_ids[1] is empty"}},
      {"UnknownRecentMovie",
       [](R* r) {
         r->add_recent_movie_ids("3");
         r->add_recent_movie_ids("4");
       },
       kNotFound,
       {"recent_movie_ids[1]: movie \"4\" is not in the catalogue of model "
        "version 7"}},
      {"UnknownRecentMovieOfAVisitor",
       [](R* r) {
         r->clear_user_id();
         r->add_recent_movie_ids("x1");
       },
       kNotFound,
       {"recent_movie_ids[0]: movie \"x1\""}},
      {"TooManyGenres",
       [](R* r) {
         for (int i = 0; i <= kMaxFilterGenres; ++i) {
           r->mutable_filter()->add_genres("Drama");
         }
       },
       kInvalid,
       {"filter.genres has 33 entries; at most 32 are allowed"}},
      {"EmptyGenre",
       [](R* r) { r->mutable_filter()->add_genres(""); },
       kInvalid,
       {"filter.genres[0] is empty"}},
      {"UnknownGenre",
       [](R* r) {
         r->mutable_filter()->add_genres("Drama");
         r->mutable_filter()->add_genres("comedy");
       },
       kInvalid,
       {"filter.genres[1]: unknown genre \"comedy\"",
        "unknown, Action, Comedy, Drama, Romance"}},
      {"NegativeYear",
       [](R* r) { r->mutable_filter()->set_min_release_year(-1); },
       kInvalid,
       {"filter.min_release_year -1 is outside 0-9999"}},
      {"YearTooLarge",
       [](R* r) { r->mutable_filter()->set_max_release_year(10000); },
       kInvalid,
       {"filter.max_release_year 10000 is outside 0-9999"}},
      {"YearsReversed",
       [](R* r) {
         r->mutable_filter()->set_min_release_year(2000);
         r->mutable_filter()->set_max_release_year(1990);
       },
       kInvalid,
       {"filter.min_release_year 2000 is after max_release_year 1990"}},
      {"TooManyExclusions",
       [](R* r) {
         for (int i = 0; i <= kMaxExcludedMovies; ++i) {
           r->mutable_filter()->add_exclude_movie_ids("1");
         }
       },
       kInvalid,
       {"filter.exclude_movie_ids has 1001 entries; at most 1000 are "
        "allowed"}},
      {"EmptyExclusion",
       [](R* r) { r->mutable_filter()->add_exclude_movie_ids(""); },
       kInvalid,
       {"filter.exclude_movie_ids[0] is empty"}},
      {"UnknownExclusion",
       [](R* r) { r->mutable_filter()->add_exclude_movie_ids("2"); },
       kNotFound,
       {"filter.exclude_movie_ids[0]: movie \"2\""}},
      {"TooManyInclusions",
       [](R* r) {
         for (int i = 0; i <= kMaxIncludedMovies; ++i) {
           r->mutable_filter()->add_include_movie_ids("1");
         }
       },
       kInvalid,
       {"filter.include_movie_ids has 1001 entries; at most 1000 are "
        "allowed"}},
      {"EmptyInclusion",
       [](R* r) {
         r->mutable_filter()->add_include_movie_ids("1");
         r->mutable_filter()->add_include_movie_ids("");
       },
       kInvalid,
       {"filter.include_movie_ids[1] is empty"}},
      {"UnknownInclusion",
       [](R* r) {
         r->mutable_filter()->add_include_movie_ids("3");
         r->mutable_filter()->add_include_movie_ids("4");
       },
       kNotFound,
       {"filter.include_movie_ids[1]: movie \"4\" is not in the catalogue "
        "of model version 7"}},
  };
}

TEST_F(RequestTest, EveryBadRecommendRequestIsNamed) {
  for (const BadRequest& bad : BadRecommendRequests()) {
    SCOPED_TRACE(bad.name);
    v1::RecommendRequest request = Valid();
    bad.edit(&request);
    const absl::Status status = Recommend(request);
    EXPECT_EQ(status.code(), bad.code) << status;
    for (const std::string& part : bad.parts) {
      EXPECT_NE(status.message().find(part), absl::string_view::npos)
          << status << " lacks: " << part;
    }
  }
}

TEST_F(RequestTest, EveryBadRequestInABatchIsNamedWithItsIndex) {
  for (const BadRequest& bad : BadRecommendRequests()) {
    SCOPED_TRACE(bad.name);
    v1::RecommendBatchRequest batch;
    *batch.add_requests() = Valid();
    *batch.add_requests() = Valid();
    bad.edit(batch.mutable_requests(1));
    v1::RecommendBatchResponse response;
    const absl::Status status = recommender_.RecommendBatch(batch, &response);
    EXPECT_EQ(status.code(), bad.code) << status;
    EXPECT_EQ(status.message().rfind("requests[1].", 0), 0u) << status;
    for (const std::string& part : bad.parts) {
      EXPECT_NE(status.message().find(part), absl::string_view::npos)
          << status << " lacks: " << part;
    }
  }
}

TEST_F(RequestTest, RequestsAtTheLimitsPass) {
  v1::RecommendRequest request = Valid();
  request.set_count(kMaxCount);
  for (int i = 0; i < kMaxRecentMovies; ++i) {
    request.add_recent_movie_ids(absl::StrCat(2 * (i % 40) + 1));
  }
  for (int i = 0; i < kMaxFilterGenres; ++i) {
    request.mutable_filter()->add_genres(i % 2 ? "Drama" : "Comedy");
  }
  for (int i = 0; i < kMaxExcludedMovies; ++i) {
    request.mutable_filter()->add_exclude_movie_ids("3");
  }
  for (int i = 0; i < kMaxIncludedMovies; ++i) {
    request.mutable_filter()->add_include_movie_ids(
        absl::StrCat(2 * (i % 40) + 1));
  }
  request.mutable_filter()->set_min_release_year(1);
  request.mutable_filter()->set_max_release_year(kMaxReleaseYear);
  EXPECT_OK(Recommend(request));

  v1::RecommendBatchRequest batch;
  for (int i = 0; i < kMaxBatchRequests; ++i) *batch.add_requests() = request;
  v1::RecommendBatchResponse response;
  EXPECT_OK(recommender_.RecommendBatch(batch, &response));
  EXPECT_EQ(response.responses_size(), kMaxBatchRequests);

  // Equal bounds are a one-year range.
  request = Valid();
  request.mutable_filter()->set_min_release_year(1953);
  request.mutable_filter()->set_max_release_year(1953);
  EXPECT_OK(Recommend(request));
}

TEST_F(RequestTest, BatchSizeIsChecked) {
  v1::RecommendBatchRequest batch;
  v1::RecommendBatchResponse response;
  EXPECT_TRUE(IsError(recommender_.RecommendBatch(batch, &response),
                      absl::StatusCode::kInvalidArgument,
                      {"requests is empty: give 1-100 requests"}));
  for (int i = 0; i <= kMaxBatchRequests; ++i) *batch.add_requests() = Valid();
  EXPECT_TRUE(IsError(recommender_.RecommendBatch(batch, &response),
                      absl::StatusCode::kInvalidArgument,
                      {"requests has 101 entries; at most 100 are allowed"}));
  EXPECT_EQ(response.responses_size(), 0);
}

TEST_F(RequestTest, BadSimilarMoviesRequestsAreNamed) {
  const auto call =
      [this](const std::function<void(v1::SimilarMoviesRequest*)>& edit) {
        v1::SimilarMoviesRequest request;
        request.set_movie_id("5");
        edit(&request);
        v1::SimilarMoviesResponse response;
        const absl::Status status =
            recommender_.SimilarMovies(request, &response);
        if (!status.ok()) {
          EXPECT_EQ(response.movies_size(), 0);
        }
        return status;
      };
  EXPECT_OK(call([](v1::SimilarMoviesRequest*) {}));
  EXPECT_TRUE(IsError(call([](auto* r) { r->clear_movie_id(); }),
                      absl::StatusCode::kInvalidArgument,
                      {"movie_id is empty"}));
  EXPECT_TRUE(IsError(call([](auto* r) { r->set_movie_id("6"); }),
                      absl::StatusCode::kNotFound,
                      {"movie_id: movie \"6\" is not in the catalogue"}));
  EXPECT_TRUE(IsError(call([](auto* r) { r->set_count(-2); }),
                      absl::StatusCode::kInvalidArgument, {"count -2"}));
  EXPECT_TRUE(IsError(call([](auto* r) { r->set_count(101); }),
                      absl::StatusCode::kInvalidArgument, {"count 101"}));
  EXPECT_TRUE(
      IsError(call([](auto* r) { r->mutable_filter()->add_genres("Western"); }),
              absl::StatusCode::kInvalidArgument,
              {"filter.genres[0]: unknown genre \"Western\""}));
  EXPECT_TRUE(IsError(
      call([](auto* r) { r->mutable_filter()->add_exclude_movie_ids("8"); }),
      absl::StatusCode::kNotFound, {"filter.exclude_movie_ids[0]"}));
  EXPECT_TRUE(IsError(
      call([](auto* r) { r->mutable_filter()->add_include_movie_ids("8"); }),
      absl::StatusCode::kNotFound,
      {"filter.include_movie_ids[0]: movie \"8\" is not in the catalogue"}));
  EXPECT_TRUE(IsError(call([](auto* r) {
                        r->mutable_filter()->set_min_release_year(1999);
                        r->mutable_filter()->set_max_release_year(1998);
                      }),
                      absl::StatusCode::kInvalidArgument,
                      {"min_release_year 1999 is after"}));
}

TEST_F(RequestTest, ShapeIsCheckedBeforeTheModelIsNeeded) {
  const Recommender nothing(
      []() -> std::shared_ptr<const Snapshot> { return nullptr; });
  v1::RecommendRequest request = Valid();
  request.set_count(500);
  v1::RecommendResponse response;
  EXPECT_TRUE(IsError(nothing.Recommend(request, &response),
                      absl::StatusCode::kInvalidArgument, {"count 500"}));
  // Ids can only be checked against a model.
  request = Valid();
  request.add_recent_movie_ids("4");
  EXPECT_TRUE(IsError(nothing.Recommend(request, &response),
                      absl::StatusCode::kUnavailable, {"no model"}));
  v1::SimilarMoviesRequest similar;
  similar.set_movie_id("5");
  v1::SimilarMoviesResponse similar_response;
  EXPECT_TRUE(IsError(nothing.SimilarMovies(similar, &similar_response),
                      absl::StatusCode::kUnavailable));
  v1::RecommendBatchRequest batch;
  *batch.add_requests() = Valid();
  v1::RecommendBatchResponse batch_response;
  EXPECT_TRUE(IsError(nothing.RecommendBatch(batch, &batch_response),
                      absl::StatusCode::kUnavailable));
}

// Data without genres or release years (the generic format's optional
// columns): a filter on the missing field is refused with the reason, not
// answered with an empty list.
TEST(RequestMissingFieldsTest, FiltersOnFieldsTheCatalogueLacksAreRefused) {
  MovieLens data = SmallMovieLens(5, 40, 6);
  data.genre_names.clear();
  for (Movie& movie : data.movies) {
    movie.genres.clear();
    movie.release_year = 0;
  }
  // As movierec-train builds it for such data: no genre table.
  RetrievalConfig config = SmallRetrievalConfig(true);
  config.features.movie_genres = false;
  const auto snapshot = std::make_shared<const Snapshot>(
      3, std::make_shared<const Model>(MakeRandomModel(data, config, 2)));
  const Recommender recommender([snapshot] { return snapshot; });
  const auto call = [&](const std::function<void(v1::MovieFilter*)>& edit) {
    v1::RecommendRequest request;
    request.set_user_id("1");
    edit(request.mutable_filter());
    v1::RecommendResponse response;
    return recommender.Recommend(request, &response);
  };
  EXPECT_TRUE(IsError(
      call([](v1::MovieFilter* f) { f->add_genres("Comedy"); }),
      absl::StatusCode::kFailedPrecondition,
      {"filter.genres: the catalogue of model version 3 has no genres"}));
  EXPECT_TRUE(IsError(
      call([](v1::MovieFilter* f) { f->set_min_release_year(1990); }),
      absl::StatusCode::kFailedPrecondition,
      {"filter.min_release_year: no movie in the catalogue of model version "
       "3 has a release year"}));
  EXPECT_TRUE(IsError(
      call([](v1::MovieFilter* f) { f->set_max_release_year(1990); }),
      absl::StatusCode::kFailedPrecondition, {"filter.max_release_year"}));
  // Without such a filter the catalogue serves as usual.
  v1::RecommendRequest request;
  request.set_user_id("1");
  request.set_count(3);
  v1::RecommendResponse response;
  ASSERT_TRUE(recommender.Recommend(request, &response).ok());
  EXPECT_EQ(response.movies_size(), 3);
  EXPECT_EQ(response.movies(0).genres_size(), 0);
}

}  // namespace
}  // namespace movierec
