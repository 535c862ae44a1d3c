#include "support/berth_process.h"

namespace berth::testing {
namespace {

std::vector<std::string> berth_command(std::vector<std::string> args) {
  args.insert(args.begin(), BERTH_BIN);
  return args;
}

}  // namespace

BerthProcess::BerthProcess(std::vector<std::string> args, std::vector<std::string> launcher)
    : LoggedProcess("berth", berth_command(std::move(args)), std::move(launcher)) {}

}  // namespace berth::testing
