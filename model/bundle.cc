#include "model/bundle.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/repeated_field.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "data/movielens_fields.h"
#include "model/tensor_proto.h"
#include "movierec/model/v1/model_bundle.pb.h"
#include "util/file_util.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'M', 'R', 'B', 'U', 'N', 'D', 'L', 'E'};
constexpr size_t kHeaderSize = 24;

void PutLittleEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) {
    out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  }
}

uint64_t GetLittleEndian(absl::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

uint32_t Crc32(absl::string_view bytes) {
  return static_cast<uint32_t>(
      crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

void SetIndexFile(const SavedIndex& saved, model::v1::ModelBundle* proto) {
  model::v1::IndexFile* index = proto->mutable_index();
  index->set_file_name(saved.file_name);
  index->set_kind(IndexKindName(saved.file.kind));
  index->set_size_bytes(saved.file.size_bytes);
  index->set_crc32(saved.file.crc32);
  index->set_description(saved.description);
}

void TableToProto(const ItemNeighbors& neighbors,
                  model::v1::ItemNeighborTable* table) {
  table->mutable_offsets()->Add(neighbors.offsets().begin(),
                                neighbors.offsets().end());
  table->mutable_neighbor_rows()->Add(neighbors.rows().begin(),
                                      neighbors.rows().end());
  table->mutable_similarities()->Add(neighbors.all_similarities().begin(),
                                     neighbors.all_similarities().end());
}

// A cosine table (similarities in (0, 1]) or, with `signed_weights`, an
// EASE^R one (any finite weight but 0).
absl::StatusOr<ItemNeighbors> TableFromProto(
    const model::v1::ItemNeighborTable& table, int num_movies,
    bool signed_weights) {
  return ItemNeighbors::FromParts(
      {table.offsets().begin(), table.offsets().end()},
      {table.neighbor_rows().begin(), table.neighbor_rows().end()},
      {table.similarities().begin(), table.similarities().end()}, num_movies,
      signed_weights ? std::numeric_limits<float>::max() : 1.0f,
      signed_weights);
}

absl::StatusOr<CandidateSources> SourcesFromProto(
    const model::v1::CandidateSources& proto, int num_movies) {
  CandidateSources sources;
  const auto budget = [](const char* field, int32_t value) -> absl::Status {
    if (value >= 0 && value <= kMaxNumCandidates) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "sources.", field, " is ", value, ", not in 0-", kMaxNumCandidates));
  };
  MOVIEREC_RETURN_IF_ERROR(budget("popular_budget", proto.popular_budget()));
  sources.popular_budget = proto.popular_budget();
  if (proto.item_kind().empty()) {
    if (proto.has_item_table() || proto.item_budget() != 0) {
      return absl::InvalidArgumentError(
          "sources: an item table or budget without its item_kind");
    }
    return sources;
  }
  if (proto.item_kind() != "ease" && proto.item_kind() != "cooccurrence") {
    return absl::InvalidArgumentError(
        absl::StrCat("sources.item_kind is \"",
                     absl::CHexEscape(proto.item_kind().substr(0, 32)),
                     "\", expected \"ease\" or \"cooccurrence\""));
  }
  MOVIEREC_RETURN_IF_ERROR(budget("item_budget", proto.item_budget()));
  sources.item_kind = proto.item_kind();
  sources.item_budget = proto.item_budget();
  absl::StatusOr<ItemNeighbors> table =
      TableFromProto(proto.item_table(), num_movies,
                     /*signed_weights=*/sources.item_kind == "ease");
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sources.item_table: ", table.status().message()));
  }
  sources.item_table = *std::move(table);
  return sources;
}

