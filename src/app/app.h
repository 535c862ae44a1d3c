// The composition root: parses the command line, builds every component, runs until stopped.
#pragma once

namespace berth::app {

// Runs berth with the process's arguments; returns the process exit code.
int run(int argc, char** argv);

}  // namespace berth::app
