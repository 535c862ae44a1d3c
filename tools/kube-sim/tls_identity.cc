#include "kube-sim/tls_identity.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <tuple>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ascii.h"
#include "common/log.h"
#include "common/atomic_file.h"

namespace berth::kubesim {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

constexpr long kValiditySeconds = 10L * 365 * 24 * 3600;

bool is_ip_address(const std::string& text) {
  in6_addr bytes{};
  return inet_pton(AF_INET, text.c_str(), &bytes) == 1 || inet_pton(AF_INET6, text.c_str(), &bytes) == 1;
}

// The subjectAltName extension value: the loopback names, then the extra ones (each already
// passed check_tls_san(), so none can add a field of its own with a ',').
std::string subject_alt_names(const std::vector<std::string>& extra_sans) {
  std::string names = "IP:127.0.0.1,IP:::1,DNS:localhost";
  for (const std::string& san : extra_sans) names += (is_ip_address(san) ? ",IP:" : ",DNS:") + san;
  return names;
}

std::unexpected<Error> openssl_error(std::string_view what) {
  std::string message(what);
  unsigned long code = ERR_get_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    message += ": ";
    message += buf;
  }
  ERR_clear_error();
  return make_error(ErrorCode::kInternal, std::move(message));
}

Result<void> add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return openssl_error(std::string("extension ") + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return openssl_error("X509_add_ext");
  return {};
}

// A certificate for `key`, issued by `issuer` (nullptr: self-signed) and signed by `issuer_key`.
// `subject_alt_names` applies to a server certificate only.
Result<X509Ptr> make_certificate(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
                                 bool is_ca, const std::string& subject_alt_names = "") {
  X509Ptr cert(X509_new());
  if (!cert) return openssl_error("X509_new");
  X509_set_version(cert.get(), 2);  // v3, required for extensions

  // Positive 127-bit random serial: Go rejects negative serial numbers.
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
    return openssl_error("BN_rand");
  }
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return openssl_error("BN_to_ASN1_INTEGER");
  }
  // Back-dated an hour so that small clock differences never make it "not yet valid".
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds);
  if (X509_set_pubkey(cert.get(), key) != 1) return openssl_error("X509_set_pubkey");

  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("kube-sim"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1,
                             -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1) {
    return openssl_error("X509_set_issuer_name");
  }

  std::vector<std::pair<int, const char*>> extensions;
  if (is_ca) {
    extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                  {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
                  {NID_subject_key_identifier, "hash"}};
  } else {
    extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                  {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                  {NID_ext_key_usage, "serverAuth"},
                  {NID_subject_key_identifier, "hash"},
                  {NID_authority_key_identifier, "keyid:always"},
                  {NID_subject_alt_name, subject_alt_names.c_str()}};
  }
  for (const auto& [nid, value] : extensions) {
    if (auto ok = add_extension(cert.get(), signer, nid, value); !ok) return std::unexpected(ok.error());
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return openssl_error("X509_sign");
  return cert;
}

Result<PkeyPtr> make_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return openssl_error("EVP_EC_gen");
  return key;
}

Result<std::string> cert_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return openssl_error("PEM_write_bio_X509");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<std::string> key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_error("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<X509Ptr> cert_from_pem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument, "not a PEM certificate");
  }
  return cert;
}

Result<PkeyPtr> key_from_pem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument, "not a PEM private key");
  }
  return key;
}

bool expires_within_a_day(X509* cert) {
  // X509_cmp_time returns -1 when the certificate's notAfter is before the given time.
  time_t tomorrow = time(nullptr) + 24 * 3600;
  return X509_cmp_time(X509_get0_notAfter(cert), &tomorrow) < 0;
}

}  // namespace

Result<void> check_tls_san(std::string_view san) {
  if (is_ip_address(std::string(san))) return {};
  auto dns_char = [](char c) {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.';
  };
  if (san.empty() || san.size() > 253 || !std::ranges::all_of(san, dns_char) || san.front() == '.' ||
      san.front() == '-') {
    return make_error(ErrorCode::kInvalidArgument,
                      "\"" + std::string(san) + "\" is neither an IP address nor a DNS name");
  }
  return {};
}

