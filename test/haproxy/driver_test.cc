// The Driver against the real HAProxy 2.6 (/usr/sbin/haproxy) on loopback: it starts the master
// itself (through HaproxyMaster), renders with the real default template, and talks to the real
// master socket through a recording decorator, so each test can assert the exact runtime
// commands sent ("@!<pid> ..."), and that traffic, the files on disk and the master's reload
// count say what the ApplyResult says. Echo servers on 127.0.0.x stand in for pods; each greets
// a connection with its name, so a test sees which server a listener sent it to.
//
// Every HAProxy process is stopped by PID at the end, also when a test fails: HaproxyEnv's guard
// reads the pid file and is shown every `show proc` after an apply.
#include "haproxy/driver.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "common/subprocess.h"
#include "haproxy/config_renderer.h"
#include "haproxy/servers_state.h"
#include "haproxy_test_env.h"
#include "support/echo_server.h"
#include "model_fixtures.h"

namespace berth::haproxy {
namespace {

using namespace std::chrono_literals;
using testenv::HaproxyEnv;
using testenv::PortHolder;
using testenv::SilenceableCli;
using Action = ApplyResult::Action;

constexpr auto kIo = 2s;

std::string file_text(const std::filesystem::path& path) { return read_whole_file(path).value_or("(unreadable)"); }

// Forwards to the real master CLI and records every command as the master receives it: its own
// ("show proc", "reload") as they are, a worker's as "@!<pid> <command>".
class RecordingCli final : public MasterCli {
 public:
  explicit RecordingCli(MasterCli& inner) : inner_(inner) {}

  Result<std::string> to_master(std::string_view command) override {
    record(std::string(command));
    return inner_.to_master(command);
  }
  Result<std::vector<std::string>> to_worker(int pid, std::span<const std::string> commands) override {
    for (const auto& command : commands) record(fmt::format("@!{} {}", pid, command));
    return inner_.to_worker(pid, commands);
  }

  // The commands for workers, in the order sent.
  std::vector<std::string> worker_commands() const { return matching(true); }
  // The master's own commands, in the order sent.
  std::vector<std::string> master_commands() const { return matching(false); }
  void clear() {
    std::lock_guard lock(mutex_);
    sent_.clear();
  }

 private:
  void record(std::string line) {
    std::lock_guard lock(mutex_);
    sent_.push_back(std::move(line));
  }
  std::vector<std::string> matching(bool for_worker) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    std::copy_if(sent_.begin(), sent_.end(), std::back_inserter(out),
                 [&](const std::string& line) { return line.starts_with("@!") == for_worker; });
    return out;
  }

  MasterCli& inner_;
  mutable std::mutex mutex_;
  std::vector<std::string> sent_;
};

// An echo server on a loopback address of its own, as a pod has.
struct Endpoint {
  Endpoint(const std::string& name, std::string address_text) : address(std::move(address_text)), echo(name, address) {}
  Server server() const { return Server{ip(address), echo.port()}; }
  std::string address;
  testing::EchoServer echo;
};

// The name of the echo server a new connection to 127.0.0.1:<port> reaches, or why none did.
std::string served_by(int port) {
  auto greeting = testing::greeting_at("127.0.0.1", port, kIo);
  return greeting ? *greeting : "error: " + greeting.error().describe();
}

// `count` distinct ports nothing listens on now.
std::vector<int> free_ports(std::size_t count) {
  std::set<int> ports;
  for (int i = 0; i < 100 && ports.size() < count; ++i) {
    if (int port = testenv::free_port(); port > 0) ports.insert(port);
  }
  return {ports.begin(), ports.end()};
}

// Adds `line` to `text` after the first `anchor` (a line of it) that follows `from`; false when
// there is none.
bool insert_after(std::string& text, std::string_view anchor, std::string_view line, std::string_view from = "") {
  const auto start = text.find(from);
  if (start == std::string::npos) return false;
  const auto at = text.find(anchor, start);
  if (at == std::string::npos) return false;
  text.insert(at + anchor.size(), line);
  return true;
}

// The built-in template, except that HAProxy refuses a listener with a maxconn (its frontend gets
// an unknown keyword) and a global section with mworker-max-reloads.
ConfigRenderer picky_renderer() {
  std::string text(ConfigRenderer::default_template());
  const bool edited =
      insert_after(text, "{{#has_maxconn}}\n", "    berth_test_listener_keyword\n", "\nfrontend {{name}}\n") &&
      insert_after(text, "{{#has_mworker_max_reloads}}\n", "    berth_test_global_keyword\n");
  EXPECT_TRUE(edited) << "the built-in template no longer has the lines this test edits";
  auto renderer = ConfigRenderer::create(text);
  EXPECT_TRUE(renderer) << renderer.error().describe();
  return renderer ? std::move(*renderer) : *ConfigRenderer::create(std::string(ConfigRenderer::default_template()));
}

// A server line of `state` (a parsed file or dump), or nullopt.
std::optional<ServerState> slot_state(const ServersState& state, int port, std::string_view slot) {
  for (const auto& line : state.servers) {
    if (line.backend == proxy_name(port) && line.server == slot) return line;
  }
  return std::nullopt;
}

class DriverTest : public ::testing::Test {
 protected:
  DriverTest() : silenceable_(env_.cli), cli_(silenceable_), renderer_(*ConfigRenderer::create(std::string(ConfigRenderer::default_template()))) {}

