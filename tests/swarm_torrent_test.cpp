#include "swarm/torrent.h"
#include "test_util.h"

#include <libtorrent/create_torrent.hpp>
#include <libtorrent/torrent_info.hpp>

#include <gtest/gtest.h>

namespace tz::swarm {
namespace {

struct Spec {
  const char* path;
  std::size_t size;
};

// Builds a folder, hashes it with our hasher and builds the torrent; builds
// the same torrent with libtorrent's own create_torrent + set_piece_hashes;
// the bytes must be identical. This pins our hashing (both trees, padding,
// one-piece files, empty files) to libtorrent's reference implementation.
void expect_same_as_libtorrent(const std::vector<Spec>& specs, int threads) {
  test::TempDir dir;
  const std::string name = "tamizdat-test";
  std::vector<HashInput> inputs;
  std::vector<std::uint64_t> sizes;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    test::write_file(dir / (name + "/" + specs[i].path), test::random_bytes(specs[i].size, static_cast<std::uint32_t>(i)));
    inputs.push_back({dir / (name + "/" + specs[i].path), specs[i].size, specs[i].path});
    sizes.push_back(specs[i].size);
  }
  const int piece_size = choose_piece_size(sizes);
  auto hashes = hash_files(inputs, piece_size, threads);
  ASSERT_TRUE(hashes);
  std::vector<TorrentFile> files;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    files.push_back({SafeRelPath::parse(specs[i].path).value(), specs[i].size, &hashes.value()[i]});
  }
  auto ours = build_torrent(name, files, piece_size);
  ASSERT_TRUE(ours);

  lt::file_storage fs;
  for (const auto& s : specs) fs.add_file(name + "/" + s.path, static_cast<std::int64_t>(s.size));
  lt::create_torrent ct(fs, piece_size);
  ct.set_creator("tamizdat");
  ct.set_creation_date(0);
  lt::set_piece_hashes(ct, dir.path().string());
  const std::vector<char> theirs = ct.generate_buf();
  EXPECT_EQ(ours.value().bytes, std::vector<std::uint8_t>(theirs.begin(), theirs.end()));

  // Pieces roots match what libtorrent computed for each file.
  const lt::torrent_info ti(lt::span<const char>(theirs), lt::from_span);
  for (const lt::file_index_t fi : ti.files().file_range()) {
    if (ti.files().pad_file_at(fi) || ti.files().file_size(fi) == 0) continue;
    const std::string rel = ti.files().file_path(fi).substr(name.size() + 1);
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (rel != specs[i].path) continue;
      const auto r = ti.files().root(fi);
      ASSERT_TRUE(hashes.value()[i].root.has_value());
      EXPECT_TRUE(std::equal(r.begin(), r.end(), hashes.value()[i].root->begin())) << rel;
    }
  }
}

TEST(Torrent, MatchesLibtorrentOnMixedFiles) {
  expect_same_as_libtorrent({{"index.html", 300},
                             {"img/a.jpg", 16384},        // exactly one block
                             {"img/b.jpg", 16385},        // one block and a byte
                             {"video.mp4", 3 * 1024 * 1024 + 12345},
                             {"empty.txt", 0},
                             {"z/deep/x.bin", 70000}},
                            2);
}

TEST(Torrent, MatchesLibtorrentOnOneThread) {
  expect_same_as_libtorrent({{"a", 1}, {"b", 100000}, {"c", 5 * 1024 * 1024}}, 1);
}

TEST(Torrent, MatchesLibtorrentWithLargePieces) {
  // 40 MiB of content picks pieces above 16 KiB; files straddle pieces.
  expect_same_as_libtorrent({{"big.bin", 40u * 1024 * 1024 + 7}, {"small.txt", 10}}, 2);
}

TEST(Torrent, PieceSizeRule) {
  EXPECT_EQ(choose_piece_size(std::vector<std::uint64_t>{100}), 16 * 1024);
  // 1 GiB in one file: at most 2048 pieces -> 512 KiB.
  EXPECT_EQ(choose_piece_size(std::vector<std::uint64_t>{1ull << 30}), 512 * 1024);
  // Many files that pad badly push the piece size down.
  std::vector<std::uint64_t> sizes(200, 1'300'000);
  sizes.push_back(768ull << 20);
  EXPECT_EQ(choose_piece_size(sizes), 256 * 1024);
  // Huge bundles are capped at 16 MiB pieces.
  EXPECT_EQ(choose_piece_size(std::vector<std::uint64_t>{1ull << 42}), 16 * 1024 * 1024);
}

TEST(Torrent, DeterministicAcrossRunsAndThreadCounts) {
  test::TempDir dir;
  test::write_file(dir / "a", test::random_bytes(2'000'000, 1));
  std::vector<HashInput> in = {{dir / "a", 2'000'000, "a"}};
  auto h1 = hash_files(in, 16384, 1).value();
  auto h2 = hash_files(in, 16384, 2).value();
  EXPECT_EQ(h1[0].root, h2[0].root);
  EXPECT_EQ(h1[0].v1_pieces, h2[0].v1_pieces);
  EXPECT_EQ(h1[0].piece_layer, h2[0].piece_layer);
}

TEST(Torrent, ChangedSizeIsReported) {
  test::TempDir dir;
  test::write_file(dir / "a", "12345");
  std::vector<HashInput> in = {{dir / "a", 6, "a"}};
  Diag d;
  auto r = hash_files(in, 16384, 2, &d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), tz::errc::file_changed);
  EXPECT_EQ(d.file, "a");
}

TEST(Torrent, SymlinkIsRefused) {
  test::TempDir dir;
  test::write_file(dir / "real", "12345");
  std::filesystem::create_symlink(dir / "real", dir / "link");
  std::vector<HashInput> in = {{dir / "link", 5, "link"}};
  EXPECT_EQ(hash_files(in, 16384, 1).error(), tz::errc::not_regular_file);
}

TEST(Torrent, InvalidPieceSizeIsRefused) {
  EXPECT_FALSE(hash_files({}, 1000, 1));
  EXPECT_FALSE(hash_files({}, 8192, 1));
}

}  // namespace
}  // namespace tz::swarm
