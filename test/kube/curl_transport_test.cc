// CurlTransport over HTTPS with a certificate made at test time by the openssl command line.
#include "kube/curl_transport.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "support/scripted_http_server.h"

namespace berth::kube {
namespace {

using berth::testing::ScriptedHttpServer;
using berth::testing::TempDir;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A self-signed certificate for 127.0.0.1 (its own CA) in dir/<name>.crt and dir/<name>.key.
bool make_cert(const TempDir& dir, std::string_view name) {
  std::string cmd = fmt::format(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout '{0}/{1}.key' -out '{0}/{1}.crt' >/dev/null 2>&1",
      dir.path().string(), name);
  return std::system(cmd.c_str()) == 0;
}

class CurlTransportTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(make_cert(dir_, "server"));
    ASSERT_TRUE(make_cert(dir_, "other"));
    server_ = std::make_unique<ScriptedHttpServer>(ScriptedHttpServer::Tls{
        (dir_.path() / "server.crt").string(), (dir_.path() / "server.key").string()});
    ASSERT_TRUE(server_->ok());
    server_->set_handler([](const auto&) { return berth::testing::ScriptedResponse::with_body(200, R"({"ok":true})"); });
  }

  std::string file(std::string_view name) const { return (dir_.path() / name).string(); }
  std::string pem(std::string_view name) const { return slurp(dir_.path() / name); }

  TransportResult<HttpResponse> get(CurlTransportOptions options) {
    CurlTransport transport(std::move(options));
    HttpRequest request;
    request.url = server_->url() + "/version";
    request.timeout = std::chrono::seconds(10);
    return transport.send(request, {});
  }

  TempDir dir_;
  std::unique_ptr<ScriptedHttpServer> server_;
};

TEST_F(CurlTransportTlsTest, TrustsTheClusterCaFromFileOrBytes) {
  CurlTransportOptions options;
  options.ca_file = file("server.crt");
  auto from_file = get(options);
  ASSERT_TRUE(from_file) << from_file.error().error.describe();
  EXPECT_EQ(from_file->status, 200);
  EXPECT_EQ(from_file->body, R"({"ok":true})");
  EXPECT_EQ(from_file->headers.get("content-type"), "application/json");

  options = {};
  options.ca_pem = pem("server.crt");
  auto from_bytes = get(options);
  ASSERT_TRUE(from_bytes) << from_bytes.error().error.describe();
  EXPECT_EQ(from_bytes->status, 200);
}

TEST_F(CurlTransportTlsTest, WrongCaIsRejectedBeforeTheRequestIsSent) {
  CurlTransportOptions options;
  options.ca_pem = pem("other.crt");
  auto wrong = get(options);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().error.code, ErrorCode::kTransport);
  EXPECT_FALSE(wrong.error().may_have_reached_server);
  // The system store does not know a test CA either.
  auto system = get(CurlTransportOptions{});
  ASSERT_FALSE(system);
  EXPECT_EQ(system.error().error.code, ErrorCode::kTransport);
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(CurlTransportTlsTest, InsecureSkipsVerification) {
  CurlTransportOptions options;
  options.ca_pem = pem("other.crt");
  options.insecure_skip_tls_verify = true;
  auto insecure = get(options);
  ASSERT_TRUE(insecure) << insecure.error().error.describe();
  EXPECT_EQ(insecure->status, 200);
}

TEST_F(CurlTransportTlsTest, ClientCertificateBytesAreUsed) {
  CurlTransportOptions options;
  options.ca_file = file("server.crt");
  options.client_cert_pem = pem("other.crt");
  options.client_key_pem = pem("other.key");
  auto good = get(options);
  ASSERT_TRUE(good) << good.error().error.describe();
  options.client_cert_pem = "not a certificate";
  options.client_key_pem = "not a key";
  auto broken = get(options);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().error.code, ErrorCode::kTransport);
}

TEST(HttpResponseTest, RetryAfterSecondsOnly) {
  HttpResponse r;
  EXPECT_FALSE(r.retry_after());
  r.headers.add("retry-after", " 7 ");
  EXPECT_EQ(r.retry_after(), std::chrono::seconds(7));
  HttpResponse date;
  date.headers.add("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_FALSE(date.retry_after());
}

}  // namespace
}  // namespace berth::kube

namespace berth::kube {
namespace {

TEST(CurlTransportTest, RequestTimeoutIsReportedAsTimeout) {
  ScriptedHttpServer server;
  server.enqueue(berth::testing::ScriptedResponse::streaming({"{}\n"}, /*hold_open=*/true));
  CurlTransport transport(CurlTransportOptions{});
  HttpRequest request;
  request.url = server.url() + "/slow";
  request.timeout = std::chrono::milliseconds(200);
  auto answer = transport.send(request, {});
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().error.code, ErrorCode::kTimeout);
  EXPECT_TRUE(answer.error().may_have_reached_server);
}

TEST(CurlTransportTest, StreamCollectsTheBodyOfAnErrorAnswer) {
  ScriptedHttpServer server;
  server.enqueue(berth::testing::ScriptedResponse::with_body(410, R"({"kind":"Status","code":410})"));
  server.enqueue(berth::testing::ScriptedResponse::streaming({"a", "b", "c"}));
  CurlTransport transport(CurlTransportOptions{});
  HttpRequest request;
  request.url = server.url() + "/watch";
  std::string streamed;
  BodyCallback collect = [&](std::string_view chunk) {
    streamed.append(chunk);
    return true;
  };
  auto gone = transport.stream(request, collect, {});
  ASSERT_TRUE(gone) << gone.error().error.describe();
  EXPECT_EQ(gone->status, 410);
  EXPECT_EQ(gone->body, R"({"kind":"Status","code":410})");
  EXPECT_EQ(streamed, "");
  auto ok = transport.stream(request, collect, {});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "");
  EXPECT_EQ(streamed, "abc");
}

}  // namespace
}  // namespace berth::kube