  void SetUp() override {
    ASSERT_EQ(::access(testenv::kHaproxyBinary, X_OK), 0) << testenv::kHaproxyBinary << " is not installed";
    ASSERT_TRUE(a_.echo.ok() && b_.echo.ok() && c_.echo.ok()) << "echo servers on 127.0.0.2-4";
  }

  GlobalSettings global() const {
    return GlobalSettings{.nbthread = 1,
                          .bind_addresses = {ip("127.0.0.1")},
                          .admin_socket = (env_.dir.path() / "admin.sock").string(),
                          .server_state_file = state_file().string()};
  }
  std::filesystem::path state_file() const { return env_.dir.path() / "server-state"; }
  const std::filesystem::path& config_file() const { return env_.paths.config; }

  DriverSettings settings() const { return DriverSettings{.paths = env_.paths, .check_timeout = 30s, .reload_timeout = 30s}; }

  std::unique_ptr<Driver> make_driver(const ConfigRenderer& renderer, MasterCli& cli) {
    return std::make_unique<Driver>(settings(), renderer, cli, SystemClock::instance());
  }
  std::unique_ptr<Driver> make_driver() { return make_driver(renderer_, cli_); }

  // apply(), then shows the guard every process HAProxy lists now.
  ApplyResult apply(Driver& driver, const Model& desired, std::optional<GlobalSettings> settings = std::nullopt) {
    auto result = driver.apply(settings.value_or(global()), desired, {});
    env_.guard.watch(env_.master.status());
    return result;
  }

  ProcessTable status() {
    auto table = env_.master.status();
    env_.guard.watch(table);
    EXPECT_TRUE(table) << table.error().describe();
    return table.value_or(ProcessTable{});
  }

  // `show servers state` of the current worker, parsed.
  ServersState worker_state() {
    auto worker = status().current_worker();
    if (!worker) return {};
    auto dump = env_.cli.to_worker(*worker, std::vector<std::string>{"show servers state"});
    EXPECT_TRUE(dump) << dump.error().describe();
    auto state = parse_servers_state(dump && !dump->empty() ? dump->front() : std::string());
    EXPECT_TRUE(state) << state.error().describe();
    return state.value_or(ServersState{});
  }

  ServersState state_on_disk() {
    auto state = parse_servers_state(file_text(state_file()));
    EXPECT_TRUE(state) << state.error().describe() << "\n" << file_text(state_file());
    return state.value_or(ServersState{});
  }

  // Applies `desired` (a start), then SIGKILLs the master and waits until it is gone; returns
  // the table it had, or nullopt (with the failure reported) when any step failed.
  std::optional<ProcessTable> start_then_kill_master(Driver& driver, const Model& desired) {
    auto started = apply(driver, desired);
    EXPECT_TRUE(started.ok()) << why(started);
    const ProcessTable before = status();
    if (!started.ok() || before.master.pid <= 0 || ::kill(before.master.pid, SIGKILL) != 0) return std::nullopt;
    // Not our child (HAProxy detaches it): poll until it is gone, bounded.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (process_running(before.master.pid) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_FALSE(process_running(before.master.pid)) << "the master outlived SIGKILL";
    if (process_running(before.master.pid)) return std::nullopt;
    return before;
  }

  std::string why(const ApplyResult& result) const {
    return (result.error ? result.error->describe() : std::string("ok")) + "\nmaster log:\n" + env_.log();
  }

