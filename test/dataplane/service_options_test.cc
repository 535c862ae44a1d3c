#include "dataplane/service_options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

namespace berth::dataplane {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

haproxy::Cidr cidr(std::string_view text) {
  auto parsed = haproxy::Cidr::parse(text);
  EXPECT_TRUE(parsed) << text;
  return *parsed;
}

std::vector<std::string> problem_keys(const ServiceOptions& parsed) {
  std::vector<std::string> keys;
  for (const OptionProblem& p : parsed.problems) keys.push_back(p.key);
  return keys;
}

std::string problems_text(const ServiceOptions& parsed) {
  std::string text;
  for (const OptionProblem& p : parsed.problems) text += p.message() + "\n";
  return text;
}

// Every byte printable ASCII: what an Event message may carry of a user's value.
bool printable_ascii(std::string_view text) {
  return std::ranges::all_of(text, [](char c) { return c >= 0x20 && c <= 0x7E; });
}

ServiceOptions parse(std::map<std::string, std::string> annotations, const controller::AnnotationConfig& config = {}) {
  return parse_service_options(annotations, config);
}

TEST(ServiceOptionsTest, DefaultsWithoutAnnotations) {
  ServiceOptions parsed = parse({{"ingress", "haproxy-ingress"}, {"haproxy-ingress/3306", "20001"}});
  EXPECT_EQ(parsed.options, haproxy::BackendOptions{});
  EXPECT_EQ(parsed.mode, BackendMode::kEndpoints);
  EXPECT_TRUE(parsed.servable);
  EXPECT_TRUE(parsed.problems.empty());
  EXPECT_EQ(parsed.options.check, haproxy::CheckKind::kTcp);
  EXPECT_EQ(parsed.options.timeout_connect, 5s);
  EXPECT_EQ(parsed.options.timeout_client, 24h);
}

// Each case: annotations → the expected options (the defaults, changed by `expect`), the
// keys of the expected problems (in order) and, for the first problem, a part of its reason.
struct Case {
  const char* label;
  std::map<std::string, std::string> annotations;
  std::function<void(haproxy::BackendOptions&)> expect;
  std::vector<std::string> problems = {};
  std::string reason_part = "";
  BackendMode mode = BackendMode::kEndpoints;
  bool servable = true;
};

void run(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    ServiceOptions parsed = parse(c.annotations);
    haproxy::BackendOptions expected;
    if (c.expect) c.expect(expected);
    EXPECT_EQ(parsed.options, expected);
    EXPECT_EQ(parsed.mode, c.mode);
    EXPECT_EQ(parsed.servable, c.servable);
    EXPECT_EQ(problem_keys(parsed), c.problems) << problems_text(parsed);
    if (!c.reason_part.empty() && !parsed.problems.empty()) {
      EXPECT_THAT(parsed.problems.front().reason, HasSubstr(c.reason_part));
    }
  }
}

const std::string kCheck = "\"haproxy-ingress/check\"";
const std::string kCheckUser = "\"haproxy-ingress/check-user\"";
const std::string kCheckHttp = "\"haproxy-ingress/check-http\"";

