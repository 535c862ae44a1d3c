// Feeds: the input bytes as JSON, {"items": [...], "allowLoopbackEndpoints": bool,
// "unusableHostPorts": [int]}, where each item is a Service or an EndpointSlice (by its
// "kind") as the API returns it. The items go through the real parsers, are kept by key as
// the Stores keep them, then through the ModelBuilder (berth's default annotation keys, pool
// 20000-29999), fresh server slots and the built-in template: exactly the path from the
// cluster to haproxy.cfg.
//
// Asserts, beyond no crash, leak, undefined behaviour or escaping exception (render() aborts
// on an unsafe value, which is a finding too):
//   - the Model keeps model.h's promises: listeners on pool ports outside the unusable set,
//     Service names that are DNS-1123 labels, a check user and check path in their safe
//     alphabets, servers sorted and unique; the owner map names exactly the listeners; every
//     Warning is one line of printable ASCII;
//   - build() is deterministic: the items in reverse order give the same result;
//   - every line of the rendered config is one the template produces: each line matches a
//     line of default_template() whose values ({{name}}) are runs of printable non-blank bytes
//     (the allow-source group {{.}} may hold blanks between words), so no byte from the input
//     crosses a line or adds a word where the template has none; only printable ASCII; one
//     frontend line per listener, one server line per slot; the names on lines come from the
//     Model (a Service comment is a listener's Service, a server one of its servers);
//   - HAProxy accepts the result (`haproxy -c`), checked for an input that has a listener and
//     renders a combination of template lines (with their optional parts) not seen before in
//     this run. Checking every input would cost a child process of about half a second each
//     (measured on a busy 2-core machine) against about a quarter of a millisecond for the
//     rest; the structure assertions run on every input and leave HAProxy only what they
//     cannot judge, an option combination it refuses, and a new combination is where that
//     can hide. BERTH_FUZZ_HAPROXY_CHECK=all checks every input with a listener (to replay a
//     corpus), =none never.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/model_builder.h"
#include "fuzz_check.h"
#include "scratch_dir.h"
#include "haproxy/config_renderer.h"
#include "haproxy/haproxy_master.h"
#include "haproxy/slot_table.h"
#include "kube/name_validation.h"

namespace {

namespace fs = std::filesystem;
using berth::fuzz::is_printable_ascii;
using berth::fuzz::require;
using berth::fuzz::make_scratch_dir;
using berth::fuzz::scratch_dir;
using nlohmann::json;
namespace kube = berth::kube;
namespace haproxy = berth::haproxy;
namespace dataplane = berth::dataplane;

// ---- The lines the template can produce ----

// A template line flattened for one choice of its inline optional parts: literal text and
// values. kValue is one or more printable non-blank bytes; kWords (the "{{.}}" of a list of
// words) may also hold single blanks between them.
struct Piece {
  enum class Kind { kLiteral, kValue, kWords };
  Kind kind;
  std::string text;
};
using LineShape = std::vector<Piece>;

bool is_word_byte(char c) { return c > 0x20 && c < 0x7f; }

bool shape_matches(const LineShape& shape, std::size_t i, std::string_view line, std::size_t at) {
  if (i == shape.size()) return at == line.size();
  const Piece& piece = shape[i];
  if (piece.kind == Piece::Kind::kLiteral) {
    return line.substr(at).starts_with(piece.text) && shape_matches(shape, i + 1, line, at + piece.text.size());
  }
  for (std::size_t end = at; end < line.size(); ++end) {
    const char c = line[end];
    const bool blank_inside_words = piece.kind == Piece::Kind::kWords && c == ' ' && end > at &&
                                    end + 1 < line.size() && line[end - 1] != ' ';
    if (!is_word_byte(c) && !blank_inside_words) return false;
    if (c != ' ' && shape_matches(shape, i + 1, line, end + 1)) return true;
  }
  return false;
}

// A template line as pieces, with inline sections ({{#x}}...{{/x}}, {{^x}}...{{/x}}) kept as
// alternatives: every subset of them present or absent.
struct TemplateLine {
  std::vector<LineShape> shapes;
};

// The lines default_template() can produce, one entry per template line that outputs one (a
// line of only section tags and comments outputs none: the Mustache standalone rule).
std::vector<TemplateLine> template_lines(std::string_view text) {
  std::vector<TemplateLine> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    // Tokens: literal text and tags, comments dropped.
    struct Token {
      char sigil;  // 0 literal, 'v' value, '#', '^', '/'
      std::string text;
    };
    std::vector<Token> tokens;
    bool has_tag = false, has_output = false;
    for (std::size_t at = 0; at < line.size();) {
      std::size_t open = line.find("{{", at);
      if (open != at) {
        std::string literal(line.substr(at, open == std::string_view::npos ? std::string_view::npos : open - at));
        if (literal.find_first_not_of(" \t") != std::string::npos) has_output = true;
        tokens.push_back({0, literal});
        if (open == std::string_view::npos) break;
      }
      std::size_t close = line.find("}}", open);
      std::string_view tag = line.substr(open + 2, close - open - 2);
      at = close + 2;
      has_tag = true;
      if (tag.starts_with('!')) continue;
      if (tag.starts_with('#') || tag.starts_with('^') || tag.starts_with('/')) {
        tokens.push_back({tag[0], std::string(tag.substr(1))});
      } else {
        tokens.push_back({'v', std::string(tag)});
        has_output = true;
      }
    }
    if (has_tag && !has_output) continue;  // standalone: no output line
    // Expand inline sections: each open..close span on this line is present or absent.
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    std::vector<std::size_t> open_at;
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      if (tokens[t].sigil == '#' || tokens[t].sigil == '^') open_at.push_back(t);
      if (tokens[t].sigil == '/' && !open_at.empty()) {
        spans.emplace_back(open_at.back(), t);
        open_at.pop_back();
      }
    }
    TemplateLine out;
    for (std::size_t mask = 0; mask < (std::size_t{1} << spans.size()); ++mask) {
      LineShape shape;
      for (std::size_t t = 0; t < tokens.size(); ++t) {
        bool dropped = false;
        for (std::size_t s = 0; s < spans.size(); ++s) {
          if (!(mask & (std::size_t{1} << s)) && t > spans[s].first && t < spans[s].second) dropped = true;
        }
        if (dropped || tokens[t].sigil == '#' || tokens[t].sigil == '^' || tokens[t].sigil == '/') continue;
        if (tokens[t].sigil == 0) {
          if (!shape.empty() && shape.back().kind == Piece::Kind::kLiteral) {
            shape.back().text += tokens[t].text;
          } else {
            shape.push_back({Piece::Kind::kLiteral, tokens[t].text});
          }
        } else {
          shape.push_back({tokens[t].text == "." ? Piece::Kind::kWords : Piece::Kind::kValue, {}});
        }
      }
      out.shapes.push_back(std::move(shape));
    }
    lines.push_back(std::move(out));
  }
  return lines;
}

