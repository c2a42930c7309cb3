#include "tests/bench/synthetic_dataset.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace movierec::bench {
namespace {

constexpr int kMinActivity = 20;
// ML-25M's first and last rating (2019-11-21).
constexpr int64_t kFirstTimestamp = 789652009;
constexpr int64_t kLastTimestamp = 1574327703;
constexpr std::array<const char*, 19> kGenres = {
    "Drama",    "Comedy",  "Thriller",    "Romance",   "Action",
    "Horror",   "Crime",   "Documentary", "Adventure", "Sci-Fi",
    "Children", "Mystery", "Fantasy",     "War",       "Animation",
    "Musical",  "Western", "Film-Noir",   "IMAX"};

// Walker's alias method: draws index i with probability weights[i] / sum in
// constant time.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights)
      : probability_(weights.size()), alias_(weights.size()) {
    const size_t n = weights.size();
    const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
    std::vector<double> scaled(n);
    std::vector<size_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / sum;
      (scaled[i] < 1 ? small : large).push_back(i);
    }
    while (!small.empty() && !large.empty()) {
      const size_t s = small.back(), l = large.back();
      small.pop_back();
      probability_[s] = scaled[s];
      alias_[s] = static_cast<int32_t>(l);
      scaled[l] -= 1 - scaled[s];
      if (scaled[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (const size_t i : large) probability_[i] = 1;
    for (const size_t i : small) probability_[i] = 1;
  }

  template <typename Random>
  int32_t Draw(Random& random) const {
    const auto i = std::uniform_int_distribution<size_t>(
        0, probability_.size() - 1)(random);
    return std::uniform_real_distribution<double>(0, 1)(random) <
                   probability_[i]
               ? static_cast<int32_t>(i)
               : alias_[i];
  }

 private:
  std::vector<double> probability_;
  std::vector<int32_t> alias_;
};

struct Item {
  int32_t year = 0;
  int64_t release = 0;  // its year's 1 January, as a timestamp
  float quality = 0;
  std::vector<int> genres;
};

int64_t YearStart(int year) {
  // Days from 1970 to 1 January of `year` (proleptic Gregorian).
  int64_t days = 0;
  for (int y = 1970; y < year; ++y) {
    days += (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365;
  }
  for (int y = year; y < 1970; ++y) {
    days -= (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365;
  }
  return days * 86400;
}

std::string Title(int64_t item, int year) {
  // Some titles need RFC 4180 quoting: a comma, or quotes (doubled).
  if (item % 13 == 0) {
    return absl::StrCat("\"The \"\"Synthetic\"\" Picture ", item, " (", year,
                        ")\"");
  }
  if (item % 7 == 0) {
    return absl::StrCat("\"Synthetic Film ", item, ", The (", year, ")\"");
  }
  return absl::StrCat("Synthetic Film ", item, " (", year, ")");
}

// A file written through a buffer; the first error is kept.
class Output {
 public:
  explicit Output(std::string path)
      : path_(std::move(path)), file_(std::fopen(path_.c_str(), "w")) {
    if (file_ == nullptr) Fail();
  }
  ~Output() {
    if (file_ != nullptr) std::fclose(file_);
  }
  void Append(const std::string& text) {
    buffer_ += text;
    if (buffer_.size() >= (1 << 20)) Flush();
  }
  absl::Status Close() {
    Flush();
    if (file_ != nullptr && std::fclose(file_) != 0 && status_.ok()) Fail();
    file_ = nullptr;
    return status_;
  }

 private:
  void Fail() {
    if (status_.ok()) {
      status_ = absl::InternalError(
          absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
    }
  }
  void Flush() {
    if (file_ != nullptr && !buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) !=
            buffer_.size()) {
      Fail();
    }
    buffer_.clear();
  }

  std::string path_;
  std::FILE* file_;
  std::string buffer_;
  absl::Status status_;
};

// Each user's number of interactions: 20 plus a log-normal share of the
// rest, at most a tenth of the catalogue (so that drawing distinct items
// stays cheap), summing to exactly spec.interactions.
std::vector<int64_t> Activities(const DatasetSpec& spec, std::mt19937_64& rng) {
  const auto users = static_cast<size_t>(spec.users);
  const int64_t cap = std::max<int64_t>(kMinActivity, spec.items / 10);
  std::lognormal_distribution<double> extra(std::log(50.0), 1.3);
  std::vector<double> share(users);
  for (double& s : share) s = extra(rng);
  std::vector<int64_t> activity(users, kMinActivity);
  int64_t left = spec.interactions - kMinActivity * spec.users;
  // Shares of what is left, rounded down; users at the cap drop out and
  // the rest is shared again among the others.
  std::vector<size_t> open(users);
  std::iota(open.begin(), open.end(), 0);
  while (left > 0 && !open.empty()) {
    double sum = 0;
    for (const size_t u : open) sum += share[u];
    int64_t given = 0;
    std::vector<size_t> still_open;
    for (const size_t u : open) {
      const auto add = std::min<int64_t>(
          cap - activity[u],
          static_cast<int64_t>(static_cast<double>(left) * share[u] / sum));
      activity[u] += add;
      given += add;
      if (activity[u] < cap) still_open.push_back(u);
    }
    left -= given;
    open.swap(still_open);
    if (given == 0) {
      // Rounding left a few: one each to random open users.
      for (; left > 0 && !open.empty(); --left) {
        const size_t u = open[std::uniform_int_distribution<size_t>(
            0, open.size() - 1)(rng)];
        if (++activity[u] == cap) {
          open.erase(std::find(open.begin(), open.end(), u));
        }
      }
    }
  }
  return activity;
}

}  // namespace

absl::Status ValidateDatasetSpec(const DatasetSpec& spec) {
  if (spec.users < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("users ", spec.users, " is below 1"));
  }
  if (spec.items < 200) {
    return absl::InvalidArgumentError(
        absl::StrCat("items ", spec.items, " is below 200"));
  }
  if (spec.interactions < kMinActivity * spec.users) {
    return absl::InvalidArgumentError(absl::StrCat(
        "interactions ", spec.interactions, " is below ", kMinActivity,
        " per user (", kMinActivity * spec.users, ")"));
  }
  if (spec.interactions >
      spec.users * std::max<int64_t>(kMinActivity, spec.items / 10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("interactions ", spec.interactions,
                     " is more than a tenth of the items per user (",
                     spec.users * (spec.items / 10), ")"));
  }
  return absl::OkStatus();
}

absl::Status WriteSyntheticDataset(const DatasetSpec& spec,
                                   const std::string& dir,
                                   DatasetStats* stats) {
  if (absl::Status valid = ValidateDatasetSpec(spec); !valid.ok()) {
    return valid;
  }
  std::mt19937_64 rng(spec.seed);
  const auto num_items = static_cast<size_t>(spec.items);

  // Items: a popularity rank (a random permutation), genres, a year.
  std::vector<size_t> rank(num_items);
  std::iota(rank.begin(), rank.end(), 0);
  std::shuffle(rank.begin(), rank.end(), rng);
  std::vector<double> popularity(num_items);
  for (size_t i = 0; i < num_items; ++i) {
    popularity[i] = 1.0 / std::pow(static_cast<double>(rank[i]) + 10, 1.05);
  }
  std::vector<double> genre_weight(kGenres.size());
  for (size_t g = 0; g < kGenres.size(); ++g) {
    genre_weight[g] = 1.0 / (static_cast<double>(g) + 2);
  }
  const AliasTable draw_genre(genre_weight);
  std::exponential_distribution<double> age(1.0 / 20);
  std::normal_distribution<double> normal(0, 1);
  std::vector<Item> items(num_items);
  std::vector<std::vector<double>> genre_popularity(
      kGenres.size(), std::vector<double>(num_items, 0));
  for (size_t i = 0; i < num_items; ++i) {
    Item& item = items[i];
    item.year = std::max(1902, 2019 - static_cast<int>(age(rng)));
    item.release = YearStart(item.year);
    item.quality = static_cast<float>(0.5 * normal(rng));
    const int count = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < count; ++k) {
      const int g = draw_genre.Draw(rng);
      if (std::find(item.genres.begin(), item.genres.end(), g) ==
          item.genres.end()) {
        item.genres.push_back(g);
        genre_popularity[static_cast<size_t>(g)][i] = popularity[i];
      }
    }
    std::sort(item.genres.begin(), item.genres.end());
  }
  const AliasTable draw_item(popularity);
  std::vector<AliasTable> draw_in_genre;
  draw_in_genre.reserve(kGenres.size());
  for (const auto& weights : genre_popularity) {
    // A genre no item drew (only in tiny catalogues) draws from them all.
    const bool any = std::any_of(weights.begin(), weights.end(),
                                 [](double w) { return w > 0; });
    draw_in_genre.emplace_back(any ? weights : popularity);
  }

  Output items_csv(absl::StrCat(dir, "/items.csv"));
  items_csv.Append("item_id,title,genres,year\n");
  for (size_t i = 0; i < num_items; ++i) {
    std::vector<const char*> names;
    for (const int g : items[i].genres) names.push_back(kGenres[g]);
    items_csv.Append(absl::StrCat(
        "m", i + 1, ",", Title(static_cast<int64_t>(i + 1), items[i].year), ",",
        absl::StrJoin(names, "|"), ",", items[i].year, "\n"));
  }
  if (absl::Status s = items_csv.Close(); !s.ok()) return s;

  const std::vector<int64_t> activity = Activities(spec, rng);
  DatasetStats local;
  local.first_timestamp = kLastTimestamp;
  local.last_timestamp = kFirstTimestamp;
  std::vector<int64_t> item_count(num_items, 0);
  Output interactions_csv(absl::StrCat(dir, "/interactions.csv"));
  interactions_csv.Append("user_id,item_id,rating,timestamp\n");
  std::lognormal_distribution<double> active_days(std::log(200.0), 1.5);
  absl::flat_hash_set<int32_t> taken;
  std::vector<std::pair<int32_t, int64_t>> rows;  // (item, timestamp)
  std::string text;
  for (int64_t u = 0; u < spec.users; ++u) {
    const int64_t n = activity[static_cast<size_t>(u)];
    const int favourite[2] = {draw_genre.Draw(rng), draw_genre.Draw(rng)};
    const double bias = 0.4 * normal(rng);
    // The user's active period, inside the data's time span.
    const auto length = std::min<int64_t>(
        kLastTimestamp - kFirstTimestamp,
        static_cast<int64_t>(86400.0 * (1 + active_days(rng))));
    const int64_t start =
        kFirstTimestamp +
        static_cast<int64_t>(rng() % static_cast<uint64_t>(kLastTimestamp -
                                                           kFirstTimestamp -
                                                           length + 1));
    const int64_t end = start + length;
    taken.clear();
    rows.clear();
    int misses = 0;
    while (static_cast<int64_t>(rows.size()) < n) {
      int32_t item;
      if (misses > 50) {
        // The user has taken most of what their tastes draw: any item.
        item = static_cast<int32_t>(rng() % num_items);
      } else if (rng() % 2 == 0) {
        item =
            draw_in_genre[static_cast<size_t>(favourite[rng() % 2])].Draw(rng);
      } else {
        item = draw_item.Draw(rng);
      }
      // Rated only from its year on: an item newer than the user's period
      // is drawn again (after many misses, taken from the period's end).
      const int64_t release = items[static_cast<size_t>(item)].release;
      if ((release > end && misses <= 50) || taken.contains(item)) {
        ++misses;
        continue;
      }
      misses = 0;
      taken.insert(item);
      const int64_t from = std::min(end, std::max(start, release));
      rows.emplace_back(
          item, from + static_cast<int64_t>(
                           rng() % static_cast<uint64_t>(end - from + 1)));
    }
    std::sort(rows.begin(), rows.end());
    for (const auto& [item, timestamp] : rows) {
      const double stars = 3.5 + bias +
                           items[static_cast<size_t>(item)].quality +
                           0.8 * normal(rng);
      const double rating = std::clamp(std::round(stars * 2) / 2, 0.5, 5.0);
      text.clear();
      absl::StrAppend(&text, "u", u + 1, ",m", item + 1, ",", rating, ",",
                      timestamp, "\n");
      interactions_csv.Append(text);
      ++item_count[static_cast<size_t>(item)];
      local.first_timestamp = std::min(local.first_timestamp, timestamp);
      local.last_timestamp = std::max(local.last_timestamp, timestamp);
    }
    local.interactions += n;
    local.max_user_activity = std::max(local.max_user_activity, n);
  }
  if (absl::Status s = interactions_csv.Close(); !s.ok()) return s;
  local.users = spec.users;
  for (const int64_t c : item_count) {
    local.items_rated += c > 0 ? 1 : 0;
    local.max_item_popularity = std::max(local.max_item_popularity, c);
  }
  if (stats != nullptr) *stats = local;
  return absl::OkStatus();
}

}  // namespace movierec::bench
