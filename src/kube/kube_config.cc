#include "kube/kube_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/log.h"

namespace berth::kube {
namespace {

namespace fs = std::filesystem;

// `text` with control bytes written as escapes (\n, \t, \r, \xNN): the problem quotes names and
// yaml-cpp's messages quote bytes from the file, and an error must stay one line.
std::string escape_control_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

std::unexpected<Error> config_error(ErrorCode code, const fs::path& file, std::string_view problem) {
  return make_error(code, fmt::format("kubeconfig {}: {}", escape_control_bytes(file.string()),
                                      escape_control_bytes(problem)));
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, fmt::format("cannot read {}", path.string()));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A named entry of the clusters/users/contexts lists: `- name: x\n  cluster: {...}`.
// `not_found` is the problem reported when no entry has that name.
Result<YAML::Node> find_named(const YAML::Node& root, const char* list, const char* inner, std::string_view name,
                              const fs::path& file, const char* what, const std::string& not_found) {
  YAML::Node entries = root[list];
  if (entries && !entries.IsSequence()) {
    return config_error(ErrorCode::kInvalidArgument, file, fmt::format("{} is not a list", list));
  }
  if (entries) {
    for (const auto& entry : entries) {
      if (!entry.IsMap() || !entry["name"] || entry["name"].as<std::string>() != name) continue;
      YAML::Node body = entry[inner];
      if (body && !body.IsMap() && !body.IsNull()) {
        return config_error(ErrorCode::kInvalidArgument, file, fmt::format("{} \"{}\" is not a map", what, name));
      }
      return body ? body : YAML::Node(YAML::NodeType::Map);
    }
  }
  return config_error(ErrorCode::kInvalidArgument, file, not_found);
}

std::string scalar(const YAML::Node& map, const char* key) {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return {};
  return v.as<std::string>();  // a non-scalar throws YAML::BadConversion, caught at the edge
}

// A path from the kubeconfig: relative ones are relative to the kubeconfig's folder.
Result<std::string> existing_path(const std::string& value, const fs::path& file, const char* field) {
  fs::path p(value);
  if (p.is_relative()) p = file.parent_path() / p;
  p = p.lexically_normal();
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) {
    return config_error(ErrorCode::kIo, file, fmt::format("{} file {} does not exist", field, p.string()));
  }
  return p.string();
}

Result<std::string> base64_field(const std::string& value, const fs::path& file, const char* field) {
  auto decoded = decode_base64(value);
  if (!decoded) return config_error(ErrorCode::kParse, file, fmt::format("{} is not valid base64", field));
  return *decoded;
}

Result<KubeConfig> parse_kubeconfig(const YAML::Node& root, const fs::path& file, std::string_view wanted) {
  if (!root.IsMap()) return config_error(ErrorCode::kParse, file, "not a YAML map");
  std::string context_name(wanted);
  if (context_name.empty()) context_name = scalar(root, "current-context");
  if (context_name.empty()) {
    return config_error(ErrorCode::kInvalidArgument, file, "no current-context and no context given");
  }
  auto context = find_named(root, "contexts", "context", context_name, file, "context",
                            fmt::format("unknown context \"{}\"", context_name));
  if (!context) return std::unexpected(context.error());
  std::string cluster_name = scalar(*context, "cluster");
  if (cluster_name.empty()) {
    return config_error(ErrorCode::kInvalidArgument, file,
                        fmt::format("context \"{}\" names no cluster", context_name));
  }
  auto cluster = find_named(root, "clusters", "cluster", cluster_name, file, "cluster",
                            fmt::format("context \"{}\" names unknown cluster \"{}\"", context_name, cluster_name));
  if (!cluster) return std::unexpected(cluster.error());

  KubeConfig config;
  config.source = fmt::format("kubeconfig {} context {}", file.string(), context_name);
  config.server = scalar(*cluster, "server");
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  if (config.server.empty()) {
    return config_error(ErrorCode::kInvalidArgument, file, fmt::format("cluster \"{}\" has no server", cluster_name));
  }
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return config_error(ErrorCode::kInvalidArgument, file,
                        fmt::format("cluster \"{}\" server \"{}\" is not an http(s) URL", cluster_name, config.server));
  }
  if (auto ns = scalar(*context, "namespace"); !ns.empty()) config.default_namespace = ns;

  if (auto data = scalar(*cluster, "certificate-authority-data"); !data.empty()) {
    auto pem = base64_field(data, file, "certificate-authority-data");
    if (!pem) return std::unexpected(pem.error());
    config.ca_pem = std::move(*pem);
  } else if (auto ca = scalar(*cluster, "certificate-authority"); !ca.empty()) {
    auto p = existing_path(ca, file, "certificate-authority");
    if (!p) return std::unexpected(p.error());
    config.ca_file = std::move(*p);
  }
  if (YAML::Node insecure = (*cluster)["insecure-skip-tls-verify"]; insecure && !insecure.IsNull()) {
    config.insecure_skip_tls_verify = insecure.as<bool>();
  }

