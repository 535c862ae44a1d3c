#include "haproxy/model.h"

#include <fmt/format.h>

namespace berth::haproxy {

std::string proxy_name(int host_port) { return fmt::format("p{}", host_port); }
std::string slot_name(std::size_t slot_index) { return fmt::format("s{}", slot_index + 1); }

}  // namespace berth::haproxy