// The (template line, shape) ids the rendered lines match; require()s that each line matches one.
std::set<std::pair<std::size_t, std::size_t>> check_lines(const std::vector<TemplateLine>& shapes,
                                                          std::string_view text) {
  std::set<std::pair<std::size_t, std::size_t>> used;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    require(nl != std::string_view::npos, "the config ends with a newline");
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    bool matched = false;
    for (std::size_t l = 0; l < shapes.size() && !matched; ++l) {
      for (std::size_t s = 0; s < shapes[l].shapes.size() && !matched; ++s) {
        if (shape_matches(shapes[l].shapes[s], 0, line, 0)) {
          used.emplace(l, s);
          matched = true;
        }
      }
    }
    require(matched, "every rendered line is a line of the template", line);
  }
  return used;
}

// ---- The fixed parts: settings, scratch folder ----

const haproxy::ConfigRenderer& renderer() {
  static const auto compiled = [] {
    auto r = haproxy::ConfigRenderer::create(std::string(haproxy::ConfigRenderer::default_template()));
    require(r.has_value(), "the built-in template compiles");
    return std::make_unique<haproxy::ConfigRenderer>(std::move(*r));
  }();
  return *compiled;
}

const std::vector<TemplateLine>& default_shapes() {
  static const auto shapes = template_lines(haproxy::ConfigRenderer::default_template());
  return shapes;
}

haproxy::GlobalSettings settings() {
  return haproxy::GlobalSettings{
      .maxconn = 4000,
      .nbthread = 2,
      .bind_addresses = {*haproxy::IpAddress::parse("0.0.0.0"), *haproxy::IpAddress::parse("::")},
      .admin_socket = (scratch_dir() / "admin.sock").string(),
      .server_state_file = (scratch_dir() / "servers.state").string(),
      .log = haproxy::LogTarget{.kind = haproxy::LogTarget::Kind::kStdout},
      .max_old_workers = 5,
      .check_interval = std::chrono::milliseconds(300)};
}

enum class HaproxyCheck { kNew, kAll, kNone };

// How many inputs HAProxy judged, reported at exit so a run shows how much it checked.
std::size_t& haproxy_checks() {
  static std::size_t n = 0;
  return n;
}

