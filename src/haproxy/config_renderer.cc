#include "haproxy/config_renderer.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include <optional>
#include <sstream>

#include <kainjow/mustache.hpp>

#include "haproxy/config_values.h"

namespace berth::haproxy {
namespace {

namespace mustache = kainjow::mustache;

// Marks the lines that held only a section tag or a comment (see mark_standalone_lines). No
// template may contain it and no rendered value can, so the marked lines are found exactly.
constexpr char kStandaloneMark = '\x01';

// HAProxy reads at most 64 words a line ("too many words, truncating after word 64");
// "acl allowed_sources src" takes three of them.
constexpr std::size_t kSourcesPerAclLine = 48;

// A list data of `items`, moved in. kainjow's push_back() copies its argument (a deep copy of
// a listener's tree, which doubled the time to render 10,000 listeners); list_value() hands out
// the list's own vector, which this list owns and is not const. reserve() comes first because
// kainjow's move constructor is not noexcept, so a growing vector would copy.
mustache::data list_of(std::vector<mustache::data>&& items) {
  mustache::data list{mustache::data::type::list};
  auto& vector = const_cast<mustache::list&>(list.list_value());
  vector.reserve(items.size());
  for (auto& item : items) vector.push_back(std::move(item));
  return list;
}

mustache::data string_list(const std::vector<std::string>& values) {
  std::vector<mustache::data> items;
  items.reserve(values.size());
  for (const auto& value : values) items.emplace_back(value);
  return list_of(std::move(items));
}

mustache::data global_data(const GlobalSettings& global) {
  mustache::data data;
  data["has_maxconn"] = mustache::data{global.maxconn > 0};
  data["maxconn"] = mustache::data{global.maxconn > 0 ? std::to_string(global.maxconn) : std::string()};
  data["has_nbthread"] = mustache::data{global.nbthread > 0};
  data["nbthread"] = mustache::data{global.nbthread > 0 ? std::to_string(global.nbthread) : std::string()};
  data["has_admin_socket"] = mustache::data{!global.admin_socket.empty()};
  data["admin_socket"] = mustache::data{
      global.admin_socket.empty() ? global.admin_socket : checked_path("admin_socket", global.admin_socket)};
  data["has_server_state_file"] = mustache::data{!global.server_state_file.empty()};
  data["server_state_file"] = mustache::data{global.server_state_file.empty()
                                                 ? global.server_state_file
                                                 : checked_path("server_state_file", global.server_state_file)};

  std::string log_address;
  const auto& log = global.log;
  switch (log.kind) {
    case LogTarget::Kind::kNone: break;
    case LogTarget::Kind::kStdout: log_address = "stdout"; break;
    case LogTarget::Kind::kStderr: log_address = "stderr"; break;
    case LogTarget::Kind::kUnixSocket: log_address = checked_path("log path", log.path); break;
    case LogTarget::Kind::kUdp:
      if (!log.address) std::abort();  // model.h: a UDP target has an address
      log_address = log.address->with_port(log.port);
      break;
  }
  data["logging"] = mustache::data{log.kind != LogTarget::Kind::kNone};
  data["log_address"] = mustache::data{log_address};
  // stdout/stderr are a container's log, read line by line: no syslog header.
  data["log_raw"] = mustache::data{log.kind == LogTarget::Kind::kStdout || log.kind == LogTarget::Kind::kStderr};

  data["has_prometheus"] = mustache::data{global.prometheus.has_value()};
  data["prometheus_address"] = mustache::data{
      global.prometheus ? global.prometheus->address.with_port(global.prometheus->port) : std::string()};
  data["has_mworker_max_reloads"] = mustache::data{global.max_old_workers > 0};
  data["mworker_max_reloads"] =
      mustache::data{global.max_old_workers > 0 ? std::to_string(global.max_old_workers) : std::string()};
  data["check_interval"] = mustache::data{format_duration(global.check_interval)};
  return data;
}

mustache::data binds_data(const std::vector<IpAddress>& bind_addresses, int port) {
  std::vector<mustache::data> binds;
  binds.reserve(std::max<std::size_t>(1, bind_addresses.size()));
  auto add = [&](const std::string& address, bool v4v6, bool v6only) {
    mustache::data bind;
    bind["address"] = mustache::data{address};
    bind["v4v6"] = mustache::data{v4v6};
    bind["v6only"] = mustache::data{v6only};
    binds.push_back(std::move(bind));
  };
  if (bind_addresses.empty()) {
    add(fmt::format("0.0.0.0:{}", port), false, false);
    return list_of(std::move(binds));
  }
  const bool any_v4 = std::ranges::any_of(bind_addresses, [](const IpAddress& a) { return !a.is_v6(); });
  for (const auto& address : bind_addresses) {
    // "::" alone takes IPv4 too; beside an IPv4 bind it must not, or the two would collide.
    const bool dual_stack = address.is_v6() && address.is_unspecified() && !any_v4;
    add(address.with_port(port), dual_stack, address.is_v6() && !dual_stack);
  }
  return list_of(std::move(binds));
}

mustache::data server_data(std::size_t slot, const std::optional<Server>& server) {
  mustache::data data;
  data["name"] = mustache::data{slot_name(slot)};
  data["address"] = mustache::data{server ? server->address.with_port(server->port) : std::string(kPlaceholderAddress)};
  data["disabled"] = mustache::data{!server.has_value()};
  return data;
}

mustache::data listener_data(const Listener& listener, const GlobalSettings& global, const Slots* slots) {
  const auto& options = listener.options;
  mustache::data data;
  data["name"] = mustache::data{proxy_name(listener.host_port)};
  data["host_port"] = mustache::data{std::to_string(listener.host_port)};

  const auto& service = listener.service;
  const bool named = is_dns_label(service.ns) && is_dns_label(service.name);
  data["has_service"] = mustache::data{named};
  data["service"] =
      mustache::data{named ? fmt::format("{}/{}:{}", service.ns, service.name, service.port) : std::string()};
  data["service_namespace"] = mustache::data{named ? service.ns : std::string()};
  data["service_name"] = mustache::data{named ? service.name : std::string()};
  data["service_port"] = mustache::data{named ? std::to_string(service.port) : std::string()};

  data["logging"] = mustache::data{global.log.kind != LogTarget::Kind::kNone};
  data["binds"] = binds_data(global.bind_addresses, listener.host_port);
  data["timeout_client"] = mustache::data{format_duration(options.timeout_client)};
  data["timeout_connect"] = mustache::data{format_duration(options.timeout_connect)};
  data["timeout_server"] = mustache::data{format_duration(options.timeout_server)};
  data["has_maxconn"] = mustache::data{options.maxconn > 0};
  data["maxconn"] = mustache::data{options.maxconn > 0 ? std::to_string(options.maxconn) : std::string()};

  std::vector<std::string> sources;
  std::vector<std::string> groups;
  for (const auto& cidr : options.allow_sources) {
    sources.push_back(cidr.text());
    if (sources.size() % kSourcesPerAclLine == 1) {
      groups.push_back(sources.back());
    } else {
      groups.back() += ' ';
      groups.back() += sources.back();
    }
  }
  data["has_allow_sources"] = mustache::data{!sources.empty()};
  data["allow_sources"] = string_list(sources);
  data["allow_source_groups"] = string_list(groups);

  data["balance"] = mustache::data{std::string(balance_keyword(options.balance))};

  // An HTTP check replaces the protocol check; exactly one of these is true, or none for kNone.
  const bool http = options.check_http.has_value();
  const auto kind = options.check;
  const std::string check_user = checked_check_user(options);
  data["check_mysql"] = mustache::data{!http && kind == CheckKind::kMysql};
  data["check_pgsql"] = mustache::data{!http && kind == CheckKind::kPgsql};
  data["check_redis"] = mustache::data{!http && kind == CheckKind::kRedis};
  data["check_http"] = mustache::data{http};
  data["checked"] = mustache::data{http || kind != CheckKind::kNone};
  data["has_check_user"] = mustache::data{!check_user.empty()};
  data["check_user"] = mustache::data{check_user};
  std::string http_path;
  std::string http_port;
  if (http) {
    http_path = checked_http_path(*options.check_http);
    http_port = std::to_string(options.check_http->port);
  }
  data["http_check_path"] = mustache::data{http_path};
  data["http_check_port"] = mustache::data{http_port};
  data["send_proxy"] = mustache::data{options.proxy_protocol == ProxyProtocol::kV1};
  data["send_proxy_v2"] = mustache::data{options.proxy_protocol == ProxyProtocol::kV2};

  std::vector<mustache::data> servers;
  if (slots != nullptr) {
    servers.reserve(slots->size());
    for (std::size_t i = 0; i < slots->size(); ++i) servers.push_back(server_data(i, (*slots)[i]));
  } else {
    servers.reserve(listener.servers.size());
    for (std::size_t i = 0; i < listener.servers.size(); ++i) servers.push_back(server_data(i, listener.servers[i]));
  }
  data["servers"] = list_of(std::move(servers));
  return data;
}

const Slots* slots_of(const Config& config, int port) {
  const auto slots = config.slots.backends.find(port);
  return slots == config.slots.backends.end() ? nullptr : &slots->second;
}

mustache::data template_data(const Config& config) {
  std::vector<mustache::data> listeners;
  listeners.reserve(config.model.listeners.size());
  for (const auto& [port, listener] : config.model.listeners) {
    listeners.push_back(listener_data(listener, config.global, slots_of(config, port)));
  }
  mustache::data root;
  root["global"] = global_data(config.global);
  root["listeners"] = list_of(std::move(listeners));
  return root;
}


std::string_view trim_blanks(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The Mustache spec removes a line that holds only a section tag ({{#x}}, {{^x}}, {{/x}}) or a
// comment, with its blanks and newline; kainjow 4.1 does so only for sections it renders and
// leaves an empty line where a false one stood. Such lines get a mark after the tag here, and
// render() drops every output line that is only the mark, so templates behave as the spec says.
std::string mark_standalone_lines(std::string_view text) {
  std::string marked;
  marked.reserve(text.size() + 256);
  while (!text.empty()) {
    const auto newline = text.find('\n');
    auto line = text.substr(0, newline == std::string_view::npos ? text.size() : newline + 1);
    text.remove_prefix(line.size());
    auto body = line;
    if (body.ends_with('\n')) body.remove_suffix(1);
    if (body.ends_with('\r')) body.remove_suffix(1);
    const auto tag = trim_blanks(body);
    bool standalone = false;
    if (tag.size() >= 5 && tag.starts_with("{{") && !tag.starts_with("{{{") && tag.ends_with("}}") &&
        tag.find("}}") == tag.size() - 2) {
      const auto contents = trim_blanks(tag.substr(2, tag.size() - 4));
      standalone = !contents.empty() && std::string_view("#^/!").find(contents.front()) != std::string_view::npos;
    }
    if (standalone) {
      marked += tag;
      marked += kStandaloneMark;
      marked += line.substr(body.size());  // the line ending, if any
    } else {
      marked += line;
    }
  }
  return marked;
}

// In place: the rendered config of 10,000 listeners is ~3 MB, and a copy would double it.
void drop_marked_lines(std::string& text) {
  std::size_t write = 0;
  std::size_t read = 0;
  while (read < text.size()) {
    const auto newline = text.find('\n', read);
    const std::size_t end = newline == std::string::npos ? text.size() : newline + 1;
    std::string_view body(text.data() + read, end - read);
    if (body.ends_with('\n')) body.remove_suffix(1);
    if (body.ends_with('\r')) body.remove_suffix(1);
    if (!(body.size() == 1 && body.front() == kStandaloneMark)) {
      if (write != read) std::memmove(text.data() + write, text.data() + read, end - read);
      write += end - read;
    }
    read = end;
  }
  text.resize(write);
}

// Where a template can be cut so that each listener is rendered with a data tree of its own:
// the one top-level {{#listeners}} section, when nothing else names "listeners". A tree of
// 10,000 listeners holds ~65 MB at once (measured); one listener's holds a few KB.
struct ListenerSection {
  std::size_t open_begin = 0, open_end = 0;    // the {{#listeners}} tag
  std::size_t close_begin = 0, close_end = 0;  // the {{/listeners}} tag
};

std::optional<ListenerSection> find_listener_section(std::string_view text) {
  std::vector<std::string_view> open;  // names of the sections the scan is inside
  std::optional<ListenerSection> found;
  for (std::size_t pos = text.find("{{"); pos != std::string_view::npos; pos = text.find("{{", pos)) {
    const bool triple = text.substr(pos).starts_with("{{{");
    const auto start = pos + (triple ? 3 : 2);
    const auto end = text.find(triple ? "}}}" : "}}", start);
    if (end == std::string_view::npos) return std::nullopt;
    const auto tag_end = end + (triple ? 3 : 2);
    auto contents = trim_blanks(text.substr(start, end - start));
    const char sigil = contents.empty() ? ' ' : contents.front();
    const bool section = sigil == '#' || sigil == '^' || sigil == '/';
    const auto name = trim_blanks(section || sigil == '&' ? contents.substr(1) : contents);
    if (sigil != '!' && name == "listeners") {
      if (sigil == '#' && open.empty() && !found) {
        found = ListenerSection{.open_begin = pos, .open_end = tag_end};
      } else if (sigil == '/' && open.size() == 1 && found && found->close_end == 0) {
        found->close_begin = pos;
        found->close_end = tag_end;
      } else {
        return std::nullopt;  // named anywhere else: render the whole tree as written
      }
    }
    if (sigil == '#' || sigil == '^') {
      open.push_back(name);
    } else if (sigil == '/' && !open.empty()) {
      open.pop_back();
    }
    pos = tag_end;
  }
  if (!found || found->close_end == 0) return std::nullopt;
  return found;
}

std::size_t line_of(std::string_view text, std::size_t offset) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + std::min(offset, text.size()), '\n'));
}

// kainjow ends its messages with " at <byte offset>"; an operator wants the line.
std::string with_line(std::string message, std::string_view text) {
  const auto at = message.rfind(" at ");
  if (at != std::string::npos && at + 4 < message.size() &&
      std::all_of(message.begin() + static_cast<std::ptrdiff_t>(at) + 4, message.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    std::size_t offset = 0;
    std::from_chars(message.data() + at + 4, message.data() + message.size(), offset);
    message += fmt::format(" (line {})", line_of(text, offset));
  }
  return message;
}

// What kainjow accepts but berth cannot honour: partials (berth supplies none, and kainjow
// would parse a value of the same name as a template) and delimiter changes (which would hide
// tags from mark_standalone_lines). Scans tags as kainjow does with the default delimiters.
Result<void> check_supported_tags(std::string_view text) {
  for (std::size_t pos = text.find("{{"); pos != std::string_view::npos; pos = text.find("{{", pos)) {
    const bool triple = text.substr(pos).starts_with("{{{");
    const auto start = pos + (triple ? 3 : 2);
    const auto end = text.find(triple ? "}}}" : "}}", start);
    if (end == std::string_view::npos) break;  // the engine has reported it already
    const auto contents = trim_blanks(text.substr(start, end - start));
    if (!triple && !contents.empty() && (contents.front() == '>' || contents.front() == '=')) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("template line {}: {} are not supported: \"{}\"", line_of(text, pos),
                                    contents.front() == '>' ? "partials" : "delimiter changes",
                                    text.substr(pos, end + 2 - pos)));
    }
    pos = end + (triple ? 3 : 2);
  }
  return {};
}

}  // namespace

struct ConfigRenderer::Compiled {
  explicit Compiled(const std::string& marked) : engine(marked) {}
  mustache::mustache engine;
  // The template cut around its listener section (see find_listener_section), when it can be.
  struct Parts {
    mustache::mustache head, listener, tail;
  };
  std::optional<Parts> parts;
};

ConfigRenderer::ConfigRenderer(std::unique_ptr<Compiled> compiled) : compiled_(std::move(compiled)) {}
ConfigRenderer::ConfigRenderer(ConfigRenderer&&) noexcept = default;
ConfigRenderer& ConfigRenderer::operator=(ConfigRenderer&&) noexcept = default;
ConfigRenderer::~ConfigRenderer() = default;

Result<ConfigRenderer> ConfigRenderer::create(std::string template_text) {
  for (std::size_t i = 0; i < template_text.size(); ++i) {
    const auto c = static_cast<unsigned char>(template_text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("template line {}: control character 0x{:02x}", line_of(template_text, i), c));
    }
  }
  // Compiled as written first, so the engine's positions point into the operator's text.
  if (mustache::mustache as_written(template_text); !as_written.is_valid()) {
    return make_error(ErrorCode::kInvalidArgument, "template: " + with_line(as_written.error_message(), template_text));
  }
  if (auto supported = check_supported_tags(template_text); !supported) return std::unexpected(supported.error());

