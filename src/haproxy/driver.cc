#include "haproxy/driver.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/atomic_file.h"
#include "common/log.h"
#include "haproxy/apply_steps.h"
#include "haproxy/config_errors.h"
#include "haproxy/port_probe.h"
#include "haproxy/servers_state.h"
#include "haproxy/update_plan.h"

namespace berth::haproxy {
namespace {

// Attempts of one apply: each can leave out busy ports or rejected listeners and try again.
constexpr int kMaxAttempts = 4;
// How long a port found busy while no master is known gives a master that is starting to answer
// on its socket: HAProxy binds its listeners before its master CLI accepts.
constexpr std::chrono::milliseconds kMasterAppearGrace{2000};

// The slots HAProxy runs, read back from the answer to `show servers state`.
Result<SlotTable> observed_slots(std::string_view dump) {
  SlotTable table;
  auto ok = for_each_server_state(dump, [&](const ServerState& line) {
    auto port = host_port_of_proxy(line.backend);
    auto slot = slot_index_of(line.server);
    if (!port || !slot) return;  // not a backend berth renders
    Slots& slots = table.backends[*port];
    if (slots.size() <= *slot) slots.resize(*slot + 1);
    auto address = IpAddress::parse(line.address);
    if (!line.in_maintenance() && address) slots[*slot] = Server{*address, line.port};
  });
  if (!ok) return std::unexpected(ok.error());
  return table;
}

}  // namespace

std::filesystem::path sibling(const std::filesystem::path& config, std::string_view suffix) {
  auto path = config;
  path += suffix;
  return path;
}

Driver::Driver(DriverSettings settings, const ConfigRenderer& renderer, MasterCli& cli, Clock& clock)
    : settings_(std::move(settings)),
      renderer_(renderer),
      cli_(cli),
      clock_(clock),
      master_(settings_.paths, cli_, clock_),
      log_(logger("haproxy")) {}

DriverStats Driver::stats() const {
  return {.starts = starts_.load(),
          .restarts = restarts_.load(),
          .adoptions = adoptions_.load(),
          .reloads = reloads_.load(),
          .failed_reloads = failed_reloads_.load(),
          .rejected_configs = rejected_configs_.load(),
          .runtime_updates = runtime_updates_.load(),
          .old_workers = old_workers_.load()};
}

Result<ProcessTable> Driver::poll() {
  // The master refuses connections for a few ms while it re-executes (a reload someone else
  // asked for, say): only a master silent for a while is taken for dead.
  constexpr int kTries = 5;
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
      restarts_.fetch_add(1);
    }
    return table;
  }
  old_workers_.store(table->old_workers().size());
  return table;
}

Result<int> Driver::current_worker() {
  auto table = poll();
  if (!table) return std::unexpected(table.error());
  auto worker = table->current_worker();
  if (!worker) return make_error(ErrorCode::kInvalid, "haproxy master lists no worker");
  return *worker;
}

void Driver::attach(const GlobalSettings& global, const Model& desired) {
  attached_ = true;
  auto table = master_.status();
  if (!table) {
    log_->info("no haproxy master answers on {}; one will be started", settings_.paths.master_socket.string());
    return;
  }
  running_ = true;
  adoptions_.fetch_add(1);
  old_workers_.store(table->old_workers().size());
  auto worker = table->current_worker();
  std::optional<SlotTable> observed;
  if (worker) {
    auto answer = cli_.to_worker(*worker, std::vector<std::string>{"show servers state"});
    if (answer && !answer->empty()) {
      if (auto slots = observed_slots(answer->front())) observed = std::move(*slots);
    }
  }
  auto disk = read_whole_file(settings_.paths.config);
  auto applied = read_whole_file(sibling(settings_.paths.config, ".applied"));
  if (!observed || !disk || !applied || config_hash(*disk) != *applied) {
    log_->info("adopted haproxy master pid={}; its config is not one berth confirmed, so it will be reloaded",
               table->master.pid);
    return;
  }
  // What berth would have rendered for the running slots: equal to the file → that is current.
  Config candidate{.global = global};
  candidate.slots = std::move(*observed);
  for (const auto& [port, slots] : candidate.slots.backends) {
    auto it = desired.listeners.find(port);
    if (it == desired.listeners.end()) break;  // a listener berth no longer wants: not current
    Listener listener = it->second;
    listener.servers = servers_in(slots);
    candidate.model.listeners[port] = std::move(listener);
  }
  if (candidate.model.listeners.size() == candidate.slots.backends.size() && renderer_.render(candidate) == *disk) {
    current_ = std::move(candidate);
    log_->info("adopted haproxy master pid={} worker={} listeners={}: its config is current, no reload",
               table->master.pid, worker.value_or(0), current_->model.listeners.size());
  } else {
    log_->info("adopted haproxy master pid={}; its config differs from the desired one", table->master.pid);
  }
}