TEST(ServiceOptionsTest, Checks) {
  using haproxy::CheckKind;
  run({
      {"tcp", {{"haproxy-ingress/check", "tcp"}}, nullptr},
      {"mysql", {{"haproxy-ingress/check", "mysql"}}, [](auto& o) { o.check = CheckKind::kMysql; }},
      {"pgsql defaults its user",
       {{"haproxy-ingress/check", "pgsql"}},
       [](auto& o) {
         o.check = CheckKind::kPgsql;
         o.check_user = "postgres";
       }},
      {"redis", {{"haproxy-ingress/check", "redis"}}, [](auto& o) { o.check = CheckKind::kRedis; }},
      {"none", {{"haproxy-ingress/check", "none"}}, [](auto& o) { o.check = CheckKind::kNone; }},
      {"case matters", {{"haproxy-ingress/check", "MySQL"}}, nullptr, {kCheck}, "using tcp"},
      {"unknown kind", {{"haproxy-ingress/check", "http"}}, nullptr, {kCheck}, "must be one of"},
      {"mysql user",
       {{"haproxy-ingress/check", "mysql"}, {"haproxy-ingress/check-user", "haproxy_check"}},
       [](auto& o) {
         o.check = CheckKind::kMysql;
         o.check_user = "haproxy_check";
       }},
      {"pgsql user",
       {{"haproxy-ingress/check", "pgsql"}, {"haproxy-ingress/check-user", "monitor.v-1"}},
       [](auto& o) {
         o.check = CheckKind::kPgsql;
         o.check_user = "monitor.v-1";
       }},
      {"63-character user",
       {{"haproxy-ingress/check", "mysql"}, {"haproxy-ingress/check-user", std::string(63, 'u')}},
       [](auto& o) {
         o.check = CheckKind::kMysql;
         o.check_user = std::string(63, 'u');
       }},
      {"64-character user",
       {{"haproxy-ingress/check", "mysql"}, {"haproxy-ingress/check-user", std::string(64, 'u')}},
       [](auto& o) { o.check = CheckKind::kMysql; },
       {kCheckUser},
       "1 to 63"},
      {"invalid pgsql user falls back to postgres",
       {{"haproxy-ingress/check", "pgsql"}, {"haproxy-ingress/check-user", "bad user"}},
       [](auto& o) {
         o.check = CheckKind::kPgsql;
         o.check_user = "postgres";
       },
       {kCheckUser}},
      {"empty user",
       {{"haproxy-ingress/check", "mysql"}, {"haproxy-ingress/check-user", ""}},
       [](auto& o) { o.check = CheckKind::kMysql; },
       {kCheckUser}},
      {"user with redis has no effect",
       {{"haproxy-ingress/check", "redis"}, {"haproxy-ingress/check-user", "u"}},
       [](auto& o) { o.check = CheckKind::kRedis; },
       {kCheckUser},
       "no effect with check=redis"},
      {"user with the default tcp check has no effect",
       {{"haproxy-ingress/check-user", "u"}},
       nullptr,
       {kCheckUser},
       "no effect with check=tcp"},
      {"user with an invalid check is judged against tcp",
       {{"haproxy-ingress/check", "mysqll"}, {"haproxy-ingress/check-user", "u"}},
       nullptr,
       {kCheck, kCheckUser}},
  });
}

TEST(ServiceOptionsTest, HttpCheck) {
  using haproxy::CheckKind;
  auto patroni = [](auto& o) { o.check_http = haproxy::HttpCheck{8008, "/primary"}; };
  run({
      {"patroni", {{"haproxy-ingress/check-http", "8008 /primary"}}, patroni},
      {"every path character",
       {{"haproxy-ingress/check-http", "1 /a-Z_0.9~/x"}},
       [](auto& o) {
         o.check_http = haproxy::HttpCheck{1, "/a-Z_0.9~/x"};
       }},
      {"root path and highest port",
       {{"haproxy-ingress/check-http", "65535 /"}},
       [](auto& o) {
         o.check_http = haproxy::HttpCheck{65535, "/"};
       }},
      {"256-character path",
       {{"haproxy-ingress/check-http", "8008 /" + std::string(255, 'p')}},
       [](auto& o) {
         o.check_http = haproxy::HttpCheck{8008, "/" + std::string(255, 'p')};
       }},
      {"257-character path", {{"haproxy-ingress/check-http", "8008 /" + std::string(256, 'p')}}, nullptr, {kCheckHttp}},
      {"explicit tcp check beside it is fine",
       {{"haproxy-ingress/check", "tcp"}, {"haproxy-ingress/check-http", "8008 /primary"}},
       patroni},
      {"check-http wins over mysql",
       {{"haproxy-ingress/check", "mysql"}, {"haproxy-ingress/check-http", "8008 /primary"}},
       patroni,
       {kCheck},
       "check-http is set and wins"},
      {"check-http wins over none",
       {{"haproxy-ingress/check", "none"}, {"haproxy-ingress/check-http", "8008 /primary"}},
       patroni,
       {kCheck}},
      {"check-http drops the pgsql default user",
       {{"haproxy-ingress/check", "pgsql"}, {"haproxy-ingress/check-http", "8008 /primary"}},
       patroni,
       {kCheck}},
      {"check-user has no effect with check-http",
       {{"haproxy-ingress/check-user", "u"}, {"haproxy-ingress/check-http", "8008 /primary"}},
       patroni,
       {kCheckUser},
       "no effect with check-http"},
      {"invalid check-http leaves check in charge",
       {{"haproxy-ingress/check", "redis"}, {"haproxy-ingress/check-http", "8008"}},
       [](auto& o) { o.check = CheckKind::kRedis; },
       {kCheckHttp},
       "not used"},
      {"two blanks", {{"haproxy-ingress/check-http", "8008  /primary"}}, nullptr, {kCheckHttp}},
      {"a tab", {{"haproxy-ingress/check-http", "8008\t/primary"}}, nullptr, {kCheckHttp}},
      {"leading zero", {{"haproxy-ingress/check-http", "08008 /primary"}}, nullptr, {kCheckHttp}},
      {"port 0", {{"haproxy-ingress/check-http", "0 /primary"}}, nullptr, {kCheckHttp}},
      {"port 65536", {{"haproxy-ingress/check-http", "65536 /primary"}}, nullptr, {kCheckHttp}},
      {"no slash", {{"haproxy-ingress/check-http", "8008 primary"}}, nullptr, {kCheckHttp}},
      {"blank in path", {{"haproxy-ingress/check-http", "8008 /pri mary"}}, nullptr, {kCheckHttp}},
      {"query string", {{"haproxy-ingress/check-http", "8008 /health?x=1"}}, nullptr, {kCheckHttp}},
      {"path only", {{"haproxy-ingress/check-http", "/primary"}}, nullptr, {kCheckHttp}},
      {"empty", {{"haproxy-ingress/check-http", ""}}, nullptr, {kCheckHttp}},
  });
}

