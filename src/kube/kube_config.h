// Where the Kubernetes API is and how to authenticate to it: from a kubeconfig file (as kubectl
// reads it) or from the in-cluster service-account mount.
//
//   auto config = resolve_config(flags.kubeconfig, process_env());
//   if (!config) { fmt::print(stderr, "{}\n", config.error().describe()); return 1; }
//
// Credentials may be inline (PEM bytes, token) or file paths (absolute after loading; relative
// paths in a kubeconfig are resolved against the kubeconfig's folder, as kubectl does). Files
// named by a kubeconfig are checked to exist at load time; their contents are read by the
// transport (certificates) and TokenSource (tokens, which rotate).
//
// Errors: one line naming the file and the problem (kInvalidArgument for bad content or an
// unknown context, kParse for malformed YAML/base64, kIo for unreadable files). A token never
// appears in an error or a log line.
//
// Thread-safety: the functions are reentrant; KubeConfig is a plain value.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth::kube {

struct KubeConfig {
  std::string server;  // "https://host:port", no trailing slash
  // Trust: PEM bytes take precedence over the file; both empty means the system CA store.
  std::string ca_pem;
  std::string ca_file;
  bool insecure_skip_tls_verify = false;
  // Bearer token: inline, or a file re-read when it changes (service-account tokens rotate).
  // When both are set the file wins, as in client-go.
  std::string token;
  std::string token_file;
  // Client certificate authentication; PEM bytes take precedence over files.
  std::string client_cert_pem;
  std::string client_cert_file;
  std::string client_key_pem;
  std::string client_key_file;
  std::string default_namespace = "default";
  // For logs: "kubeconfig /root/.kube/config context kind-dev" or "in-cluster".
  std::string source;
};

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// The process environment (std::getenv).
EnvLookup process_env();

// Loads `path`; `context` empty means the file's current-context.
Result<KubeConfig> load_kubeconfig(const std::filesystem::path& path, std::string_view context = "");

inline constexpr std::string_view kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT plus `root`/{token,ca.crt,namespace}.
Result<KubeConfig> load_in_cluster_config(const EnvLookup& getenv,
                                          const std::filesystem::path& root = kServiceAccountDir);

// The --kubeconfig flag if given, else the first existing file of $KUBECONFIG (a colon-separated
// list; files are not merged), else the in-cluster config.
Result<KubeConfig> resolve_config(std::string_view flag_path, const EnvLookup& getenv,
                                  std::string_view context = "");

// Strict RFC 4648 base64 (whitespace ignored); nullopt on bad characters or padding.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace berth::kube
