#include "haproxy/range/range_driver.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "common/atomic_file.h"
#include "common/log.h"
#include "haproxy/apply_steps.h"
#include "haproxy/map_entries.h"
#include "haproxy/port_probe.h"
#include "haproxy/runtime_stats.h"
#include "haproxy/servers_state.h"
#include "haproxy/update_plan.h"
#include "haproxy/range/range_config.h"
#include "haproxy/range/range_files.h"
#include "haproxy/range/range_plan.h"
#include "haproxy/range/running_state.h"

namespace berth::haproxy {
namespace {

std::set<int> ports_of(const std::vector<PortSpan>& spans) {
  std::set<int> ports;
  for (const auto& span : spans) {
    for (int port = span.first; port <= span.last; ++port) ports.insert(port);
  }
  return ports;
}

// apply()'s hold on the state ends with it, however it ends; reload() may have let go of the
// lock and taken it again meanwhile.
struct UnlockAtEnd {
  std::unique_lock<std::mutex>& lock;
  ~UnlockAtEnd() {
    if (lock.owns_lock()) lock.unlock();
  }
};

}  // namespace

RangeDriver::RangeDriver(RangeDriverSettings settings, MasterCli& cli, Clock& clock)
    : settings_(std::move(settings)),
      files_(RangeFiles::in(settings_.paths.config.parent_path())),
      cli_(cli),
      clock_(clock),
      master_(settings_.paths, cli_, clock_),
      log_(logger("haproxy")),
      files_writer_(files_, settings_.paths.config, [this] { return files_snapshot(); }, log_) {}

DriverStats RangeDriver::stats() const {
  return {.starts = starts_.load(),
          .restarts = restarts_.load(),
          .adoptions = adoptions_.load(),
          .reloads = reloads_.load(),
          .failed_reloads = failed_reloads_.load(),
          .rejected_configs = rejected_configs_.load(),
          .runtime_updates = runtime_updates_.load(),
          .old_workers = old_workers_.load()};
}

Result<ProcessTable> RangeDriver::poll() {
  constexpr int kTries = 5;  // the master refuses connections for a few ms while it re-executes
  auto table = master_.status();
  for (int i = 1; i < kTries && !table && running_; ++i) {
    clock_.sleep_for(std::chrono::milliseconds(20), {});
    table = master_.status();
  }
  if (!table) {
    if (running_ && master_.taken_for_dead(kMasterPatience)) {
      log_->warn("haproxy master stopped answering: {}; it will be started again", table.error().describe());
      running_ = false;
      current_.reset();
      // own_ports_ stays: a master that is only slow to answer (a loaded host) still holds them,
      // and taking them for another process's would split every Service out of the binds.
      restarts_.fetch_add(1);
    }
    return table;
  }
  old_workers_.store(table->old_workers().size());
  return table;
}

Result<int> RangeDriver::current_worker() {
  auto table = poll();
  if (!table) return std::unexpected(table.error());
  auto worker = table->current_worker();
  if (!worker) return make_error(ErrorCode::kInvalid, "haproxy master lists no worker");
  return *worker;
}

Result<std::vector<std::string>> RangeDriver::to_current_worker(const std::vector<std::string>& commands) {
  auto worker = current_worker();
  if (!worker) return std::unexpected(worker.error());
  return cli_.to_worker(*worker, commands);
}

void RangeDriver::attach(const GlobalSettings& global, const Model& desired) {
  attached_ = true;
  auto table = master_.status();
  if (!table) {
    log_->info("no haproxy master answers on {}; one will be started", settings_.paths.master_socket.string());
    return;
  }
  running_ = true;
  adoptions_.fetch_add(1);
  old_workers_.store(table->old_workers().size());
  auto disk = read_whole_file(settings_.paths.config);
  // The ports its config binds are its own, not another process's.
  if (disk) own_ports_ = bound_ports_of_config(*disk);
  auto adopted = adopt_state(global, desired, table->current_worker(), disk);
  if (adopted) {
    log_->info("adopted haproxy master pid={} with {} routes and {} backends: its state is current, no reload",
               table->master.pid, current_->routes.size(), current_->layout.backends.size());
  } else {
    log_->info("adopted haproxy master pid={} binding {} ports; it will be reloaded: {}", table->master.pid,
               own_ports_.size(), adopted.error().message);
  }
}

Result<void> RangeDriver::adopt_state(const GlobalSettings& global, const Model& desired, std::optional<int> worker,
                                      const Result<std::string>& disk) {
  auto applied = read_whole_file(sibling(settings_.paths.config, ".applied"));
  if (!disk || !applied || config_hash(*disk) != *applied) {
    return make_error(ErrorCode::kInvalid, "its config is not one berth confirmed");
  }
  if (!worker) return make_error(ErrorCode::kInvalid, "it lists no worker");
  const std::vector<std::string> commands{"show map " + files_.ports_map.string(),
                                          "show map " + files_.services_map.string(),
                                          "show map " + files_.maxconn_map.string(), "show servers state"};
  auto answers = cli_.to_worker(*worker, commands);
  if (!answers) return std::unexpected(answers.error());
  if (answers->size() != commands.size()) return make_error(ErrorCode::kInvalid, "short answer");
  std::map<std::string, BackendKind> kinds{{kind_id(kind_of(BackendOptions{})), kind_of(BackendOptions{})}};
  for (const auto& [port, listener] : desired.listeners) kinds[kind_id(kind_of(listener.options))] = kind_of(listener.options);
  auto rebuilt = rebuild_range_state(
      RunningRangeAnswers{.config_text = *disk,
                          .ports_map = (*answers)[0],
                          .services_map = (*answers)[1],
                          .maxconn_map = (*answers)[2],
                          .servers_state = (*answers)[3]},
      kinds, [&](const std::string& backend) -> std::optional<std::string> {
        auto text = read_whole_file(files_.acl_file(backend));
        return text ? std::optional<std::string>(std::move(*text)) : std::nullopt;
      });
  if (!rebuilt) return std::unexpected(rebuilt.error());
  if (const std::string rendered = render_range_config(global, *rebuilt, files_); rendered != *disk) {
    return make_error(ErrorCode::kInvalid, fmt::format("what it runs does not render its config on disk (at {})",
                                                       first_difference(rendered, *disk)));
  }
  current_ = std::move(*rebuilt);
  current_global_ = global;
  known_worker_ = *worker;
  own_ports_ = ports_of(current_->layout.binds);
  // The state file keeps every server's health, as the dump after a runtime change would.
  state_lines_.clear();
  for_each_server_state((*answers)[3], [&](const ServerState& line) {
    state_lines_[line.backend].append(line.line).push_back('\n');
  }, &state_header_);
  return {};
}

void RangeDriver::release_drained() {
  if (!running_ || !current_ || current_->draining.empty()) return;
  std::vector<std::string> names(current_->draining.begin(), current_->draining.end());
  std::vector<std::string> commands;
  for (const auto& name : names) commands.push_back(fmt::format("show stat {} 2 -1", name));
  auto answers = to_current_worker(commands);
  if (!answers) return;  // tried again at the next apply
  for (std::size_t i = 0; i < names.size() && i < answers->size(); ++i) {
    auto rows = parse_show_stat((*answers)[i]);
    if (!rows) continue;
    const bool idle = std::ranges::all_of(*rows, [](const StatRow& row) { return row.sessions == 0; });
    if (idle && !rows->empty()) current_->draining.erase(names[i]);
  }
}

Result<std::set<int>> RangeDriver::busy_pool_ports(const GlobalSettings& global) {
  std::vector<int> probe;
  for (int port : ports_of(settings_.pool)) {
    if (!own_ports_.contains(port)) probe.push_back(port);
  }
  auto conflicts = ports_in_use(global.bind_addresses, probe);
  if (!conflicts) return std::unexpected(conflicts.error());
  std::set<int> busy;
  for (const auto& conflict : *conflicts) busy.insert(conflict.port);
  return busy;
}

Result<void> RangeDriver::dump_server_state(const std::set<std::string>& backends) {
  if (current_global_.server_state_file.empty() || backends.empty()) return {};
  std::vector<std::string> commands;
  for (const auto& name : backends) commands.push_back("show servers state " + name);
  auto answers = to_current_worker(commands);
  if (!answers) return std::unexpected(answers.error());
  for (const auto& answer : *answers) {
    std::map<std::string, std::string> lines;
    auto ok = for_each_server_state(answer, [&](const ServerState& line) {
      lines[line.backend].append(line.line).push_back('\n');
    }, &state_header_);
    if (!ok) return ok;
    for (auto& [backend, text] : lines) state_lines_[backend] = std::move(text);
  }
  return {};
}

std::optional<RangeFilesSnapshot> RangeDriver::files_snapshot() {
  std::lock_guard lock(state_mu_);
  if (!running_ || !current_) return std::nullopt;  // nothing runs whose files to keep
  RangeFilesSnapshot snapshot{.global = current_global_, .state = *current_, .acl_backends = {}, .server_state = {}};
  snapshot.acl_backends.swap(unwritten_acls_);
  if (!current_global_.server_state_file.empty() && !state_lines_.empty()) snapshot.server_state = server_state_text();
  return snapshot;
}

std::string RangeDriver::server_state_text() const {
  std::string all;
  for (const auto& [backend, text] : state_lines_) all += text;
  return state_file_text(state_header_, all);
}

// Before a reload: the running worker's state of the slots that keep their server and kind, so
// their health carries over and no line overrides a server the new config sets.
Result<void> RangeDriver::write_filtered_server_state(const GlobalSettings& global, const RangeState& next) {
  state_lines_.clear();
  if (global.server_state_file.empty()) return {};
  std::map<std::string, const Route*> route_of;
  for (const auto& [port, route] : next.routes) route_of[route.backend] = &route;
  if (running_ && current_) {
    auto answers = to_current_worker({"show servers state"});
    if (!answers) return std::unexpected(answers.error());
    auto ok = for_each_server_state(answers->empty() ? std::string_view() : std::string_view(answers->front()),
                                    [&](const ServerState& line) {
      auto route = route_of.find(line.backend);
      auto slot = slot_index_of(line.server);
      if (route == route_of.end() || !slot || *slot >= route->second->slots.size()) return;
      const auto& server = route->second->slots[*slot];
      auto before = current_->layout.backends.find(line.backend);
      auto address = IpAddress::parse(line.address);
      if (!server || !address || server->address != *address || server->port != line.port) return;
      if (before == current_->layout.backends.end() || before->second != next.layout.backends.at(line.backend)) return;
      state_lines_[line.backend].append(line.line).push_back('\n');
    }, &state_header_);
    if (!ok) return ok;
  }
  return write_file_atomically(global.server_state_file, server_state_text(), 0600);
}

// After a reload or start: HAProxy loaded the maps and the config berth wrote, so this normally
// finds nothing; whatever differs (a file written by someone else, a command lost) is set right.
void RangeDriver::reconcile(int worker) {
  if (!current_) return;
  std::vector<std::string> commands{"show map " + files_.ports_map.string(), "show servers state",
                                    "show map " + files_.maxconn_map.string(),
                                    "show map " + files_.services_map.string()};
  auto answers = cli_.to_worker(worker, commands);
  if (!answers || answers->size() < commands.size()) {
    log_->warn("cannot read back the new worker's routes: {}", answers ? "short answer" : answers.error().describe());
    return;
  }
  std::vector<std::string> fixes;
  const auto routed = parse_show_map((*answers)[0]);
  for (const auto& [port, backend] : routed) {
    auto it = current_->routes.find(port);
    if (it == current_->routes.end()) {
      fixes.push_back(fmt::format("del map {} {}", files_.ports_map.string(), port));
    } else if (it->second.backend != backend) {
      fixes.push_back(fmt::format("set map {} {} {}", files_.ports_map.string(), port, it->second.backend));
    }
  }
  // The limits and the Service labels, before any port is mapped back below.
  auto set_map_right = [&](const std::filesystem::path& map, const std::string& answer, auto wanted_of) {
    const auto running = parse_show_map(answer);
    for (const auto& [port, value] : running) {
      auto it = current_->routes.find(port);
      const std::string wanted = it == current_->routes.end() ? std::string() : wanted_of(it->second);
      if (wanted.empty()) {
        fixes.push_back(fmt::format("del map {} {}", map.string(), port));
      } else if (wanted != value) {
        fixes.push_back(fmt::format("set map {} {} {}", map.string(), port, wanted));
      }
    }
    for (const auto& [port, route] : current_->routes) {
      const std::string wanted = wanted_of(route);
      if (!wanted.empty() && !running.contains(port)) fixes.push_back(fmt::format("add map {} {} {}", map.string(), port, wanted));
    }
  };
  set_map_right(files_.maxconn_map, (*answers)[2],
                [](const Route& route) { return route.maxconn > 0 ? std::to_string(route.maxconn) : std::string(); });
  set_map_right(files_.services_map, (*answers)[3], [](const Route& route) { return service_label(route.service); });
  std::map<std::string, Slots> running;
  for_each_server_state((*answers)[1], [&](const ServerState& line) {
    auto slot = slot_index_of(line.server);
    if (!slot) return;
    Slots& slots = running[line.backend];
    if (slots.size() <= *slot) slots.resize(*slot + 1);
    auto address = IpAddress::parse(line.address);
    // A slot the config disabled and nobody made ready is in forced maintenance (admin state 5).
    if (!line.in_maintenance() && address) slots[*slot] = Server{*address, line.port};
  });
  for (const auto& [port, route] : current_->routes) {
    auto have = running[route.backend];
    have.resize(route.slots.size());
    for (auto& text : slot_commands(route.backend, have, route.slots)) fixes.push_back(std::move(text));
    if (!routed.contains(port)) fixes.push_back(fmt::format("add map {} {} {}", files_.ports_map.string(), port, route.backend));
  }
  if (fixes.empty()) return;
  log_->warn("the new worker differs from the state berth wrote; {} runtime commands set it right", fixes.size());
  reconciled_.fetch_add(fixes.size());
  if (auto sent = cli_.to_worker(worker, fixes); !sent) {
    log_->warn("reconciling the new worker failed: {}", sent.error().describe());
  }
}

ApplyResult RangeDriver::apply_runtime(RangePlan& plan) {
  const std::vector<std::string>& commands = plan.commands;
  const std::set<std::string>& touched = plan.touched_backends;
  ApplyResult result{.action = ApplyResult::Action::kRuntime, .runtime_commands = commands.size()};
  const Clock::time_point sent = clock_.now();
  auto answers = to_current_worker(commands);
  const Clock::time_point answered = clock_.now();
  if (!answers) {
    result.error = answers.error();
    return result;
  }
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (i >= answers->size() || !command_succeeded((*answers)[i])) {
      result.error = Error{ErrorCode::kInvalid, fmt::format("haproxy refused \"{}\": {}", commands[i],
                                                            i < answers->size() ? (*answers)[i] : "no answer")};
      return result;
    }
  }
  // The worker runs `next` now; the files follow, behind, so that a reload or restart keeps it.
  current_ = std::move(plan.next);
  published_ports_ = plan.changed_ports;
  runtime_updates_.fetch_add(1);
  unwritten_acls_.insert(touched.begin(), touched.end());
  if (auto ok = dump_server_state(touched); !ok) {
    log_->warn("runtime update applied but the server state could not be read: {}", ok.error().describe());
  }
  files_writer_.request();
  log_->debug("runtime update commands={} commands_ms={:.1f} state_ms={:.1f}", commands.size(),
              milliseconds(answered - sent), milliseconds(clock_.now() - answered));
  return result;
}