  HaproxyEnv env_;
  SilenceableCli silenceable_;
  RecordingCli cli_;
  ConfigRenderer renderer_;
  Endpoint a_{"a", "127.0.0.2"};
  Endpoint b_{"b", "127.0.0.3"};
  Endpoint c_{"c", "127.0.0.4"};
};

TEST_F(DriverTest, TheFirstApplyStartsHaproxyAndAnEqualOneDoesNothing) {
  const auto ports = free_ports(1);
  ASSERT_EQ(ports.size(), 1u);
  const int p = ports[0];
  auto driver = make_driver();
  const Model desired = routed_model({db_listener(p, {a_.server()})});
  EXPECT_TRUE(driver->needs_reload(global(), desired));

  auto first = apply(*driver, desired);
  ASSERT_TRUE(first.ok()) << why(first);
  EXPECT_EQ(first.action, Action::kStart);
  EXPECT_EQ(first.reasons, std::vector<std::string>{"no config is running yet"});
  EXPECT_TRUE(first.unavailable.empty() && first.rejected.empty());
  EXPECT_EQ(served_by(p), "a");
  EXPECT_EQ(driver->stats().starts, 1u);
  EXPECT_EQ(driver->stats().adoptions, 0u);
  EXPECT_TRUE(cli_.worker_commands().empty());  // nothing ran before this master to ask
  ASSERT_TRUE(driver->current());
  EXPECT_EQ(driver->current()->model, desired);
  EXPECT_EQ(file_text(config_file()), renderer_.render(*driver->current()));
  EXPECT_TRUE(std::filesystem::exists(sibling(config_file(), ".applied")));
  EXPECT_FALSE(std::filesystem::exists(sibling(config_file(), ".candidate")));

  const ProcessTable before = status();
  EXPECT_EQ(before.master.reloads, 0);
  EXPECT_FALSE(driver->needs_reload(global(), desired));
  cli_.clear();
  auto second = apply(*driver, desired);
  ASSERT_TRUE(second.ok()) << why(second);
  EXPECT_EQ(second.action, Action::kNone);
  EXPECT_EQ(second.runtime_commands, 0u);
  EXPECT_TRUE(second.reasons.empty());
  EXPECT_TRUE(cli_.worker_commands().empty());
  // Only the liveness check reached the master.
  EXPECT_EQ(cli_.master_commands(), std::vector<std::string>{"show proc"});
  const ProcessTable after = status();
  EXPECT_EQ(after.master.reloads, before.master.reloads);
  EXPECT_EQ(after.current_worker(), before.current_worker());
  EXPECT_EQ(driver->stats().reloads, 0u);
  EXPECT_EQ(driver->stats().runtime_updates, 0u);
  EXPECT_EQ(served_by(p), "a");
}

TEST_F(DriverTest, AServerChangeWithinTheSlotsIsRuntimeCommandsThatALaterReloadKeeps) {
  const auto ports = free_ports(2);
  ASSERT_EQ(ports.size(), 2u);
  const int p = ports[0], q = ports[1];
  auto driver = make_driver();
  auto started = apply(*driver, routed_model({db_listener(p, {a_.server()})}));
  ASSERT_TRUE(started.ok()) << why(started);
  ASSERT_EQ(served_by(p), "a");
  const int worker = status().current_worker().value_or(0);

  cli_.clear();
  auto moved = apply(*driver, routed_model({db_listener(p, {b_.server()})}));
  ASSERT_TRUE(moved.ok()) << why(moved);
  EXPECT_EQ(moved.action, Action::kRuntime);
  EXPECT_TRUE(moved.reasons.empty());
  EXPECT_EQ(moved.runtime_commands, 3u);
  // a leaves s1; b takes s2, which no server left in this update; then the state is dumped.
  EXPECT_EQ(cli_.worker_commands(),
            (std::vector<std::string>{
                fmt::format("@!{} set server p{}/s1 state maint", worker, p),
                fmt::format("@!{} set server p{}/s2 addr 127.0.0.3 port {}", worker, p, b_.echo.port()),
                fmt::format("@!{} set server p{}/s2 state ready", worker, p),
                fmt::format("@!{} show servers state", worker),
            }));
  for (const auto& command : cli_.master_commands()) EXPECT_EQ(command, "show proc");
  EXPECT_EQ(served_by(p), "b");
  EXPECT_EQ(driver->stats().runtime_updates, 1u);

  const std::string config = file_text(config_file());
  EXPECT_TRUE(contains(config, fmt::format("server s2 127.0.0.3:{} check\n", b_.echo.port()))) << config;
  EXPECT_TRUE(contains(config, "server s1 127.0.0.1:1 disabled check\n")) << config;
  EXPECT_FALSE(contains(config, fmt::format("127.0.0.2:{}", a_.echo.port()))) << config;
  ASSERT_TRUE(driver->current());
  EXPECT_EQ(config, renderer_.render(*driver->current()));

  auto saved = state_on_disk();
  auto s2 = slot_state(saved, p, "s2");
  ASSERT_TRUE(s2) << file_text(state_file());
  EXPECT_EQ(s2->address, "127.0.0.3");
  EXPECT_EQ(s2->port, b_.echo.port());
  EXPECT_FALSE(s2->in_maintenance());
  EXPECT_FALSE(slot_state(saved, p, "s1")) << "a slot that lost its server must not be restored";

  ProcessTable table = status();
  EXPECT_EQ(table.master.reloads, 0);
  EXPECT_EQ(table.current_worker(), worker);

  // A reload for another reason: the new worker serves b from s2, as file and state agree.
  auto added = apply(*driver, routed_model({db_listener(p, {b_.server()}), db_listener(q, {c_.server()})}));
  ASSERT_TRUE(added.ok()) << why(added);
  EXPECT_EQ(added.action, Action::kReload);
  EXPECT_EQ(added.reasons, std::vector<std::string>{fmt::format("listener added p{0} (tenant/db{0}:3306)", q)});
  table = status();
  EXPECT_EQ(table.master.reloads, 1);
  EXPECT_NE(table.current_worker(), worker);
  EXPECT_EQ(served_by(p), "b");
  EXPECT_EQ(served_by(q), "c");
  auto running = worker_state();
  auto live_s2 = slot_state(running, p, "s2");
  ASSERT_TRUE(live_s2);
  EXPECT_EQ(live_s2->address, "127.0.0.3");
  EXPECT_EQ(live_s2->port, b_.echo.port());
  EXPECT_FALSE(live_s2->in_maintenance());
  auto live_s1 = slot_state(running, p, "s1");
  ASSERT_TRUE(live_s1);
  EXPECT_TRUE(live_s1->in_maintenance());
  auto saved_s2 = slot_state(state_on_disk(), p, "s2");
  ASSERT_TRUE(saved_s2);
  EXPECT_EQ(saved_s2->port, b_.echo.port());
  EXPECT_TRUE(contains(file_text(config_file()), fmt::format("server s2 127.0.0.3:{} check\n", b_.echo.port())));
}

TEST_F(DriverTest, MoreServersThanSlotsReloadWithTheBackendGrown) {
  const auto ports = free_ports(1);
  ASSERT_EQ(ports.size(), 1u);
  const int p = ports[0];
  auto driver = make_driver();
  auto started = apply(*driver, routed_model({db_listener(p, {a_.server()})}));
  ASSERT_TRUE(started.ok()) << why(started);
  ASSERT_EQ(driver->current()->slots.backends.at(p).size(), 2u);

  cli_.clear();
  auto grown = apply(*driver, routed_model({db_listener(p, {a_.server(), b_.server(), c_.server()})}));
  ASSERT_TRUE(grown.ok()) << why(grown);
  EXPECT_EQ(grown.action, Action::kReload);
  EXPECT_EQ(grown.reasons,
            std::vector<std::string>{fmt::format("p{0} (tenant/db{0}:3306) needs 3 server slots, has 2", p)});
  EXPECT_EQ(grown.runtime_commands, 0u);
  ASSERT_TRUE(driver->current());
  EXPECT_EQ(driver->current()->slots.backends.at(p).size(), 6u);
  const auto master_commands = cli_.master_commands();
  EXPECT_EQ(std::count(master_commands.begin(), master_commands.end(), "reload"), 1);
  for (const auto& command : cli_.worker_commands()) EXPECT_TRUE(command.ends_with(" show servers state")) << command;
  EXPECT_TRUE(contains(file_text(config_file()), "server s6 127.0.0.1:1 disabled check\n"));
  EXPECT_EQ(status().master.reloads, 1);
  std::set<std::string> reached;
  for (int i = 0; i < 6; ++i) reached.insert(served_by(p));
  EXPECT_EQ(reached, (std::set<std::string>{"a", "b", "c"}));
}

TEST_F(DriverTest, AListenerOnAPortAnotherProcessHoldsIsLeftOutUntilThePortIsFree) {
  const auto ports = free_ports(3);
  ASSERT_EQ(ports.size(), 3u);
  const int p = ports[0], q = ports[1], busy = ports[2];
  auto driver = make_driver();
  auto started = apply(*driver, routed_model({db_listener(p, {a_.server()})}));
  ASSERT_TRUE(started.ok()) << why(started);

  auto holder = std::make_unique<PortHolder>(busy);
  ASSERT_TRUE(holder->ok());
  const Model desired = routed_model({db_listener(p, {a_.server()}), db_listener(q, {b_.server()}), db_listener(busy, {c_.server()})});
  auto partial = apply(*driver, desired);
  ASSERT_TRUE(partial.ok()) << why(partial);
  EXPECT_EQ(partial.action, Action::kReload);
  EXPECT_EQ(partial.unavailable,
            (std::map<int, std::string>{{busy, fmt::format("127.0.0.1:{}: Address already in use", busy)}}));
  EXPECT_TRUE(partial.rejected.empty());
  EXPECT_EQ(partial.reasons, std::vector<std::string>{fmt::format("listener added p{0} (tenant/db{0}:3306)", q)});
  EXPECT_EQ(served_by(p), "a");
  EXPECT_EQ(served_by(q), "b");
  ASSERT_TRUE(driver->current());
  EXPECT_FALSE(driver->current()->model.listeners.contains(busy));
  EXPECT_FALSE(contains(file_text(config_file()), fmt::format("frontend p{}\n", busy)));
  EXPECT_EQ(driver->stats().failed_reloads, 0u);
  ProcessTable table = status();
  EXPECT_EQ(table.master.reloads, 1);
  EXPECT_EQ(table.failed_reloads, 0);
  EXPECT_TRUE(driver->needs_reload(global(), desired));

  holder.reset();
  auto complete = apply(*driver, desired);
  ASSERT_TRUE(complete.ok()) << why(complete);
  EXPECT_EQ(complete.action, Action::kReload);
  EXPECT_TRUE(complete.unavailable.empty());
  EXPECT_EQ(complete.reasons, std::vector<std::string>{fmt::format("listener added p{0} (tenant/db{0}:3306)", busy)});
  EXPECT_EQ(served_by(busy), "c");
  EXPECT_EQ(served_by(q), "b");
  EXPECT_EQ(driver->stats().failed_reloads, 0u);
  EXPECT_EQ(status().master.reloads, 2);
}

TEST_F(DriverTest, AStartLeavesOutAPortAnotherProcessHolds) {
  const auto ports = free_ports(2);
  ASSERT_EQ(ports.size(), 2u);
  const int p = ports[0], busy = ports[1];
  PortHolder holder(busy);
  ASSERT_TRUE(holder.ok());
  auto driver = make_driver();
  auto started = apply(*driver, routed_model({db_listener(p, {a_.server()}), db_listener(busy, {b_.server()})}));
  ASSERT_TRUE(started.ok()) << why(started);
  EXPECT_EQ(started.action, Action::kStart);
  EXPECT_EQ(started.unavailable,
            (std::map<int, std::string>{{busy, fmt::format("127.0.0.1:{}: Address already in use", busy)}}));
  EXPECT_EQ(served_by(p), "a");
  EXPECT_EQ(driver->stats().failed_reloads, 0u);
}

TEST_F(DriverTest, AListenerHaproxyRejectsIsLeftOutAndTheRestIsApplied) {
  const auto ports = free_ports(2);
  ASSERT_EQ(ports.size(), 2u);
  const int p = ports[0], q = ports[1];
  const ConfigRenderer picky = picky_renderer();
  auto driver = make_driver(picky, cli_);
  auto started = apply(*driver, routed_model({db_listener(p, {a_.server()})}));
  ASSERT_TRUE(started.ok()) << why(started);
  const int worker = status().current_worker().value_or(0);

  // q's maxconn makes HAProxy refuse its frontend; p's move to b is applied all the same.
  cli_.clear();
  auto applied = apply(*driver, routed_model({db_listener(p, {b_.server()}), db_listener(q, {c_.server()}, {.maxconn = 10})}));
  ASSERT_TRUE(applied.ok()) << why(applied);
  ASSERT_EQ(applied.rejected.size(), 1u);
  ASSERT_TRUE(applied.rejected.contains(q));
  // HAProxy's complaint about the line only (a Service's Event quotes it), not its summary lines.
  const std::string& complaint = applied.rejected.at(q);
  EXPECT_TRUE(complaint.starts_with("parsing [")) << complaint;
  EXPECT_TRUE(contains(complaint, "unknown keyword 'berth_test_listener_keyword' in 'frontend' section")) << complaint;
  EXPECT_FALSE(contains(complaint, "Fatal errors")) << complaint;
  EXPECT_TRUE(applied.unavailable.empty());
  EXPECT_EQ(applied.action, Action::kRuntime);
  EXPECT_EQ(cli_.worker_commands().size(), 4u);  // the three `set server` commands and the dump
  EXPECT_EQ(served_by(p), "b");
  EXPECT_TRUE(served_by(q).starts_with("error: ")) << served_by(q);
  const auto rejected_file = sibling(config_file(), ".rejected");
  ASSERT_TRUE(std::filesystem::exists(rejected_file));
  EXPECT_TRUE(contains(file_text(rejected_file), "berth_test_listener_keyword"));
  EXPECT_FALSE(contains(file_text(config_file()), "berth_test_listener_keyword"));
  EXPECT_FALSE(std::filesystem::exists(sibling(config_file(), ".candidate")));
  EXPECT_EQ(driver->stats().rejected_configs, 1u);
  EXPECT_EQ(driver->stats().failed_reloads, 0u);
  ProcessTable table = status();
  EXPECT_EQ(table.master.reloads, 0);
  EXPECT_EQ(table.current_worker(), worker);
  ASSERT_TRUE(driver->current());
  EXPECT_EQ(driver->current()->model, routed_model({db_listener(p, {b_.server()})}));
}

TEST_F(DriverTest, OnlyTheListenerHaproxyNamesIsRejectedNotOneAddedBesideIt) {
  const auto ports = free_ports(3);
  ASSERT_EQ(ports.size(), 3u);
  const int p = ports[0], q = ports[1], r = ports[2];
  const ConfigRenderer picky = picky_renderer();
  auto driver = make_driver(picky, cli_);
  ASSERT_TRUE(apply(*driver, routed_model({db_listener(p, {a_.server()})})).ok());

  // q and r arrive in the same apply; only q's section has the line HAProxy refuses.
  auto applied = apply(*driver, routed_model({db_listener(p, {a_.server()}), db_listener(q, {b_.server()}, {.maxconn = 10}),
                                       db_listener(r, {c_.server()})}));
  ASSERT_TRUE(applied.ok()) << why(applied);
  EXPECT_EQ(applied.action, Action::kReload);
  ASSERT_EQ(applied.rejected.size(), 1u);
  EXPECT_TRUE(applied.rejected.contains(q));
  EXPECT_EQ(served_by(r), "c");
  EXPECT_EQ(served_by(p), "a");
  // The refused listener is not offered to HAProxy again while it stays the same.
  const auto checks = driver->stats().rejected_configs;
  auto again = apply(*driver, routed_model({db_listener(p, {a_.server()}), db_listener(q, {b_.server()}, {.maxconn = 10}),
                                     db_listener(r, {c_.server()})}));
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(again.action, Action::kNone);
  EXPECT_TRUE(again.rejected.contains(q)) << "still reported";
  EXPECT_EQ(driver->stats().rejected_configs, checks);
  // Fixed, it is served.
  auto fixed = apply(*driver, routed_model({db_listener(p, {a_.server()}), db_listener(q, {b_.server()}), db_listener(r, {c_.server()})}));
  ASSERT_TRUE(fixed.ok()) << why(fixed);
  EXPECT_TRUE(fixed.rejected.empty());
  EXPECT_EQ(served_by(q), "b");
}

TEST_F(DriverTest, AConfigRejectedWhateverIsLeftOutChangesNothing) {
  const auto ports = free_ports(2);
  ASSERT_EQ(ports.size(), 2u);
  const int p = ports[0], q = ports[1];
  const ConfigRenderer picky = picky_renderer();
  auto driver = make_driver(picky, cli_);
  const Model running = routed_model({db_listener(p, {a_.server()})});
  auto started = apply(*driver, running);
  ASSERT_TRUE(started.ok()) << why(started);
  const std::string config_before = file_text(config_file());
  const std::string applied_before = file_text(sibling(config_file(), ".applied"));
  const auto current_before = driver->current();

  // mworker-max-reloads breaks the global section: leaving out the new listener q cannot help.
  GlobalSettings broken = global();
  broken.max_old_workers = 3;
  auto refused = apply(*driver, routed_model({db_listener(p, {a_.server()}), db_listener(q, {b_.server()})}), broken);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error->code, ErrorCode::kInvalid) << refused.error->describe();
  EXPECT_TRUE(contains(refused.error->message, "berth_test_global_keyword")) << refused.error->message;
  EXPECT_EQ(refused.action, Action::kNone);
  // q is not to blame: the config was refused without it too.
  EXPECT_TRUE(refused.rejected.empty()) << refused.rejected.begin()->second;
  EXPECT_EQ(served_by(p), "a");
  EXPECT_EQ(file_text(config_file()), config_before);
  EXPECT_EQ(file_text(sibling(config_file(), ".applied")), applied_before);
  EXPECT_TRUE(contains(file_text(sibling(config_file(), ".rejected")), "berth_test_global_keyword"));
  // Checked once: HAProxy named a line of the global section, so no listener is to blame.
  EXPECT_EQ(driver->stats().rejected_configs, 1u);
  EXPECT_EQ(status().master.reloads, 0);
  EXPECT_EQ(driver->current(), current_before);
  EXPECT_TRUE(driver->needs_reload(broken, running));
}

