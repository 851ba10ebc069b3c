#include "core/keyfile.h"
#include "test_util.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

namespace tz {
namespace {

std::span<const unsigned char> pass(const char* s) {
  return {reinterpret_cast<const unsigned char*>(s), std::strlen(s)};
}

// The smallest limits inspect_key_file accepts are MODERATE; tests that only
// check the format use those, which take about a second each.
TEST(KeyFile, ProtectedKeyOpensOnlyWithItsPassphrase) {
  const SecretKey key = test::fixed_key();
  auto file = seal_key_file(key, pass("correct horse"), default_kdf_limits());
  ASSERT_TRUE(file);
  ASSERT_EQ(file.value().size(), kKeyFileSize);
  auto info = inspect_key_file(file.value());
  ASSERT_TRUE(info);
  EXPECT_EQ(info.value().protection, KeyProtection::argon2id);
  EXPECT_EQ(info.value().public_key, key.public_key());

  auto opened = open_key_file(file.value(), pass("correct horse"));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened.value().public_key(), key.public_key());
  EXPECT_EQ(open_key_file(file.value(), pass("correct horsf")).error(), errc::wrong_passphrase);
  EXPECT_EQ(open_key_file(file.value(), pass("")).error(), errc::wrong_passphrase);
}

TEST(KeyFile, SeedIsNotStoredInTheClear) {
  const SecretKey key = test::fixed_key();
  auto file = seal_key_file(key, {}, default_kdf_limits()).value();
  const auto seed = key.seed();
  const auto it = std::search(file.begin(), file.end(), seed.begin(), seed.end());
  EXPECT_EQ(it, file.end());
}

TEST(KeyFile, UnprotectedKeyIsMarkedAndStillIntegrityChecked) {
  const SecretKey key = test::fixed_key();
  auto file = seal_key_file(key, {}, default_kdf_limits()).value();
  EXPECT_EQ(inspect_key_file(file).value().protection, KeyProtection::none);
  EXPECT_EQ(open_key_file(file, {}).value().public_key(), key.public_key());
  // Any flipped bit in the sealed part or the header is detected.
  for (std::size_t i : {std::size_t{100}, std::size_t{143}, std::size_t{40}}) {
    auto bad = file;
    bad[i] ^= 0x01;
    EXPECT_FALSE(open_key_file(bad, {})) << "byte " << i;
  }
}

TEST(KeyFile, HeaderTamperingIsDetected) {
  const SecretKey key = test::fixed_key();
  auto file = seal_key_file(key, {}, default_kdf_limits()).value();
  // Swapping in another public key must not yield a key that claims it.
  auto other = file;
  const auto pk2 = test::fixed_key(9).public_key();
  std::copy(pk2.bytes.begin(), pk2.bytes.end(), other.begin() + 64);
  EXPECT_FALSE(open_key_file(other, {}));
  // Turning an unprotected file into a "protected" one is refused by the bounds.
  auto prot = file;
  prot[7] = 1;
  EXPECT_EQ(inspect_key_file(prot).error(), errc::bad_key_file);
}

TEST(KeyFile, RejectsMalformedFiles) {
  auto file = seal_key_file(test::fixed_key(), {}, default_kdf_limits()).value();
  EXPECT_EQ(inspect_key_file({}).error(), errc::bad_key_file);
  EXPECT_EQ(inspect_key_file(std::span(file).first(100)).error(), errc::bad_key_file);
  auto magic = file;
  magic[0] = 'X';
  EXPECT_EQ(inspect_key_file(magic).error(), errc::bad_key_file);
  auto version = file;
  version[6] = 2;
  EXPECT_EQ(inspect_key_file(version).error(), errc::unknown_key_version);
  auto kind = file;
  kind[7] = 7;
  EXPECT_EQ(inspect_key_file(kind).error(), errc::bad_key_file);
  // A protected file declaring absurd Argon2 limits is refused before any work.
  auto greedy = seal_key_file(test::fixed_key(), pass("x"), default_kdf_limits()).value();
  greedy[16 + 7] = 0x7f;  // memlimit's top byte
  EXPECT_EQ(inspect_key_file(greedy).error(), errc::bad_key_file);
  auto weak = seal_key_file(test::fixed_key(), pass("x"), default_kdf_limits()).value();
  weak[8] = 1;  // opslimit 1 < MODERATE
  EXPECT_EQ(inspect_key_file(weak).error(), errc::bad_key_file);
}

TEST(KeyFile, SavedWithMode0600AndNeverOverwritten) {
  test::TempDir dir;
  const auto path = dir / "sub" / "publisher.key";
  auto file = seal_key_file(test::fixed_key(), {}, default_kdf_limits()).value();
  ASSERT_TRUE(save_key_file(path, file));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto other = seal_key_file(test::fixed_key(5), {}, default_kdf_limits()).value();
  EXPECT_EQ(save_key_file(path, other).error(), errc::key_exists);
  EXPECT_EQ(load_key_file(path).value(), file);  // untouched
  EXPECT_EQ(test::list_tree(dir.path()), (std::vector<std::string>{"sub", "sub/publisher.key"}));
}

TEST(KeyFile, LoadRefusesOversizedAndSymlinkedFiles) {
  test::TempDir dir;
  test::write_file(dir / "big.key", std::string(4096, 'x'));
  EXPECT_EQ(load_key_file(dir / "big.key").error(), errc::bad_key_file);
  auto file = seal_key_file(test::fixed_key(), {}, default_kdf_limits()).value();
  ASSERT_TRUE(save_key_file(dir / "real.key", file));
  std::filesystem::create_symlink(dir / "real.key", dir / "link.key");
  EXPECT_EQ(load_key_file(dir / "link.key").error(), errc::not_regular_file);
}

}  // namespace
}  // namespace tz