TEST(ServiceOptionsTest, BalanceTimeoutsMaxconnProxyProtocolBackend) {
  using haproxy::Balance;
  using haproxy::ProxyProtocol;
  const std::string kBalance = "\"haproxy-ingress/balance\"";
  const std::string kConnect = "\"haproxy-ingress/timeout-connect\"";
  const std::string kClient = "\"haproxy-ingress/timeout-client\"";
  const std::string kServer = "\"haproxy-ingress/timeout-server\"";
  const std::string kMaxconn = "\"haproxy-ingress/maxconn\"";
  const std::string kProxy = "\"haproxy-ingress/proxy-protocol\"";
  const std::string kBackend = "\"haproxy-ingress/backend\"";
  run({
      {"roundrobin", {{"haproxy-ingress/balance", "roundrobin"}}, nullptr},
      {"leastconn", {{"haproxy-ingress/balance", "leastconn"}}, [](auto& o) { o.balance = Balance::kLeastConn; }},
      {"first", {{"haproxy-ingress/balance", "first"}}, [](auto& o) { o.balance = Balance::kFirst; }},
      {"source", {{"haproxy-ingress/balance", "source"}}, [](auto& o) { o.balance = Balance::kSource; }},
      {"random is not offered", {{"haproxy-ingress/balance", "random"}}, nullptr, {kBalance}, "using roundrobin"},

      {"30s", {{"haproxy-ingress/timeout-connect", "30s"}}, [](auto& o) { o.timeout_connect = 30s; }},
      {"8h", {{"haproxy-ingress/timeout-client", "8h"}}, [](auto& o) { o.timeout_client = 8h; }},
      {"1h30m", {{"haproxy-ingress/timeout-server", "1h30m"}}, [](auto& o) { o.timeout_server = 90min; }},
      {"1.5s", {{"haproxy-ingress/timeout-server", "1.5s"}}, [](auto& o) { o.timeout_server = 1500ms; }},
      {"1ms", {{"haproxy-ingress/timeout-connect", "1ms"}}, [](auto& o) { o.timeout_connect = 1ms; }},
      {"576h is 24 days", {{"haproxy-ingress/timeout-client", "576h"}}, [](auto& o) { o.timeout_client = 576h; }},
      {"more than 24 days", {{"haproxy-ingress/timeout-client", "576h0m0.001s"}}, nullptr, {kClient}, "using 24h0m0s"},
      {"577h", {{"haproxy-ingress/timeout-server", "577h"}}, nullptr, {kServer}},
      {"0s", {{"haproxy-ingress/timeout-connect", "0s"}}, nullptr, {kConnect}, "using 5s"},
      {"0", {{"haproxy-ingress/timeout-connect", "0"}}, nullptr, {kConnect}},
      {"fraction of a millisecond", {{"haproxy-ingress/timeout-connect", "1.5ms"}}, nullptr, {kConnect}},
      {"microseconds", {{"haproxy-ingress/timeout-connect", "500us"}}, nullptr, {kConnect}},
      {"negative", {{"haproxy-ingress/timeout-connect", "-1s"}}, nullptr, {kConnect}},
      {"no unit", {{"haproxy-ingress/timeout-connect", "30"}}, nullptr, {kConnect}},
      {"days are not a Go unit", {{"haproxy-ingress/timeout-client", "1d"}}, nullptr, {kClient}},
      {"upper-case unit", {{"haproxy-ingress/timeout-client", "30S"}}, nullptr, {kClient}},

      {"maxconn 1", {{"haproxy-ingress/maxconn", "1"}}, [](auto& o) { o.maxconn = 1; }},
      {"maxconn 1000000", {{"haproxy-ingress/maxconn", "1000000"}}, [](auto& o) { o.maxconn = 1000000; }},
      {"maxconn 0", {{"haproxy-ingress/maxconn", "0"}}, nullptr, {kMaxconn}, "1..1000000"},
      {"maxconn 1000001", {{"haproxy-ingress/maxconn", "1000001"}}, nullptr, {kMaxconn}},
      {"maxconn leading zero", {{"haproxy-ingress/maxconn", "0100"}}, nullptr, {kMaxconn}},
      {"maxconn sign", {{"haproxy-ingress/maxconn", "+100"}}, nullptr, {kMaxconn}},
      {"maxconn exponent", {{"haproxy-ingress/maxconn", "1e3"}}, nullptr, {kMaxconn}},
      {"maxconn huge", {{"haproxy-ingress/maxconn", "99999999999999999999"}}, nullptr, {kMaxconn}},

      {"proxy v1", {{"haproxy-ingress/proxy-protocol", "v1"}}, [](auto& o) { o.proxy_protocol = ProxyProtocol::kV1; }},
      {"proxy v2", {{"haproxy-ingress/proxy-protocol", "v2"}}, [](auto& o) { o.proxy_protocol = ProxyProtocol::kV2; }},
      {"proxy V2", {{"haproxy-ingress/proxy-protocol", "V2"}}, nullptr, {kProxy}},
      {"proxy v3", {{"haproxy-ingress/proxy-protocol", "v3"}}, nullptr, {kProxy}},
      {"proxy true", {{"haproxy-ingress/proxy-protocol", "true"}}, nullptr, {kProxy}},

      {"backend endpoints", {{"haproxy-ingress/backend", "endpoints"}}, nullptr},
      {"backend clusterip", {{"haproxy-ingress/backend", "clusterip"}}, nullptr, {}, "", BackendMode::kClusterIp},
      {"backend ClusterIP", {{"haproxy-ingress/backend", "ClusterIP"}}, nullptr, {kBackend}, "using endpoints"},
  });
}

