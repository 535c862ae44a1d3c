// Feeds: the input bytes as the body of a watch response, cut into chunks the way a chunked
// HTTP stream may arrive (every 1..255 bytes, the size taken from the first byte), through
// the REST client's LineSplitter and parse_watch_event() on each line; each event's object
// then goes where the Reflector would send it: parse_service() and parse_endpoint_slice() for
// ADDED/MODIFIED/DELETED, the resourceVersion for BOOKMARK, error_from_status_object() for
// ERROR. The whole input also goes through error_from_response() as the body of a failed call
// (a Status, or an HTML page from a proxy).
//
// Asserts, beyond no crash, leak, undefined behaviour or escaping exception:
//   - the splitter hands over exactly the non-empty lines of the body, without their "\n" or
//     "\r\n", however the chunks fall;
//   - a parsed event has an object; an ERROR whose Status says 410 (or reason Expired/Gone
//     without a code) is kGone, so the Reflector relists instead of retrying forever;
//   - error_from_response() never throws and keeps the HTTP status it was given.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "kube/endpoint_slice.h"
#include "kube/rest_client.h"
#include "kube/service.h"
#include "kube/status.h"
#include "kube/watch_event.h"

namespace {

using berth::fuzz::require;
using nlohmann::json;
namespace kube = berth::kube;

// The lines of `body` as the splitter must report them, computed the plain way.
std::vector<std::string> expected_lines(std::string_view body) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (true) {
    std::size_t nl = body.find('\n', start);
    std::string_view line = body.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (nl != std::string_view::npos && line.ends_with('\r')) line.remove_suffix(1);
    if (nl == std::string_view::npos) {
      if (!line.empty()) lines.emplace_back(line);  // the unterminated rest, taken at the end
      break;
    }
    if (!line.empty()) lines.emplace_back(line);
    start = nl + 1;
  }
  return lines;
}

void check_event(const kube::WatchEvent& event) {
  require(event.object.is_object(), "an event carries an object");
  switch (event.type) {
    case kube::WatchEventType::kAdded:
    case kube::WatchEventType::kModified:
    case kube::WatchEventType::kDeleted:
      (void)kube::parse_service(event.object);
      (void)kube::parse_endpoint_slice(event.object);
      break;
    case kube::WatchEventType::kBookmark: {
      auto meta = event.object.find("metadata");
      if (meta != event.object.end() && meta->is_object()) {
        auto rv = meta->find("resourceVersion");
        if (rv != meta->end() && rv->is_string()) (void)rv->get<std::string>();
      }
      break;
    }
    case kube::WatchEventType::kError: {
      const kube::ApiStatus status = kube::parse_status(event.object);
      const berth::Error error = kube::error_from_status_object(event.object);
      const bool gone = status.code == 410 ||
                        (status.code == 0 && (status.reason == "Expired" || status.reason == "Gone"));
      require(gone == (error.code == berth::ErrorCode::kGone), "410/Expired/Gone is kGone, nothing else is");
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] == 0 ? 1 : data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<std::string> seen;
  auto on_line = [&](std::string_view line) {
    seen.emplace_back(line);
    auto event = kube::parse_watch_event(line);
    if (event) check_event(*event);
    return true;
  };
  auto on_complete_line = [&](std::string_view line) {
    // One "\r" before the "\n" is the line ending's (CRLF); a second one belongs to the line.
    require(!line.empty() && line.find('\n') == std::string_view::npos, "a line is non-empty, without its newline",
            line);
    return on_line(line);
  };
  kube::LineSplitter splitter;
  for (std::size_t at = 0; at < body.size(); at += chunk) {
    require(splitter.feed(body.substr(at, chunk), on_complete_line), "the splitter goes on while the handler does");
  }
  // As RestClient::watch does at the end of the stream.
  if (std::string rest = splitter.take_rest(); !rest.empty()) on_line(rest);
  require(seen == expected_lines(body), "the splitter reports exactly the lines of the body");

  const berth::Error error = kube::error_from_response(410, body);
  require(error.code == berth::ErrorCode::kGone, "a 410 answer is kGone whatever its body");
  return 0;
}
