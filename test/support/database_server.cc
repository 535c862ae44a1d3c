#include "support/database_server.h"

#include <signal.h>

#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/atomic_file.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

// The clients, by absolute path: tests never depend on PATH.
constexpr const char* kMariaDb = "/usr/bin/mariadb";
constexpr const char* kMariaDbAdmin = "/usr/bin/mariadb-admin";
constexpr const char* kPsql = "/usr/bin/psql";
constexpr const char* kPgIsReady = "/usr/bin/pg_isready";
constexpr const char* kRedisCli = "/usr/bin/redis-cli";

// What a held session prints after each query's output.
constexpr std::string_view kEndMarker = "berth-end-of-query";

std::vector<std::string> mariadb_args(int port) {
  return {kMariaDb,   "--no-defaults", "-h",    "127.0.0.1",         "-P", std::to_string(port),
          "-uberth",  "-pberth",       "berth", "--connect-timeout=5", "--batch", "--skip-column-names"};
}

std::vector<std::string> psql_args(int port) {
  return {kPsql, "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "postgres", "-X", "-q", "-A", "-t",
          "-v",  "ON_ERROR_STOP=1"};
}

std::string trim_trailing_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::string_view database_name(Database kind) {
  switch (kind) {
    case Database::kMariaDb:
      return "mariadb";
    case Database::kPostgres:
      return "postgres";
    case Database::kRedis:
      return "redis";
  }
  return "unknown";
}

DatabaseServer::DatabaseServer(Database kind, int port) : kind_(kind), port_(port) {}

DatabaseServer::~DatabaseServer() {
  if (child_) (void)stop();
}

Result<void> DatabaseServer::start(std::chrono::milliseconds timeout) {
  if (dir_.path().empty()) return make_error(ErrorCode::kIo, "could not make a temp dir");
  const auto data_dir = dir_.path() / std::string(database_name(kind_));
  auto child = ChildProcess::spawn({BERTH_RUN_DATABASE, std::string(database_name(kind_)), data_dir.string(),
                                    std::to_string(port_)},
                                   {.pipe_stderr = true});
  if (!child) return std::unexpected(child.error());
  child_ = std::move(*child);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // A readiness loop stops when the process dies (FACTS.md): its exit is the answer then.
    if (!child_->running()) {
      auto output = child_->drain(1s);
      auto status = child_->wait(0ms);
      child_.reset();
      return make_error(ErrorCode::kInternal,
                        fmt::format("{} on port {} exited with status {}: {}{}", database_name(kind_), port_,
                                    status ? *status : -1, output.err, log()));
    }
    if (database_answers(kind_, port_)) return {};
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(ErrorCode::kTimeout,
                        fmt::format("{} on port {} not ready in time: {}", database_name(kind_), port_, log()));
    }
    std::this_thread::sleep_for(50ms);  // polling another process, bounded by the deadline
  }
}

Result<void> DatabaseServer::stop() {
  if (!child_) return {};
  const int signal = kind_ == Database::kPostgres ? SIGINT : SIGTERM;
  auto status = child_->stop(30s, signal);
  child_.reset();
  if (!status) return std::unexpected(status.error());
  return {};
}

bool DatabaseServer::running() { return child_ && child_->running(); }

std::string DatabaseServer::log() const {
  auto text = read_whole_file(dir_.path() / std::string(database_name(kind_)) / "server.log");
  if (!text) return "";
  // The tail is what explains a failure.
  constexpr std::size_t kTail = 4000;
  return text->size() > kTail ? text->substr(text->size() - kTail) : *text;
}

bool database_answers(Database kind, int port) {
  std::vector<std::string> argv;
  switch (kind) {
    case Database::kMariaDb:
      argv = {kMariaDbAdmin, "--no-defaults", "-h", "127.0.0.1", "-P", std::to_string(port), "-uberth", "-pberth",
              "--connect-timeout=1", "ping"};
      break;
    case Database::kPostgres:
      argv = {kPgIsReady, "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "postgres", "-t", "1", "-q"};
      break;
    case Database::kRedis:
      argv = {kRedisCli, "-h", "127.0.0.1", "-p", std::to_string(port), "ping"};
      break;
  }
  auto result = run_command(argv, 5s);
  if (!result || result->exit_code != 0) return false;
  return kind != Database::kRedis || result->out.starts_with("PONG");
}

Result<std::string> query(Database kind, int port, const std::string& statement, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv;
  switch (kind) {
    case Database::kMariaDb:
      argv = mariadb_args(port);
      argv.insert(argv.end(), {"-e", statement});
      break;
    case Database::kPostgres:
      argv = psql_args(port);
      argv.insert(argv.end(), {"-c", statement});
      break;
    case Database::kRedis: {
      argv = {kRedisCli, "-h", "127.0.0.1", "-p", std::to_string(port)};
      std::istringstream words(statement);
      for (std::string word; words >> word;) argv.push_back(word);
      break;
    }
  }
  auto result = run_command(argv, timeout);
  if (!result) return std::unexpected(result.error());
  // redis-cli exits 0 on a server error reply; the reply says "ERR ...".
  if (result->exit_code != 0 || (kind == Database::kRedis && result->out.starts_with("ERR"))) {
    return make_error(ErrorCode::kInternal, fmt::format("{} client exited with {}: {}{}", database_name(kind),
                                                        result->exit_code, result->err, result->out));
  }
  return trim_trailing_newlines(std::move(result->out));
}

Result<std::unique_ptr<HeldSession>> HeldSession::open(Database kind, int port) {
  std::vector<std::string> argv;
  switch (kind) {
    case Database::kMariaDb:
      argv = mariadb_args(port);
      argv.insert(argv.end(), {"--unbuffered", "--skip-reconnect"});
      break;
    case Database::kPostgres:
      argv = psql_args(port);
      break;
    case Database::kRedis:
      return make_error(ErrorCode::kInvalidArgument, "redis-cli cannot hold a session on a pipe");
  }
  auto child = ChildProcess::spawn(argv, {.pipe_stderr = true, .keep_stdin_open = true});
  if (!child) return std::unexpected(child.error());
  std::unique_ptr<HeldSession> session(new HeldSession(std::move(*child)));
  // The session exists once the client has connected and answered.
  if (auto first = session->query("SELECT 1"); !first) return std::unexpected(first.error());
  return session;
}

Result<std::string> HeldSession::query(std::string_view statement, std::chrono::milliseconds timeout) {
  std::string text(statement);
  if (!text.ends_with(';')) text += ';';
  text += fmt::format("\nSELECT '{}';\n", kEndMarker);
  auto gone = [&](const Error& why) {
    auto output = client_->drain(1s);
    return make_error(ErrorCode::kIo, fmt::format("the session is gone ({}): {}{}", why.describe(), output.err,
                                                  output.out));
  };
  if (auto written = client_->write_stdin(text); !written) return gone(written.error());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string answer;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto line = client_->read_line(std::max(left, 0ms));
    if (!line) {
      if (line.error().code == ErrorCode::kTimeout) return std::unexpected(line.error());
      return gone(line.error());
    }
    if (*line == kEndMarker) return answer;
    if (!answer.empty()) answer += '\n';
    answer += *line;
  }
}

}  // namespace berth::testing
