// deploy/ (docs/deployment.md): what `kubectl kustomize` renders, that the RBAC grants exactly
// what berth calls, that the DaemonSet's flags are berth's, and that `kubectl apply -k`, a
// second apply, the keepalived overlay and `kubectl delete -k` work against kube-sim.
// The kubectl tests are skipped when kubectl is not installed; the keepalived config check when
// keepalived is not.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "common/atomic_file.h"
#include "haproxy/apply_steps.h"
#include "haproxy/master_cli.h"
#include "haproxy/master_socket.h"
#include "support/berth_process.h"
#include "support/echo_server.h"
#include "support/eventually.h"
#include "support/haproxy_guard.h"
#include "support/child_process.h"
#include "support/kube_sim_process.h"
#include "support/temp_dir.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

namespace fs = std::filesystem;

const fs::path kSourceDir = BERTH_SOURCE_DIR;
const fs::path kDeployDir = kSourceDir / "deploy";
constexpr const char* kKubectlBinary = "/usr/bin/kubectl";
constexpr const char* kKeepalivedBinary = "/usr/sbin/keepalived";

// A YAML node as JSON: plain scalars as YAML 1.2's core schema reads them (null, booleans,
// integers), quoted ones as strings, which is how kubectl reads the same text.
json yaml_node_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(yaml_node_to_json(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& entry : node) out[entry.first.as<std::string>()] = yaml_node_to_json(entry.second);
      return out;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string text = node.Scalar();
  if (node.Tag() != "?") return text;  // quoted ("!") or explicitly tagged: a string
  if (text == "null" || text == "~") return nullptr;
  if (text == "true") return true;
  if (text == "false") return false;
  if (!text.empty() && text.find_first_not_of("-0123456789") == std::string::npos && text != "-") {
    return std::stoll(text);
  }
  return text;
}

// `kubectl kustomize <dir>` as one JSON object per rendered document.
std::vector<json> kustomize_build(const fs::path& dir) {
  auto rendered = run_command({kKubectlBinary, "kustomize", dir.string()}, 60s);
  EXPECT_TRUE(rendered) << rendered.error().describe();
  if (!rendered) return {};
  EXPECT_EQ(rendered->exit_code, 0) << rendered->err;
  std::vector<json> objects;
  for (const auto& document : YAML::LoadAll(rendered->out)) objects.push_back(yaml_node_to_json(document));
  return objects;
}

const json& rendered_object(const std::vector<json>& objects, std::string_view kind, std::string_view name) {
  static const json kNone = nullptr;
  for (const auto& o : objects) {
    if (o.value("kind", "") == kind && o["metadata"].value("name", "") == name) return o;
  }
  ADD_FAILURE() << "no " << kind << " " << name << " rendered";
  return kNone;
}

const json& pod_container(const json& daemon_set, std::string_view name) {
  static const json kNone = json::object();
  for (const auto& c : daemon_set["spec"]["template"]["spec"]["containers"]) {
    if (c["name"] == name) return c;
  }
  ADD_FAILURE() << "no container " << name;
  return kNone;
}

std::vector<std::string> pod_container_names(const json& daemon_set) {
  std::vector<std::string> names;
  for (const auto& c : daemon_set["spec"]["template"]["spec"]["containers"]) names.push_back(c["name"]);
  return names;
}

// The value of `--flag=value` among a container's args ("" when absent).
std::string arg_value(const json& container, std::string_view flag) {
  const std::string prefix = std::string(flag) + "=";
  for (const auto& a : container.value("args", json::array())) {
    const std::string text = a.get<std::string>();
    if (text.starts_with(prefix)) return text.substr(prefix.size());
  }
  return "";
}

bool has_arg(const json& container, std::string_view arg) {
  const json args = container.value("args", json::array());
  return std::find(args.begin(), args.end(), json(arg)) != args.end();
}

std::string env_value(const json& container, std::string_view name) {
  for (const auto& e : container.value("env", json::array())) {
    if (e["name"] == name) return e.value("value", "");
  }
  return "";
}

// The volume (from the pod's volumes) a container mounts at `path`; null when none.
json mounted_volume(const json& daemon_set, const json& container, std::string_view path) {
  for (const auto& m : container.value("volumeMounts", json::array())) {
    if (m["mountPath"] != path) continue;
    for (const auto& v : daemon_set["spec"]["template"]["spec"]["volumes"]) {
      if (v["name"] == m["name"]) return v;
    }
  }
  return nullptr;
}

std::string file_contents(const fs::path& path) { return read_whole_file(path).value_or(""); }

std::string rendered_image(const json& daemon_set) {
  std::set<std::string> images;
  for (const auto& c : daemon_set["spec"]["template"]["spec"]["containers"]) images.insert(c["image"]);
  EXPECT_EQ(images.size(), 1u) << "one image for every container";
  return images.empty() ? "" : *images.begin();
}

class DeployManifests : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kKubectlBinary)) GTEST_SKIP() << "kubectl is not installed";
    base_ = kustomize_build(kDeployDir);
    ASSERT_FALSE(base_.empty());
  }
  const json& daemon_set() const { return rendered_object(base_, "DaemonSet", "berth"); }

  std::vector<json> base_;
};

