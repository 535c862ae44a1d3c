#include "kube/kube_config.h"

#include <map>

#include <fmt/format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace berth::kube {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using berth::testing::TempDir;

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// base64 of "CA-PEM", "CERT-PEM", "KEY-PEM".
constexpr const char* kCaB64 = "Q0EtUEVN";
constexpr const char* kCertB64 = "Q0VSVC1QRU0=";
constexpr const char* kKeyB64 = "S0VZLVBFTQ==";

std::string two_contexts() {
  return fmt::format(R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: {}
- name: prod-cluster
  cluster:
    server: https://prod.example:443
    insecure-skip-tls-verify: true
users:
- name: dev-user
  user:
    token: s3cr3t-token
- name: prod-user
  user:
    client-certificate-data: {}
    client-key-data: {}
contexts:
- name: dev
  context: {{cluster: dev-cluster, user: dev-user, namespace: team-a}}
- name: prod
  context: {{cluster: prod-cluster, user: prod-user}}
)",
                     kCaB64, kCertB64, kKeyB64);
}

TEST(KubeConfigTest, CurrentContextWithInlineTokenAndCaData) {
  TempDir dir;
  auto path = dir.write("config", two_contexts());
  auto config = load_kubeconfig(path);
  ASSERT_TRUE(config) << config.error().describe();
  EXPECT_EQ(config->server, "https://10.0.0.1:6443");
  EXPECT_EQ(config->ca_pem, "CA-PEM");
  EXPECT_EQ(config->token, "s3cr3t-token");
  EXPECT_EQ(config->default_namespace, "team-a");
  EXPECT_FALSE(config->insecure_skip_tls_verify);
  EXPECT_THAT(config->source, HasSubstr("context dev"));
}

TEST(KubeConfigTest, NamedContextWithClientCertDataAndInsecure) {
  TempDir dir;
  auto path = dir.write("config", two_contexts());
  auto config = load_kubeconfig(path, "prod");
  ASSERT_TRUE(config) << config.error().describe();
  EXPECT_EQ(config->server, "https://prod.example:443");
  EXPECT_TRUE(config->insecure_skip_tls_verify);
  EXPECT_EQ(config->client_cert_pem, "CERT-PEM");
  EXPECT_EQ(config->client_key_pem, "KEY-PEM");
  EXPECT_TRUE(config->token.empty());
  EXPECT_EQ(config->default_namespace, "default");
}

TEST(KubeConfigTest, RelativeFilesResolveAgainstTheKubeconfigFolder) {
  TempDir dir;
  dir.write("kube/certs/ca.crt", "ca");
  dir.write("kube/certs/client.crt", "cert");
  dir.write("kube/certs/client.key", "key");
  dir.write("kube/token", "tok");
  auto path = dir.write("kube/config", R"(
current-context: c
clusters:
- name: k
  cluster: {server: "https://127.0.0.1:1", certificate-authority: certs/ca.crt}
users:
- name: u
  user: {token: ignored, tokenFile: ./token, client-certificate: certs/client.crt, client-key: certs/../certs/client.key}
contexts:
- name: c
  context: {cluster: k, user: u}
)");
  auto config = load_kubeconfig(path);
  ASSERT_TRUE(config) << config.error().describe();
  EXPECT_EQ(config->ca_file, (dir.path() / "kube/certs/ca.crt").string());
  EXPECT_EQ(config->client_cert_file, (dir.path() / "kube/certs/client.crt").string());
  EXPECT_EQ(config->client_key_file, (dir.path() / "kube/certs/client.key").string());
  EXPECT_EQ(config->token_file, (dir.path() / "kube/token").string());
}

TEST(KubeConfigTest, NoUserIsAnonymous) {
  TempDir dir;
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "http://127.0.0.1:8080"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  auto config = load_kubeconfig(path);
  ASSERT_TRUE(config) << config.error().describe();
  EXPECT_TRUE(config->token.empty());
  EXPECT_TRUE(config->token_file.empty());
  EXPECT_TRUE(config->client_cert_pem.empty());
}