TEST(ServiceOptionsTest, AllowSources) {
  const std::string kKey = "\"haproxy-ingress/allow-sources\"";
  std::vector<std::string> entries;
  for (int i = 0; i < 65; ++i) entries.push_back(fmt::format("10.{}.0.0/16", i));
  const std::string sixty_four = fmt::format("{}", fmt::join(entries.begin(), entries.begin() + 64, ","));
  const std::string sixty_five = fmt::format("{}", fmt::join(entries, ","));
  run({
      {"one range",
       {{"haproxy-ingress/allow-sources", "10.0.0.0/8"}},
       [](auto& o) { o.allow_sources = {cidr("10.0.0.0/8")}; }},
      {"blanks around entries, sorted and deduplicated",
       {{"haproxy-ingress/allow-sources", " 192.168.1.0/24 ,10.0.0.0/8,\t10.0.0.0/8 "}},
       [](auto& o) {
         o.allow_sources = {cidr("10.0.0.0/8"), cidr("192.168.1.0/24")};
       }},
      {"IPv6 and a single host",
       {{"haproxy-ingress/allow-sources", "fd00::/8,203.0.113.7"}},
       [](auto& o) {
         o.allow_sources = {cidr("fd00::/8"), cidr("203.0.113.7/32")};
         std::ranges::sort(o.allow_sources);
       }},
      {"64 entries",
       {{"haproxy-ingress/allow-sources", sixty_four}},
       [&](auto& o) {
         for (int i = 0; i < 64; ++i) o.allow_sources.push_back(cidr(entries[i]));
         std::ranges::sort(o.allow_sources);
       }},
  });
  // Invalid lists fail closed: the Service is not servable, and allow_sources says nothing.
  const char* invalid[] = {"10.0.0.1/8",
                           "10.0.0.0/33",
                           "10.0.0.0/8,",
                           ",",
                           "",
                           "10.0.0.0/8;192.168.0.0/16",
                           "10.0.0.0/8 192.168.0.0/16",
                           "10.0.0.0/08",
                           "*",
                           "0.0.0.0/0,x",
                           "fe80::1%eth0",
                           "10.0.0.0/8\n"};
  for (const char* value : invalid) {
    SCOPED_TRACE(::testing::PrintToString(std::string(value)));
    ServiceOptions parsed = parse({{"haproxy-ingress/allow-sources", value}});
    EXPECT_FALSE(parsed.servable);
    EXPECT_EQ(parsed.options, haproxy::BackendOptions{});
    ASSERT_EQ(problem_keys(parsed), std::vector<std::string>{kKey});
    EXPECT_THAT(parsed.problems[0].reason, HasSubstr("not served until it is fixed"));
  }
  ServiceOptions too_many = parse({{"haproxy-ingress/allow-sources", sixty_five}});
  EXPECT_FALSE(too_many.servable);
  ASSERT_EQ(too_many.problems.size(), 1u);
  EXPECT_THAT(too_many.problems[0].reason, HasSubstr("more than 64 entries"));
  ServiceOptions entry = parse({{"haproxy-ingress/allow-sources", "10.0.0.0/8, 10.1.0.1/16"}});
  ASSERT_EQ(entry.problems.size(), 1u);
  EXPECT_THAT(entry.problems[0].reason, HasSubstr("entry 2 "));
}

