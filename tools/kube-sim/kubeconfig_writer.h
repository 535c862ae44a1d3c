// The kubeconfig kube-sim writes for its clients (kubectl, berth, tests): one cluster with the
// server URL and the CA inline (certificate-authority-data), one user with a bearer token, one
// context "kube-sim" (namespace default) that is current.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth::kubesim {

struct KubeconfigContent {
  std::string server_url;  // https://127.0.0.1:<port>
  std::string ca_pem;
  std::string token;
};

// The YAML text. Every scalar is double-quoted, so no value can change the structure.
std::string render_kubeconfig(const KubeconfigContent& content);

// Writes render_kubeconfig() atomically with mode 0600 (it holds a credential). Errors: kIo.
Result<void> write_kubeconfig(const std::filesystem::path& path, const KubeconfigContent& content);

// Standard base64 with padding, as certificate-authority-data expects.
std::string base64_encode(std::string_view data);

}  // namespace berth::kubesim