void report_haproxy_checks() {
  std::fprintf(stderr, "rendered_config_fuzzer: haproxy -c accepted %zu configs\n", haproxy_checks());
}

HaproxyCheck haproxy_check_mode() {
  const char* mode = std::getenv("BERTH_FUZZ_HAPROXY_CHECK");
  if (mode != nullptr && std::string_view(mode) == "all") return HaproxyCheck::kAll;
  if (mode != nullptr && std::string_view(mode) == "none") return HaproxyCheck::kNone;
  return HaproxyCheck::kNew;
}

// ---- The assertions ----

bool in_alphabet(std::string_view text, std::string_view extra) {
  return std::ranges::all_of(text, [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

void check_model(const dataplane::BuiltModel& built, const std::set<int>& unusable) {
  require(built.owner.size() == built.model.listeners.size(), "the owner map names exactly the listeners");
  for (const auto& [port, listener] : built.model.listeners) {
    require(port == listener.host_port && port >= 20000 && port <= 29999, "listeners are on pool ports");
    require(!unusable.contains(port), "no listener on an unusable port");
    require(built.owner.contains(port), "the owner map names every listener");
    require(kube::dns1123_label_error(listener.service.ns).empty() &&
                kube::dns1123_label_error(listener.service.name).empty(),
            "served Services have DNS-1123 names", listener.service.ns + "/" + listener.service.name);
    const auto& o = listener.options;
    require(o.check_user.size() <= 63 && in_alphabet(o.check_user, "_.-"), "the check user is safe");
    require(!o.check_http || in_alphabet(o.check_http->path, "._~/-"), "the check path is safe");
    require(std::ranges::is_sorted(listener.servers) &&
                std::ranges::adjacent_find(listener.servers) == listener.servers.end(),
            "servers are sorted and unique");
    for (const auto& server : listener.servers) require(server.port >= 1 && server.port <= 65535, "server ports");
  }
  for (const auto& [service, warnings] : built.warnings) {
    for (const auto& warning : warnings) {
      require(is_printable_ascii(warning.reason) && is_printable_ascii(warning.message),
              "a Warning is one line of printable ASCII", warning.message);
    }
  }
}

bool same_build(const dataplane::BuiltModel& a, const dataplane::BuiltModel& b) {
  return a.model == b.model && a.unserved == b.unserved && a.warnings == b.warnings && a.owner == b.owner;
}

std::size_t count_lines_starting(std::string_view text, std::string_view prefix) {
  std::size_t n = 0;
  for (std::size_t at = 0; at < text.size();) {
    if (text.substr(at).starts_with(prefix)) ++n;
    std::size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return n;
}

// The values on the lines that name things come from the Model, never from elsewhere: a
// Service comment or audit-log name is a listener's "ns/name:port", a proxy is "p<listener
// port>", a server address is one of the slot's servers (an empty slot is a disabled
// placeholder).
void check_names(const haproxy::Config& config, std::string_view text) {
  std::set<std::string> services, proxies, addresses;
  for (const auto& [port, listener] : config.model.listeners) {
    const auto& ref = listener.service;
    services.insert(ref.ns + "/" + ref.name + ":" + std::to_string(ref.port));
    proxies.insert(haproxy::proxy_name(port));
    for (const auto& server : listener.servers) addresses.insert(server.address.with_port(server.port));
  }
  constexpr std::string_view kSetVar = "    tcp-request connection set-var(sess.berth_service) str(";
  bool first = true;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) break;  // check_lines() requires the final newline
    const std::string_view line = text.substr(at, nl - at);
    at = nl + 1;
    if (line.starts_with("# ") && !first) {
      require(services.contains(std::string(line.substr(2))), "a comment names a served Service", line);
    } else if (line.starts_with(kSetVar)) {
      std::string_view name = line.substr(kSetVar.size());
      require(name.ends_with(')') && services.contains(std::string(name.substr(0, name.size() - 1))),
              "the audit log names a served Service", line);
    } else if (line.starts_with("frontend ") || line.starts_with("backend ")) {
      std::string_view name = line.substr(line.find(' ') + 1);
      require(name == "berth_metrics" || proxies.contains(std::string(name)), "proxies are named after listeners",
              line);
    } else if (line.starts_with("    server ")) {
      std::string_view rest = line.substr(std::string_view("    server ").size());
      rest = rest.substr(rest.find(' ') + 1);
      std::string_view address = rest.substr(0, rest.find(' '));
      require(addresses.contains(std::string(address)) || line.find(" disabled") != std::string_view::npos,
              "a server is one of the listener's", line);
    }
    first = false;
  }
}

void check_rendered(const haproxy::Config& config, const std::string& text) {
  require(std::ranges::all_of(text, [](char c) { return c == '\n' || (c >= 0x20 && c < 0x7f); }),
          "the config is printable ASCII");
  std::size_t slots = 0;
  for (const auto& [port, backend] : config.slots.backends) slots += backend.size();
  require(count_lines_starting(text, "frontend ") == config.model.listeners.size(), "one frontend per listener");
  require(count_lines_starting(text, "    server ") == slots, "one server line per slot");

  check_names(config, text);

  static const HaproxyCheck mode = haproxy_check_mode();
  static std::set<std::set<std::pair<std::size_t, std::size_t>>> seen;
  auto used = check_lines(default_shapes(), text);
  if (config.model.listeners.empty() || mode == HaproxyCheck::kNone) return;
  if (mode == HaproxyCheck::kNew && !seen.insert(std::move(used)).second) return;
  const fs::path file = scratch_dir() / "haproxy.cfg";
  {
    std::ofstream out(file, std::ios::trunc);
    out << text;
  }
  ++haproxy_checks();
  auto checked = haproxy::check_config(BERTH_HAPROXY_BIN, file, std::chrono::seconds(30));
  if (!checked) {
    std::fprintf(stderr, "%s\n", text.c_str());
    require(false, "haproxy -c accepts the rendered config", checked.error().message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  make_scratch_dir("rendered-config-fuzzer");
  std::ofstream(scratch_dir() / "servers.state") << "1\n";
  std::atexit(report_haproxy_checks);
  // The template's shapes: every line of a config with every option must be one of them (a
  // check of the checker, so that a template change cannot make every input fail silently).
  require(!default_shapes().empty(), "the template has lines");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const json doc = json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr,
                               /*allow_exceptions=*/false);
  if (!doc.is_object()) return 0;
  auto items = doc.find("items");
  if (items == doc.end() || !items->is_array()) return 0;
  // By key, as the Stores hold them (a later item replaces an earlier one with its key): the
  // ModelBuilder is given a Store's list, where keys are unique.
  std::map<std::string, kube::Store<kube::Service>::Ptr> services_by_key;
  std::map<std::string, kube::Store<kube::EndpointSlice>::Ptr> slices_by_key;
  for (const json& item : *items) {
    if (!item.is_object()) continue;
    auto kind = item.find("kind");
    if (kind == item.end() || !kind->is_string()) continue;
    if (*kind == "Service") {
      if (auto s = kube::parse_service(item)) {
        services_by_key[s->meta.key()] = std::make_shared<kube::Service>(std::move(*s));
      }
    } else if (*kind == "EndpointSlice") {
      if (auto s = kube::parse_endpoint_slice(item)) {
        slices_by_key[s->meta.key()] = std::make_shared<kube::EndpointSlice>(std::move(*s));
      }
    }
  }
  std::vector<kube::Store<kube::Service>::Ptr> services;
  for (auto& [key, service] : services_by_key) services.push_back(std::move(service));
  std::vector<kube::Store<kube::EndpointSlice>::Ptr> slices;
  for (auto& [key, slice] : slices_by_key) slices.push_back(std::move(slice));
  const bool loopback = doc.value("allowLoopbackEndpoints", json(false)).is_boolean() &&
                        doc.value("allowLoopbackEndpoints", json(false)).get<bool>();
  std::set<int> unusable;
  if (auto u = doc.find("unusableHostPorts"); u != doc.end() && u->is_array()) {
    for (const json& port : *u) {
      if (port.is_number_integer() && port.get<std::int64_t>() >= 1 && port.get<std::int64_t>() <= 65535) {
        unusable.insert(static_cast<int>(port.get<std::int64_t>()));
      }
    }
  }

  auto make_builder = [&] {
    return std::make_unique<dataplane::ModelBuilder>(
        berth::controller::AnnotationConfig{},
        *berth::ports::PortRangeSet::parse(std::vector<std::string>{"20000-29999"}), loopback);
  };
  const auto builder = make_builder();
  const dataplane::BuiltModel built = *builder->build(services, slices, unusable);
  check_model(built, unusable);
  std::ranges::reverse(services);
  std::ranges::reverse(slices);
  // A fresh builder: the first one keeps its result and would hand back the same one.
  require(same_build(built, *make_builder()->build(services, slices, unusable)),
          "build() does not depend on the order");

  haproxy::Config config;
  config.global = settings();
  config.model = built.model;
  for (const auto& [port, listener] : built.model.listeners) {
    config.slots.backends[port] = haproxy::fresh_slots(listener.servers, haproxy::SlotPolicy{});
  }
  check_rendered(config, renderer().render(config));
  return 0;
}
