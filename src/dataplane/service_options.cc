#include "dataplane/service_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <variant>

#include "common/ascii.h"
#include "common/go_duration.h"

namespace berth::dataplane {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kExcerptChars = 64;
constexpr std::size_t kMaxCheckUser = 63;
constexpr std::size_t kMaxCheckPath = 256;
constexpr int kMaxMaxconn = 1'000'000;
// HAProxy keeps timeouts as signed 32-bit milliseconds (at most 2^31-1 ms, about 24.8 days).
constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::hours(24 * 24);

constexpr std::string_view kCheck = "check";
constexpr std::string_view kCheckUser = "check-user";
constexpr std::string_view kCheckHttp = "check-http";
constexpr std::string_view kBalance = "balance";
constexpr std::string_view kTimeoutConnect = "timeout-connect";
constexpr std::string_view kTimeoutClient = "timeout-client";
constexpr std::string_view kTimeoutServer = "timeout-server";
constexpr std::string_view kMaxconn = "maxconn";
constexpr std::string_view kProxyProtocol = "proxy-protocol";
constexpr std::string_view kAllowSources = "allow-sources";
constexpr std::string_view kBackend = "backend";

constexpr std::string_view kOptionNames[] = {kAllowSources,  kBackend,        kBalance,      kCheck,
                                             kCheckHttp,     kCheckUser,      kMaxconn,      kProxyProtocol,
                                             kTimeoutClient, kTimeoutConnect, kTimeoutServer};

bool is_alnum(char c) { return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_user_char(char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; }
bool is_path_char(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '~' || c == '/' || c == '-'; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Canonical decimal in [min, max]: digits only, no sign, no leading zero (as parse_host_port).
std::optional<int> parse_canonical(std::string_view text, int min, int max) {
  if (text.empty() || text.size() > 10 || !is_ascii_digits(text)) return std::nullopt;
  if (text.size() > 1 && text.front() == '0') return std::nullopt;
  long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return static_cast<int>(value);
}

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view check_name(haproxy::CheckKind kind) {
  switch (kind) {
    case haproxy::CheckKind::kTcp:
      return "tcp";
    case haproxy::CheckKind::kMysql:
      return "mysql";
    case haproxy::CheckKind::kPgsql:
      return "pgsql";
    case haproxy::CheckKind::kRedis:
      return "redis";
    case haproxy::CheckKind::kNone:
      return "none";
  }
  return "tcp";
}

std::optional<haproxy::CheckKind> parse_check(std::string_view text) {
  for (auto kind : {haproxy::CheckKind::kTcp, haproxy::CheckKind::kMysql, haproxy::CheckKind::kPgsql,
                    haproxy::CheckKind::kRedis, haproxy::CheckKind::kNone}) {
    if (text == check_name(kind)) return kind;
  }
  return std::nullopt;
}

std::optional<haproxy::Balance> parse_balance(std::string_view text) {
  if (text == "roundrobin") return haproxy::Balance::kRoundRobin;
  if (text == "leastconn") return haproxy::Balance::kLeastConn;
  if (text == "first") return haproxy::Balance::kFirst;
  if (text == "source") return haproxy::Balance::kSource;
  return std::nullopt;
}

std::optional<std::string> parse_check_user(std::string_view text) {
  if (text.empty() || text.size() > kMaxCheckUser || !std::ranges::all_of(text, is_user_char)) return std::nullopt;
  return std::string(text);
}

// "<port> <path>": exactly one space between, nothing around.
std::optional<haproxy::HttpCheck> parse_check_http(std::string_view text) {
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto port = parse_canonical(text.substr(0, space), 1, 65535);
  const std::string_view path = text.substr(space + 1);
  if (!port || path.empty() || path.front() != '/' || path.size() > kMaxCheckPath ||
      !std::ranges::all_of(path, is_path_char)) {
    return std::nullopt;
  }
  return haproxy::HttpCheck{*port, std::string(path)};
}

std::optional<std::chrono::milliseconds> parse_timeout(std::string_view text) {
  auto duration = parse_go_duration(text);
  if (!duration) return std::nullopt;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*duration);
  if (ms != *duration || ms < 1ms || ms > kMaxTimeout) return std::nullopt;
  return ms;
}

std::optional<haproxy::ProxyProtocol> parse_proxy_protocol(std::string_view text) {
  if (text == "v1") return haproxy::ProxyProtocol::kV1;
  if (text == "v2") return haproxy::ProxyProtocol::kV2;
  return std::nullopt;
}

std::optional<BackendMode> parse_backend(std::string_view text) {
  if (text == "endpoints") return BackendMode::kEndpoints;
  if (text == "clusterip") return BackendMode::kClusterIp;
  return std::nullopt;
}

// The sorted, unique ranges, or why the list is refused (a reason that never quotes the value).
std::variant<std::vector<haproxy::Cidr>, std::string> parse_allow_sources(std::string_view text) {
  std::vector<haproxy::Cidr> ranges;
  std::size_t entry = 0;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const std::string_view raw = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    ++entry;
    if (entry > kMaxAllowSources) return fmt::format("more than {} entries", kMaxAllowSources);
    const std::string_view item = trim_blanks(raw);
    if (item.empty()) return fmt::format("entry {} is empty", entry);
    auto cidr = haproxy::Cidr::parse(item);
    if (!cidr) {
      return fmt::format(
          "entry {} is not a CIDR range with its host bits clear (\"10.0.0.0/8\", \"fd00::/8\") or one address", entry);
    }
    ranges.push_back(std::move(*cidr));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::ranges::sort(ranges);
  ranges.erase(std::unique(ranges.begin(), ranges.end()), ranges.end());
  return ranges;
}

struct Found {
  std::string_view key;
  std::string_view value;
};

class Parser {
 public:
  Parser(const std::map<std::string, std::string>& annotations, const controller::AnnotationConfig& config) {
    const std::string quarantine = controller::quarantine_key(config);
    for (const auto& [key, value] : annotations) {
      auto name = controller::name_under_prefix(config, key);
      if (!name || controller::is_allocation_key(config, key) || key == quarantine || key == config.class_annotation) {
        continue;
      }
      if (std::ranges::find(kOptionNames, *name) != std::end(kOptionNames)) {
        found_.emplace(*name, Found{key, value});
      } else {
        problem(Found{key, value}, "unknown option; ignored");
      }
    }
  }

  ServiceOptions parse() {
    haproxy::BackendOptions& o = result_.options;
    if (auto f = find(kBackend)) {
      if (auto mode = parse_backend(f->value)) {
        result_.mode = *mode;
      } else {
        problem(*f, "must be endpoints or clusterip; using endpoints");
      }
    }
    parse_checks();
    if (auto f = find(kBalance)) {
      if (auto balance = parse_balance(f->value)) {
        o.balance = *balance;
      } else {
        problem(*f, "must be one of roundrobin, leastconn, first, source; using roundrobin");
      }
    }
    parse_timeout_option(kTimeoutConnect, o.timeout_connect);
    parse_timeout_option(kTimeoutClient, o.timeout_client);
    parse_timeout_option(kTimeoutServer, o.timeout_server);
    if (auto f = find(kMaxconn)) {
      if (auto maxconn = parse_canonical(f->value, 1, kMaxMaxconn)) {
        o.maxconn = *maxconn;
      } else {
        problem(*f, fmt::format("must be a number 1..{} (decimal, no sign, no leading zero); using only the "
                                "global limit",
                                kMaxMaxconn));
      }
    }
    if (auto f = find(kProxyProtocol)) {
      if (auto version = parse_proxy_protocol(f->value)) {
        o.proxy_protocol = *version;
      } else {
        problem(*f, "must be v1 or v2; no PROXY protocol header is sent");
      }
    }
    if (auto f = find(kAllowSources)) {
      auto parsed = parse_allow_sources(f->value);
      if (auto* ranges = std::get_if<std::vector<haproxy::Cidr>>(&parsed)) {
        o.allow_sources = std::move(*ranges);
      } else {
        // Fail closed: the default (every source) would open the port the user meant to restrict.
        result_.servable = false;
        problem(*f,
                fmt::format("{}; the Service's ports are not served until it is fixed", std::get<std::string>(parsed)));
      }
    }
    std::ranges::sort(result_.problems);
    return std::move(result_);
  }

 private:
  std::optional<Found> find(std::string_view name) const {
    auto it = found_.find(name);
    return it == found_.end() ? std::nullopt : std::optional<Found>(it->second);
  }

  void problem(const Found& f, std::string reason) {
    result_.problems.push_back({safe_excerpt(f.key), safe_excerpt(f.value), std::move(reason)});
  }

  void parse_checks() {
    haproxy::BackendOptions& o = result_.options;
    std::optional<haproxy::CheckKind> explicit_check;
    if (auto f = find(kCheck)) {
      explicit_check = parse_check(f->value);
      if (!explicit_check) problem(*f, "must be one of tcp, mysql, pgsql, redis, none; using tcp");
    }
    if (auto f = find(kCheckHttp)) {
      o.check_http = parse_check_http(f->value);
      if (!o.check_http) {
        problem(*f, fmt::format("must be \"<port> <path>\" (e.g. \"8008 /primary\"): a port 1..65535, one blank, "
                                "a path starting with '/' of at most {} of [A-Za-z0-9._~/-]; not used",
                                kMaxCheckPath));
      }
    }
    if (o.check_http) {
      // check-http replaces the check; `check` stays at its default so that an annotation
      // without effect cannot change the model.
      if (explicit_check && *explicit_check != haproxy::CheckKind::kTcp) {
        problem(*find(kCheck), "check-http is set and wins; this check is not used");
      }
    } else if (explicit_check) {
      o.check = *explicit_check;
    }

    std::optional<std::string> user;
    if (auto f = find(kCheckUser)) {
      user = parse_check_user(f->value);
      if (!user) {
        problem(*f, fmt::format("must be 1 to {} of [A-Za-z0-9_.-]; ignored", kMaxCheckUser));
      } else if (o.check_http) {
        problem(*f, "check-user has no effect with check-http; ignored");
        user.reset();
      } else if (o.check != haproxy::CheckKind::kMysql && o.check != haproxy::CheckKind::kPgsql) {
        problem(*f, fmt::format("check-user has no effect with check={}; ignored", check_name(o.check)));
        user.reset();
      }
    }
    if (user) {
      o.check_user = std::move(*user);
    } else if (o.check == haproxy::CheckKind::kPgsql && !o.check_http) {
      o.check_user = "postgres";  // HAProxy's pgsql-check needs a user name
    }
  }

  void parse_timeout_option(std::string_view name, std::chrono::milliseconds& target) {
    auto f = find(name);
    if (!f) return;
    if (auto timeout = parse_timeout(f->value)) {
      target = *timeout;
      return;
    }
    problem(*f, fmt::format("must be a Go duration of whole milliseconds from 1ms to 576h (24 days), e.g. 30s or "
                            "1h30m; using {}",
                            format_go_duration(target)));
  }

  std::map<std::string_view, Found> found_;
  ServiceOptions result_;
};

}  // namespace

std::span<const std::string_view> option_names() { return kOptionNames; }

std::string OptionProblem::message() const { return fmt::format("{} {}: {}", key, value, reason); }

ServiceOptions parse_service_options(const std::map<std::string, std::string>& annotations,
                                     const controller::AnnotationConfig& config) {
  return Parser(annotations, config).parse();
}

std::string safe_excerpt(std::string_view text) {
  std::string out = "\"";
  std::size_t used = 0;
  for (; used < text.size(); ++used) {
    const auto c = static_cast<unsigned char>(text[used]);
    std::string piece;
    if (c == '"' || c == '\\') {
      piece = {'\\', static_cast<char>(c)};
    } else if (c == '\n') {
      piece = "\\n";
    } else if (c == '\r') {
      piece = "\\r";
    } else if (c == '\t') {
      piece = "\\t";
    } else if (c < 0x20 || c > 0x7E) {
      piece = fmt::format("\\x{:02x}", c);
    } else {
      piece = static_cast<char>(c);
    }
    if (out.size() - 1 + piece.size() > kExcerptChars) break;
    out += piece;
  }
  out += '"';
  if (used < text.size()) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

}  // namespace berth::dataplane