bool Driver::adopt_appeared_master(const GlobalSettings& global, const Model& desired, std::chrono::milliseconds grace,
                                   std::stop_token stop) {
  if (running_) return false;
  const auto deadline = clock_.now() + grace;
  while (!master_.status()) {
    if (clock_.now() >= deadline || !clock_.sleep_for(std::chrono::milliseconds(50), stop)) return false;
  }
  attach(global, desired);
  return true;
}

Result<void> Driver::write_live_files(const std::string& text) {
  if (auto ok = write_file_atomically(settings_.paths.config, text, 0600); !ok) return ok;
  return write_file_atomically(sibling(settings_.paths.config, ".applied"), config_hash(text), 0600);
}

// The running worker's server state, kept only for slots whose server stays in `next` with
// unchanged options, so `load-server-state-from-file` carries their health over a reload and
// never overrides an address the new config sets.
Result<void> Driver::write_server_state(const Config& next) {
  if (next.global.server_state_file.empty()) return {};
  std::string header;  // HAProxy reads a file with the version line alone
  std::string kept;  // the lines that stay, straight from the dump
  if (running_) {
    auto worker = current_worker();
    if (!worker) return std::unexpected(worker.error());
    auto answer = cli_.to_worker(*worker, std::vector<std::string>{"show servers state"});
    if (!answer) return std::unexpected(answer.error());
    auto ok = for_each_server_state(answer->empty() ? std::string_view() : std::string_view(answer->front()),
                                    [&](const ServerState& line) {
      auto port = host_port_of_proxy(line.backend);
      auto slot = slot_index_of(line.server);
      if (!port || !slot) return;
      auto slots = next.slots.backends.find(*port);
      if (slots == next.slots.backends.end() || *slot >= slots->second.size()) return;
      const auto& server = slots->second[*slot];
      auto address = IpAddress::parse(line.address);
      if (!server || !address || server->address != *address || server->port != line.port) return;
      if (current_) {
        auto before = current_->model.listeners.find(*port);
        const Listener& after = next.model.listeners.at(*port);
        if (before == current_->model.listeners.end() || before->second.options != after.options) return;
      }
      kept.append(line.line).push_back('\n');
    }, &header);
    if (!ok) return std::unexpected(ok.error());
  }
  return write_file_atomically(next.global.server_state_file, state_file_text(header, kept), 0600);
}

ApplyResult Driver::apply_runtime(Config next, const std::vector<std::string>& commands) {
  ApplyResult result{.action = ApplyResult::Action::kRuntime, .runtime_commands = commands.size()};
  auto worker = current_worker();
  if (!worker) {
    result.error = worker.error();
    return result;
  }
  auto answers = cli_.to_worker(*worker, commands);
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
  // The worker runs `next` now; the files follow, so a later reload or restart keeps it.
  current_ = std::move(next);
  runtime_updates_.fetch_add(1);
  if (auto ok = write_live_files(renderer_.render(*current_)); !ok) {
    log_->warn("runtime update applied but haproxy.cfg could not be rewritten: {}", ok.error().describe());
  }
  if (auto ok = write_server_state(*current_); !ok) {
    log_->warn("runtime update applied but the server state could not be saved: {}", ok.error().describe());
  }
  return result;
}

bool Driver::needs_reload(const GlobalSettings& global, const Model& desired) const {
  return !running_ || !current_ || plan_update(current_, global, desired, settings_.slots).needs_reload();
}