bool RangeDriver::needs_reload(const GlobalSettings& global, const Model& desired) const {
  if (!running_ || !current_ || current_global_ != global) return true;
  std::vector<int> unbound;
  for (const auto& [port, listener] : desired.listeners) {
    if (!current_->layout.binds_port(port)) unbound.push_back(port);
  }
  // A port another process still holds is left out, not bound by a reload (apply() reports it):
  // counting it would hold every runtime change back by --min-reload-interval until the
  // allocator has moved its Service.
  if (!unbound.empty()) {
    auto busy = ports_in_use(global.bind_addresses, unbound);
    if (!busy) return true;
    Model without_busy = desired;
    // A conflict per bind address: a port may be listed more than once.
    for (const auto& conflict : *busy) without_busy.listeners.erase(conflict.port);
    for (int port : unbound) {
      if (without_busy.listeners.contains(port)) return true;  // free now: a reload binds it
    }
    return plan_range_update(current_, without_busy, settings_.policy, files_).needs_reload();
  }
  return plan_range_update(current_, desired, settings_.policy, files_).needs_reload();
}

ApplyResult RangeDriver::apply(const GlobalSettings& global, const Model& desired, const ChangedPorts& changed,
                               std::stop_token stop) {
  state_lock_.lock();
  const UnlockAtEnd unlock{state_lock_};
  // What the last apply left must match its `desired` for the hint to say where this one differs.
  const std::set<int>* only = changed && in_step_ ? &*changed : nullptr;
  in_step_ = false;  // until this apply ends with every wanted port routed
  published_ports_.reset();
  const bool was_attached = attached_;
  ApplyResult result = apply_once(global, desired, only, stop);
  // Publishing only what a runtime update changed needs every earlier route published; an
  // apply that adopted a running HAProxy's state publishes it all.
  if (!was_attached) published_ports_.reset();
  publish();
  return result;
}

