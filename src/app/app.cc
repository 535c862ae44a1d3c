#include "app/app.h"

#include <CLI/CLI.hpp>

namespace berth::app {

int run(int argc, char** argv) {
  CLI::App cli{"berth: exposes in-cluster TCP services through HAProxy"};
  CLI11_PARSE(cli, argc, argv);
  return 0;
}

}  // namespace berth::app
