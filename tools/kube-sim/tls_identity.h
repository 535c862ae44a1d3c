// kube-sim's TLS identity: a private CA and a server certificate signed by it.
//
// The server certificate carries the SANs 127.0.0.1, ::1 and localhost (Go clients such as
// kubectl ignore the CN), plus any extra ones asked for (`--tls-san`: a kube-sim listening on
// an address other than loopback, such as one inside a test's network namespace), so a client
// that trusts the CA (the kubeconfig's certificate-authority-data) verifies the server with
// full hostname checking.
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
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::kubesim {

struct TlsIdentity {
  std::string ca_cert_pem;
  std::string ca_key_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
};

// Whether `san` can be an extra subject alternative name: an IPv4 or IPv6 address, or a DNS
// name of letters, digits, '-' and '.'. kInvalidArgument says why not.
Result<void> check_tls_san(std::string_view san);

// A fresh CA (10 years) and a server certificate (10 years) signed by it, whose SANs are the
// loopback ones plus `extra_sans`. Errors: kInvalidArgument for a SAN check_tls_san() refuses,
// kInternal when OpenSSL fails.
Result<TlsIdentity> generate_tls_identity(const std::vector<std::string>& extra_sans = {});

// Whether `identity` is usable: the server certificate verifies against the CA, each key matches
// its certificate, neither certificate expires within a day, and the server certificate covers
// every name in `extra_sans`. kInvalidArgument says why not.
Result<void> check_tls_identity(const TlsIdentity& identity, const std::vector<std::string>& extra_sans = {});

// The file names inside the data directory.
struct TlsFiles {
  std::filesystem::path ca_cert;      // ca.crt
  std::filesystem::path ca_key;       // ca.key (0600)
  std::filesystem::path server_cert;  // server.crt
  std::filesystem::path server_key;   // server.key (0600)
};
TlsFiles tls_files(const std::filesystem::path& dir);

// Reads the identity from `dir` when all four files exist and pass check_tls_identity() with
// `extra_sans`; otherwise generates a new one and writes it there (creating `dir`). A restart
// with the same SANs keeps the CA, so clients keep trusting it; asking for a SAN the stored
// certificate lacks makes a new CA as well. Errors: kIo, kInternal, kInvalidArgument (a SAN).
Result<TlsIdentity> load_or_create_tls_identity(const std::filesystem::path& dir,
                                                const std::vector<std::string>& extra_sans = {});

}  // namespace berth::kubesim