ApplyResult Driver::apply(const GlobalSettings& global, const Model& desired, const ChangedPorts& /*changed*/,
                          std::stop_token stop) {
  if (!attached_) attach(global, desired);
  ApplyResult result;
  if (running_) {
    // A master that died is forgotten here and started again below; one that is alive but
    // silent (re-executing on a loaded host) is waited for: this apply fails and is retried.
    if (auto table = poll(); !table && running_) {
      result.error = master_still_running(table.error());
      return result;
    }
  }
  // `desired` with listeners left out or kept as they ran; copied only when one is (a Model of
  // 10,000 listeners is ~6 MB, and most applies change nothing in it).
  std::optional<Model> adjusted;
  auto wanted = [&]() -> const Model& { return adjusted ? *adjusted : desired; };
  auto edit = [&]() -> Model& {
    if (!adjusted) adjusted = desired;
    return *adjusted;
  };
  auto leave_out = [&](int port) { edit().listeners.erase(port); };
  // A listener HAProxy refused is not offered again until it changes.
  std::erase_if(rejected_, [&](const auto& entry) {
    auto it = desired.listeners.find(entry.first);
    return it == desired.listeners.end() || it->second != entry.second.first;
  });
  for (const auto& [port, refused] : rejected_) {
    result.rejected[port] = refused.second;
    if (current_ && current_->model.listeners.contains(port)) {
      edit().listeners[port] = current_->model.listeners.at(port);
    } else {
      leave_out(port);
    }
  }

  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    UpdatePlan plan = plan_update(current_, global, wanted(), settings_.slots);
    if (plan.empty()) return result;
    if (running_ && !plan.needs_reload()) {
      ApplyResult runtime = apply_runtime(std::move(plan.next), plan.runtime_commands);
      runtime.unavailable = std::move(result.unavailable);
      runtime.rejected = std::move(result.rejected);
      if (runtime.ok()) return runtime;
      // A reload renders every server, whatever the runtime state became.
      log_->warn("runtime update failed, reloading instead: {}", runtime.error->describe());
      current_.reset();
      continue;
    }

    // Host ports HAProxy does not bind yet: another process may hold one.
    std::vector<int> new_ports;
    for (const auto& [port, listener] : plan.next.model.listeners) {
      if (!running_ || !current_ || !current_->model.listeners.contains(port)) new_ports.push_back(port);
    }
    if (running_ && !current_) {
      // Adopted with an unknown config: the ports its backends name are HAProxy's own, and so
      // are those its config binds (a range mode config's backends name no port).
      std::set<int> own;
      if (auto disk = read_whole_file(settings_.paths.config)) own = bound_ports_of_config(*disk);
      if (auto worker = current_worker()) {
        if (auto answer = cli_.to_worker(*worker, std::vector<std::string>{"show servers state"});
            answer && !answer->empty()) {
          if (auto slots = observed_slots(answer->front())) {
            for (const auto& [port, unused] : slots->backends) own.insert(port);
          }
        }
      }
      std::erase_if(new_ports, [&](int port) { return own.contains(port); });
    }
    auto busy = ports_in_use(global.bind_addresses, new_ports);
    if (!busy) {
      result.error = busy.error();
      return result;
    }
    if (!busy->empty()) {
      // Moving their Services would break every client of a master that merely came up.
      if (adopt_appeared_master(global, desired, kMasterAppearGrace, stop)) continue;
      for (const auto& conflict : *busy) {
        result.unavailable[conflict.port] = conflict.message;
        leave_out(conflict.port);
      }
      continue;
    }

    const std::string text = renderer_.render(plan.next);
    const auto candidate = sibling(settings_.paths.config, ".candidate");
    if (auto ok = write_file_atomically(candidate, text, 0600); !ok) {
      result.error = ok.error();
      return result;
    }
    if (auto checked = check_config(settings_.paths.binary, candidate, settings_.check_timeout); !checked) {
      rejected_configs_.fetch_add(1);
      std::error_code ec;
      std::filesystem::rename(candidate, sibling(settings_.paths.config, ".rejected"), ec);
      log_->warn("haproxy rejected the new config (kept as {}): {}", sibling(settings_.paths.config, ".rejected").string(),
                 checked.error().message);
      // HAProxy names the lines it refused; when they all lie in listeners' sections, those
      // listeners are left out (the ones that ran before keep running as they were) and the
      // rest is served. Otherwise (global settings, a template error) nothing can be applied.
      auto blamed = checked.error().code == ErrorCode::kInvalid
                        ? listeners_blamed(checked.error().message, text)
                        : std::nullopt;
      if (blamed) {
        std::erase_if(*blamed, [&](int port) { return !plan.next.model.listeners.contains(port); });
      }
      const std::string why = first_alert(checked.error().message);
      if (!blamed || blamed->empty()) {
        result.error = checked.error();
        return result;
      }
      if (blamed->size() == plan.next.model.listeners.size()) {
        // Every listener refused (a template error in the listener section, most likely):
        // serving none of them would be worse than keeping what runs. They are named, since
        // HAProxy named them, but not left out of later applies.
        for (int port : *blamed) result.rejected[port] = why;
        result.error = checked.error();
        return result;
      }
      for (int port : *blamed) {
        result.rejected[port] = why;
        rejected_[port] = {plan.next.model.listeners.at(port), why};
        if (current_ && current_->model.listeners.contains(port)) {
          edit().listeners[port] = current_->model.listeners.at(port);  // keep what ran
        } else {
          leave_out(port);
        }
      }
      continue;
    }

    if (auto ok = write_server_state(plan.next); !ok) {
      log_->warn("server state not saved before the reload (health restarts from the config): {}",
                 ok.error().describe());
    }
    auto previous = read_whole_file(settings_.paths.config);
    std::error_code ec;
    std::filesystem::rename(candidate, settings_.paths.config, ec);
    if (ec) {
      result.error = Error{ErrorCode::kIo, "cannot install " + settings_.paths.config.string() + ": " + ec.message()};
      return result;
    }
    const bool starting = !running_;
    // Adopted, but its config is not one berth confirmed: "no config is running yet" would mislead.
    const bool unconfirmed = running_ && !current_;
    auto outcome = starting ? master_.start(settings_.reload_timeout, stop) : master_.reload(settings_.reload_timeout, stop);
    if (!outcome) {
      failed_reloads_.fetch_add(1);
      // The file on disk must be what runs: put the previous one back, keep the refused one.
      write_file_atomically(sibling(settings_.paths.config, ".rejected"), text, 0600);
      if (previous) {
        write_file_atomically(settings_.paths.config, *previous, 0600);
      } else {
        std::filesystem::remove(settings_.paths.config, ec);
      }
      log_->warn("haproxy {} failed: {}", starting ? "start" : "reload", outcome.error().message);
      // A port taken between the probe and the bind: probe again and leave it out.
      auto late = ports_in_use(global.bind_addresses, new_ports);
      if (outcome.error().code == ErrorCode::kInvalid && late && !late->empty()) {
        // A start refused while someone else's master came up and took the ports (deploy/'s
        // berth container, whose --haproxy-binary starts none).
        if (adopt_appeared_master(global, desired, kMasterAppearGrace, stop)) continue;
        for (const auto& conflict : *late) {
          result.unavailable[conflict.port] = conflict.message;
          leave_out(conflict.port);
        }
        continue;
      }
      if (outcome.error().code == ErrorCode::kAlreadyExists) attached_ = false;  // adopt it next time
      result.error = outcome.error();
      return result;
    }
    running_ = true;
    current_ = std::move(plan.next);
    old_workers_.store(outcome->old_workers().size());
    write_file_atomically(sibling(settings_.paths.config, ".applied"), config_hash(text), 0600);
    if (starting) {
      starts_.fetch_add(1);
      result.action = ApplyResult::Action::kStart;
    } else {
      reloads_.fetch_add(1);
      result.action = ApplyResult::Action::kReload;
    }
    result.reasons = unconfirmed ? std::vector<std::string>{std::string(kUnconfirmedConfigReason)}
                                 : plan.reload_reasons;
    log_->info("haproxy {} worker={} listeners={} reasons=\"{}\"", starting ? "started" : "reloaded",
               outcome->current_worker().value_or(0), current_->model.listeners.size(), summarize(result.reasons));
    return result;
  }
  result.error = Error{ErrorCode::kInternal, "gave up after leaving out busy ports and rejected listeners"};
  return result;
}

}  // namespace berth::haproxy