model::v1::ModelBundle ToProto(const Model& model) {
  model::v1::ModelBundle proto;
  bool keyed = false;
  for (const Movie& movie : model.catalog.movies) keyed |= !movie.key.empty();
  for (const User& user : model.catalog.users) keyed |= !user.key.empty();
  const size_t attributes = model.catalog.user_attribute_names.size();
  proto.set_format_version(attributes > 0 ? kUserAttributesBundleFormatVersion
                           : keyed        ? kKeysBundleFormatVersion
                                          : kOldestBundleFormatVersion);
  proto.set_created_at(model.created_at);
  proto.set_code_version(model.code_version);
  proto.set_config_json(model.config_json);
  for (const std::string& genre : model.catalog.genre_names) {
    proto.add_genre_names(genre);
  }
  for (const Movie& movie : model.catalog.movies) {
    model::v1::MovieInfo* info = proto.add_movies();
    info->set_id(movie.id);
    info->set_title(movie.title);
    info->mutable_genres()->Add(movie.genres.begin(), movie.genres.end());
    info->set_release_year(movie.release_year);
    if (!movie.key.empty()) info->set_key(movie.key);
  }
  const std::vector<std::string> occupations =
      OccupationVocabulary(model.catalog.users);
  for (const std::string& occupation : occupations) {
    proto.add_occupations(occupation);
  }
  std::vector<std::vector<std::string>> attribute_values(attributes);
  for (size_t a = 0; a < attributes; ++a) {
    attribute_values[a] = AttributeVocabulary(model.catalog.users, a);
    model::v1::UserAttribute* attribute = proto.add_user_attributes();
    attribute->set_name(model.catalog.user_attribute_names[a]);
    for (const std::string& value : attribute_values[a]) {
      attribute->add_values(value);
    }
  }
  for (const User& user : model.catalog.users) {
    model::v1::UserInfo* info = proto.add_users();
    for (size_t a = 0; a < attributes; ++a) {
      const std::vector<std::string>& values = attribute_values[a];
      info->add_attributes(user.attributes[a].empty()
                               ? -1
                               : VocabularyRow(values, user.attributes[a]));
    }
    info->set_id(user.id);
    info->set_age(user.age);
    info->set_gender(user.gender);
    info->set_occupation(VocabularyRow(occupations, user.occupation));
    if (!user.key.empty()) info->set_key(user.key);
  }
  ToTensor(model.user_vectors, proto.mutable_user_vectors());
  ToTensor(model.movie_vectors, proto.mutable_movie_vectors());
  proto.mutable_seen_offsets()->Add(model.seen.offsets().begin(),
                                    model.seen.offsets().end());
  proto.mutable_seen_movies()->Add(model.seen.movies().begin(),
                                   model.seen.movies().end());
  proto.mutable_popularity()->Add(model.popularity.begin(),
                                  model.popularity.end());
  if (model.retrieval) *proto.mutable_retrieval() = model.retrieval->ToProto();
  if (model.rating) *proto.mutable_ranking() = model.rating->ToProto();
  if (model.reranker) *proto.mutable_reranker() = model.reranker->ToProto();
  if (model.saved_index) SetIndexFile(*model.saved_index, &proto);
  if (model.item_neighbors) {
    TableToProto(*model.item_neighbors, proto.mutable_item_neighbors());
  }
  if (model.sources) {
    model::v1::CandidateSources* sources = proto.mutable_sources();
    if (model.sources->has_item_source()) {
      TableToProto(model.sources->item_table, sources->mutable_item_table());
      sources->set_item_kind(model.sources->item_kind);
      sources->set_item_budget(model.sources->item_budget);
    }
    sources->set_popular_budget(model.sources->popular_budget);
  }
  return proto;
}

absl::Status Invalid(absl::string_view name, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", problem));
}

// A movie's or user's key: empty, or at most 256 bytes of valid UTF-8 (the
// generic format's ids, data/generic_format.h).
absl::Status CheckKey(absl::string_view name, absl::string_view what,
                      int32_t id, absl::string_view key) {
  if (key.size() > 256 || !IsValidUtf8(key)) {
    return Invalid(name, absl::StrCat(what, " ", id,
                                      ": its key is not at most 256 bytes of "
                                      "valid UTF-8"));
  }
  return absl::OkStatus();
}

// Keys (string ids) came with format version 2: a version-1 bundle has none.
template <typename Row>
absl::Status CheckKeyVersion(absl::string_view name, uint32_t format_version,
                             absl::string_view what, const Row& row) {
  if (row.key.empty() || format_version >= kKeysBundleFormatVersion) {
    return absl::OkStatus();
  }
  return Invalid(name, absl::StrCat(what, " ", row.id,
                                    " has a key (string id) in a format "
                                    "version ",
                                    format_version, " bundle (keys need ",
                                    kKeysBundleFormatVersion, ")"));
}