struct BadCase {
  const char* name;
  std::string yaml;  // empty: the file does not exist
  std::string context;
  ErrorCode code;
  std::string problem;
};

class KubeConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(KubeConfigErrorTest, OneLineNamingFileAndProblem) {
  const BadCase& c = GetParam();
  TempDir dir;
  auto path = c.yaml.empty() ? dir.path() / "missing" : dir.write("config", c.yaml);
  auto config = load_kubeconfig(path, c.context);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, c.code) << config.error().describe();
  EXPECT_THAT(config.error().message, HasSubstr(path.string()));
  EXPECT_THAT(config.error().message, HasSubstr(c.problem));
  EXPECT_THAT(config.error().message, Not(HasSubstr("\n")));
  EXPECT_THAT(config.error().message, Not(HasSubstr("s3cr3t")));
}

const std::string kUsers = "users: [{name: u, user: {token: s3cr3t}}]\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, KubeConfigErrorTest,
    ::testing::Values(
        BadCase{"missing_file", "", "", ErrorCode::kIo, "does not exist"},
        BadCase{"malformed_yaml", "clusters: [\n  - {name: k\n", "", ErrorCode::kParse, "malformed YAML"},
        BadCase{"not_a_map", "- a\n- b\n", "", ErrorCode::kParse, "not a YAML map"},
        BadCase{"unknown_context",
                "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n", "x",
                ErrorCode::kInvalidArgument, "unknown context \"x\""},
        BadCase{"no_current_context", "contexts: []\n", "", ErrorCode::kInvalidArgument, "no current-context"},
        BadCase{"unknown_cluster",
                "current-context: c\ncontexts: [{name: c, context: {cluster: nope, user: u}}]\n" + kUsers, "",
                ErrorCode::kInvalidArgument, "context \"c\" names unknown cluster \"nope\""},
        BadCase{"unknown_user",
                "current-context: c\nclusters: [{name: k, cluster: {server: 'https://a'}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: who}}]\n",
                "", ErrorCode::kInvalidArgument, "unknown user \"who\""},
        BadCase{"no_server",
                "current-context: c\nclusters: [{name: k, cluster: {}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n" + kUsers,
                "", ErrorCode::kInvalidArgument, "cluster \"k\" has no server"},
        BadCase{"bad_base64",
                "current-context: c\nclusters: [{name: k, cluster: {server: 'https://a', "
                "certificate-authority-data: 'not*base64'}}]\ncontexts: [{name: c, context: {cluster: k}}]\n",
                "", ErrorCode::kParse, "certificate-authority-data is not valid base64"},
        BadCase{"missing_ca_file",
                "current-context: c\nclusters: [{name: k, cluster: {server: 'https://a', "
                "certificate-authority: nope.crt}}]\ncontexts: [{name: c, context: {cluster: k}}]\n",
                "", ErrorCode::kIo, "certificate-authority file"},
        BadCase{"cert_without_key",
                "current-context: c\nclusters: [{name: k, cluster: {server: 'https://a'}}]\n"
                "users: [{name: u, user: {client-certificate-data: Q0E=}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
                "", ErrorCode::kInvalidArgument, "without a key"},
        BadCase{"server_is_a_list",
                "current-context: c\nclusters: [{name: k, cluster: {server: [a, b]}}]\n"
                "contexts: [{name: c, context: {cluster: k}}]\n",
                "", ErrorCode::kInvalidArgument, "unexpected value"},
        BadCase{"exec_user",
                "current-context: c\nclusters: [{name: k, cluster: {server: 'https://a'}}]\n"
                "users: [{name: u, user: {exec: {command: aws}}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
                "", ErrorCode::kInvalidArgument, "exec/auth-provider"},
        BadCase{"clusters_not_a_list",
                "current-context: c\nclusters: {a: b}\ncontexts: [{name: c, context: {cluster: k}}]\n", "",
                ErrorCode::kInvalidArgument, "clusters is not a list"},
        // Found by test/fuzz/kube_config_fuzzer: yaml-cpp's message quoted the control byte it
        // choked on, and a context name may hold a newline; both are escaped now.
        BadCase{"control_bytes_in_yaml", std::string("current-context: [a, b]\x12\0\nclusters: {}\n", 39), "",
                ErrorCode::kParse, "malformed YAML"},
        BadCase{"newline_in_context_name", "current-context: \"x\\ny\"\ncontexts: []\n", "",
                ErrorCode::kInvalidArgument, "unknown context \"x\\ny\""}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(InClusterConfigTest, ReadsServiceAccountMount) {
  TempDir dir;
  dir.write("token", "tok\n");
  dir.write("ca.crt", "ca");
  dir.write("namespace", "berth-system\n");
  auto config = load_in_cluster_config(
      env_of({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}), dir.path());
  ASSERT_TRUE(config) << config.error().describe();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->token_file, (dir.path() / "token").string());
  EXPECT_EQ(config->ca_file, (dir.path() / "ca.crt").string());
  EXPECT_EQ(config->default_namespace, "berth-system");
  EXPECT_EQ(config->source, "in-cluster");
}