TEST_F(DeployManifests, KustomizeRendersEachKindOnceInBerthsNamespace) {
  std::multiset<std::string> kinds;
  for (const auto& o : base_) {
    kinds.insert(o["kind"].get<std::string>() + "/" + o["metadata"]["name"].get<std::string>());
    EXPECT_EQ(o["metadata"]["labels"]["app.kubernetes.io/name"], "berth") << o["kind"];
    const bool cluster_scoped = o["kind"] == "Namespace" || o["kind"] == "ClusterRole" || o["kind"] == "ClusterRoleBinding";
    if (cluster_scoped) {
      EXPECT_FALSE(o["metadata"].contains("namespace")) << o["kind"];
    } else {
      EXPECT_EQ(o["metadata"]["namespace"], "berth-system") << o["kind"];
    }
  }
  EXPECT_EQ(kinds, (std::multiset<std::string>{"Namespace/berth-system", "ServiceAccount/berth", "ClusterRole/berth",
                                               "ClusterRoleBinding/berth", "Role/berth-leases",
                                               "RoleBinding/berth-leases", "DaemonSet/berth"}));
}

TEST_F(DeployManifests, TheDaemonSetRunsHaproxyBesideBerthOnLoadBalancerNodes) {
  const json& ds = daemon_set();
  const json& pod = ds["spec"]["template"]["spec"];
  EXPECT_EQ(pod["hostNetwork"], true);
  EXPECT_EQ(pod["dnsPolicy"], "ClusterFirstWithHostNet");
  EXPECT_EQ(pod["nodeSelector"], json({{"berth.io/load-balancer", "true"}}));
  // berth's reload confirmation checks the master's pid (kill(pid, 0), /proc/<pid>/stat).
  EXPECT_EQ(pod["shareProcessNamespace"], true);
  EXPECT_EQ(pod["serviceAccountName"], "berth");
  EXPECT_EQ(ds["spec"]["updateStrategy"]["type"], "OnDelete");
  for (const auto& [key, value] : ds["spec"]["selector"]["matchLabels"].items()) {
    EXPECT_EQ(ds["spec"]["template"]["metadata"]["labels"][key], value) << key;
  }
  // haproxy first: the kubelet starts berth after haproxy's post-start hook saw the master.
  EXPECT_EQ(pod_container_names(ds), (std::vector<std::string>{"haproxy", "berth"}));
  const std::string image = rendered_image(ds);
  EXPECT_NE(image.find(':'), std::string::npos) << "a tagged image: " << image;

  const json& haproxy = pod_container(ds, "haproxy");
  const json& berth = pod_container(ds, "berth");
  EXPECT_EQ(haproxy["command"], json({"/usr/local/bin/haproxy-entrypoint"}));
  EXPECT_EQ(haproxy["lifecycle"]["postStart"]["exec"]["command"], json({"/usr/local/bin/haproxy-hook", "post-start"}));
  EXPECT_EQ(haproxy["lifecycle"]["preStop"]["exec"]["command"], json({"/usr/local/bin/haproxy-hook", "pre-stop"}));
  const json caps = haproxy["securityContext"]["capabilities"];
  EXPECT_EQ(caps["add"], json({"SYS_RESOURCE"}));
  EXPECT_EQ(caps["drop"], json({"ALL"}));
  EXPECT_EQ(berth["securityContext"]["capabilities"]["drop"], json({"ALL"}));
  EXPECT_FALSE(berth["securityContext"]["capabilities"].contains("add"));

  // The two containers meet on the same directories: berth's flags, the entrypoint's env.
  const std::string config_dir = arg_value(berth, "--haproxy-config-dir");
  const std::string socket_dir = arg_value(berth, "--haproxy-socket-dir");
  ASSERT_FALSE(config_dir.empty() || socket_dir.empty());
  EXPECT_EQ(env_value(haproxy, "BERTH_HAPROXY_CONFIG_DIR"), config_dir);
  EXPECT_EQ(env_value(haproxy, "BERTH_HAPROXY_SOCKET_DIR"), socket_dir);
  for (const auto& dir : {config_dir, socket_dir}) {
    const json from_haproxy = mounted_volume(ds, haproxy, dir);
    ASSERT_TRUE(from_haproxy.is_object()) << dir;
    EXPECT_TRUE(from_haproxy.contains("emptyDir")) << dir;
    EXPECT_EQ(mounted_volume(ds, berth, dir), from_haproxy) << dir;
  }
  EXPECT_EQ(arg_value(berth, "--haproxy-binary"), "/usr/local/bin/haproxy-check-only");

  EXPECT_TRUE(has_arg(berth, "--leader-elect"));
  EXPECT_EQ(arg_value(berth, "--leader-election-namespace"), "berth-system");
  const std::string probes = arg_value(berth, "--health-probe-bind-address");
  ASSERT_TRUE(probes.starts_with(":")) << probes;
  const int probe_port = std::stoi(probes.substr(1));
  EXPECT_EQ(berth["livenessProbe"]["httpGet"], json({{"path", "/healthz"}, {"port", probe_port}}));
  EXPECT_EQ(berth["readinessProbe"]["httpGet"], json({{"path", "/readyz"}, {"port", probe_port}}));
  const std::string metrics = arg_value(berth, "--metrics-bind-address");
  ASSERT_TRUE(metrics.starts_with(":")) << metrics;
  EXPECT_NE(std::stoi(metrics.substr(1)), probe_port);
  EXPECT_EQ(ds["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"], metrics.substr(1));

  // The open-files budget (docs/deployment.md): 2 x maxconn + listeners (at most the pool) +
  // two checked slots a listener + 40 must fit under the entrypoint's limit.
  const long long maxconn = std::stoll(arg_value(berth, "--haproxy-maxconn"));
  const std::string range = arg_value(berth, "--port-range");
  const auto dash = range.find('-');
  ASSERT_NE(dash, std::string::npos) << range;
  const long long pool = std::stoll(range.substr(dash + 1)) - std::stoll(range.substr(0, dash)) + 1;
  const long long nofile = std::stoll(env_value(haproxy, "HAPROXY_NOFILE"));
  EXPECT_GE(nofile, 2 * maxconn + pool + 2 * pool + 40) << "maxconn " << maxconn << ", pool " << pool;
  // Ports berth serves itself must not be in the pool.
  for (const int port : {probe_port, std::stoi(metrics.substr(1))}) {
    EXPECT_TRUE(port < std::stoi(range.substr(0, dash)) || port > std::stoi(range.substr(dash + 1))) << port;
  }

  for (const auto& c : pod["containers"]) {
    EXPECT_TRUE(c["resources"]["requests"].contains("cpu")) << c["name"];
    EXPECT_TRUE(c["resources"]["requests"].contains("memory")) << c["name"];
  }
}

