// Real database servers for end-to-end tests and benchmarks: MariaDB, PostgreSQL and Redis on
// a loopback port with a throwaway data directory, started by scripts/run-database (the same
// script the demo uses), and reached with their own clients.
//
//   DatabaseServer pg(Database::kPostgres, 31105);
//   ASSERT_TRUE(pg.start()) << ...;
//   auto pid = query(Database::kPostgres, host_port, "SELECT pg_backend_pid()");
//   auto session = HeldSession::open(Database::kMariaDb, host_port);   // one connection, kept
//   (*session)->query("SELECT CONNECTION_ID()");
//
// The server is a direct child (the script execs it), so it is stopped by its own PID: SIGTERM
// for MariaDB and Redis, SIGINT for PostgreSQL (SIGTERM waits for clients, and a session held
// through HAProxy would keep it up). The destructor stops it and removes the data directory,
// also when a test fails half-way. What each server has (users, databases) is written at the
// top of scripts/run-database.
//
// Thread-safety: one thread drives an instance.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace berth::testing {

enum class Database { kMariaDb, kPostgres, kRedis };

// "mariadb", "postgres", "redis": the script's names, used in messages.
std::string_view database_name(Database kind);

class DatabaseServer {
 public:
  DatabaseServer(Database kind, int port);
  ~DatabaseServer();
  DatabaseServer(const DatabaseServer&) = delete;
  DatabaseServer& operator=(const DatabaseServer&) = delete;

  // Initialises the data directory on the first start (a later start reuses it: a restart),
  // then waits until the server answers its client's ping on 127.0.0.1:port(). Errors: kIo
  // (spawn), kInternal (the server exited; the message has the tail of its log), kTimeout.
  Result<void> start(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Stops the server with its kind's signal and waits for it.
  Result<void> stop();
  bool running();

  Database kind() const { return kind_; }
  int port() const { return port_; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  // The server's own output (DATA_DIR/server.log), for failure messages.
  std::string log() const;

 private:
  Database kind_;
  int port_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> child_;
};

// Whether the server on 127.0.0.1:port answers its client's ping (mariadb-admin ping,
// pg_isready, redis-cli ping) within about a second.
bool database_answers(Database kind, int port);

// One statement in a new session with the database's own client, to 127.0.0.1:port; returns
// its output without the trailing newline (MariaDB and psql in batch mode: values separated by
// tabs and '|' respectively, no headers). For Redis the statement is split on spaces into the
// command's arguments. Errors: kInternal with the client's stderr when it fails.
Result<std::string> query(Database kind, int port, const std::string& statement,
                          std::chrono::milliseconds timeout = std::chrono::seconds(20));

// One client session kept open, driven on a pipe: `mariadb --batch --unbuffered
// --skip-reconnect` or `psql -X -q -A -t`. Each query is followed by a marker query, and its
// output is read up to the marker, so every answer is the answer of that query. A session that
// was cut cannot reconnect: the client exits and query() fails.
class HeldSession {
 public:
  // Errors: kInvalidArgument for Redis (redis-cli reads its whole stdin before it sends),
  // kIo (spawn), or the first query's error.
  static Result<std::unique_ptr<HeldSession>> open(Database kind, int port);

  // The statement's output lines joined by '\n'. Errors: kTimeout, kIo (the client exited:
  // the session is gone; the message has its stderr).
  Result<std::string> query(std::string_view statement, std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  explicit HeldSession(std::unique_ptr<ChildProcess> client) : client_(std::move(client)) {}
  std::unique_ptr<ChildProcess> client_;
};

}  // namespace berth::testing
