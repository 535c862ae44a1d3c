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

}  // namespace
}  // namespace berth::kubesim