// berth's own parser reads the DaemonSet's flags: they fail only where the test machine is not
// a pod (no kubeconfig), never as a usage error (exit 2).
TEST_F(DeployManifests, BerthAcceptsTheDaemonSetsFlags) {
  TempDir dir;
  std::vector<std::string> argv = {BERTH_BIN};
  for (const auto& a : pod_container(daemon_set(), "berth")["args"]) argv.push_back(a);
  argv.insert(argv.end(), {"--kubeconfig", (dir.path() / "no-kubeconfig").string()});
  auto run = run_command(argv, 30s);
  ASSERT_TRUE(run) << run.error().describe();
  EXPECT_EQ(run->exit_code, 1) << run->err;
  EXPECT_NE(run->err.find("no-kubeconfig"), std::string::npos) << run->err;
}

// Every script the manifests run is in deploy/image/, executable, and copied by the Dockerfile.
TEST_F(DeployManifests, EveryScriptTheManifestsRunIsInTheImage) {
  const std::string dockerfile = file_contents(kDeployDir / "Dockerfile");
  ASSERT_FALSE(dockerfile.empty());
  std::set<std::string> scripts;
  std::string text = daemon_set().dump() + file_contents(kDeployDir / "components/keepalived/keepalived.conf") +
                     file_contents(kDeployDir / "components/keepalived/daemonset-keepalived.yaml");
  constexpr std::string_view kBin = "/usr/local/bin/";
  for (auto at = text.find(kBin); at != std::string::npos; at = text.find(kBin, at + 1)) {
    const auto end = text.find_first_of("\" ,\n]", at);
    scripts.insert(text.substr(at + kBin.size(), end - at - kBin.size()));
  }
  EXPECT_TRUE(scripts.contains("haproxy-serving"));
  scripts.erase("berth");  // built, not copied
  EXPECT_EQ(scripts.size(), 4u);
  for (const auto& name : scripts) {
    const fs::path script = kDeployDir / "image" / name;
    ASSERT_TRUE(fs::exists(script)) << script;
    EXPECT_EQ(::access(script.c_str(), X_OK), 0) << script << " is not executable";
    EXPECT_NE(dockerfile.find("deploy/image/" + name), std::string::npos) << name << " is not copied";
  }
  EXPECT_NE(dockerfile.find("FROM debian:bookworm"), std::string::npos);
  EXPECT_NE(dockerfile.find("haproxy"), std::string::npos);
}

TEST_F(DeployManifests, TheKeepalivedOverlayAddsKeepalivedAndLeavesTheRestAlone) {
  const auto overlay = kustomize_build(kDeployDir / "overlays/keepalived");
  ASSERT_EQ(overlay.size(), base_.size() + 1);
  for (const auto& o : base_) {
    if (o["kind"] == "DaemonSet") continue;
    EXPECT_EQ(rendered_object(overlay, o["kind"].get<std::string>(), o["metadata"]["name"].get<std::string>()), o);
  }
  const json& config_map = rendered_object(overlay, "ConfigMap", "berth-keepalived");
  EXPECT_EQ(config_map["metadata"]["namespace"], "berth-system");
  const std::string conf = file_contents(kDeployDir / "components/keepalived/keepalived.conf");
  ASSERT_FALSE(conf.empty());
  EXPECT_EQ(config_map["data"]["keepalived.conf"], conf);

  const json& ds = rendered_object(overlay, "DaemonSet", "berth");
  EXPECT_EQ(pod_container_names(ds), (std::vector<std::string>{"keepalived", "haproxy", "berth"}));
  EXPECT_EQ(pod_container(ds, "haproxy"), pod_container(daemon_set(), "haproxy"));
  EXPECT_EQ(pod_container(ds, "berth"), pod_container(daemon_set(), "berth"));
  EXPECT_EQ(rendered_image(ds), rendered_image(daemon_set()));
  const json& keepalived = pod_container(ds, "keepalived");
  const json add = keepalived["securityContext"]["capabilities"]["add"];
  for (const char* cap : {"NET_ADMIN", "NET_RAW"}) {
    EXPECT_NE(std::find(add.begin(), add.end(), cap), add.end()) << cap;
  }
  EXPECT_EQ(mounted_volume(ds, keepalived, "/etc/keepalived")["configMap"]["name"], "berth-keepalived");
  // The track script reads the pid file and haproxy.cfg.applied from haproxy's volumes.
  const json& berth = pod_container(ds, "berth");
  for (const auto& [flag, env] : {std::pair{"--haproxy-config-dir", "BERTH_HAPROXY_CONFIG_DIR"},
                                   std::pair{"--haproxy-socket-dir", "BERTH_HAPROXY_SOCKET_DIR"}}) {
    const std::string dir = arg_value(berth, flag);
    EXPECT_EQ(mounted_volume(ds, keepalived, dir), mounted_volume(ds, berth, dir)) << flag;
    EXPECT_EQ(env_value(keepalived, env), dir) << env;
  }
}

