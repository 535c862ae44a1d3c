#include "kube/rest_client.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/log.h"
#include "kube/status.h"

namespace berth::kube {
namespace {

using nlohmann::json;

// A line longer than this without a newline is not a watch event; stop rather than grow forever.
constexpr std::size_t kMaxWatchLine = 64 * 1024 * 1024;

// Invalid UTF-8 in a string is replaced rather than thrown: a body is never worth an abort.
std::string dump(const json& doc) { return doc.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string string_or_empty(const json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool retry_any_failure(std::string_view method) { return method == "GET" || method == "PUT" || method == "DELETE"; }

Result<json> parse_body(const HttpResponse& response, std::string_view what) {
  auto doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(ErrorCode::kParse, fmt::format("{}: the answer is not a JSON object", what), response.status);
  }
  return doc;
}

}  // namespace

std::string url_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

namespace {

void add_param(std::string& query, std::string_view name, std::string_view value) {
  query += query.empty() ? '?' : '&';
  query += name;
  query += '=';
  query += url_escape(value);
}

}  // namespace

std::string list_query(const ListOptions& o) {
  std::string q;
  if (!o.label_selector.empty()) add_param(q, "labelSelector", o.label_selector);
  if (!o.field_selector.empty()) add_param(q, "fieldSelector", o.field_selector);
  if (o.limit > 0) add_param(q, "limit", std::to_string(o.limit));
  if (!o.continue_token.empty()) add_param(q, "continue", o.continue_token);
  if (!o.resource_version.empty()) add_param(q, "resourceVersion", o.resource_version);
  return q;
}

std::string watch_query(const WatchOptions& o) {
  std::string q;
  add_param(q, "watch", "true");
  if (!o.label_selector.empty()) add_param(q, "labelSelector", o.label_selector);
  if (!o.field_selector.empty()) add_param(q, "fieldSelector", o.field_selector);
  if (!o.resource_version.empty()) add_param(q, "resourceVersion", o.resource_version);
  if (o.allow_bookmarks) add_param(q, "allowWatchBookmarks", "true");
  if (o.timeout_seconds > 0) add_param(q, "timeoutSeconds", std::to_string(o.timeout_seconds));
  return q;
}

std::string_view patch_content_type(PatchType type) {
  switch (type) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
  }
  return "application/merge-patch+json";
}

RestClient::RestClient(KubeConfig config, HttpTransport& transport, TokenSource& tokens, RequestRateLimiter& limiter,
                       Clock& clock, RetryPolicy policy)
    : config_(std::move(config)),
      transport_(transport),
      tokens_(tokens),
      limiter_(limiter),
      clock_(clock),
      policy_(policy) {}

void RestClient::shutdown() { shutdown_.request_stop(); }

Result<void> RestClient::add_auth(HttpRequest& request) {
  auto token = tokens_.token();
  if (!token) return std::unexpected(token.error());
  if (!token->empty()) request.headers.add("Authorization", fmt::format("Bearer {}", *token));
  return {};
}

Result<HttpResponse> RestClient::execute(HttpRequest request) {
  auto log = logger("kube-client");
  std::stop_token stop = shutdown_.get_token();
  Backoff backoff(policy_.backoff);
  const bool retry_all = retry_any_failure(request.method);
  bool token_refreshed = false;
  const HttpHeaders base_headers = request.headers;
  for (int attempt = 1;; ++attempt) {
    if (!limiter_.acquire(stop)) return make_error(ErrorCode::kCancelled, "client is shutting down");
    request.headers = base_headers;
    if (auto auth = add_auth(request); !auth) return std::unexpected(auth.error());
    auto answer = transport_.send(request, stop);

    std::optional<Clock::duration> delay;  // set when this attempt may be retried
    Error error;
    if (!answer) {
      error = answer.error().error;
      if (error.code == ErrorCode::kCancelled) return std::unexpected(error);
      responses_.record_transport_failure();
      if (retry_all || !answer.error().may_have_reached_server) delay = backoff.next();
    } else {
      const HttpResponse& r = *answer;
      responses_.record_status(r.status);
      if (r.status >= 200 && r.status < 300) return std::move(*answer);
      error = error_from_response(r.status, r.body);
      if (r.status == 401 && !token_refreshed) {
        token_refreshed = true;
        if (auto refreshed = tokens_.refresh(); !refreshed) {
          log->warn("token refresh after 401 failed: {}", refreshed.error().message);
        }
        --attempt;  // the retry with a fresh token does not count against the budget
        continue;
      }
      bool not_processed = r.status == 429 || r.status == 503;
      if (not_processed || (r.status >= 500 && retry_all)) {
        auto next = backoff.next();
        if (auto after = r.retry_after()) {
          next = std::chrono::duration_cast<Clock::duration>(std::min<std::chrono::seconds>(*after, policy_.max_retry_after));
        }
        delay = next;
      }
    }
    if (!delay || attempt >= policy_.max_attempts) return std::unexpected(error);
    log->debug("retrying method={} url={} attempt={} error=\"{}\"", request.method, request.url, attempt,
               error.describe());
    if (!clock_.sleep_for(*delay, stop)) return make_error(ErrorCode::kCancelled, "client is shutting down");
  }
}

Result<json> RestClient::execute_json(HttpRequest request) {
  std::string what = fmt::format("{} {}", request.method, request.url);
  auto response = execute(std::move(request));
  if (!response) return std::unexpected(response.error());
  return parse_body(*response, what);
}

Result<json> RestClient::get(const ResourceType& type, std::string_view ns, std::string_view name) {
  HttpRequest r;
  r.method = "GET";
  r.url = config_.server + type.object_path(ns, name);
  r.timeout = policy_.request_timeout;
  return execute_json(std::move(r));
}

Result<ListPage> RestClient::list(const ResourceType& type, std::string_view ns, const ListOptions& options) {
  HttpRequest r;
  r.method = "GET";
  r.url = config_.server + type.collection_path(ns) + list_query(options);
  r.timeout = policy_.request_timeout;
  std::string what = fmt::format("GET {}", r.url);
  auto doc = execute_json(std::move(r));
  if (!doc) return std::unexpected(doc.error());
  ListPage page;
  auto items = doc->find("items");
  if (items != doc->end() && !items->is_null()) {
    if (!items->is_array()) return make_error(ErrorCode::kParse, fmt::format("{}: items is not an array", what));
    page.items.reserve(items->size());
    for (auto& item : *items) page.items.push_back(std::move(item));
  }
  auto meta = doc->find("metadata");
  if (meta != doc->end() && meta->is_object()) {
    page.resource_version = string_or_empty(*meta, "resourceVersion");
    page.continue_token = string_or_empty(*meta, "continue");
  }
  return page;
}

Result<void> RestClient::watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                               const WatchHandler& handler, std::stop_token stop) {
  auto log = logger("kube-client");
  // Either the caller's stop or shutdown() ends the watch.
  std::stop_source combined;
  std::stop_callback from_caller(stop, [&] { combined.request_stop(); });
  std::stop_callback from_shutdown(shutdown_.get_token(), [&] { combined.request_stop(); });

  HttpRequest r;
  r.method = "GET";
  r.url = config_.server + type.collection_path(ns) + watch_query(options);
  if (options.timeout_seconds > 0) {
    // The server ends the stream after timeoutSeconds; this bounds a connection that went dead
    // silently.
    r.timeout = std::chrono::seconds(options.timeout_seconds + 30);
  }
  if (!limiter_.acquire(combined.get_token())) return make_error(ErrorCode::kCancelled, "watch cancelled");
  if (auto auth = add_auth(r); !auth) return std::unexpected(auth.error());

  LineSplitter lines;
  bool handler_stopped = false;
  std::optional<Error> stream_error;
  auto on_line = [&](std::string_view line) {
    auto event = parse_watch_event(line);
    if (!event) {
      log->warn("skipping malformed watch line resource={} error=\"{}\"", type.plural, event.error().message);
      return true;
    }
    if (!handler(std::move(*event))) {
      handler_stopped = true;
      return false;
    }
    return true;
  };
  BodyCallback on_body = [&](std::string_view chunk) {
    if (!lines.feed(chunk, on_line)) return false;
    if (lines.buffered() > kMaxWatchLine) {
      stream_error = Error{ErrorCode::kParse, "watch line exceeds 64 MiB", 0};
      return false;
    }
    return true;
  };
  auto answer = transport_.stream(r, on_body, combined.get_token());
  if (!answer) {
    if (answer.error().error.code == ErrorCode::kCancelled) return make_error(ErrorCode::kCancelled, "watch cancelled");
    responses_.record_transport_failure();
    return std::unexpected(answer.error().error);
  }
  responses_.record_status(answer->status);
  if (answer->status < 200 || answer->status >= 300) {
    if (answer->status == 401) {
      if (auto refreshed = tokens_.refresh(); !refreshed) {
        log->warn("token refresh after 401 failed: {}", refreshed.error().message);
      }
    }
    return std::unexpected(error_from_response(answer->status, answer->body));
  }
  if (stream_error) return std::unexpected(*stream_error);
  if (!handler_stopped) {
    std::string rest = lines.take_rest();
    if (!rest.empty()) on_line(rest);
  }
  return {};
}

