#pragma once

#include <string_view>

namespace berth::app {

inline constexpr std::string_view kVersion = "0.1.0";

}  // namespace berth::app