TEST_F(DriverTest, ASecondDriverAdoptsTheRunningMasterWithoutAReload) {
  const auto ports = free_ports(1);
  ASSERT_EQ(ports.size(), 1u);
  const int p = ports[0];
  auto first = make_driver();
  ASSERT_TRUE(apply(*first, routed_model({db_listener(p, {a_.server()})})).ok()) << env_.log();
  // b in s2 and s1 empty: only reading the slots back tells the second driver so.
  const Model desired = routed_model({db_listener(p, {b_.server()})});
  auto moved = apply(*first, desired);
  ASSERT_TRUE(moved.ok()) << why(moved);
  ASSERT_EQ(moved.action, Action::kRuntime);
  const ProcessTable before = status();
  const int worker = before.current_worker().value_or(0);

  RecordingCli second_cli(env_.cli);
  auto second = make_driver(renderer_, second_cli);
  auto adopted = apply(*second, desired);
  ASSERT_TRUE(adopted.ok()) << why(adopted);
  EXPECT_EQ(adopted.action, Action::kNone);
  EXPECT_EQ(second->stats().adoptions, 1u);
  EXPECT_EQ(second->stats().starts, 0u);
  EXPECT_EQ(second->stats().reloads, 0u);
  EXPECT_EQ(second_cli.worker_commands(), std::vector<std::string>{fmt::format("@!{} show servers state", worker)});
  for (const auto& command : second_cli.master_commands()) EXPECT_EQ(command, "show proc");
  const ProcessTable after = status();
  EXPECT_EQ(after.master.pid, before.master.pid);
  EXPECT_EQ(after.master.reloads, before.master.reloads);
  EXPECT_EQ(after.current_worker(), worker);
  ASSERT_TRUE(second->current());
  EXPECT_EQ(*second->current(), *first->current());
  EXPECT_EQ(served_by(p), "b");

  // From the slots it read back, a server change is again runtime commands: a takes the empty
  // s1, b leaves s2 (commands go in slot order).
  second_cli.clear();
  auto back = apply(*second, routed_model({db_listener(p, {a_.server()})}));
  ASSERT_TRUE(back.ok()) << why(back);
  EXPECT_EQ(back.action, Action::kRuntime);
  EXPECT_EQ(second_cli.worker_commands(),
            (std::vector<std::string>{
                fmt::format("@!{} set server p{}/s1 addr 127.0.0.2 port {}", worker, p, a_.echo.port()),
                fmt::format("@!{} set server p{}/s1 state ready", worker, p),
                fmt::format("@!{} set server p{}/s2 state maint", worker, p),
                fmt::format("@!{} show servers state", worker),
            }));
  EXPECT_EQ(served_by(p), "a");
  EXPECT_EQ(status().master.reloads, 0);
}

