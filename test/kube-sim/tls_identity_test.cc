#include "kube-sim/tls_identity.h"
#include "support/temp_dir.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace berth::kubesim {
namespace {

using berth::testing::TempDir;

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

X509Ptr parse_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return X509Ptr(cert);
}

// Verifies `server` as a TLS client would: chain to `ca`, then the host or IP.
bool verifies(X509* ca, X509* server) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, server, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

// Whether a client that connects to `name` (an IP address or a host name) accepts `server`'s
// SANs.
bool covers(X509* server, const char* name) {
  const int as_ip = X509_check_ip_asc(server, name, 0);
  if (as_ip != -2) return as_ip == 1;  // -2: not an IP address
  return X509_check_host(server, name, 0, 0, nullptr) == 1;
}

TEST(TlsIdentity, ServerCertificateVerifiesAgainstTheCaWithLoopbackSans) {
  auto identity = generate_tls_identity();
  ASSERT_TRUE(identity) << identity.error().describe();
  ASSERT_TRUE(check_tls_identity(*identity));

  auto ca = parse_cert(identity->ca_cert_pem);
  auto server = parse_cert(identity->server_cert_pem);
  ASSERT_TRUE(ca && server);
  EXPECT_TRUE(verifies(ca.get(), server.get()));
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_ip_asc(server.get(), "10.0.0.1", 0), 1);
  EXPECT_NE(X509_check_host(server.get(), "example.com", 0, 0, nullptr), 1);
  // The CA is a CA; the server certificate is not.
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_check_ca(server.get()), 0);
}

TEST(TlsIdentity, ACertificateFromAnotherCaDoesNotVerify) {
  auto a = generate_tls_identity();
  auto b = generate_tls_identity();
  ASSERT_TRUE(a && b);
  auto ca_a = parse_cert(a->ca_cert_pem);
  auto server_b = parse_cert(b->server_cert_pem);
  EXPECT_FALSE(verifies(ca_a.get(), server_b.get()));

  TlsIdentity mixed = *a;
  mixed.server_cert_pem = b->server_cert_pem;
  mixed.server_key_pem = b->server_key_pem;
  EXPECT_FALSE(check_tls_identity(mixed));
  TlsIdentity wrong_key = *a;
  wrong_key.server_key_pem = b->server_key_pem;
  EXPECT_FALSE(check_tls_identity(wrong_key));
}

TEST(TlsIdentity, FilesAreReusedAcrossRestarts) {
  TempDir dir;
  auto first = load_or_create_tls_identity(dir.path() / "pki");
  ASSERT_TRUE(first) << first.error().describe();
  auto second = load_or_create_tls_identity(dir.path() / "pki");
  ASSERT_TRUE(second) << second.error().describe();
  EXPECT_EQ(first->ca_cert_pem, second->ca_cert_pem);
  EXPECT_EQ(first->server_key_pem, second->server_key_pem);

  struct stat st{};
  ASSERT_EQ(::stat(tls_files(dir.path() / "pki").ca_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(TlsIdentity, BrokenFilesAreRegenerated) {
  TempDir dir;
  auto first = load_or_create_tls_identity(dir.path());
  ASSERT_TRUE(first);
  std::ofstream(tls_files(dir.path()).server_cert) << "garbage";
  auto second = load_or_create_tls_identity(dir.path());
  ASSERT_TRUE(second) << second.error().describe();
  EXPECT_NE(first->ca_cert_pem, second->ca_cert_pem);
  EXPECT_TRUE(check_tls_identity(*second));
}

TEST(TlsIdentity, ExtraSansAreAddedBesideTheLoopbackOnes) {
  auto identity = generate_tls_identity({"198.18.0.1", "fd00::7", "sim.test"});
  ASSERT_TRUE(identity) << identity.error().describe();
  auto ca = parse_cert(identity->ca_cert_pem);
  auto server = parse_cert(identity->server_cert_pem);
  ASSERT_TRUE(ca && server);
  EXPECT_TRUE(verifies(ca.get(), server.get()));
  for (const char* name : {"198.18.0.1", "fd00::7", "sim.test", "127.0.0.1", "::1", "localhost"}) {
    EXPECT_TRUE(covers(server.get(), name)) << name;
  }
  EXPECT_FALSE(covers(server.get(), "198.18.0.2"));
  EXPECT_FALSE(covers(server.get(), "other.test"));
  EXPECT_TRUE(check_tls_identity(*identity, {"198.18.0.1", "sim.test"}));
  EXPECT_FALSE(check_tls_identity(*identity, {"198.18.0.2"}));
}

TEST(TlsIdentity, ASanThatCouldAddAFieldOrIsNoNameIsRefused) {
  for (const char* bad : {"", "a,IP:10.0.0.1", "a b", "-x", ".x", "IP:10.0.0.1", "x/y", "1.2.3.4.5:1"}) {
    EXPECT_FALSE(check_tls_san(bad)) << bad;
    auto identity = generate_tls_identity({bad});
    ASSERT_FALSE(identity) << bad;
    EXPECT_EQ(identity.error().code, ErrorCode::kInvalidArgument);
  }
  for (const char* good : {"10.0.0.1", "::1", "fd00::1", "kube-sim.example", "node-1"}) {
    EXPECT_TRUE(check_tls_san(good)) << good;
  }
}

TEST(TlsIdentity, FilesAreReusedWhileTheyCoverTheSansAndReissuedWhenASanIsNew) {
  TempDir dir;
  auto plain = load_or_create_tls_identity(dir.path(), {});
  ASSERT_TRUE(plain);
  auto with_san = load_or_create_tls_identity(dir.path(), {"198.18.0.1"});
  ASSERT_TRUE(with_san) << with_san.error().describe();
  EXPECT_NE(plain->server_cert_pem, with_san->server_cert_pem);
  auto server = parse_cert(with_san->server_cert_pem);
  ASSERT_TRUE(server);
  EXPECT_TRUE(covers(server.get(), "198.18.0.1"));
  // The same SANs again (a restart): the files are kept, so clients keep trusting the CA.
  auto again = load_or_create_tls_identity(dir.path(), {"198.18.0.1"});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ca_cert_pem, with_san->ca_cert_pem);
  EXPECT_EQ(again->server_cert_pem, with_san->server_cert_pem);
}

}  // namespace
}  // namespace berth::kubesim
