// What the churning users themselves wrote into allocation annotations, so that a sample of the
// cluster can tell berth's allocations from a user's value: a user may write any host port,
// including one another Service holds (berth then reports PortConflict and writes a fresh
// port), and such a duplicate is the user's doing until berth has corrected it.
//
// A LIST shows the cluster at some moment while it runs, and a write is applied at some moment
// while it is in flight, so more than the last value a user wrote may be what a LIST shows:
// the value of the last write that was answered with success before the LIST began, and the
// value of every write after that one (in flight then, begun since, or failed: a write whose
// answer was an error may still have been made). Every older value was surely replaced by a
// user's write before the LIST began, so if a LIST shows it, berth wrote it.
//
// Thread-safety: every member may be called from any thread (the churn writes, the sampler reads).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace berth::chaos {

class UserWrites {
 public:
  using Ticket = std::size_t;  // one write: one API call
  using Mark = std::uint64_t;  // a moment: counts begin() and end() calls

  // A user is about to send one write setting (value) or removing (nullopt) each of `values`'
  // annotation keys on Service `service` ("ns/name").
  Ticket begin(const std::string& service, const std::map<std::string, std::optional<std::string>>& values) {
    std::lock_guard lock(mutex_);
    const Ticket ticket = answers_.size();
    answers_.push_back(Answer{});
    ++clock_;
    for (const auto& [key, value] : values) history_[{service, key}].push_back({ticket, value});
    return ticket;
  }
  // The write's answer came: success, or an error (it may have been made all the same).
  void end(Ticket ticket, bool succeeded) {
    std::lock_guard lock(mutex_);
    answers_.at(ticket) = Answer{.at = ++clock_, .succeeded = succeeded};
  }
  // Now: taken before a LIST, for wrote().
  Mark mark() const {
    std::lock_guard lock(mutex_);
    return clock_;
  }
  // Whether `value` of `key` on `service`, seen by a LIST begun at `listed_from`, may be a
  // user's value (see the top of this file).
  bool wrote(const std::string& service, const std::string& key, const std::string& value, Mark listed_from) const {
    std::lock_guard lock(mutex_);
    auto it = history_.find({service, key});
    if (it == history_.end()) return false;
    const auto& writes = it->second;
    std::size_t first_possible = 0;
    for (std::size_t i = writes.size(); i-- > 0;) {
      const Answer& answer = answers_[writes[i].ticket];
      if (answer.succeeded && answer.at <= listed_from) {
        first_possible = i;
        break;
      }
    }
    for (std::size_t i = first_possible; i < writes.size(); ++i) {
      if (writes[i].value == value) return true;
    }
    return false;
  }

 private:
  struct Answer {
    Mark at = 0;
    bool succeeded = false;  // false also while unanswered
  };
  struct Write {
    Ticket ticket;
    std::optional<std::string> value;
  };

  mutable std::mutex mutex_;
  Mark clock_ = 0;
  std::vector<Answer> answers_;  // by ticket
  std::map<std::pair<std::string, std::string>, std::vector<Write>> history_;  // (service, key) → its writes in order
};

}  // namespace berth::chaos