// The ids the API spells (keys, or the decimal ids) are unique. Only
// catalogues with keys need the check: the integer ids are checked unique.
template <typename Row>
absl::Status CheckUniqueExternalIds(const std::vector<Row>& rows,
                                    absl::string_view what,
                                    absl::string_view name) {
  bool keyed = false;
  for (const Row& row : rows) keyed |= !row.key.empty();
  if (!keyed) return absl::OkStatus();
  absl::flat_hash_set<std::string> seen;
  seen.reserve(rows.size());
  for (const Row& row : rows) {
    if (!seen.insert(ExternalId(row)).second) {
      return Invalid(name, absl::StrCat(what, " id \"", ExternalId(row),
                                        "\" is not unique"));
    }
  }
  return absl::OkStatus();
}

// The user attributes' names into catalog->user_attribute_names, checking
// them and their values: names non-empty and distinct, values non-empty and
// distinct, none before format version 3.
absl::Status UserAttributesFromProto(const model::v1::ModelBundle& proto,
                                     absl::string_view name,
                                     MovieLens* catalog) {
  if (proto.user_attributes_size() > 0 &&
      proto.format_version() < kUserAttributesBundleFormatVersion) {
    return Invalid(name,
                   absl::StrCat("user attributes in a format version ",
                                proto.format_version(), " bundle (they need ",
                                kUserAttributesBundleFormatVersion, ")"));
  }
  absl::flat_hash_set<std::string> names;
  for (const model::v1::UserAttribute& attribute : proto.user_attributes()) {
    if (attribute.name().empty() || !names.insert(attribute.name()).second) {
      return Invalid(name,
                     absl::StrCat("user attribute name \"", attribute.name(),
                                  "\" is empty or not unique"));
    }
    absl::flat_hash_set<std::string> values;
    for (const std::string& value : attribute.values()) {
      if (value.empty() || !values.insert(value).second) {
        return Invalid(
            name, absl::StrCat("user attribute \"", attribute.name(),
                               "\" has value \"", value, "\" empty or twice"));
      }
    }
    catalog->user_attribute_names.push_back(attribute.name());
  }
  return absl::OkStatus();
}

// Rebuilds the catalogue and checks its vocabularies.
absl::StatusOr<MovieLens> CatalogFromProto(const model::v1::ModelBundle& proto,
                                           absl::string_view name) {
  MovieLens catalog;
  catalog.genre_names.assign(proto.genre_names().begin(),
                             proto.genre_names().end());
  const int num_genres = proto.genre_names_size();
  absl::flat_hash_set<int32_t> ids;
  for (const model::v1::MovieInfo& info : proto.movies()) {
    if (info.id() <= 0 || !ids.insert(info.id()).second) {
      return Invalid(name, absl::StrCat("movie id ", info.id(),
                                        " is not positive or not unique"));
    }
    Movie movie;
    movie.id = info.id();
    movie.key = info.key();
    MOVIEREC_RETURN_IF_ERROR(
        CheckKeyVersion(name, proto.format_version(), "movie", movie));
    MOVIEREC_RETURN_IF_ERROR(CheckKey(name, "movie", info.id(), movie.key));
    movie.title = info.title();
    movie.release_year = info.release_year();
    for (const int32_t genre : info.genres()) {
      if (genre < 0 || genre >= num_genres) {
        return Invalid(name, absl::StrCat("movie ", info.id(), " has genre ",
                                          genre, " of ", num_genres));
      }
      movie.genres.push_back(genre);
    }
    catalog.movies.push_back(std::move(movie));
  }
  MOVIEREC_RETURN_IF_ERROR(UserAttributesFromProto(proto, name, &catalog));
  ids.clear();
  for (const model::v1::UserInfo& info : proto.users()) {
    if (info.id() <= 0 || !ids.insert(info.id()).second) {
      return Invalid(name, absl::StrCat("user id ", info.id(),
                                        " is not positive or not unique"));
    }
    if (info.occupation() < 0 ||
        info.occupation() >= proto.occupations_size()) {
      return Invalid(name, absl::StrCat("user ", info.id(), " has occupation ",
                                        info.occupation(), " of ",
                                        proto.occupations_size()));
    }
    User user;
    user.id = info.id();
    user.key = info.key();
    MOVIEREC_RETURN_IF_ERROR(
        CheckKeyVersion(name, proto.format_version(), "user", user));
    MOVIEREC_RETURN_IF_ERROR(CheckKey(name, "user", info.id(), user.key));
    user.age = info.age();
    user.gender = info.gender();
    user.occupation = proto.occupations(info.occupation());
    const size_t attributes = catalog.user_attribute_names.size();
    if (static_cast<size_t>(info.attributes_size()) != attributes) {
      return Invalid(
          name,
          absl::StrCat("user ", info.id(), " has ", info.attributes_size(),
                       " attribute values, expected ", attributes));
    }
    for (size_t a = 0; a < attributes; ++a) {
      const int32_t value = info.attributes(static_cast<int>(a));
      const auto& values = proto.user_attributes(static_cast<int>(a)).values();
      if (value < -1 || value >= values.size()) {
        return Invalid(name, absl::StrCat("user ", info.id(), " has value ",
                                          value, " of attribute \"",
                                          catalog.user_attribute_names[a],
                                          "\", which has ", values.size()));
      }
      user.attributes.push_back(value < 0 ? std::string() : values[value]);
    }
    catalog.users.push_back(std::move(user));
  }
  if (catalog.movies.empty()) return Invalid(name, "the catalogue is empty");
  MOVIEREC_RETURN_IF_ERROR(
      CheckUniqueExternalIds(catalog.movies, "movie", name));
  MOVIEREC_RETURN_IF_ERROR(CheckUniqueExternalIds(catalog.users, "user", name));
  return catalog;
}