TEST_F(DriverTest, AnAdoptingDriverReloadsForADifferentModel) {
  const auto ports = free_ports(2);
  ASSERT_EQ(ports.size(), 2u);
  const int p = ports[0], q = ports[1];
  auto first = make_driver();
  ASSERT_TRUE(apply(*first, routed_model({db_listener(p, {a_.server()})})).ok()) << env_.log();
  const int worker = status().current_worker().value_or(0);

  RecordingCli second_cli(env_.cli);
  auto second = make_driver(renderer_, second_cli);
  auto adopted = apply(*second, routed_model({db_listener(p, {a_.server()}), db_listener(q, {b_.server()})}));
  ASSERT_TRUE(adopted.ok()) << why(adopted);
  EXPECT_EQ(adopted.action, Action::kReload);
  EXPECT_EQ(adopted.reasons, std::vector<std::string>{fmt::format("listener added p{0} (tenant/db{0}:3306)", q)});
  EXPECT_EQ(second->stats().adoptions, 1u);
  EXPECT_EQ(second->stats().starts, 0u);
  EXPECT_EQ(second->stats().reloads, 1u);
  const ProcessTable table = status();
  EXPECT_EQ(table.master.reloads, 1);
  EXPECT_NE(table.current_worker(), worker);
  EXPECT_EQ(served_by(p), "a");
  EXPECT_EQ(served_by(q), "b");
}

