// util/status_util.h: annotations keep the code and the usage mark, and the
// exit status follows the status.
#include "util/status_util.h"

#include <gtest/gtest.h>

#include <string>

namespace movierec {
namespace {

TEST(StatusUtilTest, AnnotatePrefixesTheMessageAndKeepsTheCode) {
  const absl::Status status =
      Annotate(absl::NotFoundError("no such file x"), "cannot load the data");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "cannot load the data: no such file x");
  EXPECT_TRUE(Annotate(absl::OkStatus(), "context").ok());
}

TEST(StatusUtilTest, AnnotateWorksOnStatusOr) {
  absl::StatusOr<int> value = Annotate(absl::StatusOr<int>(7), "context");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 7);
  value = Annotate(absl::StatusOr<int>(absl::InternalError("boom")), "step");
  EXPECT_EQ(value.status().message(), "step: boom");
}

TEST(StatusUtilTest, ExitStatusTellsUsageErrorsFromFailures) {
  EXPECT_EQ(ExitStatus(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitStatus(absl::InvalidArgumentError("bad line in u.data")),
            kExitFailure);
  EXPECT_EQ(ExitStatus(absl::InternalError("disk full")), kExitFailure);
  const absl::Status usage = UsageError("--port must be in 0-65535");
  EXPECT_EQ(usage.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ExitStatus(usage), kExitUsage);
  // The mark survives an annotation, and can be put on any error.
  EXPECT_EQ(ExitStatus(Annotate(usage, "--config")), kExitUsage);
  EXPECT_EQ(ExitStatus(AsUsageError(absl::NotFoundError("x"))), kExitUsage);
  EXPECT_TRUE(AsUsageError(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace movierec