absl::StatusOr<UserMovies> SeenFromProto(const model::v1::ModelBundle& proto,
                                         int num_users, int num_movies,
                                         absl::string_view name) {
  const auto& offsets = proto.seen_offsets();
  const auto& movies = proto.seen_movies();
  if (offsets.size() != num_users + 1 || offsets[0] != 0 ||
      offsets[num_users] != movies.size()) {
    return Invalid(name, absl::StrCat("seen_offsets has ", offsets.size(),
                                      " entries for ", num_users, " users and ",
                                      movies.size(), " seen movies"));
  }
  // Every offset is checked before any range is read.
  for (int u = 0; u < num_users; ++u) {
    if (offsets[u] > offsets[u + 1]) {
      return Invalid(name,
                     absl::StrCat("seen_offsets decrease at user row ", u));
    }
  }
  std::vector<Interaction> interactions;
  interactions.reserve(static_cast<size_t>(movies.size()));
  for (int u = 0; u < num_users; ++u) {
    for (int i = offsets[u]; i < offsets[u + 1]; ++i) {
      if (movies[i] < 0 || movies[i] >= num_movies) {
        return Invalid(
            name, absl::StrCat("seen movie row ", movies[i], " of user row ", u,
                               " is outside 0-", num_movies - 1));
      }
      interactions.push_back({u, movies[i], 0, 0});
    }
  }
  return UserMovies(num_users, interactions);
}

absl::StatusOr<SavedIndex> SavedIndexFromProto(
    const model::v1::IndexFile& proto, absl::string_view name) {
  const std::string& file = proto.file_name();
  if (file.empty() || file == "." || file == ".." ||
      file.find('/') != std::string::npos) {
    return Invalid(name, absl::StrCat("index file name \"", file,
                                      "\" is not a plain file name"));
  }
  absl::StatusOr<IndexKind> kind = ParseIndexKind(proto.kind());
  if (!kind.ok() || *kind == IndexKind::kAuto) {
    return Invalid(name, absl::StrCat("index kind \"", proto.kind(),
                                      "\" is not flat, hnsw or ivf"));
  }
  if (proto.size_bytes() == 0) {
    return Invalid(name, absl::StrCat("index file ", file, " has size 0"));
  }
  return SavedIndex{
      file, {*kind, proto.size_bytes(), proto.crc32()}, proto.description()};
}

// Frees a repeated field's storage (its clear() keeps it).
template <typename T>
void Release(google::protobuf::RepeatedField<T>* field) {
  google::protobuf::RepeatedField<T>().Swap(field);
}