TEST_F(DriverTest, AnAdoptingDriverReloadsAConfigThatWasNeverConfirmed) {
  const auto ports = free_ports(1);
  ASSERT_EQ(ports.size(), 1u);
  const int p = ports[0];
  const Model desired = routed_model({db_listener(p, {a_.server()})});
  auto first = make_driver();
  ASSERT_TRUE(apply(*first, desired).ok()) << env_.log();
  // As if berth had died between renaming haproxy.cfg and confirming the reload.
  ASSERT_TRUE(std::filesystem::remove(sibling(config_file(), ".applied")));

  auto second = make_driver();
  auto adopted = apply(*second, desired);
  ASSERT_TRUE(adopted.ok()) << why(adopted);
  EXPECT_EQ(adopted.action, Action::kReload);
  EXPECT_EQ(adopted.reasons, std::vector<std::string>{"the running config is not one berth confirmed"});
  EXPECT_EQ(second->stats().adoptions, 1u);
  EXPECT_EQ(status().master.reloads, 1);
  EXPECT_TRUE(std::filesystem::exists(sibling(config_file(), ".applied")));
  EXPECT_EQ(served_by(p), "a");
}

TEST_F(DriverTest, AKilledMasterIsNoticedAndStartedAgain) {
  const auto ports = free_ports(1);
  ASSERT_EQ(ports.size(), 1u);
  const int p = ports[0];
  const Model desired = routed_model({db_listener(p, {a_.server()})});
  auto driver = make_driver();
  const auto killed = start_then_kill_master(*driver, desired);
  ASSERT_TRUE(killed);
  const ProcessTable& before = *killed;

  auto polled = driver->poll();
  EXPECT_FALSE(polled);
  EXPECT_FALSE(driver->current());
  EXPECT_EQ(driver->stats().restarts, 1u);
  EXPECT_TRUE(driver->needs_reload(global(), desired));

  auto restarted = apply(*driver, desired);
  ASSERT_TRUE(restarted.ok()) << why(restarted);
  EXPECT_EQ(restarted.action, Action::kStart);
  EXPECT_TRUE(restarted.unavailable.empty()) << restarted.unavailable.begin()->second;
  EXPECT_EQ(driver->stats().starts, 2u);
  EXPECT_EQ(driver->stats().restarts, 1u);
  const ProcessTable after = status();
  EXPECT_NE(after.master.pid, before.master.pid);
  EXPECT_EQ(served_by(p), "a");
}