// keepalived's own check (-t) of the component's keepalived.conf, with the track script at its
// place in this checkout and an interface this machine has.
TEST(DeployKeepalived, KeepalivedAcceptsTheComponentsConfig) {
  if (!fs::exists(kKeepalivedBinary)) GTEST_SKIP() << "keepalived is not installed";
  std::string interface;
  for (const auto& entry : fs::directory_iterator("/sys/class/net")) {
    const std::string name = entry.path().filename();
    if (name != "lo" && (interface.empty() || name < interface)) interface = name;
  }
  if (interface.empty()) GTEST_SKIP() << "no network interface but lo";
  std::string conf = file_contents(kDeployDir / "components/keepalived/keepalived.conf");
  ASSERT_FALSE(conf.empty());
  auto replace = [&conf](std::string_view from, const std::string& to) {
    const auto at = conf.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    conf.replace(at, from.size(), to);
  };
  replace("interface eth0", "interface " + interface);
  replace("/usr/local/bin/haproxy-serving", (kDeployDir / "image/haproxy-serving").string());
  TempDir dir;
  const auto file = dir.write("keepalived.conf", conf);
  const auto log = dir.path() / "config-test.log";
  auto checked = run_command({kKeepalivedBinary, "--config-test=" + log.string(), "-f", file.string()}, 30s);
  ASSERT_TRUE(checked) << checked.error().describe();
  // keepalived refuses a track script any non-root user could replace (enable_script_security):
  // a checkout under a world-writable folder fails here for that reason alone.
  EXPECT_EQ(checked->exit_code, 0) << file_contents(log) << checked->err;

  // And it does check: the same file with an unknown keyword is refused.
  replace("advert_int 1", "advert_int 1\n    no_such_keyword 1");
  dir.write("keepalived.conf", conf);
  auto refused = run_command({kKeepalivedBinary, "--config-test=" + log.string(), "-f", file.string()}, 30s);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->exit_code, 0);
}

// A grant: (API group, resource, verb, namespace or "" for cluster-wide, resourceNames joined).
using Grant = std::tuple<std::string, std::string, std::string, std::string, std::string>;

// What berth calls, each with the source file that makes the call and a piece of the call: the
// test fails when the file no longer holds it, so a grant cannot outlive its call unnoticed.
struct BerthCall {
  std::string group, resource, verb;
  bool in_lease_namespace;  // false: cluster-wide (Services of every namespace)
  std::string source, evidence;
};

const std::vector<BerthCall>& berth_calls() {
  static const std::vector<BerthCall> kCalls = {
      {"", "services", "list", false, "src/controller/service_controller.cc", "api_.list(kube::kServices"},
      {"", "services", "watch", false, "src/app/app.cc", "kube::Reflector<kube::Service> service_reflector(client->api(), kube::kServices"},
      {"", "services", "get", false, "src/controller/service_controller.cc", "api_.get(kube::kServices"},
      {"", "services", "patch", false, "src/kube/annotation_patch.cc", "client.patch(type, ns, name, PatchType::kMerge"},
      {"discovery.k8s.io", "endpointslices", "list", false, "src/kube/reflector.cc", "api_.list(type_"},
      {"discovery.k8s.io", "endpointslices", "watch", false, "src/app/app.cc",
       "kube::Reflector<kube::EndpointSlice> slice_reflector(client->api(), kube::kEndpointSlices"},
      {"", "events", "create", false, "src/kube/event_recorder.cc", "client.create(kEvents"},
      {"coordination.k8s.io", "leases", "get", true, "src/kube/lease_client.cc", "client.get(kLeases"},
      {"coordination.k8s.io", "leases", "update", true, "src/kube/lease_client.cc", "client.update(kLeases"},
      {"coordination.k8s.io", "leases", "create", true, "src/kube/lease_client.cc", "client.create(kLeases"},
  };
  return kCalls;
}

// The grants of every rule of `role`, in `ns` ("" for a ClusterRole's).
void add_grants(const json& role, const std::string& ns, std::set<Grant>& out) {
  for (const auto& rule : role.value("rules", json::array())) {
    std::vector<std::string> names;
    for (const auto& n : rule.value("resourceNames", json::array())) names.push_back(n);
    std::sort(names.begin(), names.end());
    std::string joined;
    for (const auto& n : names) joined += (joined.empty() ? "" : ",") + n;
    for (const auto& group : rule["apiGroups"]) {
      for (const auto& resource : rule["resources"]) {
        for (const auto& verb : rule["verbs"]) {
          EXPECT_NE(group, "*");
          EXPECT_NE(resource, "*");
          EXPECT_NE(verb, "*");
          out.insert({group, resource, verb, ns, joined});
        }
      }
    }
  }
}