void RangeDriver::publish() {
  if (published_ports_) {  // a runtime update: only its ports changed
    std::lock_guard lock(published_mu_);
    for (int port : *published_ports_) {
      auto route = current_->routes.find(port);
      if (route == current_->routes.end()) {
        published_.erase(port);
      } else {
        published_.insert_or_assign(port, route->second.backend);
      }
    }
    return;
  }
  std::map<int, std::string> routes;
  if (current_) {
    for (const auto& [port, route] : current_->routes) routes.emplace(port, route.backend);
  }
  std::lock_guard lock(published_mu_);
  published_ = std::move(routes);
}

std::string RangeDriver::backend_of(int host_port) const {
  std::lock_guard lock(published_mu_);
  auto it = published_.find(host_port);
  return it == published_.end() ? std::string() : it->second;
}

ApplyResult RangeDriver::apply_once(const GlobalSettings& global, const Model& desired, const std::set<int>* only,
                                    std::stop_token stop) {
  if (!attached_) attach(global, desired);
  if (running_) {
    // A master that died is forgotten here and started again below; one that is alive but
    // silent (re-executing on a loaded host) is waited for: this apply fails and is retried.
    auto table = poll();
    if (!table && running_) {
      ApplyResult waiting;
      waiting.error = master_still_running(table.error());
      return waiting;
    }
    // A worker berth did not see start: someone else reloaded HAProxy (an operator, a restarted
    // container's master). It loaded the files, which may lag the Runtime API by the moments
    // after a change that berth spends writing them: set right what differs.
    auto worker = table ? table->current_worker() : std::nullopt;
    if (worker && current_ && *worker != known_worker_) {
      log_->info("haproxy worker {} was started by someone else; reconciling it", *worker);
      reconcile(*worker);
      known_worker_ = *worker;
    }
  }
  release_drained();

  ApplyResult result;
  std::vector<std::string> reasons;
  const Model* wanted = &desired;
  std::optional<Model> adjusted;  // desired without the ports another process holds
  if (running_ && current_) {
    std::vector<int> unbound;
    for (const auto& [port, listener] : desired.listeners) {
      if (!current_->layout.binds_port(port)) unbound.push_back(port);
    }
    if (!unbound.empty()) {
      auto busy = ports_in_use(global.bind_addresses, unbound);
      if (!busy) {
        result.error = busy.error();
        return result;
      }
      std::set<int> held;
      for (const auto& conflict : *busy) {
        result.unavailable[conflict.port] = conflict.message;
        held.insert(conflict.port);
      }
      if (!held.empty()) {
        adjusted = desired;
        for (int port : held) adjusted->listeners.erase(port);
        wanted = &*adjusted;
      }
      for (int port : unbound) {
        if (!held.contains(port)) reasons.push_back(fmt::format("host port {} is not bound", port));
      }
    }
  }
  // What runs, when berth knows it: the plan starts from there even when a reload follows, so
  // routes keep their backends (and the server state its health) across it. It is moved into
  // the plan, not copied (10,000 routes), and taken back from it unless the plan is carried out
  // at run time.
  const bool known = running_ && current_;
  if (known && current_global_ != global) reasons.push_back("global settings changed");
  if (running_ && !current_) reasons.push_back(std::string(kUnconfirmedConfigReason));
  const Clock::time_point plan_started = clock_.now();
  RangePlan plan = plan_range_update(known ? std::exchange(current_, std::nullopt) : std::nullopt, *wanted,
                                     settings_.policy, files_, only);
  log_->debug("range plan routes={} ports={} commands={} reload={} plan_ms={:.1f}", plan.next.routes.size(),
              only ? std::to_string(only->size()) : std::string("all"), plan.commands.size(), plan.needs_reload(),
              milliseconds(clock_.now() - plan_started));
  if (known && reasons.empty() && !plan.needs_reload()) {
    if (plan.empty()) {
      current_ = std::move(plan).undone();
      in_step_ = true;
      published_ports_.emplace();  // no route changed since the last apply published them all
      return result;
    }
    ApplyResult runtime = apply_runtime(plan);
    runtime.unavailable = std::move(result.unavailable);
    if (runtime.ok()) {
      in_step_ = true;
      return runtime;
    }
    // A reload renders every route, whatever the runtime state became.
    log_->warn("runtime update failed, reloading instead: {}", runtime.error->describe());
    reasons.push_back("a runtime update failed");
  }
  if (known) {
    // reload() compares with what runs and puts its files back on failure: it needs current_.
    // A reload is rare: the plan is made again, in full, from a copy.
    current_ = std::move(plan).undone();
    plan = plan_range_update(current_, *wanted, settings_.policy, files_);
  }
  for (auto& reason : plan.reload_reasons) {
    // "Nothing running" is only true when nothing runs; an adopted master has its own reason.
    if (reason != "no config is running yet" || !running_) reasons.push_back(std::move(reason));
  }
  // The new worker has no sessions in the draining backends (the old worker keeps its own).
  plan.next.draining.clear();
  return reload(global, std::move(plan.next), std::move(reasons), std::move(result), stop);
}

