#include "core/files.h"
#include "test_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace tz {
namespace {

struct Mapping {
  const volatile char* data;
  std::size_t len;
  long sum = 0;
};

void touch_all(void* p) {
  auto* m = static_cast<Mapping*>(p);
  for (std::size_t i = 0; i < m->len; i += 4096) m->sum += m->data[i];
}

// A file truncated while mapped must give an error, not kill the process.
TEST(Files, SigbusFromATruncatedMappingBecomesAnError) {
  test::TempDir dir;
  const auto path = dir / "f";
  test::write_file(path, std::string(1 << 20, 'x'));
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, 1 << 20, PROT_READ, MAP_PRIVATE, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  Mapping m{static_cast<const volatile char*>(map), 1 << 20};
  EXPECT_TRUE(run_guarding_sigbus(touch_all, &m));
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  Mapping again{static_cast<const volatile char*>(map), 1 << 20};
  EXPECT_FALSE(run_guarding_sigbus(touch_all, &again));
  // The guard is reusable after a fault.
  EXPECT_TRUE(run_guarding_sigbus([](void*) {}, nullptr));
  ::munmap(map, 1 << 20);
  ::close(fd);
}

TEST(FilesDeathTest, SigbusOutsideAGuardStillKills) {
  EXPECT_TRUE(run_guarding_sigbus([](void*) {}, nullptr));  // handler installed
  EXPECT_EXIT(::raise(SIGBUS), ::testing::KilledBySignal(SIGBUS), "");
}

TEST(Files, AtomicWriteNeverReplacesWhenAskedNot) {
  test::TempDir dir;
  const std::vector<std::uint8_t> a = {1, 2, 3}, b = {4};
  ASSERT_TRUE(write_file_atomic(dir / "x", a, 0600, Replace::never));
  EXPECT_EQ(write_file_atomic(dir / "x", b, 0600, Replace::never).error(), errc::key_exists);
  ASSERT_TRUE(write_file_atomic(dir / "x", b, 0600, Replace::allow));
  EXPECT_EQ(test::read_bytes(dir / "x"), b);
  EXPECT_EQ(test::list_tree(dir.path()), std::vector<std::string>{"x"});
}

TEST(Files, BoundedReadRefusesLargerFiles) {
  test::TempDir dir;
  test::write_file(dir / "x", std::string(100, 'a'));
  EXPECT_TRUE(read_file_bounded(dir / "x", 100));
  EXPECT_EQ(read_file_bounded(dir / "x", 99).error(), errc::oversized);
  EXPECT_FALSE(read_file_bounded(dir / "missing", 99));
}

// sync_tree reaches every file and folder (the durability tests in
// kill_test.cpp check which ones with a tracer); a missing folder is an error.
TEST(Files, SyncTreeSyncsAFolderAndFailsOnAMissingOne) {
  test::TempDir dir;
  test::write_file(dir / "a" / "b" / "c.txt", "c");
  test::write_file(dir / "a" / "d.txt", "d");
  EXPECT_TRUE(sync_tree(dir / "a"));
  EXPECT_FALSE(sync_tree(dir / "missing"));
}

}  // namespace
}  // namespace tz
