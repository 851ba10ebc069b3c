// The torrent that carries a channel head (docs/protocol.md §9): the same
// signed head always gives the same bytes, a different head a different
// swarm, and the one file inside is the envelope.
#include "bundle/head_torrent.h"
#include "core/channel.h"
#include "core/hex.h"
#include "test_util.h"

#include <libtorrent/create_torrent.hpp>
#include <libtorrent/torrent_info.hpp>

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>

namespace tz::bundle {
namespace {

std::vector<std::uint8_t> signed_head(std::uint64_t seq, std::size_t bundles = 1) {
  const SecretKey key = test::fixed_key();
  HeadData h;
  h.publisher = key.public_key();
  h.seq = seq;
  h.created = 1767225600;
  for (std::size_t i = 0; i < bundles; ++i) {
    HeadEntry e;
    e.bundle_id.fill(0x5a);
    e.bundle_id[0] = static_cast<std::uint8_t>(i >> 8);  // unique per entry
    e.bundle_id[1] = static_cast<std::uint8_t>(i);
    e.info_hash_v1.fill(static_cast<std::uint8_t>(i + 101));
    e.title = "Bundle " + std::to_string(i);
    e.size = 1000 + i;
    e.created = 1767225600;
    h.bundles.push_back(e);
  }
  return sign_head(h, key).value();
}

TEST(HeadTorrent, SameEnvelopeSameBytes) {
  const auto env = signed_head(1);
  auto a = build_head_torrent(env);
  auto b = build_head_torrent(env);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a.value().bytes, b.value().bytes);
  EXPECT_EQ(a.value().info_hash_v1, b.value().info_hash_v1);
  EXPECT_EQ(a.value().info_hash_v2, b.value().info_hash_v2);
  EXPECT_EQ(a.value().name, b.value().name);
  // A copy of the bytes elsewhere in memory changes nothing either.
  const std::vector<std::uint8_t> copy(env.begin(), env.end());
  EXPECT_EQ(build_head_torrent(copy).value().bytes, a.value().bytes);
}

TEST(HeadTorrent, DifferentEnvelopeDifferentInfoHash) {
  auto a = build_head_torrent(signed_head(1));
  auto b = build_head_torrent(signed_head(2));
  ASSERT_TRUE(a && b);
  EXPECT_NE(a.value().info_hash_v1, b.value().info_hash_v1);
  EXPECT_NE(a.value().info_hash_v2, b.value().info_hash_v2);
  EXPECT_NE(a.value().name, b.value().name);
  // One flipped byte (not a valid head any more, but still a different swarm).
  auto env = signed_head(1);
  env.back() ^= 1;
  auto c = build_head_torrent(env);
  ASSERT_TRUE(c);
  EXPECT_NE(c.value().info_hash_v1, a.value().info_hash_v1);
}

TEST(HeadTorrent, OneFileHoldingTheEnvelope) {
  for (const std::size_t bundles : {std::size_t{1}, std::size_t{2000}}) {
    const auto env = signed_head(5, bundles);
    auto t = build_head_torrent(env);
    ASSERT_TRUE(t);
    EXPECT_TRUE(t.value().name.starts_with("tamizdat-head-"));
    EXPECT_EQ(t.value().name.size(), std::string("tamizdat-head-").size() + 20);
    lt::error_code ec;
    const lt::torrent_info ti(lt::span<const char>(reinterpret_cast<const char*>(t.value().bytes.data()),
                                                   static_cast<std::ptrdiff_t>(t.value().bytes.size())),
                              ec, lt::from_span);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(ti.name(), t.value().name);
    EXPECT_TRUE(ti.info_hashes().has_v1());
    EXPECT_TRUE(ti.info_hashes().has_v2());
    EXPECT_TRUE(std::equal(t.value().info_hash_v1.begin(), t.value().info_hash_v1.end(),
                           ti.info_hashes().v1.begin()));
    EXPECT_TRUE(std::equal(t.value().info_hash_v2.begin(), t.value().info_hash_v2.end(),
                           ti.info_hashes().v2.begin()));
    int real_files = 0;
    for (const lt::file_index_t fi : ti.files().file_range()) {
      if (ti.files().pad_file_at(fi)) continue;
      ++real_files;
      EXPECT_EQ(ti.files().file_path(fi), t.value().name + "/" + std::string(kHeadFileName));
      EXPECT_EQ(ti.files().file_size(fi), static_cast<std::int64_t>(env.size()));
    }
    EXPECT_EQ(real_files, 1);
    EXPECT_EQ(ti.piece_length(), t.value().piece_size);
  }
}

// libtorrent's own create_torrent, hashing the envelope written to disk,
// must give the same bytes: otherwise seeding the head would fail its check.
TEST(HeadTorrent, SameAsLibtorrentHashingTheFile) {
  for (const std::size_t bundles : {std::size_t{1}, std::size_t{40}, std::size_t{3000}}) {
    const auto env = signed_head(9, bundles);
    auto ours = build_head_torrent(env);
    ASSERT_TRUE(ours);
    test::TempDir dir;
    test::write_bytes(dir / (ours.value().name + "/" + std::string(kHeadFileName)), env);
    lt::file_storage fs;
    fs.add_file(ours.value().name + "/" + std::string(kHeadFileName), static_cast<std::int64_t>(env.size()));
    lt::create_torrent ct(fs, ours.value().piece_size);
    ct.set_creator("tamizdat");
    ct.set_creation_date(0);
    lt::set_piece_hashes(ct, dir.path().string());
    const std::vector<char> theirs = ct.generate_buf();
    EXPECT_EQ(ours.value().bytes, std::vector<std::uint8_t>(theirs.begin(), theirs.end())) << env.size() << " bytes";
  }
}

TEST(HeadTorrent, NameComesFromSha256OfTheEnvelope) {
  // The first 20 hex digits of SHA-256 over the envelope, so every node
  // holding the same head names it the same.
  const auto env = signed_head(1);
  auto t = build_head_torrent(env);
  ASSERT_TRUE(t);
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> h{};
  crypto_hash_sha256(h.data(), env.data(), env.size());
  EXPECT_EQ(t.value().name, "tamizdat-head-" + to_hex(std::span(h).first(10)));
}

TEST(HeadTorrent, EmptyAndOversizedAreRefused) {
  auto empty = build_head_torrent(std::span<const std::uint8_t>{});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error(), make_error_code(errc::oversized));
  const std::vector<std::uint8_t> big(kMaxHeadBytes + 1, 0x55);
  auto over = build_head_torrent(big);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error(), make_error_code(errc::oversized));
  // Exactly at the limit is accepted (the builder does not verify the head;
  // callers verify before they build).
  const std::vector<std::uint8_t> at(kMaxHeadBytes, 0x55);
  EXPECT_TRUE(build_head_torrent(at));
}

}  // namespace
}  // namespace tz::bundle