TEST(ServiceOptionsTest, KeysThatAreNotOptions) {
  controller::AnnotationConfig config;
  config.class_annotation = "haproxy-ingress/class";
  ServiceOptions parsed = parse(
      {
          {"haproxy-ingress/class", "haproxy-ingress"},  // the marker, under the prefix
          {"haproxy-ingress/3306", "20001"},
          {"haproxy-ingress/03306", "garbage"},  // all digits: the allocator's stale key
          {"haproxy-ingress/quarantine", "{}"},
          {"other.example.com/check", "bogus"},
          {"haproxy-ingressx/check", "bogus"},
          {"haproxy-ingress", "bogus"},
          {"check", "bogus"},
      },
      config);
  EXPECT_TRUE(parsed.problems.empty()) << problems_text(parsed);
  EXPECT_EQ(parsed.options, haproxy::BackendOptions{});
}

TEST(ServiceOptionsTest, UnknownOptionsAreReportedAndChangeNothingElse) {
  ServiceOptions parsed = parse({{"haproxy-ingress/chek", "mysql"},
                                 {"haproxy-ingress/", "x"},
                                 {"haproxy-ingress/Check", "mysql"},
                                 {"haproxy-ingress/balance", "leastconn"}});
  EXPECT_EQ(problem_keys(parsed), (std::vector<std::string>{"\"haproxy-ingress/\"", "\"haproxy-ingress/Check\"",
                                                            "\"haproxy-ingress/chek\""}));
  for (const OptionProblem& p : parsed.problems) EXPECT_EQ(p.reason, "unknown option; ignored");
  haproxy::BackendOptions expected;
  expected.balance = haproxy::Balance::kLeastConn;
  EXPECT_EQ(parsed.options, expected);
  EXPECT_TRUE(parsed.servable);
  EXPECT_EQ(parsed.problems[2].message(), "\"haproxy-ingress/chek\" \"mysql\": unknown option; ignored");
}

TEST(ServiceOptionsTest, CustomPrefix) {
  controller::AnnotationConfig config;
  config.prefix = "lb.example.com";
  ServiceOptions parsed =
      parse({{"lb.example.com/check", "redis"}, {"haproxy-ingress/check", "mysql"}, {"lb.example.com/x", "1"}}, config);
  EXPECT_EQ(parsed.options.check, haproxy::CheckKind::kRedis);
  EXPECT_EQ(problem_keys(parsed), std::vector<std::string>{"\"lb.example.com/x\""});
}

