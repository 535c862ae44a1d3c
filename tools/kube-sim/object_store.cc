#include "kube-sim/object_store.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "kube-sim/cluster_ip_allocator.h"
#include "kube-sim/field_selector.h"
#include "kube-sim/object_defaults.h"
#include "kube-sim/object_validation.h"
#include "kube-sim/strategic_merge_patch.h"
#include "kube-sim/watch_hub.h"
#include "kube/label_selector.h"
#include "kube/micro_time.h"

namespace berth::kubesim {

using nlohmann::json;
using kube::ResourceType;
using kube::WatchEventType;

namespace {

// A watch whose reader is this many events behind is closed.
constexpr std::size_t kWatchQueueLimit = 10000;

using ObjectPtr = std::shared_ptr<const json>;
using Key = std::pair<std::string, std::string>;  // namespace, name
using ObjectMap = std::map<Key, ObjectPtr>;

std::string resource_id(const ResourceType& type) { return fmt::format("{}/{}", type.group, type.plural); }

// "services" or "leases.coordination.k8s.io", as kube-apiserver names a resource in messages.
std::string qualified_resource(const ResourceType& type) {
  if (type.group.empty()) return std::string(type.plural);
  return fmt::format("{}.{}", type.plural, type.group);
}

std::unexpected<Error> not_found(const ResourceType& type, std::string_view name) {
  return make_error(ErrorCode::kNotFound, fmt::format("{} \"{}\" not found", qualified_resource(type), name), 404);
}

std::unexpected<Error> bad_request(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message), 400);
}

std::unexpected<Error> conflict(const ResourceType& type, std::string_view name) {
  return make_error(ErrorCode::kConflict,
                    fmt::format("Operation cannot be fulfilled on {} \"{}\": the object has been modified; please "
                                "apply your changes to the latest version and try again",
                                qualified_resource(type), name),
                    409);
}

std::unexpected<Error> gone_watch(std::uint64_t requested, std::uint64_t oldest) {
  return make_error(ErrorCode::kGone, fmt::format("too old resource version: {} ({})", requested, oldest), 410);
}

std::unexpected<Error> gone_continue() {
  return make_error(ErrorCode::kGone,
                    "The provided continue parameter is too old to display a consistent list result. You can start a "
                    "new list without the continue parameter.",
                    410);
}

std::string meta_string(const json& object, const char* field) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  auto it = meta->find(field);
  if (it == meta->end() || !it->is_string()) return "";
  return it->get<std::string>();
}

Result<std::uint64_t> parse_version(std::string_view text) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return bad_request(fmt::format("resourceVersion: Invalid value: \"{}\": must be a decimal number", text));
  }
  return v;
}