ApplyResult RangeDriver::reload(const GlobalSettings& global, RangeState next, std::vector<std::string> reasons,
                                ApplyResult result, std::stop_token stop) {
  // The files written behind first: then the files show current_ (what the failure paths put
  // back), and no write of it can land after this reload's. The writer takes its copy under the
  // state lock; current_ is whole here, and only this thread changes it.
  state_lock_.unlock();
  files_writer_.flush();
  state_lock_.lock();
  auto busy = busy_pool_ports(global);
  if (!busy) {
    result.error = busy.error();
    return result;
  }
  next.layout.binds = split_spans(settings_.pool, *busy);
  // A Service whose port another process holds is not routed; the allocator moves it
  // (PortUnavailable), and the port is bound at a later reload once it is free.
  for (int port : *busy) {
    auto route = next.routes.find(port);
    if (route == next.routes.end()) continue;
    result.unavailable[port] = fmt::format("host port {} is in use by another process", port);
    next.routes.erase(route);
  }
  const std::string text = render_range_config(global, next, files_);
  const auto candidate = sibling(settings_.paths.config, ".candidate");
  if (auto ok = write_file_atomically(candidate, text, 0600); !ok) {
    result.error = ok.error();
    return result;
  }
  // HAProxy reads the maps and ACL files while checking, so they are written first; if the
  // check or the reload fails they are put back to what runs.
  // Each ACL file is written (and fsynced) only when its content changes: a layout of 10,000
  // backends would otherwise cost 10,000 fsyncs a reload.
  const std::set<std::string> changed_acls = current_ ? acl_files_changed(*current_, next) : std::set<std::string>{};
  auto put_back = [&] {
    if (current_) write_range_files(files_, *current_, changed_acls, false);
  };
  if (auto ok = write_range_files(files_, next, changed_acls, !current_); !ok) {
    put_back();
    result.error = ok.error();
    return result;
  }
  if (auto checked = check_config(settings_.paths.binary, candidate, settings_.check_timeout); !checked) {
    rejected_configs_.fetch_add(1);
    std::error_code ec;
    std::filesystem::rename(candidate, sibling(settings_.paths.config, ".rejected"), ec);
    log_->warn("haproxy rejected the range config (kept as {}): {}",
               sibling(settings_.paths.config, ".rejected").string(), checked.error().message);
    put_back();
    result.error = checked.error();
    return result;
  }
  if (auto ok = write_filtered_server_state(global, next); !ok) {
    log_->warn("server state not saved before the reload (health restarts from the config): {}", ok.error().describe());
  }
  auto previous = read_whole_file(settings_.paths.config);
  std::error_code ec;
  std::filesystem::rename(candidate, settings_.paths.config, ec);
  if (ec) {
    put_back();
    result.error = Error{ErrorCode::kIo, "cannot install " + settings_.paths.config.string() + ": " + ec.message()};
    return result;
  }
  const bool starting = !running_;
  auto outcome = starting ? master_.start(settings_.reload_timeout, stop) : master_.reload(settings_.reload_timeout, stop);
  if (!outcome) {
    failed_reloads_.fetch_add(1);
    write_file_atomically(sibling(settings_.paths.config, ".rejected"), text, 0600);
    if (previous) {
      write_file_atomically(settings_.paths.config, *previous, 0600);
    } else {
      std::filesystem::remove(settings_.paths.config, ec);
    }
    put_back();
    log_->warn("haproxy {} failed: {}", starting ? "start" : "reload", outcome.error().message);
    if (outcome.error().code == ErrorCode::kAlreadyExists) attached_ = false;  // adopt it next time
    result.error = outcome.error();
    return result;
  }
  running_ = true;
  current_ = std::move(next);
  current_global_ = global;
  unwritten_acls_.clear();  // every ACL file that differs was written above
  own_ports_ = ports_of(current_->layout.binds);
  old_workers_.store(outcome->old_workers().size());
  write_file_atomically(sibling(settings_.paths.config, ".applied"), config_hash(text), 0600);
  if (starting) {
    starts_.fetch_add(1);
    result.action = ApplyResult::Action::kStart;
  } else {
    reloads_.fetch_add(1);
    result.action = ApplyResult::Action::kReload;
  }
  result.reasons = std::move(reasons);
  if (auto worker = outcome->current_worker()) {
    reconcile(*worker);
    known_worker_ = *worker;
  }
  log_->info("haproxy {} (range mode) worker={} routes={} backends={} spans={} reasons=\"{}\"",
             starting ? "started" : "reloaded", outcome->current_worker().value_or(0), current_->routes.size(),
             current_->layout.backends.size(), current_->layout.binds.size(), summarize(result.reasons));
  return result;
}

}  // namespace berth::haproxy
