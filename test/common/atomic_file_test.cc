#include "common/atomic_file.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace berth {
namespace {

TEST(AtomicFile, WritesReplacesAndReadsBack) {
  testing::TempDir dir;
  const auto path = dir.path() / "haproxy.cfg";
  ASSERT_TRUE(write_file_atomically(path, "first\n", 0600));
  ASSERT_TRUE(write_file_atomically(path, "second\n", 0600));
  auto text = read_whole_file(path);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "second\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "haproxy.cfg.tmp")) << "the temporary is renamed away";
}

TEST(AtomicFile, ErrorsNameThePath) {
  testing::TempDir dir;
  auto missing = read_whole_file(dir.path() / "absent");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto unwritable = write_file_atomically(dir.path() / "no-such-dir" / "f", "x");
  ASSERT_FALSE(unwritable);
  EXPECT_EQ(unwritable.error().code, ErrorCode::kIo);
  EXPECT_NE(unwritable.error().message.find("no-such-dir"), std::string::npos);
}

}  // namespace
}  // namespace berth