Result<TlsIdentity> generate_tls_identity(const std::vector<std::string>& extra_sans) {
  for (const std::string& san : extra_sans) {
    if (auto ok = check_tls_san(san); !ok) return std::unexpected(ok.error());
  }
  auto ca_key = make_key();
  if (!ca_key) return std::unexpected(ca_key.error());
  auto ca_cert = make_certificate(ca_key->get(), "kube-sim-ca", nullptr, ca_key->get(), true);
  if (!ca_cert) return std::unexpected(ca_cert.error());
  auto server_key = make_key();
  if (!server_key) return std::unexpected(server_key.error());
  auto server_cert = make_certificate(server_key->get(), "kube-sim", ca_cert->get(), ca_key->get(), false,
                                      subject_alt_names(extra_sans));
  if (!server_cert) return std::unexpected(server_cert.error());

  TlsIdentity identity;
  auto set = [](std::string& out, Result<std::string> pem) -> Result<void> {
    if (!pem) return std::unexpected(pem.error());
    out = std::move(*pem);
    return {};
  };
  if (auto r = set(identity.ca_cert_pem, cert_to_pem(ca_cert->get())); !r) return std::unexpected(r.error());
  if (auto r = set(identity.ca_key_pem, key_to_pem(ca_key->get())); !r) return std::unexpected(r.error());
  if (auto r = set(identity.server_cert_pem, cert_to_pem(server_cert->get())); !r) return std::unexpected(r.error());
  if (auto r = set(identity.server_key_pem, key_to_pem(server_key->get())); !r) return std::unexpected(r.error());
  return identity;
}

Result<void> check_tls_identity(const TlsIdentity& identity, const std::vector<std::string>& extra_sans) {
  auto ca_cert = cert_from_pem(identity.ca_cert_pem);
  auto ca_key = key_from_pem(identity.ca_key_pem);
  auto server_cert = cert_from_pem(identity.server_cert_pem);
  auto server_key = key_from_pem(identity.server_key_pem);
  if (!ca_cert || !ca_key || !server_cert || !server_key) {
    return make_error(ErrorCode::kInvalidArgument, "unreadable certificate or key");
  }
  if (X509_check_private_key(ca_cert->get(), ca_key->get()) != 1 ||
      X509_check_private_key(server_cert->get(), server_key->get()) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument, "a key does not match its certificate");
  }
  EVP_PKEY* ca_public = X509_get0_pubkey(ca_cert->get());
  if (ca_public == nullptr || X509_verify(server_cert->get(), ca_public) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument, "the server certificate is not signed by the CA");
  }
  if (expires_within_a_day(ca_cert->get()) || expires_within_a_day(server_cert->get())) {
    return make_error(ErrorCode::kInvalidArgument, "a certificate expires within a day");
  }
  for (const std::string& san : extra_sans) {
    const bool covered = is_ip_address(san)
                             ? X509_check_ip_asc(server_cert->get(), san.c_str(), 0) == 1
                             : X509_check_host(server_cert->get(), san.data(), san.size(), 0, nullptr) == 1;
    if (!covered) return make_error(ErrorCode::kInvalidArgument, "the server certificate does not cover " + san);
  }
  return {};
}

TlsFiles tls_files(const std::filesystem::path& dir) {
  return {dir / "ca.crt", dir / "ca.key", dir / "server.crt", dir / "server.key"};
}

Result<TlsIdentity> load_or_create_tls_identity(const std::filesystem::path& dir,
                                                const std::vector<std::string>& extra_sans) {
  auto log = logger("kube-sim");
  TlsFiles files = tls_files(dir);
  std::error_code ec;
  if (std::filesystem::exists(files.ca_cert, ec) && std::filesystem::exists(files.ca_key, ec) &&
      std::filesystem::exists(files.server_cert, ec) && std::filesystem::exists(files.server_key, ec)) {
    TlsIdentity identity;
    auto ca_cert = read_whole_file(files.ca_cert);
    auto ca_key = read_whole_file(files.ca_key);
    auto server_cert = read_whole_file(files.server_cert);
    auto server_key = read_whole_file(files.server_key);
    if (ca_cert && ca_key && server_cert && server_key) {
      identity = {*ca_cert, *ca_key, *server_cert, *server_key};
      auto ok = check_tls_identity(identity, extra_sans);
      if (ok) {
        log->info("reusing TLS identity dir={}", dir.string());
        return identity;
      }
      log->warn("regenerating TLS identity dir={} reason=\"{}\"", dir.string(), ok.error().message);
    }
  }

  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
  auto identity = generate_tls_identity(extra_sans);
  if (!identity) return identity;
  // Keys first: a crash in between leaves an incomplete set, which the next start regenerates.
  for (auto [path, content, mode] :
       {std::tuple{files.ca_key, &identity->ca_key_pem, 0600}, std::tuple{files.server_key, &identity->server_key_pem, 0600},
        std::tuple{files.ca_cert, &identity->ca_cert_pem, 0644},
        std::tuple{files.server_cert, &identity->server_cert_pem, 0644}}) {
    if (auto ok = write_file_atomically(path, *content, static_cast<mode_t>(mode)); !ok) return std::unexpected(ok.error());
  }
  log->info("generated TLS identity dir={}", dir.string());
  return identity;
}

}  // namespace berth::kubesim
