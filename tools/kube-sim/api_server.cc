#include "kube-sim/api_server.h"

#include <poll.h>

#include <random>
#include <vector>

#include <httplib.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "kube-sim/discovery.h"
#include "kube-sim/protobuf_namespace.h"
#include "kube-sim/table_printer.h"

namespace berth::kubesim {
namespace {

using httplib::Request;
using httplib::Response;

constexpr std::string_view kJson = "application/json";
// How long a watch waits for an event before it checks the deadline, the stop and the client.
constexpr std::chrono::milliseconds kWatchPoll{250};

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

void reply_json(Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), std::string(kJson));
}

void reply_failure(Response& res, int code, std::string_view message, const nlohmann::json& details = nullptr) {
  reply_json(res, code, failure_status(code, status_reason(code), message, details));
}

int http_status_of(const Error& error) {
  if (error.http_status != 0) return error.http_status;
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kGone: return 410;
    case ErrorCode::kInvalid: return 422;
    default: return 500;
  }
}

void reply_error(Response& res, const Error& error, const kube::ResourceType* type, std::string_view name) {
  int code = http_status_of(error);
  nlohmann::json details = nlohmann::json::object();
  if (!name.empty()) details["name"] = name;
  if (type != nullptr) {
    if (!type->group.empty()) details["group"] = type->group;
    details["kind"] = type->plural;
  }
  reply_json(res, code, failure_status(code, status_reason(code, error.code), error.message, details));
}