TEST_F(DeployManifests, RbacGrantsWhatBerthCallsAndNothingElse) {
  const json& berth = pod_container(daemon_set(), "berth");
  const std::string lease_ns = arg_value(berth, "--leader-election-namespace");
  const std::string lease_id = arg_value(berth, "--leader-election-id");
  ASSERT_FALSE(lease_ns.empty() || lease_id.empty());
  const std::string service_account = daemon_set()["spec"]["template"]["spec"]["serviceAccountName"];
  const std::string sa_ns = daemon_set()["metadata"]["namespace"];

  // What the bindings give the DaemonSet's service account.
  std::set<Grant> granted;
  for (const auto& binding : base_) {
    const bool cluster = binding["kind"] == "ClusterRoleBinding";
    if (!cluster && binding["kind"] != "RoleBinding") continue;
    bool ours = false;
    for (const auto& s : binding["subjects"]) {
      ours = ours || (s["kind"] == "ServiceAccount" && s["name"] == service_account && s["namespace"] == sa_ns);
    }
    EXPECT_TRUE(ours) << binding["metadata"]["name"] << " binds someone else";
    const std::string ns = cluster ? "" : binding["metadata"]["namespace"].get<std::string>();
    add_grants(rendered_object(base_, binding["roleRef"]["kind"].get<std::string>(),
                               binding["roleRef"]["name"].get<std::string>()),
               ns, granted);
  }

  std::set<Grant> needed;
  for (const auto& call : berth_calls()) {
    const std::string text = file_contents(kSourceDir / call.source);
    EXPECT_NE(text.find(call.evidence), std::string::npos)
        << call.source << " no longer holds \"" << call.evidence << "\" (" << call.verb << " " << call.resource << ")";
    // RBAC cannot restrict create by name; get and update name the two Leases.
    const std::string names = call.in_lease_namespace && call.verb != "create"
                                  ? lease_id + "," + lease_id + "-quarantine"
                                  : "";
    needed.insert({call.group, call.resource, call.verb, call.in_lease_namespace ? lease_ns : "", names});
  }
  EXPECT_EQ(granted, needed);

  // Every resource type berth's code names is one the list above covers: a new one (say a
  // Namespace read) must come with its grant.
  const std::string resource_h = file_contents(kSourceDir / "src/kube/resource.h");
  std::map<std::string, std::string> constants = {{"kNamespaces", "namespaces"}, {"kServices", "services"},
                                                  {"kEvents", "events"}, {"kEndpointSlices", "endpointslices"},
                                                  {"kLeases", "leases"}};
  for (const auto& [constant, resource] : constants) {
    ASSERT_NE(resource_h.find(constant), std::string::npos) << constant;
  }
  std::set<std::string> used;
  for (const auto& entry : fs::recursive_directory_iterator(kSourceDir / "src")) {
    if (entry.path().filename() == "resource.h" || !entry.is_regular_file()) continue;
    const std::string text = file_contents(entry.path());
    for (const auto& [constant, resource] : constants) {
      if (text.find(constant) != std::string::npos) used.insert(resource);
    }
  }
  std::set<std::string> covered;
  for (const auto& call : berth_calls()) covered.insert(call.resource);
  EXPECT_EQ(used, covered);
}

class DeployKubectl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kKubectlBinary)) GTEST_SKIP() << "kubectl is not installed";
    auto started = sim_.start();
    ASSERT_TRUE(started) << started.error().describe();
  }

  CommandResult run_kubectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {kKubectlBinary, "--kubeconfig", sim_.kubeconfig_path().string(), "--cache-dir",
                                     (sim_.dir() / "kubectl-cache").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = run_command(argv, 60s);
    EXPECT_TRUE(result) << result.error().describe();
    return result.value_or(CommandResult{});
  }
  std::string kubectl_ok(std::vector<std::string> args) {
    auto result = run_kubectl(args);
    EXPECT_EQ(result.exit_code, 0) << "kubectl " << args[0] << ": " << result.err;
    return result.out;
  }
  json get_object(const std::string& kind, const std::string& name, const std::string& ns) {
    std::vector<std::string> args = {"get", kind, name, "-o", "json"};
    if (!ns.empty()) args.insert(args.end(), {"-n", ns});
    return json::parse(kubectl_ok(args), nullptr, false);
  }

  // "kind/name" -> what kubectl printed for it ("created", "unchanged", "configured").
  static std::map<std::string, std::string> outcomes(const std::string& out) {
    std::map<std::string, std::string> result;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      const auto space = line.rfind(' ');
      if (space != std::string::npos) result[line.substr(0, space)] = line.substr(space + 1);
    }
    return result;
  }

  KubeSimProcess sim_;
};

struct DeployedObject {
  std::string kind, name, ns, printed;  // printed: as `kubectl apply` names it
};

