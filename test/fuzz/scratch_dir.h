// The scratch folder of a fuzz target: the files the code under test reads or writes (a
// kubeconfig, a rendered haproxy.cfg) live in "<tmp>/berth-<target>-<pid>", made by
// make_scratch_dir() in LLVMFuzzerInitialize and removed when the process exits normally
// (scripts/run-fuzzers points TMPDIR into the build tree, so one left by a crash stays there).
//
// Thread-safety: the fuzz targets are single-threaded.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace berth::fuzz {

// The folder; empty until make_scratch_dir() ran.
inline std::filesystem::path& scratch_dir() {
  static std::filesystem::path dir;
  return dir;
}

// Makes the folder for `target` ("kube-config-fuzzer") and arranges its removal at exit.
inline void make_scratch_dir(std::string_view target) {
  scratch_dir() = std::filesystem::temp_directory_path() /
                  ("berth-" + std::string(target) + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(scratch_dir());
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(scratch_dir(), ec);
  });
}

}  // namespace berth::fuzz