// The model of `consumed`, which it empties as it goes: each part's storage is
// freed once the model holds its copy, so that the two copies of a large
// model are never whole side by side.
absl::StatusOr<Model> FromProto(model::v1::ModelBundle* consumed,
                                absl::string_view name) {
  model::v1::ModelBundle& proto = *consumed;
  if (proto.format_version() < kOldestBundleFormatVersion ||
      proto.format_version() > kBundleFormatVersion) {
    return Invalid(
        name, absl::StrCat("bundle format version ", proto.format_version(),
                           ", expected ", kOldestBundleFormatVersion, " to ",
                           kBundleFormatVersion));
  }
  Model model;
  model.created_at = proto.created_at();
  model.code_version = proto.code_version();
  model.config_json = proto.config_json();
  MOVIEREC_ASSIGN_OR_RETURN(model.catalog, CatalogFromProto(proto, name));
  proto.clear_movies();
  proto.clear_users();
  const int num_users = model.num_users();
  const int num_movies = model.num_movies();
  const auto prefixed = [&](const absl::Status& status) {
    return Invalid(name, status.message());
  };
  absl::StatusOr<RowMatrix> movie_vectors =
      MatrixFromTensor(proto.movie_vectors(), "movie_vectors", num_movies, -1);
  if (!movie_vectors.ok()) return prefixed(movie_vectors.status());
  model.movie_vectors = *std::move(movie_vectors);
  proto.clear_movie_vectors();
  if (model.movie_vectors.cols() < 1) {
    return Invalid(name, "movie_vectors have no columns");
  }
  absl::StatusOr<RowMatrix> user_vectors =
      MatrixFromTensor(proto.user_vectors(), "user_vectors", num_users,
                       model.movie_vectors.cols());
  if (!user_vectors.ok()) return prefixed(user_vectors.status());
  model.user_vectors = *std::move(user_vectors);
  proto.clear_user_vectors();
  MOVIEREC_ASSIGN_OR_RETURN(model.seen,
                            SeenFromProto(proto, num_users, num_movies, name));
  Release(proto.mutable_seen_offsets());
  Release(proto.mutable_seen_movies());
  if (proto.popularity_size() != num_movies) {
    return Invalid(name,
                   absl::StrCat("popularity has ", proto.popularity_size(),
                                " entries for ", num_movies, " movies"));
  }
  model.popularity.assign(proto.popularity().begin(), proto.popularity().end());
  if (proto.has_retrieval()) {
    absl::StatusOr<RetrievalModel> retrieval =
        RetrievalModel::FromProto(proto.retrieval(), model.catalog);
    if (!retrieval.ok()) return prefixed(retrieval.status());
    if (retrieval->dim() != model.movie_vectors.cols()) {
      return Invalid(name, absl::StrCat("retrieval towers have dimension ",
                                        retrieval->dim(), ", vectors ",
                                        model.movie_vectors.cols()));
    }
    model.retrieval.emplace(*std::move(retrieval));
    proto.clear_retrieval();
  }
  if (proto.has_ranking()) {
    absl::StatusOr<RatingModel> rating =
        RatingModel::FromProto(proto.ranking(), model.catalog);
    if (!rating.ok()) return prefixed(rating.status());
    model.rating.emplace(*std::move(rating));
    proto.clear_ranking();
  }
  if (proto.has_reranker()) {
    absl::StatusOr<Reranker> reranker = Reranker::FromProto(proto.reranker());
    if (!reranker.ok()) return prefixed(reranker.status());
    model.reranker.emplace(*std::move(reranker));
  }
  if (proto.has_index()) {
    MOVIEREC_ASSIGN_OR_RETURN(model.saved_index,
                              SavedIndexFromProto(proto.index(), name));
  }
  if (proto.has_item_neighbors()) {
    absl::StatusOr<ItemNeighbors> neighbors =
        TableFromProto(proto.item_neighbors(), num_movies, false);
    if (!neighbors.ok()) return prefixed(neighbors.status());
    model.item_neighbors.emplace(*std::move(neighbors));
    proto.clear_item_neighbors();
  }
  if (proto.has_sources()) {
    absl::StatusOr<CandidateSources> sources =
        SourcesFromProto(proto.sources(), num_movies);
    if (!sources.ok()) return prefixed(sources.status());
    model.sources.emplace(*std::move(sources));
    proto.clear_sources();
  }
  return model;
}