const std::vector<DeployedObject>& deployed_objects() {
  static const std::vector<DeployedObject> kObjects = {
      {"namespace", "berth-system", "", "namespace/berth-system"},
      {"serviceaccount", "berth", "berth-system", "serviceaccount/berth"},
      {"clusterrole", "berth", "", "clusterrole.rbac.authorization.k8s.io/berth"},
      {"clusterrolebinding", "berth", "", "clusterrolebinding.rbac.authorization.k8s.io/berth"},
      {"role", "berth-leases", "berth-system", "role.rbac.authorization.k8s.io/berth-leases"},
      {"rolebinding", "berth-leases", "berth-system", "rolebinding.rbac.authorization.k8s.io/berth-leases"},
      {"daemonset", "berth", "berth-system", "daemonset.apps/berth"},
  };
  return kObjects;
}

TEST_F(DeployKubectl, ApplyGetReapplyTheKeepalivedOverlayAndDelete) {
  const auto first = outcomes(kubectl_ok({"apply", "-k", kDeployDir.string()}));
  std::map<std::string, std::string> versions;
  for (const auto& o : deployed_objects()) {
    EXPECT_EQ(first.count(o.printed) ? first.at(o.printed) : "(missing)", "created") << o.printed;
    const json got = get_object(o.kind, o.name, o.ns);
    ASSERT_TRUE(got.is_object()) << o.printed;
    EXPECT_EQ(got["metadata"]["name"], o.name);
    versions[o.printed] = got["metadata"]["resourceVersion"];
  }
  EXPECT_EQ(first.size(), deployed_objects().size());
  const json daemon_set = get_object("daemonset", "berth", "berth-system");
  EXPECT_EQ(daemon_set["spec"]["template"]["spec"]["hostNetwork"], true);
  const std::string table = kubectl_ok({"get", "daemonsets", "-n", "berth-system"});
  EXPECT_NE(table.find("NAME"), std::string::npos) << table;
  EXPECT_NE(table.find("berth"), std::string::npos) << table;
  const std::string roles = kubectl_ok({"get", "clusterroles"});
  EXPECT_NE(roles.find("berth"), std::string::npos) << roles;

  // The second apply changes nothing: every object unchanged, no new resourceVersion.
  for (const auto& [printed, outcome] : outcomes(kubectl_ok({"apply", "-k", kDeployDir.string()}))) {
    EXPECT_EQ(outcome, "unchanged") << printed;
  }
  for (const auto& o : deployed_objects()) {
    EXPECT_EQ(get_object(o.kind, o.name, o.ns)["metadata"]["resourceVersion"], versions[o.printed]) << o.printed;
  }

  // The overlay adds the ConfigMap and the keepalived container by a strategic merge patch
  // that leaves haproxy and berth as they were.
  const auto overlay = outcomes(kubectl_ok({"apply", "-k", (kDeployDir / "overlays/keepalived").string()}));
  EXPECT_EQ(overlay.at("configmap/berth-keepalived"), "created");
  EXPECT_EQ(overlay.at("daemonset.apps/berth"), "configured");
  EXPECT_EQ(overlay.at("clusterrole.rbac.authorization.k8s.io/berth"), "unchanged");
  const auto containers = [](const json& ds) { return ds["spec"]["template"]["spec"]["containers"]; };
  const json with_keepalived = get_object("daemonset", "berth", "berth-system");
  ASSERT_EQ(containers(with_keepalived).size(), 3u) << containers(with_keepalived).dump();
  EXPECT_EQ(containers(with_keepalived)[0]["name"], "keepalived");
  EXPECT_EQ(containers(with_keepalived)[1], containers(daemon_set)[0]);
  EXPECT_EQ(containers(with_keepalived)[2], containers(daemon_set)[1]);
  EXPECT_EQ(with_keepalived["metadata"]["uid"], daemon_set["metadata"]["uid"]);
  const json config_map = get_object("configmap", "berth-keepalived", "berth-system");
  EXPECT_EQ(config_map["data"]["keepalived.conf"], file_contents(kDeployDir / "components/keepalived/keepalived.conf"));

  // Back to the base: the patch removes keepalived (by name) and its volume again.
  kubectl_ok({"apply", "-k", kDeployDir.string()});
  const json back = get_object("daemonset", "berth", "berth-system");
  EXPECT_EQ(containers(back), containers(daemon_set));
  EXPECT_EQ(back["spec"]["template"]["spec"]["volumes"], daemon_set["spec"]["template"]["spec"]["volumes"]);

  // kube-sim deletes a namespace's objects with it at once, so the deletes that follow the
  // Namespace's find nothing; against a cluster the namespace controller races kubectl the
  // same way. --ignore-not-found is how to delete deploy/ either way (docs/deployment.md).
  kubectl_ok({"delete", "-k", (kDeployDir / "overlays/keepalived").string(), "--ignore-not-found"});
  for (const auto& o : deployed_objects()) {
    std::vector<std::string> args = {"get", o.kind, o.name};
    if (!o.ns.empty()) args.insert(args.end(), {"-n", o.ns});
    const auto gone = run_kubectl(args);
    EXPECT_NE(gone.exit_code, 0) << o.printed << " is still there";
    EXPECT_NE(gone.err.find("NotFound"), std::string::npos) << gone.err;
  }
}

