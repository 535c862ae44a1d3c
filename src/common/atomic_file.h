// Writing a file so that readers see either the old content or the new, never a torn one:
// write a temporary file beside it, fsync, rename over the target.
//
// Thread-safety: concurrent writers of the same path must be serialised by the caller (they
// share the temporary name).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth {

// Errors: kIo with the path and errno text.
Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode = 0644);

// Errors: kNotFound when the file does not exist, kIo otherwise.
Result<std::string> read_whole_file(const std::filesystem::path& path);

}  // namespace berth