// Hostile variants of a valid value: each must give one problem on its key and the default,
// and the problem must show the value only as a short, printable excerpt.
TEST(ServiceOptionsTest, HostileValuesGiveAProblemAndTheDefault) {
  const std::pair<std::string, std::string> valid[] = {
      {"check", "mysql"},
      {"check-user", "monitor"},
      {"check-http", "8008 /primary"},
      {"balance", "leastconn"},
      {"timeout-connect", "30s"},
      {"timeout-client", "8h"},
      {"timeout-server", "1h30m"},
      {"maxconn", "500"},
      {"proxy-protocol", "v2"},
      {"allow-sources", "10.0.0.0/8"},
      {"backend", "clusterip"},
  };
  for (const auto& [option, good] : valid) {
    std::vector<std::string> hostile = {
        good + "\n",
        good + "\nserver evil 192.0.2.1:1",
        good + " #",
        "#" + good,
        "\"" + good + "\"",
        "'" + good + "'",
        "{" + good + "}",
        good + "}}{{",
        good + std::string(10'000, 'a'),
        std::string(10'000, '9'),
        good + "\xC3\xA9",  // é
        "\xEF\xBC\x90",     // a full-width digit
        good + std::string("\0x", 2),
        std::string("\0", 1),
        "",
        good + "\r",
        good + "\x7F",
    };
    if (option != "allow-sources") {
      hostile.push_back(" " + good);
      hostile.push_back(good + " ");
      hostile.push_back(good + "\t");
    }
    for (const std::string& value : hostile) {
      SCOPED_TRACE(option + " = " + ::testing::PrintToString(value.substr(0, 40)));
      std::map<std::string, std::string> annotations = {{"haproxy-ingress/" + option, value}};
      // check-user needs a check that uses it to be judged on its own.
      if (option == "check-user") annotations["haproxy-ingress/check"] = "mysql";
      ServiceOptions parsed = parse(annotations);
      haproxy::BackendOptions expected;
      if (option == "check-user") expected.check = haproxy::CheckKind::kMysql;
      EXPECT_EQ(parsed.options, expected);
      EXPECT_EQ(parsed.mode, BackendMode::kEndpoints);
      EXPECT_EQ(parsed.servable, option != "allow-sources");
      ASSERT_EQ(problem_keys(parsed), std::vector<std::string>{"\"haproxy-ingress/" + option + "\""});
      const std::string message = parsed.problems[0].message();
      EXPECT_TRUE(printable_ascii(message)) << message;
      EXPECT_LT(message.size(), 400u) << message;
      if (value.size() > 64 || !printable_ascii(value)) {  // short printable values are shown as they are
        EXPECT_THAT(message, ::testing::Not(HasSubstr(value)));
      }
    }
  }
}

TEST(ServiceOptionsTest, ProblemsAreStableAndSorted) {
  std::map<std::string, std::string> annotations = {{"haproxy-ingress/zzz", "1"},
                                                    {"haproxy-ingress/check", "mysql"},
                                                    {"haproxy-ingress/check-http", "8008 /primary"},
                                                    {"haproxy-ingress/maxconn", "-1"},
                                                    {"haproxy-ingress/aaa", "1"}};
  ServiceOptions first = parse(annotations);
  ServiceOptions second = parse(annotations);
  EXPECT_EQ(first.problems, second.problems);
  EXPECT_TRUE(std::ranges::is_sorted(first.problems));
  EXPECT_EQ(first.problems.size(), 4u) << problems_text(first);
}

TEST(ServiceOptionsTest, SafeExcerpt) {
  struct ExcerptCase {
    std::string text;
    std::string expected;
  };
  const ExcerptCase cases[] = {
      {"mysql", R"("mysql")"},
      {"", R"("")"},
      {"a\nb\rc\td", R"("a\nb\rc\td")"},
      {"say \"hi\" \\o/", R"("say \"hi\" \\o/")"},
      {std::string("a\0b", 3), R"("a\x00b")"},
      {"\xC3\xA9t\xC3\xA9", R"("\xc3\xa9t\xc3\xa9")"},
      {"\x7F\x1B[31m", R"("\x7f\x1b[31m")"},
      {"# {x} 'y'", R"("# {x} 'y'")"},
      {std::string(64, 'a'), "\"" + std::string(64, 'a') + "\""},
      {std::string(65, 'a'), "\"" + std::string(64, 'a') + "\"... (65 bytes)"},
      {std::string(10'000, 'a'), "\"" + std::string(64, 'a') + "\"... (10000 bytes)"},
      // An escape is never cut: 63 characters and a 2-character escape do not fit in 64.
      {std::string(63, 'a') + "\n", "\"" + std::string(63, 'a') + "\"... (64 bytes)"},
      {std::string(62, 'a') + "\n", "\"" + std::string(62, 'a') + "\\n\""},
  };
  for (const ExcerptCase& c : cases) {
    EXPECT_EQ(safe_excerpt(c.text), c.expected) << ::testing::PrintToString(c.text);
    EXPECT_TRUE(printable_ascii(safe_excerpt(c.text)));
  }
}

}  // namespace
}  // namespace berth::dataplane