// deploy/'s pod on one machine: deploy/image/haproxy-entrypoint runs the HAProxy master as the
// haproxy container does, and berth runs with the DaemonSet's own flags, except for what a pod
// has and a test does not (its directories, the API server, loopback addresses, host ports
// 31600-31609, maxconn for a lower open-files limit, a short --haproxy-check-period), its
// --haproxy-binary the image's haproxy-check-only. berth must adopt the entrypoint's master and
// serve through it, survive its own SIGKILL without a reload, never start a master of its own,
// and adopt the master of a restarted haproxy container without moving a Service.
class DeployLayout : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kKubectlBinary)) GTEST_SKIP() << "kubectl is not installed (it renders deploy/)";
    ASSERT_EQ(::access("/usr/sbin/haproxy", X_OK), 0) << "haproxy is not installed";
    ASSERT_TRUE(db_.ok());
    auto started = sim_.start();
    ASSERT_TRUE(started) << started.error().describe();
    fs::create_directories(config_dir_);
    fs::create_directories(socket_dir_);
  }

  // What the haproxy container runs, with its environment.
  std::vector<std::string> entrypoint(const std::string& script_args = "") const {
    std::vector<std::string> argv = {"/usr/bin/env", "BERTH_HAPROXY_CONFIG_DIR=" + config_dir_.string(),
                                     "BERTH_HAPROXY_SOCKET_DIR=" + socket_dir_.string(), "HAPROXY_NOFILE=8192"};
    if (script_args.empty()) {
      argv.push_back((kDeployDir / "image/haproxy-entrypoint").string());
    } else {
      argv.insert(argv.end(), {(kDeployDir / "image/haproxy-hook").string(), script_args});
    }
    return argv;
  }

  // Starts the "haproxy container" and runs its post-start hook; returns the master's pid.
  pid_t start_haproxy_container() {
    auto child = ChildProcess::spawn(entrypoint());
    EXPECT_TRUE(child) << child.error().describe();
    if (!child) return -1;
    haproxy_ = std::move(*child);
    auto hook = run_command(entrypoint("post-start"), 90s);
    EXPECT_TRUE(hook && hook->exit_code == 0) << (hook ? hook->err : hook.error().describe());
    guard_.watch_pid(haproxy_->pid());
    EXPECT_TRUE(show_proc());  // shows the guard the workers too
    const std::string pid_text = file_contents(socket_dir_ / "haproxy.pid");
    // The entrypoint execs HAProxy: the container's main process is the master itself.
    EXPECT_EQ(std::stoi(pid_text.empty() ? "-1" : pid_text), haproxy_->pid());
    return haproxy_->pid();
  }

  // `show proc`; the master refuses connections for a moment while it reloads, so a refusal
  // is asked again for up to 10 s.
  Result<haproxy::ProcessTable> show_proc() {
    haproxy::MasterSocket cli(socket_dir_ / "master.sock", 5s);
    Result<std::string> answer = std::unexpected(Error{ErrorCode::kTransport, "not asked"});
    eventually([&] { return (answer = cli.to_master("show proc")).has_value(); }, 10s, 20ms);
    if (!answer) return std::unexpected(answer.error());
    auto table = haproxy::parse_show_proc(*answer);
    if (table) guard_.watch(*table);
    return table;
  }

  // The DaemonSet's berth args, with the test's values for the flags a pod sets differently.
  std::vector<std::string> berth_args() {
    const auto rendered = kustomize_build(kDeployDir);
    const json& berth = pod_container(rendered_object(rendered, "DaemonSet", "berth"), "berth");
    const std::map<std::string, std::string> overrides = {
        {"--haproxy-config-dir", config_dir_.string()},
        {"--haproxy-socket-dir", socket_dir_.string()},
        {"--haproxy-binary", (kDeployDir / "image/haproxy-check-only").string()},
        {"--port-range", "31600-31609"},
        {"--metrics-bind-address", "127.0.0.1:0"},
        {"--health-probe-bind-address", "127.0.0.1:0"},
        {"--haproxy-metrics-bind-address", "127.0.0.1:31699"},
        {"--log-format", "text"},
        // The entrypoint runs with HAPROXY_NOFILE=8192 here (raising the hard limit needs
        // CAP_SYS_RESOURCE), and HAProxy 2.6 refuses a config whose 2 x maxconn does not fit
        // ("Cannot raise FD limit to 100039, limit is 8192").
        {"--haproxy-maxconn", "2000"},
    };
    std::vector<std::string> args;
    std::set<std::string> replaced;
    for (const auto& a : berth["args"]) {
      std::string arg = a;
      const std::string flag = arg.substr(0, arg.find('='));
      if (auto it = overrides.find(flag); it != overrides.end()) {
        arg = flag + "=" + it->second;
        replaced.insert(flag);
      }
      args.push_back(arg);
    }
    EXPECT_EQ(replaced.size(), overrides.size()) << "the DaemonSet no longer sets every flag the test replaces";
    args.insert(args.end(), {"--kubeconfig", sim_.kubeconfig_path().string(), "--bind-address", "127.0.0.1",
                             "--allow-loopback-endpoints", "--haproxy-check-period", "200ms"});
    return args;
  }

  void create(const std::string& path, const json& object) {
    auto created = sim_.request("POST", path, object.dump());
    ASSERT_TRUE(created) << created.error().describe();
    ASSERT_EQ(created->status, 201) << created->body;
  }

  // The Service's host port once berth has written it back; 0 until then.
  int host_port() {
    auto got = sim_.request("GET", "/api/v1/namespaces/default/services/db");
    if (!got || got->status != 200) return 0;
    const json service = json::parse(got->body, nullptr, false);
    const std::string port = service["metadata"]["annotations"].value("haproxy-ingress/3306", "");
    return port.empty() ? 0 : std::stoi(port);
  }

  KubeSimProcess sim_;
  TempDir dir_;  // before the guard: destroyed after it
  fs::path config_dir_ = dir_.path() / "var-lib-berth";
  fs::path socket_dir_ = dir_.path() / "run-berth";
  HaproxyGuard guard_{socket_dir_ / "haproxy.pid"};
  EchoServer db_{"db-1", "127.0.0.2"};
  std::unique_ptr<ChildProcess> haproxy_;
};

