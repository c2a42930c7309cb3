// server/grpc_status.h: codes and messages cross the RPC boundary unchanged,
// and an over-long message is cut to a bounded, valid UTF-8 string.
#include "server/grpc_status.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"

namespace movierec {
namespace {

TEST(GrpcStatusTest, OkIsOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcStatusTest, EveryCodeKeepsItsNumberAndMessage) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code),
                              "count 101 is outside 0-100");
    const grpc::Status converted = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(converted.error_code()), code);
    EXPECT_EQ(converted.error_message(), "count 101 is outside 0-100");
  }
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("x")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::ResourceExhaustedError("x")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(GrpcStatusTest, AMessageAtTheCapIsKept) {
  const std::string message(kMaxGrpcMessageBytes, 'a');
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError(message)).error_message(),
            message);
}

TEST(GrpcStatusTest, ALongerMessageIsCutAndSaysSo) {
  const std::string message = "movie id \"" + std::string(5000, '9') + "\"";
  const std::string converted =
      ToGrpcStatus(absl::NotFoundError(message)).error_message();
  EXPECT_LE(converted.size(), kMaxGrpcMessageBytes);
  EXPECT_TRUE(absl::StartsWith(converted, "movie id \"999")) << converted;
  EXPECT_TRUE(absl::EndsWith(converted, " bytes cut]")) << converted;
}

// Whether `text` is well-formed UTF-8 (no character cut in two).
bool IsUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80           ? 1
                          : (lead >> 5) == 0x6  ? 2
                          : (lead >> 4) == 0xE  ? 3
                          : (lead >> 3) == 0x1E ? 4
                                                : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t j = 1; j < length; ++j) {
      if ((static_cast<unsigned char>(text[i + j]) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += length;
  }
  return true;
}

TEST(GrpcStatusTest, ACutNeverSplitsAUtf8Character) {
  // Titles and genres may be any UTF-8; try every alignment of 2-, 3- and
  // 4-byte characters against the cut.
  for (const std::string character : {"é", "€", "🎬"}) {
    for (size_t pad = 0; pad < 4; ++pad) {
      std::string message(pad, 'x');
      while (message.size() < 3 * kMaxGrpcMessageBytes) message += character;
      const std::string converted =
          ToGrpcStatus(absl::InvalidArgumentError(message)).error_message();
      EXPECT_LE(converted.size(), kMaxGrpcMessageBytes);
      EXPECT_TRUE(IsUtf8(converted))
          << "character " << character << ", pad " << pad;
    }
  }
}

}  // namespace
}  // namespace movierec
