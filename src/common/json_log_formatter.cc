#include "common/json_log_formatter.h"

#include <chrono>
#include <ctime>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth {
namespace {

bool is_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return !(key == "ts" || key == "level" || key == "logger" || key == "msg");
}

}  // namespace

LogFields split_log_fields(std::string_view message) {
  LogFields out;
  std::vector<std::pair<std::string, std::string>> fields;
  std::set<std::string, std::less<>> seen;
  std::string words;
  std::size_t i = 0;
  auto whole = [&] { return LogFields{std::string(message), {}}; };
  while (i < message.size()) {
    while (i < message.size() && message[i] == ' ') ++i;
    if (i >= message.size()) break;
    const std::size_t start = i;
    const std::size_t eq = message.find('=', start);
    const std::size_t space = message.find(' ', start);
    const bool pair = eq != std::string_view::npos && (space == std::string_view::npos || eq < space) &&
                      is_key(message.substr(start, eq - start));
    if (!pair) {
      if (!fields.empty()) return whole();  // a word after a pair: not berth's shape
      i = space == std::string_view::npos ? message.size() : space;
      if (!words.empty()) words += ' ';
      words += message.substr(start, i - start);
      continue;
    }
    std::string key(message.substr(start, eq - start));
    std::string value;
    i = eq + 1;
    if (i < message.size() && message[i] == '"') {
      // A quoted value runs to the next unescaped quote; \" and \\ inside are unescaped.
      ++i;
      bool closed = false;
      while (i < message.size()) {
        const char c = message[i++];
        if (c == '\\' && i < message.size()) {
          value += message[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed || (i < message.size() && message[i] != ' ')) return whole();
    } else {
      const std::size_t end = message.find(' ', i);
      value = std::string(message.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      i = end == std::string_view::npos ? message.size() : end;
    }
    if (!seen.insert(key).second) return whole();  // a repeated key would lose a value
    fields.emplace_back(std::move(key), std::move(value));
  }
  out.msg = std::move(words);
  out.fields = std::move(fields);
  return out;
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const auto since_epoch = msg.time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - seconds).count();
  const std::time_t t = seconds.count();
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  nlohmann::ordered_json line;
  line["ts"] = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                           utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
  const auto level = spdlog::level::to_string_view(msg.level);
  line["level"] = std::string(level.data(), level.size());
  line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
  auto split = split_log_fields(std::string_view(msg.payload.data(), msg.payload.size()));
  line["msg"] = std::move(split.msg);
  for (auto& [key, value] : split.fields) line[key] = std::move(value);
  // Invalid UTF-8 (a byte from a hostile name) is replaced, never thrown on.
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  dest.append(text.data(), text.data() + text.size());
}

}  // namespace berth