TEST_F(DeployLayout, BerthAdoptsTheHaproxyContainersMasterAndOutlivesEitherRestart) {
  create("/api/v1/namespaces", {{"metadata", {{"name", "berth-system"}}}});
  create("/api/v1/namespaces/default/services",
         {{"metadata", {{"name", "db"}, {"annotations", {{"ingress", "haproxy-ingress"}}}}},
          {"spec", {{"ports", {{{"name", "db"}, {"port", 3306}}}}}}});
  create("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
         {{"metadata", {{"name", "db-1"}, {"labels", {{"kubernetes.io/service-name", "db"}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "db"}, {"port", db_.port()}}}},
          {"endpoints", {{{"addresses", {"127.0.0.2"}}, {"conditions", {{"ready", true}}}}}}});

  const pid_t master = start_haproxy_container();
  ASSERT_GT(master, 0);
  BerthProcess berth(berth_args());
  ASSERT_TRUE(berth.start());
  // The manifest runs the default listen mode, range (docs/listen-modes.md).
  const std::string adopted = fmt::format("adopted haproxy master pid={}", master);
  ASSERT_TRUE(berth.wait_for_log(adopted + " binding 0 ports; it will be reloaded: its config is not one berth confirmed", 30s))
      << berth.log();
  ASSERT_TRUE(eventually([&] { return host_port() != 0; }, 30s)) << berth.log();
  const int port = host_port();
  ASSERT_TRUE(eventually([&] { return greeting_at("127.0.0.1", port, 2s).value_or("") == "db-1"; }, 30s))
      << berth.log();
  // HAProxy serves the port a moment before berth has written the files that keep it (they are
  // written behind the runtime update) and recorded the config as confirmed
  // (haproxy.cfg.applied); a berth killed in between rightly reloads once more when it returns.
  ASSERT_TRUE(eventually(
      [&] {
        const std::string config = file_contents(config_dir_ / "haproxy.cfg");
        return config.find(fmt::format("127.0.0.2:{}", db_.port())) != std::string::npos &&
               file_contents(config_dir_ / "haproxy.cfg.applied") == haproxy::config_hash(config);
      },
      30s))
      << berth.log();
  auto session = TcpClient::connect("127.0.0.1", port, 5s);
  ASSERT_TRUE(session) << session.error().describe();
  ASSERT_EQ((*session)->read_line(5s).value_or(""), "db-1");
  ASSERT_TRUE((*session)->round_trip("before", 5s));
  auto before = show_proc();
  ASSERT_TRUE(before) << before.error().describe() << " " << file_contents(config_dir_ / "haproxy-master.log");

  // berth dies and comes back: it adopts the same master without a reload; the session stays.
  berth.kill();
  ASSERT_TRUE(berth.start());
  ASSERT_TRUE(berth.wait_for_log(adopted + " with 1 routes", 30s)) << berth.log();
  EXPECT_NE(berth.log().find("its state is current, no reload"), std::string::npos) << berth.log();
  EXPECT_TRUE((*session)->round_trip("after berth restarted", 5s));
  auto after = show_proc();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->master.pid, master);
  EXPECT_EQ(after->master.reloads, before->master.reloads);

  // The haproxy container dies (the runtime kills all of it) and berth notices: its attempts to
  // start a master of its own are refused by haproxy-check-only.
  for (const auto& worker : after->workers) ::kill(worker.pid, SIGKILL);
  haproxy_->kill();
  ASSERT_TRUE(berth.wait_for_log("haproxy master stopped answering", 30s)) << berth.log();
  ASSERT_TRUE(berth.wait_for_log("haproxy-check-only: not starting HAProxy", 30s)) << berth.log();
  // The kubelet restarts the container with the config berth confirmed; berth adopts it and
  // nothing moves.
  const pid_t restarted = start_haproxy_container();
  ASSERT_GT(restarted, 0);
  ASSERT_TRUE(berth.wait_for_log(fmt::format("adopted haproxy master pid={} with 1 routes", restarted), 30s))
      << berth.log();
  EXPECT_EQ(berth.log().find("PortUnavailable"), std::string::npos) << berth.log();
  EXPECT_EQ(host_port(), port);
  EXPECT_EQ(greeting_at("127.0.0.1", port, 5s).value_or("(none)"), "db-1");
  auto table = show_proc();
  ASSERT_TRUE(table);
  EXPECT_EQ(table->master.pid, restarted);
  EXPECT_EQ(table->master.reloads, 0);

  EXPECT_EQ(berth.stop().value_or(-1), 0) << berth.log();
  EXPECT_TRUE(haproxy_->stop(10s));
}

}  // namespace
}  // namespace berth::testing
