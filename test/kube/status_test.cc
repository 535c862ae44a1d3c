#include "kube/status.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/status_body.h"

namespace berth::kube {
namespace {

using berth::testing::failure_status_body;

TEST(StatusTest, MapsCodesAndReasons) {
  struct Case {
    int http;
    const char* reason;
    ErrorCode code;
  };
  for (const Case& c : {Case{404, "NotFound", ErrorCode::kNotFound}, Case{409, "AlreadyExists", ErrorCode::kAlreadyExists},
                        Case{409, "Conflict", ErrorCode::kConflict}, Case{410, "Expired", ErrorCode::kGone},
                        Case{410, "Gone", ErrorCode::kGone}, Case{401, "Unauthorized", ErrorCode::kUnauthorized},
                        Case{403, "Forbidden", ErrorCode::kForbidden}, Case{422, "Invalid", ErrorCode::kInvalid},
                        Case{429, "TooManyRequests", ErrorCode::kTooManyRequests},
                        Case{500, "InternalError", ErrorCode::kServerError},
                        Case{503, "ServiceUnavailable", ErrorCode::kServerError},
                        Case{400, "BadRequest", ErrorCode::kHttpError}, Case{418, "", ErrorCode::kHttpError}}) {
    Error e = error_from_response(c.http, failure_status_body(c.http, c.reason, "the message"));
    EXPECT_EQ(e.code, c.code) << c.http << " " << c.reason;
    EXPECT_EQ(e.http_status, c.http);
    EXPECT_EQ(e.message, "the message");
  }
}

TEST(StatusTest, ToleratesBodiesThatAreNotStatus) {
  Error html = error_from_response(502, "<html>\n<body>Bad Gateway</body></html>");
  EXPECT_EQ(html.code, ErrorCode::kServerError);
  EXPECT_EQ(html.message, "<html>");
  Error empty = error_from_response(409, "");
  EXPECT_EQ(empty.code, ErrorCode::kConflict);
  EXPECT_EQ(empty.message, "HTTP 409");
  Error wrong_types = error_from_response(404, R"({"kind":"Status","reason":7,"message":["x"],"code":"404"})");
  EXPECT_EQ(wrong_types.code, ErrorCode::kNotFound);
  EXPECT_FALSE(wrong_types.message.empty());
  Error long_line = error_from_response(500, std::string(5000, 'x'));
  EXPECT_LT(long_line.message.size(), 300u);
  // Found by test/fuzz/watch_event_fuzzer: a "kind" that is not a string threw out of
  // error_from_response (nlohmann's value() throws on a type mismatch).
  Error kind_not_a_string = error_from_response(410, R"({"kind":1,"message":"gone"})");
  EXPECT_EQ(kind_not_a_string.code, ErrorCode::kGone);
  EXPECT_EQ(kind_not_a_string.message, R"({"kind":1,"message":"gone"})");
  EXPECT_EQ(error_from_response(500, R"({"kind":["Status"]})").code, ErrorCode::kServerError);
}

TEST(StatusTest, WatchErrorObject) {
  auto gone = nlohmann::json::parse(failure_status_body(410, "Expired", "too old resource version: 1 (5)"));
  Error e = error_from_status_object(gone);
  EXPECT_EQ(e.code, ErrorCode::kGone);
  EXPECT_EQ(e.http_status, 410);
  EXPECT_EQ(e.message, "too old resource version: 1 (5)");
  Error no_code = error_from_status_object(nlohmann::json{{"reason", "Expired"}});
  EXPECT_EQ(no_code.code, ErrorCode::kGone);
  Error garbage = error_from_status_object(nlohmann::json::array());
  EXPECT_EQ(garbage.code, ErrorCode::kServerError);
}

}  // namespace
}  // namespace berth::kube
