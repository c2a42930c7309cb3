// A synthetic interaction dataset shaped like MovieLens 25M, written in the
// generic format of docs (interactions.csv, items.csv): the input of the
// trainer's scale run (issue 16), at any size, without the real data.
//
// The shape, and why (figures of ML-25M: 162,541 users, 59,047 movies,
// 25,000,095 ratings from 1995 to 2019):
//   - item popularity is long-tailed: weights 1 / (rank + 10)^1.05, so the
//     top 1% of items draw about a third of the interactions and most items
//     a handful, as in ML-25M (the most rated movie ~81k ratings, the median
//     movie a few);
//   - user activity is log-normal with a floor of 20 (MovieLens keeps users
//     with at least 20 ratings; median ~70, a few users with thousands),
//     scaled so that the total is exactly `interactions`;
//   - tastes: each user favours two of the 19 genres and draws half of their
//     items from those genres, so that there is structure to learn;
//   - time: each user is active over a period inside 1995-2019 (log-normal
//     length, from days to years) and their interactions are spread over
//     it; items have a year, and are rated only from their year on;
//   - ratings in half stars, 0.5-5, from a user bias, an item quality and
//     noise;
//   - ids are strings (`u123`, `m456`), items have 1 to 3 genres, and some
//     titles hold commas and quotes (RFC 4180 quoting in items.csv).
//
// Everything is deterministic for a seed. Files are written as they are
// generated (a user's interactions at a time), so memory stays small.
#ifndef MOVIEREC_TESTS_BENCH_SYNTHETIC_DATASET_H_
#define MOVIEREC_TESTS_BENCH_SYNTHETIC_DATASET_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace movierec::bench {

struct DatasetSpec {
  int64_t users = 162541;
  int64_t items = 59047;
  int64_t interactions = 25000095;
  uint64_t seed = 1;
};

// InvalidArgument naming the field: fewer than 1 user or 200 items, fewer
// interactions than 20 per user, or more than a tenth of the items per user
// on average (a user draws at most that many).
absl::Status ValidateDatasetSpec(const DatasetSpec& spec);

struct DatasetStats {
  int64_t interactions = 0;
  int64_t users = 0;
  int64_t items_rated = 0;  // items with at least one interaction
  int64_t max_user_activity = 0;
  int64_t max_item_popularity = 0;
  int64_t first_timestamp = 0;
  int64_t last_timestamp = 0;
};

// Writes DIR/interactions.csv (user_id,item_id,rating,timestamp; each user's
// rows together, by item id) and DIR/items.csv (item_id,title,genres,year).
// DIR must exist. An error names the file that could not be written.
absl::Status WriteSyntheticDataset(const DatasetSpec& spec,
                                   const std::string& dir,
                                   DatasetStats* stats = nullptr);

}  // namespace movierec::bench

#endif  // MOVIEREC_TESTS_BENCH_SYNTHETIC_DATASET_H_
