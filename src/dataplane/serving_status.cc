#include "dataplane/serving_status.h"

namespace berth::dataplane {

std::string_view state_name(ServedPort::State state) {
  switch (state) {
    case ServedPort::State::kServing: return "serving";
    case ServedPort::State::kPending: return "pending";
    case ServedPort::State::kNotServed: return "not served";
  }
  return "not served";
}

}  // namespace berth::dataplane
