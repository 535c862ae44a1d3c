// docs/reference.md promises to name every flag, option annotation and Event reason berth has;
// these tests hold it to that, so a new flag cannot ship undocumented.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "dataplane/service_options.h"
#include "support/child_process.h"

namespace berth::app {
namespace {

const std::filesystem::path kSourceRoot = std::filesystem::path(__FILE__).parent_path() / "../..";

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const std::string& reference() {
  static const std::string text = file_text(kSourceRoot / "docs/reference.md");
  return text;
}

// The long flags a --help text lists ("  --port-range TEXT ...").
std::set<std::string> flags_in_help(const std::vector<std::string>& command) {
  auto help = testing::run_command(command, std::chrono::seconds(30));
  EXPECT_TRUE(help && help->exit_code == 0);
  std::set<std::string> flags;
  if (!help) return flags;
  static const std::regex flag(R"((?:^|[ ,])(--[a-z][a-z0-9-]+))");
  std::istringstream lines(help->out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("  ")) continue;  // option lines are indented; the footer is not
    for (std::sregex_iterator it(line.begin(), line.end(), flag), end; it != end; ++it) flags.insert((*it)[1]);
  }
  return flags;
}

TEST(ReferenceDoc, NamesEveryFlagOfBerthAndBerthStatus) {
  ASSERT_FALSE(reference().empty());
  const auto berth = flags_in_help({BERTH_BIN, "--help"});
  const auto status = flags_in_help({BERTH_BIN, "status", "--help"});
  ASSERT_GT(berth.size(), 30u) << "the help text changed its layout";
  ASSERT_GE(status.size(), 3u);
  for (const auto& set : {berth, status}) {
    for (const std::string& flag : set) {
      EXPECT_NE(reference().find("`" + flag + "`"), std::string::npos) << flag << " is missing from docs/reference.md";
    }
  }
}

TEST(ReferenceDoc, NamesEveryOptionAnnotation) {
  ASSERT_GE(dataplane::option_names().size(), 10u);
  for (std::string_view option : dataplane::option_names()) {
    EXPECT_NE(reference().find("| `" + std::string(option) + "` |"), std::string::npos)
        << "option " << option << " is missing from docs/reference.md";
  }
}

// Event reasons are the CamelCase string literals of the controllers' and the data plane's
// sources ("PortAllocated", "InvalidOption"): each must have its row.
TEST(ReferenceDoc, NamesEveryEventReason) {
  static const std::regex reason(R"re("([A-Z][a-z]+(?:[A-Z][a-z]+|IP)+)")re");
  std::set<std::string> reasons;
  for (const char* folder : {"src/controller", "src/dataplane"}) {
    for (const auto& entry : std::filesystem::directory_iterator(kSourceRoot / folder)) {
      if (entry.path().extension() != ".cc") continue;
      const std::string text = file_text(entry.path());
      for (std::sregex_iterator it(text.begin(), text.end(), reason), end; it != end; ++it) reasons.insert((*it)[1]);
    }
  }
  ASSERT_GE(reasons.size(), 14u) << "fewer reasons than the allocator and the data plane raise";
  for (const std::string& r : reasons) {
    EXPECT_NE(reference().find("| `" + r + "` |"), std::string::npos) << "Event " << r << " is missing from docs/reference.md";
  }
}

}  // namespace
}  // namespace berth::app