// base64url without padding, as kube-apiserver encodes continue tokens.
constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64_encode(std::string_view in) {
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(buf >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kB64[(buf << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::string> b64_decode(std::string_view in) {
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    if (c == '+') c = '-';
    if (c == '/') c = '_';
    auto pos = kB64.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    buf = (buf << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

struct ContinueToken {
  std::uint64_t version = 0;
  Key after;
};

std::string encode_continue(const ContinueToken& t) {
  json j = {{"v", "meta.k8s.io/v1"}, {"rv", t.version}, {"ns", t.after.first}, {"start", t.after.second}};
  return b64_encode(j.dump());
}

Result<ContinueToken> decode_continue(std::string_view token) {
  auto raw = b64_decode(token);
  if (!raw) return bad_request("continue key is not valid: illegal base64 data");
  try {
    json j = json::parse(*raw);
    ContinueToken t;
    t.version = j.at("rv").get<std::uint64_t>();
    t.after = {j.at("ns").get<std::string>(), j.at("start").get<std::string>()};
    return t;
  } catch (const json::exception&) {
    return bad_request("continue key is not valid: malformed token");
  }
}

bool is_headless(const json& service) {
  auto spec = service.find("spec");
  return spec != service.end() && spec->is_object() && spec->value("clusterIP", "") == "None";
}

bool is_external_name(const json& service) {
  auto spec = service.find("spec");
  return spec != service.end() && spec->is_object() && spec->value("type", "") == "ExternalName";
}

std::vector<std::string> cluster_ips_of(const json& service) {
  std::vector<std::string> out;
  auto spec = service.find("spec");
  if (spec == service.end() || !spec->is_object()) return out;
  auto ips = spec->find("clusterIPs");
  if (ips != spec->end() && ips->is_array()) {
    for (const auto& ip : *ips) {
      if (ip.is_string() && ip.get<std::string>() != "None" && !ip.get<std::string>().empty()) {
        out.push_back(ip.get<std::string>());
      }
    }
  }
  if (out.empty()) {
    std::string ip = spec->value("clusterIP", "");
    if (!ip.empty() && ip != "None") out.push_back(ip);
  }
  return out;
}

// The row of a served resource; every type the HTTP layer hands over comes from the table, and a
// type that does not (a test's own) is treated as a generic kind.
const ServedResource& traits(const ResourceType& type) {
  static const ServedResource kGeneric{.generic = true};
  const ServedResource* row = served_resource(type);
  return row != nullptr ? *row : kGeneric;
}

constexpr std::array<std::string_view, 3> kInitialNamespaces = {"default", "kube-system", "kube-public"};

}  // namespace

struct ObjectStore::State {
  // One write as the watch history keeps it. Nested here rather than in the anonymous namespace:
  // State is a class with linkage, and its members must not have types without it.
  struct HistoryEvent {
    std::uint64_t version = 0;
    std::string resource;
    WatchEventType type = WatchEventType::kAdded;
    Key key;
    ObjectPtr object;  // the new content; for DELETED the deleted object with the delete's version
    ObjectPtr prev;    // the content before; null for ADDED
  };

  explicit State(StoreOptions opts) : options(std::move(opts)), ips(make_allocator(options.service_cidr)) {}

  static ClusterIpAllocator make_allocator(const std::string& cidr) {
    auto a = ClusterIpAllocator::create(cidr);
    if (!a) {
      // A bad CIDR is a configuration error of the process; fall back so the store still works.
      a = ClusterIpAllocator::create("10.96.0.0/16");
    }
    return std::move(*a);
  }

  const StoreOptions options;
  mutable std::mutex mu;
  std::uint64_t version = 0;          // guarded by mu: the last resourceVersion handed out
  std::uint64_t oldest_version = 0;   // guarded by mu: history holds every event after this
  std::map<std::string, ObjectMap> objects;  // guarded by mu: by resource id
  std::deque<HistoryEvent> history;          // guarded by mu
  ClusterIpAllocator ips;                    // guarded by mu
  WatchHub hub;                              // guarded by mu
  std::mt19937_64 rng{std::random_device{}()};  // guarded by mu

  ObjectMap& map_of(const ResourceType& type) { return objects[resource_id(type)]; }

  const ObjectMap* find_map(const ResourceType& type) const {
    auto it = objects.find(resource_id(type));
    return it == objects.end() ? nullptr : &it->second;
  }

  ObjectPtr find(const ResourceType& type, const Key& key) const {
    const ObjectMap* m = find_map(type);
    if (!m) return nullptr;
    auto it = m->find(key);
    return it == m->end() ? nullptr : it->second;
  }

  bool namespace_exists(std::string_view ns) const {
    return find(kube::kNamespaces, Key{"", std::string(ns)}) != nullptr;
  }

  std::string uuid() {
    std::uint64_t a = rng();
    std::uint64_t b = rng();
    a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48,
                       b & 0xffffffffffffULL);
  }

  std::string random_suffix() {
    static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
    std::string out;
    for (int i = 0; i < 5; ++i) out += kAlphabet[rng() % kAlphabet.size()];
    return out;
  }

  // Stamps the next resourceVersion on `object` (null for a delete of `prev`), stores it,
  // records the event and tells the watches. Returns what was stored (or deleted).
  ObjectPtr commit(const ResourceType& type, WatchEventType ev_type, const Key& key, json object, ObjectPtr prev) {
    ++version;
    object["metadata"]["resourceVersion"] = std::to_string(version);
    auto stored = std::make_shared<const json>(std::move(object));
    ObjectMap& m = map_of(type);
    if (ev_type == WatchEventType::kDeleted) {
      m.erase(key);
    } else {
      m[key] = stored;
    }
    std::string res = resource_id(type);
    hub.publish(res, ev_type, prev.get(), *stored, version);
    history.push_back(HistoryEvent{version, res, ev_type, key, stored, std::move(prev)});
    while (history.size() > options.history_limit) {
      oldest_version = history.front().version;
      history.pop_front();
    }
    return stored;
  }

  // The objects of `type` as they were at `at`, rebuilt by undoing the later history.
  // The caller has checked that the history reaches back to `at`.
  ObjectMap state_at(const ResourceType& type, std::uint64_t at) const {
    ObjectMap m;
    if (const ObjectMap* cur = find_map(type)) m = *cur;
    std::string res = resource_id(type);
    for (auto it = history.rbegin(); it != history.rend() && it->version > at; ++it) {
      if (it->resource != res) continue;
      if (it->prev) {
        m[it->key] = it->prev;
      } else {
        m.erase(it->key);
      }
    }
    return m;
  }

  void release_ips(const json& service) {
    for (const auto& ip : cluster_ips_of(service)) ips.release(ip);
  }

  // Allocates or reserves the ClusterIPs of a new Service; on failure nothing stays allocated.
  Result<void> assign_cluster_ips(json& service) {
    if (is_headless(service)) {
      service["spec"]["clusterIPs"] = json::array({"None"});
      return {};
    }
    if (is_external_name(service)) return {};
    json& spec = service["spec"];
    std::string wanted = spec.value("clusterIP", "");
    if (wanted.empty()) {
      if (auto it = spec.find("clusterIPs"); it != spec.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) {
        wanted = (*it)[0].get<std::string>();
      }
    }
    if (wanted.empty()) {
      auto ip = ips.allocate();
      if (!ip) return std::unexpected(ip.error());
      wanted = *ip;
    } else if (auto r = ips.reserve(wanted); !r) {
      return std::unexpected(r.error());
    }
    spec["clusterIP"] = wanted;
    spec["clusterIPs"] = json::array({wanted});
    return {};
  }

  // Checks the parts of a request body that must agree with the URL; normalises metadata.
  Result<void> check_body(const ResourceType& type, std::string_view ns, json& object) {
    if (!object.is_object()) return bad_request("the body of the request is not a JSON object");
    if (auto it = object.find("apiVersion"); it != object.end() && !it->is_null()) {
      if (!it->is_string() || it->get<std::string>() != type.api_version()) {
        return bad_request(fmt::format("the API version in the data ({}) does not match the expected API version ({})",
                                       it->is_string() ? it->get<std::string>() : it->dump(), type.api_version()));
      }
    }
    if (auto it = object.find("kind"); it != object.end() && !it->is_null()) {
      if (!it->is_string() || it->get<std::string>() != type.kind) {
        return bad_request(fmt::format("the kind in the data ({}) does not match the expected kind ({})",
                                       it->is_string() ? it->get<std::string>() : it->dump(), type.kind));
      }
    }
    object["apiVersion"] = type.api_version();
    object["kind"] = type.kind;
    auto meta = object.find("metadata");
    if (meta == object.end() || meta->is_null()) {
      object["metadata"] = json::object();
    } else if (!meta->is_object()) {
      return bad_request("metadata must be an object");
    }
    json& m = object["metadata"];
    for (const char* field : {"name", "namespace", "generateName", "resourceVersion", "uid"}) {
      auto it = m.find(field);
      if (it != m.end() && !it->is_string() && !it->is_null()) {
        return bad_request(fmt::format("metadata.{} must be a string", field));
      }
      if (it != m.end() && it->is_null()) m.erase(it);
    }
    if (type.namespaced) {
      std::string body_ns = m.value("namespace", "");
      if (!body_ns.empty() && body_ns != ns) {
        return bad_request("the namespace of the provided object does not match the namespace sent on the request");
      }
      m["namespace"] = std::string(ns);
    } else {
      m.erase("namespace");
    }
    for (const char* field : {"labels", "annotations"}) {
      auto it = m.find(field);
      if (it == m.end()) continue;
      if (it->is_null()) {
        m.erase(it);
        continue;
      }
      if (!it->is_object()) return bad_request(fmt::format("metadata.{} must be an object of strings", field));
      for (const auto& [k, v] : it->items()) {
        if (!v.is_string()) return bad_request(fmt::format("metadata.{}.{} must be a string", field, k));
      }
    }
    return {};
  }

  Result<json> create(const ResourceType& type, std::string_view ns, json object) {
    if (type.namespaced && ns.empty()) return bad_request("a namespace is required for a namespaced resource");
    if (auto r = check_body(type, ns, object); !r) return std::unexpected(r.error());
    json& m = object["metadata"];
    std::string name = m.value("name", "");
    if (name.empty()) {
      std::string prefix = m.value("generateName", "");
      if (!prefix.empty()) {
        do {
          name = prefix + random_suffix();
        } while (find(type, Key{type.namespaced ? std::string(ns) : "", name}));
        m["name"] = name;
      }
    }
    if (type.namespaced && !namespace_exists(ns)) return not_found(kube::kNamespaces, ns);
    m.erase("resourceVersion");
    m.erase("deletionTimestamp");
    m.erase("deletionGracePeriodSeconds");
    apply_defaults(type, object);
    if (auto errors = validate_object(type, object); !errors.empty()) {
      return std::unexpected(invalid_error(type, name, errors));
    }
    Key key{type.namespaced ? std::string(ns) : "", name};
    if (find(type, key)) {
      return make_error(ErrorCode::kAlreadyExists, fmt::format("{} \"{}\" already exists", qualified_resource(type), name),
                        409);
    }
    object["metadata"]["uid"] = uuid();
    object["metadata"]["creationTimestamp"] = kube::format_time(std::chrono::system_clock::now());
    if (type.kind == "Service") {
      if (auto r = assign_cluster_ips(object); !r) {
        Error e = r.error();
        if (e.code == ErrorCode::kInvalid) e = invalid_error(type, name, {e.message});
        return std::unexpected(std::move(e));
      }
    }
    return *commit(type, WatchEventType::kAdded, key, std::move(object), nullptr);
  }

  // PUT, and the second half of PATCH. `from_patch` only changes the wording of errors.
  Result<json> update(const ResourceType& type, std::string_view ns, std::string_view name, json object) {
    if (type.namespaced && ns.empty()) return bad_request("a namespace is required for a namespaced resource");
    if (auto r = check_body(type, ns, object); !r) return std::unexpected(r.error());
    json& m = object["metadata"];
    std::string body_name = m.value("name", "");
    if (body_name.empty()) {
      m["name"] = std::string(name);
    } else if (body_name != name) {
      return bad_request(
          fmt::format("the name of the object ({}) does not match the name on the URL ({})", body_name, name));
    }
    Key key{type.namespaced ? std::string(ns) : "", std::string(name)};
    ObjectPtr old = find(type, key);
    if (!old) {
      if (traits(type).create_on_update) return create(type, ns, std::move(object));
      if (type.namespaced && !namespace_exists(ns)) return not_found(kube::kNamespaces, ns);
      return not_found(type, name);
    }
    std::string wanted_version = m.value("resourceVersion", "");
    std::string stored_version = meta_string(*old, "resourceVersion");
    if (!wanted_version.empty() && wanted_version != stored_version) return conflict(type, name);

    // Server-owned fields survive whatever the client sends.
    m["uid"] = (*old)["metadata"]["uid"];
    m["creationTimestamp"] = (*old)["metadata"]["creationTimestamp"];
    m["resourceVersion"] = stored_version;
    m.erase("generateName");
    if (auto g = old->at("metadata").find("generateName"); g != old->at("metadata").end()) m["generateName"] = *g;
    if (traits(type).status_subresource) {
      if (auto s = old->find("status"); s != old->end()) {
        object["status"] = *s;
      } else {
        object.erase("status");
      }
    }
    if (type.kind == "Service") {
      if (auto r = keep_cluster_ips(type, name, *old, object); !r) return std::unexpected(r.error());
    }
    apply_defaults(type, object);
    if (auto errors = validate_object(type, object); !errors.empty()) {
      return std::unexpected(invalid_error(type, name, errors));
    }
    // A write that changes nothing is not a write: no new resourceVersion, no watch event.
    if (object == *old) return *old;
    return *commit(type, WatchEventType::kModified, key, std::move(object), old);
  }

  // spec.clusterIP(s) are immutable; an update that omits them keeps the allocated ones.
  Result<void> keep_cluster_ips(const ResourceType& type, std::string_view name, const json& old, json& object) {
    if (!object.contains("spec") || !object["spec"].is_object()) return {};
    json& spec = object["spec"];
    const json empty = json::object();
    const json& old_spec = old.contains("spec") ? old.at("spec") : empty;
    for (const char* field : {"clusterIP", "clusterIPs"}) {
      auto old_it = old_spec.find(field);
      auto it = spec.find(field);
      bool absent = it == spec.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty()) ||
                    (it->is_array() && it->empty());
      if (absent) {
        if (old_it != old_spec.end()) spec[field] = *old_it;
        continue;
      }
      if (old_it == old_spec.end() || *it != *old_it) {
        return std::unexpected(invalid_error(
            type, name, {fmt::format("spec.{}: Invalid value: {}: field is immutable", field, it->dump())}));
      }
    }
    return {};
  }

  Result<json> remove(const ResourceType& type, std::string_view ns, std::string_view name) {
    Key key{type.namespaced ? std::string(ns) : "", std::string(name)};
    ObjectPtr old = find(type, key);
    if (!old) return not_found(type, name);
    if (type.kind == "Namespace") {
      if (std::find(kInitialNamespaces.begin(), kInitialNamespaces.end(), name) != kInitialNamespaces.end()) {
        return make_error(ErrorCode::kForbidden,
                          fmt::format("namespaces \"{}\" is forbidden: this namespace may not be deleted", name), 403);
      }
      for (const auto& r : served_resources()) {
        if (!r.namespaced) continue;
        auto it = objects.find(resource_id(r));
        if (it == objects.end()) continue;
        std::vector<Key> doomed;
        for (const auto& [k, _] : it->second) {
          if (k.first == name) doomed.push_back(k);
        }
        for (const auto& k : doomed) delete_one(r, k);
      }
    }
    return *delete_one(type, key);
  }

  ObjectPtr delete_one(const ResourceType& type, const Key& key) {
    ObjectPtr old = find(type, key);
    if (type.kind == "Service") release_ips(*old);
    return commit(type, WatchEventType::kDeleted, key, *old, old);
  }

  Result<WatchFilter> make_filter(const ResourceType& type, std::string_view ns, std::string_view labels,
                                  std::string_view fields) const {
    WatchFilter f;
    f.resource = resource_id(type);
    f.ns = type.namespaced ? std::string(ns) : "";
    auto l = kube::LabelSelector::parse(labels);
    if (!l) return bad_request(l.error().message);
    f.labels = std::move(*l);
    auto fs = FieldSelector::parse(fields);
    if (!fs) return bad_request(fs.error().message);
    f.fields = std::move(*fs);
    return f;
  }
};

ObjectStore::ObjectStore(StoreOptions options) : state_(std::make_unique<State>(std::move(options))) {
  std::lock_guard lock(state_->mu);
  for (auto ns : kInitialNamespaces) {
    auto r = state_->create(kube::kNamespaces, "", json{{"metadata", {{"name", std::string(ns)}}}});
    if (!r) std::abort();  // the built-in namespaces are valid by construction
  }
  // Nothing before the initial state can be replayed.
  state_->history.clear();
  state_->oldest_version = state_->version;
}

ObjectStore::~ObjectStore() {
  std::lock_guard lock(state_->mu);
  state_->hub.close_all();
}

Result<json> ObjectStore::create(const ResourceType& type, std::string_view ns, json object) {
  std::lock_guard lock(state_->mu);
  return state_->create(type, ns, std::move(object));
}

Result<json> ObjectStore::get(const ResourceType& type, std::string_view ns, std::string_view name) const {
  std::lock_guard lock(state_->mu);
  ObjectPtr obj = state_->find(type, Key{type.namespaced ? std::string(ns) : "", std::string(name)});
  if (!obj) return not_found(type, name);
  return *obj;
}

Result<ListResult> ObjectStore::list(const ResourceType& type, const ListRequest& request) const {
  if (request.limit < 0) return bad_request("limit must not be negative");
  std::lock_guard lock(state_->mu);
  auto filter = state_->make_filter(type, request.ns, request.label_selector, request.field_selector);
  if (!filter) return std::unexpected(filter.error());

  std::uint64_t at = state_->version;
  std::optional<Key> after;
  ObjectMap snapshot_map;
  const ObjectMap* source = state_->find_map(type);
  if (!request.continue_token.empty()) {
    auto token = decode_continue(request.continue_token);
    if (!token) return std::unexpected(token.error());
    if (token->version < state_->oldest_version || token->version > state_->version) return gone_continue();
    at = token->version;
    after = token->after;
    // Later pages show the state the first page was taken from, so that nothing is skipped
    // or listed twice whatever was written in between.
    snapshot_map = state_->state_at(type, at);
    source = &snapshot_map;
  }

  ListResult result;
  result.resource_version = std::to_string(at);
  if (!source) return result;
  auto it = after ? source->upper_bound(*after) : source->begin();
  std::int64_t remaining = 0;
  Key last;
  for (; it != source->end(); ++it) {
    if (!filter->matches(*it->second)) continue;
    if (request.limit > 0 && static_cast<std::int64_t>(result.items.size()) >= request.limit) {
      ++remaining;
      continue;
    }
    result.items.push_back(*it->second);
    last = it->first;
  }
  if (remaining > 0) {
    result.continue_token = encode_continue(ContinueToken{at, last});
    result.remaining_item_count = remaining;
  }
  return result;
}

Result<json> ObjectStore::update(const ResourceType& type, std::string_view ns, std::string_view name, json object) {
  std::lock_guard lock(state_->mu);
  return state_->update(type, ns, name, std::move(object));
}

Result<json> ObjectStore::patch(const ResourceType& type, std::string_view ns, std::string_view name,
                                kube::PatchType patch_type, const json& patch) {
  std::lock_guard lock(state_->mu);
  ObjectPtr current = state_->find(type, Key{type.namespaced ? std::string(ns) : "", std::string(name)});
  if (!current) {
    if (type.namespaced && !state_->namespace_exists(ns)) return not_found(kube::kNamespaces, ns);
    return not_found(type, name);
  }
  json patched;
  switch (patch_type) {
    case kube::PatchType::kMerge:
      if (!patch.is_object()) return bad_request("a merge patch must be a JSON object");
      patched = *current;
      patched.merge_patch(patch);
      break;
    case kube::PatchType::kStrategicMerge: {
      auto r = strategic_merge_patch(type.kind, *current, patch);
      if (!r) return std::unexpected(r.error());
      patched = std::move(*r);
      break;
    }
    case kube::PatchType::kJson:
      // As kube-apiserver: an undecodable patch is 400; one that cannot be applied (a failed
      // `test`, a path that does not exist) is 422.
      if (!patch.is_array()) return bad_request("a JSON patch must be a JSON array of operations");
      try {
        patched = current->patch(patch);
      } catch (const json::out_of_range& e) {
        return make_error(ErrorCode::kInvalid, fmt::format("the JSON patch could not be applied: {}", e.what()), 422);
      } catch (const json::other_error& e) {
        return make_error(ErrorCode::kInvalid, fmt::format("the JSON patch could not be applied: {}", e.what()), 422);
      } catch (const json::exception& e) {
        return bad_request(fmt::format("the JSON patch is malformed: {}", e.what()));
      }
      break;
  }
  if (!patched.is_object()) return bad_request("the patch does not leave an object");
  // A resourceVersion left in the result came from the patch (or is the current one): either
  // way update() checks it as a precondition.
  return state_->update(type, ns, name, std::move(patched));
}

Result<json> ObjectStore::remove(const ResourceType& type, std::string_view ns, std::string_view name) {
  std::lock_guard lock(state_->mu);
  return state_->remove(type, ns, name);
}

Result<std::shared_ptr<Watch>> ObjectStore::watch(const ResourceType& type, const WatchRequest& request) {
  std::lock_guard lock(state_->mu);
  auto filter = state_->make_filter(type, request.ns, request.label_selector, request.field_selector);
  if (!filter) return std::unexpected(filter.error());
  std::optional<std::uint64_t> from;
  if (!request.resource_version.empty() && request.resource_version != "0") {
    auto v = parse_version(request.resource_version);
    if (!v) return std::unexpected(v.error());
    if (*v < state_->oldest_version) return gone_watch(*v, state_->oldest_version);
    from = *v;
  }
  auto watch = std::make_shared<HubWatch>(*filter, std::string(type.kind), type.api_version(), request.allow_bookmarks,
                                          request.bookmark_interval, kWatchQueueLimit, state_->version);
  // The backlog may exceed the live queue bound; it is queued before the watch is shared, so
  // push it without the bound by handing it over in order.
  std::vector<kube::WatchEvent> backlog;
  if (!from) {
    if (const ObjectMap* m = state_->find_map(type)) {
      for (const auto& [_, obj] : *m) {
        if (filter->matches(*obj)) backlog.push_back({WatchEventType::kAdded, *obj});
      }
    }
  } else {
    auto it = std::lower_bound(state_->history.begin(), state_->history.end(), *from + 1,
                               [](const State::HistoryEvent& e, std::uint64_t v) { return e.version < v; });
    for (; it != state_->history.end(); ++it) {
      if (it->resource != filter->resource) continue;
      auto ev = filter_event(*filter, it->type, it->prev.get(), *it->object, it->version);
      if (ev) backlog.push_back(std::move(*ev));
    }
  }
  watch->preload(std::move(backlog));
  state_->hub.add(watch);
  return std::shared_ptr<Watch>(watch);
}

void ObjectStore::compact() {
  std::lock_guard lock(state_->mu);
  state_->history.clear();
  state_->oldest_version = state_->version;
}

void ObjectStore::drop_watches() {
  std::lock_guard lock(state_->mu);
  state_->hub.close_all();
}

std::uint64_t ObjectStore::resource_version() const {
  std::lock_guard lock(state_->mu);
  return state_->version;
}

json ObjectStore::snapshot() const {
  std::lock_guard lock(state_->mu);
  json objects = json::object();
  for (const auto& r : served_resources()) {
    json items = json::array();
    if (const ObjectMap* m = state_->find_map(r)) {
      for (const auto& [_, obj] : *m) items.push_back(*obj);
    }
    objects[resource_id(r)] = std::move(items);
  }
  return json{{"kind", "KubeSimState"},
              {"version", 1},
              {"resourceVersion", state_->version},
              {"serviceCIDR", state_->ips.cidr()},
              {"objects", std::move(objects)}};
}

Result<void> ObjectStore::restore(const json& snapshot) {
  std::map<std::string, ObjectMap> objects;
  std::uint64_t version = 0;
  auto ips = ClusterIpAllocator::create(state_->options.service_cidr);
  if (!ips) return std::unexpected(ips.error());
  try {
    if (snapshot.value("kind", "") != "KubeSimState") {
      return make_error(ErrorCode::kParse, "state is not a kube-sim state (kind KubeSimState)");
    }
    version = snapshot.at("resourceVersion").get<std::uint64_t>();
    const json& all = snapshot.at("objects");
    for (const auto& r : served_resources()) {
      auto it = all.find(resource_id(r));
      if (it == all.end()) continue;
      ObjectMap& m = objects[resource_id(r)];
      for (const auto& obj : *it) {
        const json& meta = obj.at("metadata");
        std::string name = meta.at("name").get<std::string>();
        std::string ns = r.namespaced ? meta.at("namespace").get<std::string>() : "";
        if (r.kind == "Service") {
          for (const auto& ip : cluster_ips_of(obj)) {
            if (auto res = ips->reserve(ip); !res) {
              return make_error(ErrorCode::kParse, fmt::format("state: service {}/{}: {}", ns, name, res.error().message));
            }
          }
        }
        m[Key{ns, name}] = std::make_shared<const json>(obj);
      }
    }
  } catch (const json::exception& e) {
    return make_error(ErrorCode::kParse, fmt::format("malformed kube-sim state: {}", e.what()));
  }
  std::lock_guard lock(state_->mu);
  state_->hub.close_all();
  state_->objects = std::move(objects);
  state_->ips = std::move(*ips);
  state_->version = std::max(version, state_->version);
  // History is not persisted: any watch or continue token from before now is 410 Gone.
  state_->history.clear();
  state_->oldest_version = state_->version;
  return {};
}

}  // namespace berth::kubesim
