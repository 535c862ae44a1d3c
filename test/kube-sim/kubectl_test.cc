// The real kubectl (/usr/bin/kubectl) against kube-sim: the commands documented in
// docs/kube-sim.md as working. Skipped when kubectl is not installed.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/kube_sim_process.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kKubectl = "/usr/bin/kubectl";

constexpr std::string_view kServiceManifest = R"(apiVersion: v1
kind: Service
metadata:
  name: mysqlcluster
  namespace: default
  annotations:
    ingress: haproxy-ingress
spec:
  ports:
  - {name: mysql, port: 3306, protocol: TCP, targetPort: 3306}
  selector: {app: mysqlcluster}
)";

class KubectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kKubectl)) GTEST_SKIP() << "kubectl is not installed";
    auto started = sim_.start();
    ASSERT_TRUE(started) << started.error().describe();
  }

  std::vector<std::string> argv(std::vector<std::string> args) {
    // A private discovery cache, so tests never share or pollute ~/.kube/cache.
    std::vector<std::string> out = {kKubectl, "--kubeconfig", sim_.kubeconfig_path().string(), "--cache-dir",
                                    (sim_.dir() / "kubectl-cache").string()};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  // Runs kubectl and expects success; returns its stdout.
  std::string kubectl(std::vector<std::string> args, std::string stdin_data = "") {
    auto result = run_command(argv(args), 60s, std::move(stdin_data));
    EXPECT_TRUE(result) << result.error().describe();
    if (!result) return "";
    EXPECT_EQ(result->exit_code, 0) << "kubectl " << args[0] << " failed: " << result->err;
    return result->out;
  }

  CommandResult kubectl_result(std::vector<std::string> args) {
    auto result = run_command(argv(args), 60s);
    EXPECT_TRUE(result);
    return result ? *result : CommandResult{};
  }

  std::filesystem::path write(std::string_view name, std::string_view content) {
    auto path = sim_.dir() / name;
    std::ofstream(path) << content;
    return path;
  }

  json get_json(std::vector<std::string> args) {
    args.push_back("-o");
    args.push_back("json");
    return json::parse(kubectl(args), nullptr, false);
  }

  KubeSimProcess sim_;
};

TEST_F(KubectlTest, VersionAndApiResources) {
  auto version = kubectl({"version"});
  EXPECT_NE(version.find("Server Version: v1.32.0-kube-sim"), std::string::npos) << version;
  auto resources = kubectl({"api-resources"});
  EXPECT_NE(resources.find("services"), std::string::npos);
  EXPECT_NE(resources.find("svc"), std::string::npos);
  EXPECT_NE(resources.find("endpointslices"), std::string::npos);
  EXPECT_NE(resources.find("leases"), std::string::npos);
}

