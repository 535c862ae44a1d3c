// MasterCli over the master's AF_UNIX stream socket (`-S <path>`): one connection per call.
//
// A call connects, writes its command line(s), shuts down its write side (the master closes the
// session once it has answered everything it was sent) and reads to end of file. Writing and
// reading overlap (poll), so a long batch of commands cannot deadlock against the master
// filling its send buffer. The whole exchange has one deadline: the timeout given here.
//
// Framing, measured on 2.6.12: every answer ends with an empty line, including an empty answer
// ("set server ... state ready" answers just "\n"). An "@!<pid>" naming no process is answered
// "Can't find the target PID matching the prefix '@!<pid>'" without an empty line, and the
// master drops the rest of the session. `reload` answers nothing and closes.
//
// Errors of both calls: kInvalidArgument for a command that is empty or holds '\n', '\r' or ';'
// (nothing is sent: a ';' would make the master run the rest itself, a newline would smuggle in
// a second command); kTransport when nothing listens on the socket or the connection breaks;
// kTimeout when the answer is not complete within the timeout.
//
// Thread-safety: immutable after construction; calls may run concurrently (one connection each).
#pragma once

#include <chrono>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "haproxy/master_cli.h"

namespace berth::haproxy {

class MasterSocket final : public MasterCli {
 public:
  MasterSocket(std::filesystem::path socket_path, std::chrono::milliseconds timeout);

  const std::filesystem::path& socket_path() const { return socket_path_; }

  // The answer without its terminating empty line ("" for `reload`).
  Result<std::string> to_master(std::string_view command) override;

  // Also: kNotFound when the master knows no process `pid` (the worker has exited); kParse when
  // the answers cannot be told apart — fewer or more empty-line-terminated blocks than commands
  // (an answer that itself holds an empty line; send such a command on its own, whose answer is
  // then everything before the final empty line).
  Result<std::vector<std::string>> to_worker(int pid, std::span<const std::string> commands) override;

 private:
  // Sends `request` and returns everything the master wrote back until it closed.
  Result<std::string> exchange(std::string_view request);

  std::filesystem::path socket_path_;
  std::chrono::milliseconds timeout_;
};

}  // namespace berth::haproxy