TEST(InClusterConfigTest, Ipv6HostIsBracketed) {
  TempDir dir;
  dir.write("token", "tok");
  dir.write("ca.crt", "ca");
  auto config = load_in_cluster_config(
      env_of({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "6443"}}), dir.path());
  ASSERT_TRUE(config) << config.error().describe();
  EXPECT_EQ(config->server, "https://[fd00::1]:6443");
  EXPECT_EQ(config->default_namespace, "default");
}

TEST(InClusterConfigTest, Errors) {
  TempDir dir;
  auto no_env = load_in_cluster_config(env_of({}), dir.path());
  ASSERT_FALSE(no_env);
  EXPECT_THAT(no_env.error().message, HasSubstr("KUBERNETES_SERVICE_HOST"));
  auto env = env_of({{"KUBERNETES_SERVICE_HOST", "h"}, {"KUBERNETES_SERVICE_PORT", "1"}});
  auto no_token = load_in_cluster_config(env, dir.path());
  ASSERT_FALSE(no_token);
  EXPECT_THAT(no_token.error().message, HasSubstr("token file"));
  dir.write("token", "t");
  auto no_ca = load_in_cluster_config(env, dir.path());
  ASSERT_FALSE(no_ca);
  EXPECT_THAT(no_ca.error().message, HasSubstr("ca.crt"));
}

TEST(ResolveConfigTest, FlagThenKubeconfigListThenInCluster) {
  TempDir dir;
  auto a = dir.write("a", two_contexts());
  auto from_flag = resolve_config(a.string(), env_of({{"KUBECONFIG", "/nonexistent"}}));
  ASSERT_TRUE(from_flag) << from_flag.error().describe();
  EXPECT_EQ(from_flag->server, "https://10.0.0.1:6443");

  auto from_list = resolve_config("", env_of({{"KUBECONFIG", (dir.path() / "missing").string() + ":" + a.string()}}),
                                  "prod");
  ASSERT_TRUE(from_list) << from_list.error().describe();
  EXPECT_EQ(from_list->server, "https://prod.example:443");

  auto none_exist = resolve_config("", env_of({{"KUBECONFIG", "/nonexistent/a:/nonexistent/b"}}));
  ASSERT_FALSE(none_exist);
  EXPECT_THAT(none_exist.error().message, HasSubstr("none of the files exists"));

  auto in_cluster = resolve_config("", env_of({}));
  ASSERT_FALSE(in_cluster);
  EXPECT_THAT(in_cluster.error().message, HasSubstr("in-cluster"));
}

TEST(Base64Test, DecodesStrictly) {
  EXPECT_EQ(decode_base64("aGVsbG8="), "hello");
  EXPECT_EQ(decode_base64("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(decode_base64("aGk="), "hi");
  EXPECT_EQ(decode_base64("aA=="), "h");
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_FALSE(decode_base64("aGk"));
  EXPECT_FALSE(decode_base64("a==="));
  EXPECT_FALSE(decode_base64("aG=k"));
  EXPECT_FALSE(decode_base64("aGk*"));
}

}  // namespace
}  // namespace berth::kube