// Now, or $SOURCE_DATE_EPOCH when set (the reproducible-builds convention),
// so that two identical trainings can write identical bundles.
std::string NowRfc3339() {
  std::time_t now =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  int64_t fixed = 0;
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
      epoch != nullptr && absl::SimpleAtoi(epoch, &fixed) && fixed >= 0) {
    now = static_cast<std::time_t>(fixed);
  }
  std::tm utc;
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string EncodeProto(model::v1::ModelBundle proto) {
  if (proto.created_at().empty()) proto.set_created_at(NowRfc3339());
  // Deterministic serialisation (maps sorted by key): the same model gives
  // the same bytes.
  std::string payload;
  {
    google::protobuf::io::StringOutputStream stream(&payload);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    proto.SerializeToCodedStream(&coded);
  }
  std::string bytes(kMagic, sizeof(kMagic));
  PutLittleEndian(proto.format_version(), 4, &bytes);
  PutLittleEndian(Crc32(payload), 4, &bytes);
  PutLittleEndian(payload.size(), 8, &bytes);
  bytes += payload;
  return bytes;
}

}  // namespace

std::string EncodeBundle(const Model& model) {
  return EncodeProto(ToProto(model));
}

namespace {

// The payload of model.bin's framed bytes, once the header (magic, format
// version, length) and the checksum agree with it; sets `version` to the
// header's format version.
absl::StatusOr<absl::string_view> CheckedPayload(absl::string_view bytes,
                                                 absl::string_view name,
                                                 uint64_t* version) {
  if (bytes.size() < kHeaderSize) {
    return Invalid(name, absl::StrCat("truncated: ", bytes.size(),
                                      " bytes, shorter than the header"));
  }
  if (bytes.substr(0, sizeof(kMagic)) !=
      absl::string_view(kMagic, sizeof(kMagic))) {
    return Invalid(name, "not a movierec model bundle (bad magic)");
  }
  *version = GetLittleEndian(bytes.substr(8, 4));
  if (*version < kOldestBundleFormatVersion ||
      *version > kBundleFormatVersion) {
    return Invalid(
        name,
        absl::StrCat("bundle format version ", *version, ", this reader reads ",
                     kOldestBundleFormatVersion, " to ", kBundleFormatVersion));
  }
  const auto crc = static_cast<uint32_t>(GetLittleEndian(bytes.substr(12, 4)));
  const uint64_t length = GetLittleEndian(bytes.substr(16, 8));
  const absl::string_view payload = bytes.substr(kHeaderSize);
  if (payload.size() != length) {
    return Invalid(
        name,
        absl::StrCat(
            payload.size() < length ? "truncated: " : "trailing data: ",
            "payload is ", payload.size(), " bytes, header says ", length));
  }
  if (payload.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Invalid(name, absl::StrCat("payload is ", payload.size(),
                                      " bytes, more than a message can hold"));
  }
  if (Crc32(payload) != crc) {
    return Invalid(name, "checksum mismatch: the file is corrupt");
  }
  return payload;
}

// Reads past the value of a field whose tag `input` just read, as the
// message parser would have read it (groups, the deprecated wire type that
// only unknown fields can have here, included); false when it is
// malformed or cut short.
bool SkipField(uint32_t tag, google::protobuf::io::CodedInputStream* input,
               int depth = 0) {
  switch (tag & 7) {
    case 0: {  // varint
      uint64_t value;
      return input->ReadVarint64(&value);
    }
    case 1:  // 64 bits
      return input->Skip(8);
    case 2: {  // length-delimited
      uint32_t length;
      return input->ReadVarint32(&length) &&
             length <= static_cast<uint32_t>(std::numeric_limits<int>::max()) &&
             input->Skip(static_cast<int>(length));
    }
    case 3:  // a group: its fields, up to its end tag
      // The parser's own nesting limit.
      if (depth >= 100) return false;
      for (;;) {
        const uint32_t inner = input->ReadTag();
        if (inner == 0) return false;
        if ((inner & 7) == 4) return (inner >> 3) == (tag >> 3);
        if (!SkipField(inner, input, depth + 1)) return false;
      }
    case 5:  // 32 bits
      return input->Skip(4);
    default:  // an end of group without its start, or no wire type
      return false;
  }
}

// Parses `payload` into `proto`, which must then carry the header's format
// version.
absl::Status ParsePayload(absl::string_view payload, uint64_t version,
                          absl::string_view name,
                          model::v1::ModelBundle* proto) {
  if (!proto->ParseFromArray(payload.data(),
                             static_cast<int>(payload.size()))) {
    return Invalid(name, "payload is not a valid ModelBundle message");
  }
  if (proto->format_version() != version) {
    return Invalid(name,
                   absl::StrCat("the header says format version ", version,
                                ", the payload ", proto->format_version()));
  }
  return absl::OkStatus();
}

// Checks model.bin's framed bytes and parses their payload into `proto`.
absl::Status ParseBundle(absl::string_view bytes, absl::string_view name,
                         model::v1::ModelBundle* proto) {
  uint64_t version = 0;
  MOVIEREC_ASSIGN_OR_RETURN(const absl::string_view payload,
                            CheckedPayload(bytes, name, &version));
  return ParsePayload(payload, version, name, proto);
}

}  // namespace

