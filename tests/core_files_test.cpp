#include "core/files.h"
#include "test_util.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

TEST(Files, Sha256OfFileStreamsAnySize) {
  test::TempDir dir;
  for (const std::size_t n : {0ul, 1ul, 65'535ul, 65'536ul, 65'537ul, 1'000'003ul}) {
    SCOPED_TRACE(n);
    const std::string content = test::random_bytes(n, static_cast<std::uint32_t>(n));
    test::write_file(dir / "f", content);
    auto d = sha256_of_file(dir / "f");
    ASSERT_TRUE(d) << d.error().message();
    std::array<std::uint8_t, 32> want{};
    crypto_hash_sha256(want.data(), reinterpret_cast<const unsigned char*>(content.data()), content.size());
    EXPECT_EQ(d.value(), want);
  }
}

TEST(Files, Sha256OfFileRefusesWhatIsNotARegularFile) {
  test::TempDir dir;
  test::write_file(dir / "f", "x");
  std::filesystem::create_symlink(dir / "f", dir / "link");
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  std::filesystem::create_directory(dir / "sub");
  EXPECT_EQ(sha256_of_file(dir / "link").error(), errc::not_regular_file);
  EXPECT_EQ(sha256_of_file(dir / "fifo").error(), errc::not_regular_file);  // and does not block
  EXPECT_EQ(sha256_of_file(dir / "sub").error(), errc::not_regular_file);
  auto missing = sha256_of_file(dir / "missing");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error() == boost::system::errc::no_such_file_or_directory) << missing.error().message();
}

}  // namespace
}  // namespace tz
