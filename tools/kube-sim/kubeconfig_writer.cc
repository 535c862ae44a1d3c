#include "kube-sim/kubeconfig_writer.h"

#include <fmt/format.h>

#include "common/atomic_file.h"

namespace berth::kubesim {
namespace {

// A YAML double-quoted scalar (the JSON string escapes are valid YAML).
std::string yaml_quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string base64_encode(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < data.size()) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string render_kubeconfig(const KubeconfigContent& content) {
  return fmt::format(
      "apiVersion: v1\n"
      "kind: Config\n"
      "clusters:\n"
      "- name: kube-sim\n"
      "  cluster:\n"
      "    server: {}\n"
      "    certificate-authority-data: {}\n"
      "users:\n"
      "- name: kube-sim\n"
      "  user:\n"
      "    token: {}\n"
      "contexts:\n"
      "- name: kube-sim\n"
      "  context:\n"
      "    cluster: kube-sim\n"
      "    user: kube-sim\n"
      "    namespace: default\n"
      "current-context: kube-sim\n"
      "preferences: {{}}\n",
      yaml_quoted(content.server_url), yaml_quoted(base64_encode(content.ca_pem)), yaml_quoted(content.token));
}

Result<void> write_kubeconfig(const std::filesystem::path& path, const KubeconfigContent& content) {
  return write_file_atomically(path, render_kubeconfig(content), 0600);
}

}  // namespace berth::kubesim