absl::StatusOr<Model> DecodeBundle(absl::string_view bytes,
                                   absl::string_view name) {
  model::v1::ModelBundle proto;
  MOVIEREC_RETURN_IF_ERROR(ParseBundle(bytes, name, &proto));
  return FromProto(&proto, name);
}

absl::StatusOr<MovieLens> DecodeBundleCatalog(absl::string_view bytes,
                                              absl::string_view name) {
  uint64_t version = 0;
  MOVIEREC_ASSIGN_OR_RETURN(const absl::string_view payload,
                            CheckedPayload(bytes, name, &version));
  // The catalogue's fields are copied out as they are; every other field
  // (the vectors, towers and tables: nearly all of the bytes) is skipped
  // by its length, unread.
  using model::v1::ModelBundle;
  std::string catalogue;
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(payload.data()),
      static_cast<int>(payload.size()));
  for (;;) {
    const int begin = input.CurrentPosition();
    const uint32_t tag = input.ReadTag();
    if (tag == 0) break;
    if (!SkipField(tag, &input)) {
      return Invalid(name, "payload is not a valid ModelBundle message");
    }
    switch (static_cast<int>(tag >> 3)) {
      case ModelBundle::kFormatVersionFieldNumber:
      case ModelBundle::kMoviesFieldNumber:
      case ModelBundle::kGenreNamesFieldNumber:
      case ModelBundle::kUsersFieldNumber:
      case ModelBundle::kOccupationsFieldNumber:
      case ModelBundle::kUserAttributesFieldNumber:
        catalogue.append(payload.data() + begin,
                         static_cast<size_t>(input.CurrentPosition() - begin));
        break;
      default:
        break;
    }
  }
  // ReadTag gives 0 at the end and on a malformed tag alike.
  if (!input.ConsumedEntireMessage()) {
    return Invalid(name, "payload is not a valid ModelBundle message");
  }
  ModelBundle proto;
  MOVIEREC_RETURN_IF_ERROR(ParsePayload(catalogue, version, name, &proto));
  return CatalogFromProto(proto, name);
}