// A master that does not answer while its process still runs is slow, not dead: starting a
// second one beside it would split the host ports between two processes (it happened under
// ASan load, when a re-exec took longer than the few polls a reload usually needs).
TEST_F(DriverTest, ASilentMasterWhoseProcessRunsIsWaitedForNotReplaced) {
  const auto ports = free_ports(1);
  ASSERT_EQ(ports.size(), 1u);
  const int p = ports[0];
  const Model desired = routed_model({db_listener(p, {a_.server()})});
  auto driver = make_driver();
  ASSERT_TRUE(apply(*driver, desired).ok());
  const ProcessTable before = status();

  silenceable_.silence_master(true);
  EXPECT_FALSE(driver->poll());
  auto waited = apply(*driver, routed_model({db_listener(p, {a_.server(), b_.server()})}));
  silenceable_.silence_master(false);
  ASSERT_FALSE(waited.ok());
  EXPECT_NE(waited.error->message.find("still runs"), std::string::npos) << waited.error->describe();
  EXPECT_EQ(driver->stats().restarts, 0u);
  EXPECT_EQ(driver->stats().starts, 1u);

  auto answered = apply(*driver, desired);
  ASSERT_TRUE(answered.ok()) << why(answered);
  EXPECT_EQ(answered.action, Action::kNone);
  EXPECT_EQ(driver->stats().starts, 1u);
  EXPECT_EQ(status().master.pid, before.master.pid);
  EXPECT_EQ(served_by(p), "a");
}