Result<json> RestClient::create(const ResourceType& type, std::string_view ns, const json& object) {
  HttpRequest r;
  r.method = "POST";
  r.url = config_.server + type.collection_path(ns);
  r.headers.add("Content-Type", "application/json");
  r.body = dump(object);
  r.timeout = policy_.request_timeout;
  return execute_json(std::move(r));
}

Result<json> RestClient::update(const ResourceType& type, std::string_view ns, std::string_view name,
                                const json& object) {
  HttpRequest r;
  r.method = "PUT";
  r.url = config_.server + type.object_path(ns, name);
  r.headers.add("Content-Type", "application/json");
  r.body = dump(object);
  r.timeout = policy_.request_timeout;
  return execute_json(std::move(r));
}

Result<json> RestClient::patch(const ResourceType& type, std::string_view ns, std::string_view name,
                               PatchType patch_type, const json& patch) {
  HttpRequest r;
  r.method = "PATCH";
  r.url = config_.server + type.object_path(ns, name);
  r.headers.add("Content-Type", std::string(patch_content_type(patch_type)));
  r.body = dump(patch);
  r.timeout = policy_.request_timeout;
  return execute_json(std::move(r));
}

Result<void> RestClient::remove(const ResourceType& type, std::string_view ns, std::string_view name) {
  HttpRequest r;
  r.method = "DELETE";
  r.url = config_.server + type.object_path(ns, name);
  r.timeout = policy_.request_timeout;
  auto response = execute(std::move(r));
  if (!response) return std::unexpected(response.error());
  return {};
}

}  // namespace berth::kube