  auto compiled = std::make_unique<Compiled>(mark_standalone_lines(template_text));
  if (!compiled->engine.is_valid()) {
    // Marks only follow tags that stand alone on their line, so this would be a bug here.
    return make_error(ErrorCode::kInternal, "template after marking standalone lines: " +
                                                compiled->engine.error_message());
  }
  // Every value is validated (model.h) and none is HTML: print them as they are.
  const auto verbatim = [](const std::string& text) { return text; };
  compiled->engine.set_custom_escape(verbatim);
  const std::string marked = mark_standalone_lines(template_text);
  if (auto cut = find_listener_section(marked)) {
    Compiled::Parts parts{mustache::mustache(marked.substr(0, cut->open_begin)),
                          mustache::mustache(marked.substr(cut->open_end, cut->close_begin - cut->open_end)),
                          mustache::mustache(marked.substr(cut->close_end))};
    // Each part is balanced (the cut lies at the top level), so each compiles when the whole does.
    if (parts.head.is_valid() && parts.listener.is_valid() && parts.tail.is_valid()) {
      for (auto* part : {&parts.head, &parts.listener, &parts.tail}) part->set_custom_escape(verbatim);
      compiled->parts = std::move(parts);
    }
  }
  return ConfigRenderer(std::move(compiled));
}