TEST_F(KubectlTest, CreateApplyGetAnnotateLabelDelete) {
  auto manifest = write("svc.yaml", kServiceManifest);
  EXPECT_NE(kubectl({"create", "-f", manifest.string()}).find("service/mysqlcluster created"), std::string::npos);
  auto created = get_json({"get", "svc", "mysqlcluster"});
  ASSERT_TRUE(created.is_object());
  std::string uid = created["metadata"]["uid"];
  std::string cluster_ip = created["spec"]["clusterIP"];
  EXPECT_FALSE(cluster_ip.empty());

  // The first apply adds last-applied-configuration, the second computes a real patch.
  kubectl({"apply", "-f", manifest.string()});
  std::string changed(kServiceManifest);
  changed.replace(changed.find("targetPort: 3306"), 16, "targetPort: 3307");
  changed.replace(changed.find("ingress: haproxy-ingress"), 24, "ingress: haproxy-ingress\n    extra: \"yes\"");
  manifest = write("svc.yaml", changed);
  EXPECT_NE(kubectl({"apply", "-f", manifest.string()}).find("service/mysqlcluster configured"), std::string::npos);
  auto applied = get_json({"get", "svc", "mysqlcluster"});
  EXPECT_EQ(applied["spec"]["ports"][0]["targetPort"], 3307);
  EXPECT_EQ(applied["metadata"]["annotations"]["extra"], "yes");
  EXPECT_EQ(applied["metadata"]["uid"], uid);
  EXPECT_EQ(applied["spec"]["clusterIP"], cluster_ip);
  EXPECT_TRUE(applied["metadata"]["annotations"].contains("kubectl.kubernetes.io/last-applied-configuration"));

  // Server-side tables: the same columns as against kube-apiserver.
  auto all = kubectl({"get", "svc", "-A"});
  EXPECT_NE(all.find("NAMESPACE"), std::string::npos) << all;
  EXPECT_NE(all.find("CLUSTER-IP"), std::string::npos) << all;
  EXPECT_NE(all.find("mysqlcluster"), std::string::npos) << all;
  EXPECT_NE(all.find(cluster_ip), std::string::npos) << all;
  EXPECT_NE(all.find("3306/TCP"), std::string::npos) << all;
  auto wide = kubectl({"get", "svc", "-o", "wide"});
  EXPECT_NE(wide.find("app=mysqlcluster"), std::string::npos) << wide;
  auto list = get_json({"get", "svc"});
  EXPECT_EQ(list["items"].size(), 1u);

  kubectl({"annotate", "svc", "mysqlcluster", "haproxy-ingress/3306=26735"});
  kubectl({"label", "svc", "mysqlcluster", "tier=db"});
  auto annotated = get_json({"get", "svc", "mysqlcluster"});
  EXPECT_EQ(annotated["metadata"]["annotations"]["haproxy-ingress/3306"], "26735");
  EXPECT_EQ(annotated["metadata"]["labels"]["tier"], "db");
  auto selected = get_json({"get", "svc", "-l", "tier=db"});
  EXPECT_EQ(selected["items"].size(), 1u);

  kubectl({"delete", "svc", "mysqlcluster"});
  auto gone = kubectl_result({"get", "svc", "mysqlcluster"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("NotFound"), std::string::npos) << gone.err;
}

TEST_F(KubectlTest, CreateFromStdinAndServerDryRun) {
  kubectl({"create", "-f", "-", "--dry-run=server"}, std::string(kServiceManifest));
  EXPECT_NE(kubectl_result({"get", "svc", "mysqlcluster"}).exit_code, 0);
  kubectl({"apply", "-f", "-"}, std::string(kServiceManifest));
  EXPECT_EQ(kubectl_result({"get", "svc", "mysqlcluster"}).exit_code, 0);
  auto again = kubectl_result({"create", "-f", write("svc.yaml", kServiceManifest).string()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("AlreadyExists"), std::string::npos) << again.err;
}

TEST_F(KubectlTest, WatchSeesChangesMadeByAnotherClient) {
  auto watch = ChildProcess::spawn(argv({"get", "svc", "-w", "--output-watch-events"}));
  ASSERT_TRUE(watch) << watch.error().describe();
  // The header line comes only with the first event, so create first, then read.
  auto manifest = write("svc.yaml", kServiceManifest);
  kubectl({"create", "-f", manifest.string()});
  std::vector<std::string> lines;
  auto read_event = [&](std::string_view type) {
    for (int i = 0; i < 5; ++i) {
      auto line = (*watch)->read_line(30s);
      if (!line) return false;
      lines.push_back(*line);
      if (line->starts_with(type) && line->find("mysqlcluster") != std::string::npos) return true;
    }
    return false;
  };
  ASSERT_TRUE(read_event("ADDED"));
  EXPECT_NE(lines.front().find("CLUSTER-IP"), std::string::npos) << lines.front();
  kubectl({"annotate", "svc", "mysqlcluster", "a=b"});
  ASSERT_TRUE(read_event("MODIFIED"));
  kubectl({"delete", "svc", "mysqlcluster"});
  ASSERT_TRUE(read_event("DELETED"));
  (*watch)->stop(5s);
}

TEST_F(KubectlTest, EndpointSlicesAndLeases) {
  constexpr std::string_view kSlice = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: mysqlcluster-abc
  namespace: default
  labels: {kubernetes.io/service-name: mysqlcluster}
addressType: IPv4
endpoints:
- addresses: ["10.244.0.7"]
  conditions: {ready: true}
ports:
- {name: mysql, port: 3306, protocol: TCP}
)";
  constexpr std::string_view kLease = R"(apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: berth-leader
  namespace: kube-system
spec:
  holderIdentity: replica-a
  leaseDurationSeconds: 15
)";
  kubectl({"create", "-f", write("slice.yaml", kSlice).string()});
  kubectl({"apply", "-f", write("lease.yaml", kLease).string()});
  auto slice = get_json({"get", "endpointslices", "mysqlcluster-abc"});
  EXPECT_EQ(slice["endpoints"][0]["addresses"][0], "10.244.0.7");
  auto slices = get_json({"get", "endpointslices", "-l", "kubernetes.io/service-name=mysqlcluster"});
  EXPECT_EQ(slices["items"].size(), 1u);
  auto lease = get_json({"get", "lease", "-n", "kube-system", "berth-leader"});
  EXPECT_EQ(lease["spec"]["holderIdentity"], "replica-a");
  auto table = kubectl({"get", "leases", "-A"});
  EXPECT_NE(table.find("berth-leader"), std::string::npos);
  kubectl({"delete", "lease", "-n", "kube-system", "berth-leader"});
}

TEST_F(KubectlTest, NamespacesAndRotatedToken) {
  kubectl({"create", "namespace", "tenant-a"});
  auto namespaces = kubectl({"get", "ns"});
  EXPECT_NE(namespaces.find("tenant-a"), std::string::npos);
  EXPECT_NE(namespaces.find("kube-system"), std::string::npos);
  kubectl({"delete", "namespace", "tenant-a"});

  auto wrong = kubectl_result({"get", "svc", "--token", "not-a-token"});
  EXPECT_NE(wrong.exit_code, 0);
  ASSERT_TRUE(sim_.admin("POST", "/admin/tokens", R"({"token":"second-token"})"));
  kubectl({"get", "svc", "--token", "second-token"});
}

}  // namespace
}  // namespace berth::testing
