// Config → the text of haproxy.cfg, through a mustache template (kainjow-mustache).
//
// The built-in template (default_template()) is what berth serves with unless --template
// names another file. The template sees only typed, validated values (model.h), flattened
// into a documented data tree (docs/haproxy-template.md lists every name); nothing in it can
// come from a user unchecked, and no value is HTML-escaped (there is nothing to escape).
//
// render() is a pure function of the Config: equal Configs give byte-identical text. A Service
// name that is not a DNS-1123 label only loses its comment line; any other value outside the
// alphabet model.h promises (a path, the check user, an HTTP check path) is a bug upstream that
// could add config lines, so render() aborts rather than write it.
//
// Thread-safety: a ConfigRenderer is immutable after create(); render() may be called from
// any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "haproxy/model.h"

namespace berth::haproxy {

class ConfigRenderer {
 public:
  static std::string_view default_template();

  // Compiles a template. kInvalidArgument with the template engine's message and the line (an
  // unclosed section, say), and for what berth cannot honour: partials, delimiter changes,
  // control characters. HAProxy's own verdict on the output comes later, from check_config().
  static Result<ConfigRenderer> create(std::string template_text);

  std::string render(const Config& config) const;

  ConfigRenderer(ConfigRenderer&&) noexcept;
  ConfigRenderer& operator=(ConfigRenderer&&) noexcept;
  ~ConfigRenderer();

 private:
  struct Compiled;
  explicit ConfigRenderer(std::unique_ptr<Compiled> compiled);
  std::string render_by_listener(const Config& config) const;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace berth::haproxy