// deploy/'s haproxy container: the kubelet restarts a dead master with the config berth last
// confirmed, and the Driver may have noticed the death before. The new master's ports are its
// own: the Driver adopts it instead of reporting them held by another process (which would
// move every Service to another host port).
TEST_F(DriverTest, AMasterStartedByOthersAfterADeathIsAdoptedNotTakenForAPortHolder) {
  const auto ports = free_ports(1);
  ASSERT_EQ(ports.size(), 1u);
  const int p = ports[0];
  const Model desired = routed_model({db_listener(p, {a_.server()})});
  auto driver = make_driver();
  ASSERT_TRUE(start_then_kill_master(*driver, desired));
  EXPECT_FALSE(driver->poll());

  // Someone else starts a master on the same files; its worker binds p once it is listed.
  auto restarted = env_.master.start(30s, {});
  env_.guard.watch(restarted);
  ASSERT_TRUE(restarted) << restarted.error().describe() << "\n" << env_.log();
  ASSERT_EQ(served_by(p), "a");

  cli_.clear();
  auto adopted = apply(*driver, desired);
  ASSERT_TRUE(adopted.ok()) << why(adopted);
  EXPECT_TRUE(adopted.unavailable.empty()) << adopted.unavailable.begin()->second;
  EXPECT_EQ(adopted.action, Action::kNone);
  EXPECT_EQ(driver->stats().adoptions, 1u);
  EXPECT_EQ(driver->stats().starts, 1u);
  const ProcessTable after = status();
  EXPECT_EQ(after.master.pid, restarted->master.pid);
  EXPECT_EQ(after.master.reloads, 0);
  EXPECT_EQ(served_by(p), "a");
}

TEST_F(DriverTest, AHeldConnectionSurvivesARuntimeRemovalOfItsServerAndAReload) {
  const auto ports = free_ports(2);
  ASSERT_EQ(ports.size(), 2u);
  const int p = ports[0], q = ports[1];
  auto driver = make_driver();
  ASSERT_TRUE(apply(*driver, routed_model({db_listener(p, {a_.server()})})).ok()) << env_.log();
  const int first_worker = status().current_worker().value_or(0);
  auto held = testing::TcpClient::connect("127.0.0.1", p, kIo);
  ASSERT_TRUE(held) << held.error().describe();
  ASSERT_EQ((*held)->read_line(kIo).value_or("(none)"), "a");
  ASSERT_TRUE((*held)->round_trip("before", kIo));

  // Its server leaves the backend: `state maint` on the worker that carries the connection.
  cli_.clear();
  auto moved = apply(*driver, routed_model({db_listener(p, {b_.server()})}));
  ASSERT_TRUE(moved.ok()) << why(moved);
  ASSERT_EQ(moved.action, Action::kRuntime);
  ASSERT_FALSE(cli_.worker_commands().empty());
  EXPECT_EQ(cli_.worker_commands().front(), fmt::format("@!{} set server p{}/s1 state maint", first_worker, p));
  EXPECT_TRUE((*held)->round_trip("after maint", kIo));
  EXPECT_EQ(served_by(p), "b");

  // A reload for a new listener: the connection stays with the old worker, which drains.
  auto added = apply(*driver, routed_model({db_listener(p, {b_.server()}), db_listener(q, {c_.server()})}));
  ASSERT_TRUE(added.ok()) << why(added);
  ASSERT_EQ(added.action, Action::kReload);
  const ProcessTable table = status();
  EXPECT_NE(table.current_worker(), first_worker);
  EXPECT_EQ(table.old_workers(), std::vector<int>{first_worker});
  EXPECT_EQ(driver->stats().old_workers, 1u);
  EXPECT_TRUE((*held)->round_trip("after reload", kIo));
  EXPECT_EQ(served_by(p), "b");
  EXPECT_EQ(served_by(q), "c");
}

}  // namespace
}  // namespace berth::haproxy