  std::string user_name = scalar(*context, "user");
  if (!user_name.empty()) {
    auto user = find_named(root, "users", "user", user_name, file, "user",
                           fmt::format("context \"{}\" names unknown user \"{}\"", context_name, user_name));
    if (!user) return std::unexpected(user.error());
    config.token = scalar(*user, "token");
    if (auto tf = scalar(*user, "tokenFile"); !tf.empty()) {
      auto p = existing_path(tf, file, "tokenFile");
      if (!p) return std::unexpected(p.error());
      config.token_file = std::move(*p);
    }
    if (auto data = scalar(*user, "client-certificate-data"); !data.empty()) {
      auto pem = base64_field(data, file, "client-certificate-data");
      if (!pem) return std::unexpected(pem.error());
      config.client_cert_pem = std::move(*pem);
    } else if (auto f = scalar(*user, "client-certificate"); !f.empty()) {
      auto p = existing_path(f, file, "client-certificate");
      if (!p) return std::unexpected(p.error());
      config.client_cert_file = std::move(*p);
    }
    if (auto data = scalar(*user, "client-key-data"); !data.empty()) {
      auto pem = base64_field(data, file, "client-key-data");
      if (!pem) return std::unexpected(pem.error());
      config.client_key_pem = std::move(*pem);
    } else if (auto f = scalar(*user, "client-key"); !f.empty()) {
      auto p = existing_path(f, file, "client-key");
      if (!p) return std::unexpected(p.error());
      config.client_key_file = std::move(*p);
    }
  }
  bool has_cert = !config.client_cert_pem.empty() || !config.client_cert_file.empty();
  bool has_key = !config.client_key_pem.empty() || !config.client_key_file.empty();
  if (has_cert != has_key) {
    return config_error(ErrorCode::kInvalidArgument, file,
                        fmt::format("user \"{}\" has a client certificate without a key or a key without a certificate",
                                    user_name));
  }
  if (config.token.empty() && config.token_file.empty() && !has_cert) {
    if (!user_name.empty()) {
      auto user = find_named(root, "users", "user", user_name, file, "user", "");
      if (user && ((*user)["exec"] || (*user)["auth-provider"])) {
        return config_error(ErrorCode::kInvalidArgument, file,
                            fmt::format("user \"{}\" uses exec/auth-provider credentials, which berth does not "
                                        "support; use a token, tokenFile or client certificate",
                                        user_name));
      }
    }
    logger("kube-config")->debug("no credentials in {}: requests are anonymous", config.source);
  }
  return config;
}

}  // namespace

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::optional<std::string> decode_base64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(clean.size() / 4 * 3);
  for (std::size_t i = 0; i < clean.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = clean[i + j];
      if (c == '=') {
        // Padding only at the very end, and at most two characters.
        if (i + 4 != clean.size() || j < 2) return std::nullopt;
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt;
      v[j] = value(c);
      if (v[j] < 0) return std::nullopt;
    }
    unsigned triple = (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
    out.push_back(static_cast<char>((triple >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((triple >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(triple & 0xff));
  }
  return out;
}

Result<KubeConfig> load_kubeconfig(const fs::path& path, std::string_view context) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return config_error(ErrorCode::kIo, path, "file does not exist");
  auto text = read_file(path);
  if (!text) return config_error(ErrorCode::kIo, path, "cannot read the file");
  fs::path absolute = fs::absolute(path, ec);
  if (ec) absolute = path;
  try {
    YAML::Node root = YAML::Load(*text);
    return parse_kubeconfig(root, absolute, context);
  } catch (const YAML::ParserException& e) {
    return config_error(ErrorCode::kParse, path,
                        fmt::format("malformed YAML at line {}: {}", e.mark.line + 1, e.msg));
  } catch (const YAML::Exception& e) {
    // BadConversion and friends: a field with the wrong shape (a list where a string belongs).
    std::string where = e.mark.is_null() ? std::string() : fmt::format(" at line {}", e.mark.line + 1);
    return config_error(ErrorCode::kInvalidArgument, path, fmt::format("unexpected value{}: {}", where, e.msg));
  }
}

Result<KubeConfig> load_in_cluster_config(const EnvLookup& getenv, const fs::path& root) {
  auto host = getenv("KUBERNETES_SERVICE_HOST");
  auto port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set "
                      "(not running in a pod; pass --kubeconfig)");
  }
  KubeConfig config;
  config.source = "in-cluster";
  bool ipv6 = host->find(':') != std::string::npos && host->front() != '[';
  config.server = ipv6 ? fmt::format("https://[{}]:{}", *host, *port) : fmt::format("https://{}:{}", *host, *port);
  std::error_code ec;
  fs::path token = root / "token";
  if (!fs::is_regular_file(token, ec)) {
    return make_error(ErrorCode::kIo, fmt::format("in-cluster config: token file {} does not exist", token.string()));
  }
  config.token_file = token.string();
  fs::path ca = root / "ca.crt";
  if (!fs::is_regular_file(ca, ec)) {
    return make_error(ErrorCode::kIo, fmt::format("in-cluster config: CA file {} does not exist", ca.string()));
  }
  config.ca_file = ca.string();
  if (auto ns = read_file(root / "namespace"); ns) {
    std::string value = *ns;
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) value.pop_back();
    if (!value.empty()) config.default_namespace = value;
  }
  return config;
}

Result<KubeConfig> resolve_config(std::string_view flag_path, const EnvLookup& getenv, std::string_view context) {
  if (!flag_path.empty()) return load_kubeconfig(fs::path(flag_path), context);
  if (auto list = getenv("KUBECONFIG"); list && !list->empty()) {
    std::string_view rest = *list;
    while (!rest.empty()) {
      auto colon = rest.find(':');
      std::string_view one = rest.substr(0, colon);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
      std::error_code ec;
      if (!one.empty() && fs::exists(fs::path(one), ec)) return load_kubeconfig(fs::path(one), context);
    }
    return make_error(ErrorCode::kIo, fmt::format("KUBECONFIG={}: none of the files exists", *list));
  }
  return load_in_cluster_config(getenv);
}

}  // namespace berth::kube
