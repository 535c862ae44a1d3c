#include "common/error.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Error, DescribeNamesCodeStatusAndMessage) {
  Error e{ErrorCode::kConflict, "the object has been modified", 409};
  EXPECT_EQ(e.describe(), "Conflict (HTTP 409): the object has been modified");
  Error local{ErrorCode::kIo, "cannot read /x"};
  EXPECT_EQ(local.describe(), "Io: cannot read /x");
}

TEST(Error, OnlyNetworkThrottlingAndServerErrorsAreTransient) {
  EXPECT_TRUE(is_transient(ErrorCode::kTransport));
  EXPECT_TRUE(is_transient(ErrorCode::kTimeout));
  EXPECT_TRUE(is_transient(ErrorCode::kTooManyRequests));
  EXPECT_TRUE(is_transient(ErrorCode::kServerError));
  EXPECT_FALSE(is_transient(ErrorCode::kConflict));
  EXPECT_FALSE(is_transient(ErrorCode::kNotFound));
  EXPECT_FALSE(is_transient(ErrorCode::kGone));
  EXPECT_FALSE(is_transient(ErrorCode::kParse));
}

TEST(Error, MakeErrorBuildsAnUnexpectedResult) {
  Result<int> r = make_error(ErrorCode::kNotFound, "services \"x\" not found", 404);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().http_status, 404);
}

}  // namespace
}  // namespace berth
