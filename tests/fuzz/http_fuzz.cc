// libFuzzer target: the HTTP request path without a socket. Each input is
// the body of POST /v1/recommend: read as JSON (ParseJsonBody, as
// server/http_server.cc reads it) and, when it reads, answered by a
// Recommender over a small model loaded once, then written back as JSON.
//
// Properties: a body that does not read is INVALID_ARGUMENT with a message,
// and its error body (ErrorReply) is a 400 whose JSON reads back with that
// code; a request that reads is answered or refused as recommend_fuzz
// checks (INVALID_ARGUMENT or NOT_FOUND, 400 or 404); an answer's JSON reads
// back as the same message.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/http_api.h"
#include "server/recommender.h"
#include "server/snapshot.h"
#include "tests/fuzz/fuzz_fixtures.h"

namespace {

using movierec::Recommender;
using movierec::Snapshot;

const Recommender* recommender = nullptr;

// The error body reads back as JSON with `code` and the status's message.
void CheckErrorReply(const absl::Status& status, int http_status) {
  const movierec::HttpReply reply = movierec::ErrorReply(status);
  MOVIEREC_FUZZ_CHECK(reply.status == http_status,
                      std::to_string(reply.status));
  google::protobuf::Struct error;
  MOVIEREC_FUZZ_CHECK(
      google::protobuf::util::JsonStringToMessage(reply.body, &error).ok(),
      "error body is no JSON: " + reply.body);
  MOVIEREC_FUZZ_CHECK(error.fields().count("code") == 1 &&
                          error.fields().at("code").string_value() ==
                              absl::StatusCodeToString(status.code()),
                      reply.body);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  omp_set_num_threads(1);  // deterministic, and one core per fuzzer
  static const auto shared = std::make_shared<const Snapshot>(
      3,
      std::make_shared<const movierec::Model>(movierec::fuzz::ServedModel()));
  recommender = new Recommender([] { return shared; });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  movierec::v1::RecommendRequest request;
  const absl::Status read = movierec::ParseJsonBody(body, &request);
  if (!read.ok()) {
    MOVIEREC_FUZZ_CHECK(absl::IsInvalidArgument(read), read.ToString());
    MOVIEREC_FUZZ_CHECK(!read.message().empty(), "error without a reason");
    CheckErrorReply(read, 400);
    return 0;
  }
  movierec::v1::RecommendResponse response;
  const absl::Status status = recommender->Recommend(request, &response);
  if (!status.ok()) {
    MOVIEREC_FUZZ_CHECK(
        absl::IsInvalidArgument(status) || absl::IsNotFound(status),
        status.ToString());
    CheckErrorReply(status, absl::IsNotFound(status) ? 404 : 400);
    return 0;
  }
  const std::string json = movierec::ToJson(response);
  movierec::v1::RecommendResponse back;
  MOVIEREC_FUZZ_CHECK(movierec::ParseJsonBody(json, &back).ok(), json);
  MOVIEREC_FUZZ_CHECK(
      google::protobuf::util::MessageDifferencer::Equals(response, back), json);
  return 0;
}
