// berth-chaos: one chaos run (chaos_run.h), its JSON summary on stdout (and in --json), exit 0
// when every promise held, 1 when one broke, 2 on bad flags. `make chaos` runs the full size;
// ctest runs a short one (test/CMakeLists.txt).
#include <cstdio>
#include <fstream>

#include "chaos/chaos_options.h"
#include "chaos/chaos_run.h"

int main(int argc, char** argv) {
  auto parsed = berth::chaos::parse_chaos_options(argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  const auto& options = std::get<berth::chaos::ChaosOptions>(parsed);
  nlohmann::json summary;
  {
    berth::chaos::ChaosRun run(options);
    summary = run.run();
  }  // every process of the run is stopped before the verdict is printed
  const std::string text = summary.dump(2);
  std::printf("%s\n", text.c_str());
  if (!options.json_path.empty()) std::ofstream(options.json_path) << text << "\n";
  return summary.value("passed", false) ? 0 : 1;
}