std::optional<bool> parse_bool(std::string_view value) {
  // Go's strconv.ParseBool, which kube-apiserver uses for query parameters.
  if (value == "1" || value == "t" || value == "T" || value == "true" || value == "TRUE" || value == "True") {
    return true;
  }
  if (value == "0" || value == "f" || value == "F" || value == "false" || value == "FALSE" || value == "False") {
    return false;
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(const std::string& value) {
  try {
    std::size_t used = 0;
    long long v = std::stoll(value, &used);
    if (used != value.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string_view event_type_name(kube::WatchEventType type) {
  switch (type) {
    case kube::WatchEventType::kAdded: return "ADDED";
    case kube::WatchEventType::kModified: return "MODIFIED";
    case kube::WatchEventType::kDeleted: return "DELETED";
    case kube::WatchEventType::kBookmark: return "BOOKMARK";
    case kube::WatchEventType::kError: return "ERROR";
  }
  return "ERROR";
}

// Whether the client of a watch has gone: a watch client sends nothing after its request, so
// anything readable on the socket (a TLS close_notify, EOF) or a hang-up means it is closing.
// Without this a watch of an idle resource would hold its pool thread until its timeout.
bool client_gone(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  int n = ::poll(&p, 1, 0);
  return n > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

std::chrono::seconds random_watch_timeout() {
  // kube-apiserver picks a random timeout in [minRequestTimeout, 2*minRequestTimeout) so that
  // watches do not all end at once; its default minRequestTimeout is 30 minutes, 5 is enough here.
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::chrono::seconds(std::uniform_int_distribution<int>(300, 599)(rng));
}

Result<nlohmann::json> parse_body(const Request& req, bool allow_array) {
  try {
    auto body = nlohmann::json::parse(req.body);
    if (!body.is_object() && !(allow_array && body.is_array())) {
      return make_error(ErrorCode::kInvalidArgument, "the request body is not a JSON object", 400);
    }
    return body;
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("the request body is not valid JSON: ") + e.what(),
                      400);
  }
}

std::string media_type(const Request& req) {
  std::string type = req.get_header_value("Content-Type");
  if (auto semi = type.find(';'); semi != std::string::npos) type.resize(semi);
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

// Makes the object's metadata agree with the URL: a different namespace or name is a 400, a
// missing one is filled in.
Result<void> reconcile_metadata(nlohmann::json& object, const ResourcePath& route) {
  if (object.contains("metadata") && !object["metadata"].is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "metadata must be an object", 400);
  }
  auto& meta = object["metadata"];
  if (route.type->namespaced) {
    if (meta.contains("namespace") && meta["namespace"].is_string() && !meta["namespace"].get<std::string>().empty() &&
        meta["namespace"].get<std::string>() != route.ns) {
      return make_error(ErrorCode::kInvalidArgument,
                        "the namespace of the provided object does not match the namespace sent on the request", 400);
    }
    meta["namespace"] = route.ns;
  }
  if (!route.name.empty()) {
    if (meta.contains("name") && meta["name"].is_string() && meta["name"].get<std::string>() != route.name) {
      return make_error(ErrorCode::kInvalidArgument,
                        "the name of the object (" + meta["name"].get<std::string>() +
                            ") does not match the name on the URL (" + route.name + ")",
                        400);
    }
    meta["name"] = route.name;
  }
  return {};
}

}  // namespace

nlohmann::json failure_status(int code, std::string_view reason, std::string_view message,
                              const nlohmann::json& details) {
  nlohmann::json status = {{"kind", "Status"},       {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
                           {"status", "Failure"},    {"message", message}, {"reason", reason},
                           {"code", code}};
  if (details.is_object() && !details.empty()) status["details"] = details;
  return status;
}

std::string_view status_reason(int http_status, ErrorCode code) {
  switch (http_status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return code == ErrorCode::kAlreadyExists ? "AlreadyExists" : "Conflict";
    case 410: return "Expired";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return http_status >= 500 ? "InternalError" : "BadRequest";
  }
}

std::optional<ResourcePath> parse_resource_path(std::string_view path) {
  auto seg = split_path(path);
  std::string_view group;
  std::string_view version;
  std::size_t rest = 0;
  if (seg.size() >= 2 && seg[0] == "api") {
    version = seg[1];
    rest = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    version = seg[2];
    rest = 3;
  } else {
    return std::nullopt;
  }
  std::size_t n = seg.size() - rest;
  auto find = [&](std::string_view plural) { return find_resource(group, version, plural); };
  ResourcePath out;
  if (n >= 1 && seg[rest] == "namespaces") {
    if (n == 1 || n == 2) {
      out.type = find("namespaces");
      if (n == 2) out.name = std::string(seg[rest + 1]);
    } else if (n == 3 || n == 4) {
      out.type = find(seg[rest + 2]);
      if (out.type == nullptr || !out.type->namespaced) return std::nullopt;
      out.ns = std::string(seg[rest + 1]);
      if (n == 4) out.name = std::string(seg[rest + 3]);
    } else {
      return std::nullopt;
    }
  } else if (n == 1 || n == 2) {
    out.type = find(seg[rest]);
    if (out.type == nullptr || (n == 2 && out.type->namespaced)) return std::nullopt;
    if (n == 2) out.name = std::string(seg[rest + 1]);
  } else {
    return std::nullopt;
  }
  if (out.type == nullptr) return std::nullopt;
  return out;
}

ApiServer::ApiServer(ObjectStore& store, FaultInjector& faults, TokenSet& tokens, Clock& clock,
                     ApiServerOptions options)
    : store_(store), faults_(faults), tokens_(tokens), clock_(clock), options_(std::move(options)) {}

ApiServer::~ApiServer() { stop(); }

Result<int> ApiServer::bind(const std::string& host, int port) {
  server_ = std::make_unique<httplib::SSLServer>(options_.cert_file.c_str(), options_.key_file.c_str());
  if (!server_->is_valid()) {
    return make_error(ErrorCode::kInvalidArgument, "cannot load TLS certificate " + options_.cert_file);
  }
  int threads = options_.threads > 0 ? options_.threads : 64;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  server_->set_payload_max_length(16 * 1024 * 1024);
  server_->set_keep_alive_max_count(1000);
  // Responses go out in several writes (headers, body); without TCP_NODELAY, Nagle's algorithm
  // holds the last one until the client's delayed ACK, about 40 ms per request.
  server_->set_tcp_nodelay(true);

  auto log = logger("kube-sim");
  auto dispatch = [this, log](const Request& req, Response& res) {
    try {
      handle(req, res);
    } catch (const std::exception& e) {
      log->error("request failed method={} path={} error=\"{}\"", req.method, req.path, e.what());
      reply_failure(res, 500, std::string("internal error: ") + e.what());
    }
  };
  server_->Get(".*", dispatch);
  server_->Post(".*", dispatch);
  server_->Put(".*", dispatch);
  server_->Patch(".*", dispatch);
  server_->Delete(".*", dispatch);
  server_->set_logger([this, log](const Request& req, const Response& res) {
    record(res.status);
    // A revoked token is part of its URL; it must not reach the log.
    std::string_view path = req.path.starts_with("/admin/tokens/") ? "/admin/tokens/<redacted>" : req.path;
    log->debug("request method={} path={} status={}", req.method, path, res.status);
  });

  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
    if (bound < 0) return make_error(ErrorCode::kIo, "cannot bind " + host + ":0");
  } else if (!server_->bind_to_port(host, port)) {
    return make_error(ErrorCode::kIo, "cannot bind " + host + ":" + std::to_string(port));
  }
  server_address_ = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(bound);
  return bound;
}

Result<void> ApiServer::serve() {
  if (!server_) return make_error(ErrorCode::kIo, "serve() before bind()");
  if (!server_->listen_after_bind() && !stop_.stop_requested()) {
    return make_error(ErrorCode::kIo, "the HTTPS server stopped unexpectedly");
  }
  return {};
}

void ApiServer::stop() {
  stop_.request_stop();
  if (server_) server_->stop();
}

nlohmann::json ApiServer::stats() const {
  nlohmann::json by_status = nlohmann::json::object();
  std::uint64_t total = 0;
  {
    std::lock_guard lock(stats_mu_);
    for (const auto& [status, count] : responses_by_status_) {
      by_status[std::to_string(status)] = count;
      total += count;
    }
  }
  return {{"requests", {{"total", total}, {"byStatus", by_status}}},
          {"watches", {{"open", open_watches_.load()}, {"started", watches_started_.load()}}},
          {"faults", faults_.describe()},
          {"tokens", tokens_.size()},
          {"resourceVersion", std::to_string(store_.resource_version())}};
}

void ApiServer::record(int status) {
  std::lock_guard lock(stats_mu_);
  ++responses_by_status_[status];
}

void ApiServer::handle(const Request& req, Response& res) {
  const std::string& path = req.path;
  if (path == "/healthz" || path == "/readyz" || path == "/livez") {
    res.set_content("ok", "text/plain");
    return;
  }
  if (!tokens_.authorizes(req.get_header_value("Authorization"))) {
    reply_failure(res, 401, "Unauthorized");
    return;
  }
  if (path == "/admin" || path.starts_with("/admin/")) {
    handle_admin(req, res);
    return;
  }
  if (auto latency = faults_.latency(); latency.count() > 0) clock_.sleep_for(latency, stop_.get_token());
  if (auto injected = faults_.take_error(path)) {
    nlohmann::json details = nlohmann::json::object();
    std::string message = "injected fault";
    if (injected->status == 429) message = "Too many requests, please try again later.";
    if (injected->retry_after_seconds > 0) {
      res.set_header("Retry-After", std::to_string(injected->retry_after_seconds));
      details["retryAfterSeconds"] = injected->retry_after_seconds;
    }
    reply_failure(res, injected->status, message, details);
    return;
  }
  if (handle_discovery(req, res)) return;

  auto route = parse_resource_path(path);
  if (!route) {
    reply_failure(res, 404, "the server could not find the requested resource");
    return;
  }
  if (req.method == "GET" && route->name.empty() && req.has_param("watch")) {
    auto watch = parse_bool(req.get_param_value("watch"));
    if (!watch) {
      reply_failure(res, 400, "watch must be a boolean");
      return;
    }
    if (*watch) {
      handle_watch(req, res, *route);
      return;
    }
  }
  handle_resource(req, res, *route);
}

bool ApiServer::handle_discovery(const Request& req, Response& res) {
  const std::string& path = req.path;
  auto seg = split_path(path);
  bool is_discovery = path == "/version" || path == "/version/" || path.starts_with("/openapi/") ||
                      (seg.size() == 1 && (seg[0] == "api" || seg[0] == "apis")) ||
                      (seg.size() == 2 && seg[0] == "api") || (seg.size() == 2 && seg[0] == "apis") ||
                      (seg.size() == 3 && seg[0] == "apis");
  if (!is_discovery) return false;
  if (req.method != "GET") {
    reply_failure(res, 405, "the server does not allow this method on the requested resource");
    return true;
  }
  if (path.starts_with("/openapi/")) {
    // Only the minimal OpenAPI v3 described in discovery.h; v2 is 404.
    std::optional<nlohmann::json> doc;
    if (path == "/openapi/v3" || path == "/openapi/v3/") {
      doc = openapi_v3_root_document();
    } else if (seg.size() == 4 && seg[1] == "v3" && seg[2] == "api") {
      doc = openapi_v3_group_version_document("", seg[3]);
    } else if (seg.size() == 5 && seg[1] == "v3" && seg[2] == "apis") {
      doc = openapi_v3_group_version_document(seg[3], seg[4]);
    }
    if (doc) {
      reply_json(res, 200, *doc);
    } else {
      reply_failure(res, 404, "the server could not find the requested resource");
    }
  } else if (seg[0] == "version") {
    reply_json(res, 200, version_document());
  } else if (seg.size() == 1 && seg[0] == "api") {
    reply_json(res, 200, api_versions_document(server_address_));
  } else if (seg.size() == 1) {
    reply_json(res, 200, api_group_list_document());
  } else if (seg.size() == 2 && seg[0] == "apis") {
    auto groups = api_group_list_document();
    for (const auto& group : groups["groups"]) {
      if (group["name"] == seg[1]) {
        nlohmann::json doc = group;
        doc["kind"] = "APIGroup";
        doc["apiVersion"] = "v1";
        reply_json(res, 200, doc);
        return true;
      }
    }
    reply_failure(res, 404, "the server could not find the requested resource");
  } else {
    auto doc = seg[0] == "api" ? api_resource_list_document("", seg[1]) : api_resource_list_document(seg[1], seg[2]);
    if (doc) {
      reply_json(res, 200, *doc);
    } else {
      reply_failure(res, 404, "the server could not find the requested resource");
    }
  }
  return true;
}

void ApiServer::handle_resource(const Request& req, Response& res, const ResourcePath& route) {
  const kube::ResourceType& type = *route.type;
  const bool collection = route.name.empty();
  const std::string& method = req.method;

  bool dry_run = false;
  if (req.has_param("dryRun")) {
    if (req.get_param_value("dryRun") != "All") {
      reply_failure(res, 400, "dryRun must be \"All\"");
      return;
    }
    dry_run = true;
  }
  // A dry run is the same request against a scratch copy of the store, so validation,
  // defaults and preconditions behave exactly as for a real write.
  auto write = [&](auto&& op) -> Result<nlohmann::json> {
    if (dry_run) {
      ObjectStore scratch(options_.store_options);
      if (auto ok = scratch.restore(store_.snapshot()); !ok) return std::unexpected(ok.error());
      return op(scratch);
    }
    auto result = op(store_);
    if (result && options_.on_write) options_.on_write();
    return result;
  };
  auto answer = [&](const Result<nlohmann::json>& result, int success_status) {
    if (result) {
      reply_json(res, success_status, *result);
    } else {
      reply_error(res, result.error(), &type, route.name);
    }
  };

  const bool table = accepts_table(req.get_header_value("Accept"));
  if (method == "GET") {
    if (!collection) {
      auto object = store_.get(type, route.ns, route.name);
      if (object && table) {
        reply_json(res, 200, make_table(type, {*object}, std::chrono::system_clock::now()));
        return;
      }
      answer(object, 200);
      return;
    }
    ListRequest request;
    request.ns = route.ns;
    request.label_selector = req.get_param_value("labelSelector");
    request.field_selector = req.get_param_value("fieldSelector");
    request.continue_token = req.get_param_value("continue");
    if (req.has_param("limit")) {
      auto limit = parse_int(req.get_param_value("limit"));
      if (!limit || *limit < 0) {
        reply_failure(res, 400, "limit must be a non-negative integer");
        return;
      }
      request.limit = *limit;
    }
    auto list = store_.list(type, request);
    if (!list) {
      reply_error(res, list.error(), &type, "");
      return;
    }
    if (table) {
      reply_json(res, 200,
                 make_table(type, list->items, std::chrono::system_clock::now(), list->resource_version,
                            list->continue_token));
      return;
    }
    nlohmann::json meta = {{"resourceVersion", list->resource_version}};
    if (!list->continue_token.empty()) meta["continue"] = list->continue_token;
    if (list->remaining_item_count) meta["remainingItemCount"] = *list->remaining_item_count;
    nlohmann::json items = nlohmann::json::array();
    for (auto& item : list->items) items.push_back(std::move(item));
    reply_json(res, 200,
               {{"kind", std::string(type.kind) + "List"},
                {"apiVersion", type.api_version()},
                {"metadata", meta},
                {"items", std::move(items)}});
    return;
  }

  // kube-sim speaks JSON. Typed client-go clients send protobuf; of that only a Namespace is
  // decoded (`kubectl create namespace`), anything else is a 415.
  std::optional<nlohmann::json> protobuf_object;
  if (method == "POST" || method == "PUT") {
    std::string media = media_type(req);
    if (media == kProtobufMediaType && method == "POST" && type.kind == "Namespace") {
      auto decoded = decode_protobuf_namespace(req.body);
      if (!decoded) {
        reply_failure(res, decoded.error().code == ErrorCode::kParse ? 400 : 415, decoded.error().message);
        return;
      }
      protobuf_object = std::move(*decoded);
    } else if (!media.empty() && media != "application/json" && media != "*/*") {
      reply_failure(res, 415, "the body of the request was in an unknown format - accepted media types include: "
                              "application/json");
      return;
    }
  }

  if (method == "POST") {
    if (!collection || (type.namespaced && route.ns.empty())) {
      reply_failure(res, 405, "the server does not allow this method on the requested resource");
      return;
    }
    auto body = protobuf_object ? Result<nlohmann::json>(std::move(*protobuf_object)) : parse_body(req, false);
    if (!body) return reply_error(res, body.error(), &type, "");
    if (auto ok = reconcile_metadata(*body, route); !ok) return reply_error(res, ok.error(), &type, "");
    const auto& meta_name = (*body)["metadata"]["name"];
    std::string name = meta_name.is_string() ? meta_name.get<std::string>() : "";
    auto result = write([&](ObjectStore& s) { return s.create(type, route.ns, std::move(*body)); });
    if (!result) return reply_error(res, result.error(), &type, name);
    reply_json(res, 201, *result);
    return;
  }

  if (collection) {
    reply_failure(res, 405, "the server does not allow this method on the requested resource");
    return;
  }

  if (method == "PUT") {
    auto body = parse_body(req, false);
    if (!body) return reply_error(res, body.error(), &type, route.name);
    if (auto ok = reconcile_metadata(*body, route); !ok) return reply_error(res, ok.error(), &type, route.name);
    answer(write([&](ObjectStore& s) { return s.update(type, route.ns, route.name, std::move(*body)); }), 200);
    return;
  }

  if (method == "PATCH") {
    std::string media = media_type(req);
    kube::PatchType patch_type;
    if (media == "application/merge-patch+json") {
      patch_type = kube::PatchType::kMerge;
    } else if (media == "application/strategic-merge-patch+json") {
      patch_type = kube::PatchType::kStrategicMerge;
    } else if (media == "application/json-patch+json") {
      patch_type = kube::PatchType::kJson;
    } else {
      reply_failure(res, 415,
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json-patch+json, application/merge-patch+json, "
                    "application/strategic-merge-patch+json (server-side apply is not supported)");
      return;
    }
    auto body = parse_body(req, patch_type == kube::PatchType::kJson);
    if (!body) return reply_error(res, body.error(), &type, route.name);
    answer(write([&](ObjectStore& s) { return s.patch(type, route.ns, route.name, patch_type, *body); }), 200);
    return;
  }

  if (method == "DELETE") {
    answer(write([&](ObjectStore& s) { return s.remove(type, route.ns, route.name); }), 200);
    return;
  }

  reply_failure(res, 405, "the server does not allow this method on the requested resource");
}

void ApiServer::handle_watch(const Request& req, Response& res, const ResourcePath& route) {
  const kube::ResourceType& type = *route.type;
  WatchRequest request;
  request.ns = route.ns;
  request.label_selector = req.get_param_value("labelSelector");
  request.field_selector = req.get_param_value("fieldSelector");
  request.resource_version = req.get_param_value("resourceVersion");
  if (req.has_param("allowWatchBookmarks")) {
    request.allow_bookmarks = parse_bool(req.get_param_value("allowWatchBookmarks")).value_or(false);
  }
  std::chrono::seconds timeout = random_watch_timeout();
  if (req.has_param("timeoutSeconds")) {
    auto seconds = parse_int(req.get_param_value("timeoutSeconds"));
    if (!seconds || *seconds < 0) {
      reply_failure(res, 400, "timeoutSeconds must be a non-negative integer");
      return;
    }
    if (*seconds > 0) timeout = std::chrono::seconds(*seconds);
  }

  auto opened = store_.watch(type, request);
  if (!opened) {
    if (opened.error().code == ErrorCode::kGone || opened.error().http_status == 410) {
      // kube-apiserver answers an expired resourceVersion with a 200 stream holding one ERROR
      // event, so clients see it where they read events and relist.
      std::string event =
          R"({"type":"ERROR","object":)" + failure_status(410, "Expired", opened.error().message).dump() + "}\n";
      res.status = 200;
      res.set_content(event, std::string(kJson));
      return;
    }
    reply_error(res, opened.error(), &type, "");
    return;
  }

  std::shared_ptr<Watch> watch = *opened;
  const bool table = accepts_table(req.get_header_value("Accept"));
  const int fd = req.ssl != nullptr ? SSL_get_fd(req.ssl) : -1;
  const auto deadline = clock_.now() + timeout;
  ++open_watches_;
  ++watches_started_;
  // httplib gzips application/json when the client accepts it (Go's transport always does),
  // and its gzip stream holds data back until a large block is full: events would not reach
  // the client as they happen. The request object is httplib's own mutable local.
  const_cast<Request&>(req).headers.erase("Accept-Encoding");
  res.status = 200;
  res.set_chunked_content_provider(
      std::string(kJson),
      [this, watch, fd, deadline, table, &type, stop = stop_.get_token()](std::size_t, httplib::DataSink& sink) {
        if (stop.stop_requested() || watch->closed() || clock_.now() >= deadline) {
          sink.done();
          return true;
        }
        if (client_gone(fd)) return false;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.now());
        auto event = watch->next(std::clamp(left, std::chrono::milliseconds(1), kWatchPoll));
        if (event) {
          if (table && event->type != kube::WatchEventType::kError && event->type != kube::WatchEventType::kBookmark) {
            event->object = make_table(type, {std::move(event->object)}, std::chrono::system_clock::now());
          }
          // "type" first, as kube-apiserver writes it (nlohmann::json would sort the keys).
          std::string text = R"({"type":")" + std::string(event_type_name(event->type)) + R"(","object":)" +
                             event->object.dump() + "}\n";
          return sink.write(text.data(), text.size());
        }
        if (watch->closed()) sink.done();
        return true;
      },
      [this, watch](bool) {
        watch->close();
        --open_watches_;
      });
}

void ApiServer::handle_admin(const Request& req, Response& res) {
  auto log = logger("kube-sim");
  const std::string& path = req.path;
  const std::string& method = req.method;
  const nlohmann::json ok = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Success"}, {"code", 200}};

  auto body = [&]() -> Result<nlohmann::json> {
    if (req.body.empty()) return nlohmann::json::object();
    return parse_body(req, false);
  };

  if (method == "GET" && path == "/admin/stats") {
    reply_json(res, 200, stats());
    return;
  }
  if (method == "POST" && path == "/admin/faults/drop-watches") {
    log->info("fault injected kind=drop-watches");
    store_.drop_watches();
    reply_json(res, 200, ok);
    return;
  }
  if (method == "POST" && path == "/admin/faults/compact") {
    log->info("fault injected kind=compact");
    store_.compact();
    if (options_.on_write) options_.on_write();
    reply_json(res, 200, ok);
    return;
  }
  if (method == "POST" && path == "/admin/faults/clear") {
    log->info("faults cleared");
    faults_.clear();
    reply_json(res, 200, ok);
    return;
  }
  if (method == "POST" && (path == "/admin/faults/errors" || path == "/admin/faults/latency" || path == "/admin/tokens")) {
    auto parsed = body();
    if (!parsed) return reply_error(res, parsed.error(), nullptr, "");
    try {
      if (path == "/admin/faults/errors") {
        int count = parsed->value("count", 1);
        int status = parsed->value("status", 503);
        int retry_after = parsed->value("retryAfterSeconds", 0);
        std::string paths = parsed->value("paths", "");
        if (status < 400 || status > 599 || count < 0) {
          reply_failure(res, 400, "status must be 400..599 and count non-negative");
          return;
        }
        log->info("fault injected kind=errors count={} status={} retryAfterSeconds={} paths={}", count, status,
                  retry_after, paths);
        faults_.inject_errors(count, status, retry_after, paths);
      } else if (path == "/admin/faults/latency") {
        int ms = parsed->value("milliseconds", 0);
        log->info("fault injected kind=latency milliseconds={}", ms);
        faults_.set_latency(std::chrono::milliseconds(ms));
      } else {
        std::string token = parsed->value("token", "");
        if (token.empty()) {
          reply_failure(res, 400, "token must be a non-empty string");
          return;
        }
        log->info("token added tokens={}", tokens_.size() + 1);
        tokens_.add(std::move(token));
      }
    } catch (const nlohmann::json::exception& e) {
      reply_failure(res, 400, std::string("bad admin request: ") + e.what());
      return;
    }
    reply_json(res, 200, ok);
    return;
  }
  constexpr std::string_view kTokenPrefix = "/admin/tokens/";
  if (method == "DELETE" && path.starts_with(kTokenPrefix) && path.size() > kTokenPrefix.size()) {
    if (!tokens_.remove(std::string_view(path).substr(kTokenPrefix.size()))) {
      reply_failure(res, 404, "no such token");
      return;
    }
    log->info("token revoked tokens={}", tokens_.size());
    reply_json(res, 200, ok);
    return;
  }
  reply_failure(res, 404, "no such admin endpoint");
}

}  // namespace berth::kubesim
