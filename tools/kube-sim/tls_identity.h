// kube-sim's TLS identity: a private CA and a server certificate signed by it.
//
// The server certificate carries the SANs 127.0.0.1, ::1 and localhost (Go clients such as
// kubectl ignore the CN), so a client that trusts the CA (the kubeconfig's
// certificate-authority-data) verifies the server with full hostname checking.
//
// load_or_create_tls_identity() keeps the files in a directory and reuses them on restart, so
// clients that already trust the CA keep working across a kube-sim restart.
//
// Keys are ECDSA P-256, made with the OpenSSL 3 EVP API; certificates are signed with SHA-256.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <filesystem>
#include <string>

#include "common/error.h"

namespace berth::kubesim {

struct TlsIdentity {
  std::string ca_cert_pem;
  std::string ca_key_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
};

// A fresh CA (10 years) and a server certificate (10 years) signed by it.
// Errors: kInternal when OpenSSL fails.
Result<TlsIdentity> generate_tls_identity();

// Whether `identity` is usable: the server certificate verifies against the CA, each key matches
// its certificate, and neither certificate expires within a day. kInvalidArgument says why not.
Result<void> check_tls_identity(const TlsIdentity& identity);

// The file names inside the data directory.
struct TlsFiles {
  std::filesystem::path ca_cert;      // ca.crt
  std::filesystem::path ca_key;       // ca.key (0600)
  std::filesystem::path server_cert;  // server.crt
  std::filesystem::path server_key;   // server.key (0600)
};
TlsFiles tls_files(const std::filesystem::path& dir);

// Reads the identity from `dir` when all four files exist and pass check_tls_identity();
// otherwise generates a new one and writes it there (creating `dir`). Errors: kIo, kInternal.
Result<TlsIdentity> load_or_create_tls_identity(const std::filesystem::path& dir);

}  // namespace berth::kubesim