absl::StatusOr<std::vector<int64_t>> ListVersions(
    const std::string& model_base) {
  std::error_code error;
  fs::directory_iterator it(model_base, error);
  if (error) {
    const std::string message = absl::StrCat("cannot list model base ",
                                             model_base, ": ", error.message());
    return error == std::errc::no_such_file_or_directory
               ? absl::NotFoundError(message)
               : absl::InternalError(message);
  }
  std::vector<int64_t> versions;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    int64_t version = 0;
    // Only canonical spellings ("7", not "007" or " 7"), so that the listed
    // number names the directory.
    if (entry.is_directory(error) && absl::SimpleAtoi(name, &version) &&
        version >= 0 && absl::StrCat(version) == name) {
      versions.push_back(version);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<int64_t> WriteModelVersion(const std::string& model_base,
                                          const Model& model,
                                          absl::string_view metrics_json,
                                          const CandidateIndex* index) {
  std::error_code error;
  fs::create_directories(model_base, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create model base ",
                                            model_base, ": ", error.message()));
  }
  const std::string temp =
      absl::StrCat(model_base, "/.tmp-", ::getpid(), "-",
                   std::chrono::steady_clock::now().time_since_epoch().count());
  if (!fs::create_directory(temp, error) || error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", temp, ": ", error.message()));
  }
  // Until the rename publishes it, a failure removes the half-written version.
  absl::Cleanup remove_temp = [&temp] {
    std::error_code ignored;
    fs::remove_all(temp, ignored);
  };
  model::v1::ModelBundle proto = ToProto(model);
  proto.clear_index();  // only an index written here is in the version
  if (index != nullptr) {
    MOVIEREC_ASSIGN_OR_RETURN(
        const IndexFileInfo saved,
        SaveIndex(*index, absl::StrCat(temp, "/", kIndexFileName)));
    SetIndexFile({kIndexFileName, saved, index->Describe()}, &proto);
  }
  MOVIEREC_RETURN_IF_ERROR(WriteFileDurably(
      absl::StrCat(temp, "/", kBundleFileName), EncodeProto(std::move(proto))));
  if (!metrics_json.empty()) {
    MOVIEREC_RETURN_IF_ERROR(WriteFileDurably(
        absl::StrCat(temp, "/", kMetricsFileName), metrics_json));
  }
  MOVIEREC_RETURN_IF_ERROR(SyncDirectory(temp));
  // Another writer may take a version number first: try the next one.
  for (int attempt = 0; attempt < 100; ++attempt) {
    MOVIEREC_ASSIGN_OR_RETURN(const std::vector<int64_t> versions,
                              ListVersions(model_base));
    int64_t version = versions.empty() ? 1 : versions.back() + 1;
    std::string target = absl::StrCat(model_base, "/", version);
    // rename(2) replaces an empty directory, so skip any name that exists
    // (even a stray file); mkdir-ing the target first would let a reader see
    // it empty, so nothing is created there before the rename.
    struct stat st;
    while (::lstat(target.c_str(), &st) == 0) {
      target = absl::StrCat(model_base, "/", ++version);
    }
    if (::rename(temp.c_str(), target.c_str()) == 0) {
      std::move(remove_temp).Cancel();
      MOVIEREC_RETURN_IF_ERROR(SyncDirectory(model_base));
      return version;
    }
    if (errno != EEXIST && errno != ENOTEMPTY) {
      return absl::InternalError(absl::StrCat(
          "cannot rename ", temp, " to ", target, ": ", std::strerror(errno)));
    }
  }
  return absl::InternalError(
      absl::StrCat("gave up finding a free version number in ", model_base));
}

absl::StatusOr<Model> ReadModelVersion(const std::string& version_dir) {
  const std::string path = absl::StrCat(version_dir, "/", kBundleFileName);
  // DecodeBundle, with the file unmapped once parsed: at most the message
  // and the model being built from it (FromProto frees the message as it
  // goes) are in memory at a time.
  model::v1::ModelBundle proto;
  {
    MOVIEREC_ASSIGN_OR_RETURN(const MappedFile bytes, MapFile(path));
    MOVIEREC_RETURN_IF_ERROR(ParseBundle(bytes.bytes(), path, &proto));
  }
  MOVIEREC_ASSIGN_OR_RETURN(Model model, FromProto(&proto, path));
  if (model.saved_index) {
    const std::string index_path =
        absl::StrCat(version_dir, "/", model.saved_index->file_name);
    std::error_code error;
    const uintmax_t size = fs::file_size(index_path, error);
    if (error) {
      return Invalid(index_path,
                     absl::StrCat("the bundle names this index file, but it "
                                  "cannot be read: ",
                                  error.message()));
    }
    if (size != model.saved_index->file.size_bytes) {
      return Invalid(
          index_path,
          absl::StrCat(
              size < model.saved_index->file.size_bytes ? "truncated: " : "",
              "the file has ", size, " bytes, the bundle says ",
              model.saved_index->file.size_bytes));
    }
  }
  return model;
}

absl::StatusOr<MovieLens> ReadModelCatalog(const std::string& version_dir) {
  const std::string path = absl::StrCat(version_dir, "/", kBundleFileName);
  MOVIEREC_ASSIGN_OR_RETURN(const MappedFile bytes, MapFile(path));
  return DecodeBundleCatalog(bytes.bytes(), path);
}

}  // namespace movierec