std::string ConfigRenderer::render(const Config& config) const {
  if (compiled_->parts) return render_by_listener(config);
  const auto data = template_data(config);
  // kainjow's render() is not const (it records errors of partials and lambdas), so each call
  // works on its own copy and concurrent renders share nothing mutable.
  auto engine = compiled_->engine;
  std::string text;
  text.reserve(1024 + 512 * config.model.listeners.size());
  engine.render(data, [&text](const std::string& chunk) { text += chunk; });
  if (!engine.is_valid()) {
    // Only partials and lambdas fail while rendering; create() refuses the first and the data
    // holds none of the second.
    std::fprintf(stderr, "berth: ConfigRenderer: render failed: %s\n", engine.error_message().c_str());
    std::abort();
  }
  drop_marked_lines(text);
  return text;
}

// The same text as rendering the whole tree: a section renders its body once per item with the
// item's context on top of the root's, which is what each listener part gets here.
std::string ConfigRenderer::render_by_listener(const Config& config) const {
  Compiled::Parts parts = *compiled_->parts;  // kainjow's render() is not const
  mustache::data root;
  root["global"] = global_data(config.global);
  std::string text;
  text.reserve(1024 + 300 * config.model.listeners.size());
  const mustache::mustache::render_handler append = [&text](const std::string& chunk) { text += chunk; };
  parts.head.render(root, append);
  for (const auto& [port, listener] : config.model.listeners) {
    const mustache::data item = listener_data(listener, config.global, slots_of(config, port));
    mustache::context<std::string> context(&root);
    context.push(&item);
    std::ostringstream out;  // kainjow renders a context only into a stream
    parts.listener.render(context, out);
    text += std::move(out).str();
  }
  parts.tail.render(root, append);
  for (const auto* part : {&parts.head, &parts.listener, &parts.tail}) {
    if (!part->is_valid()) {
      std::fprintf(stderr, "berth: ConfigRenderer: render failed: %s\n", part->error_message().c_str());
      std::abort();
    }
  }
  drop_marked_lines(text);
  return text;
}

}  // namespace berth::haproxy
