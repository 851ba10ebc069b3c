// BitTorrent metadata for bundles: hashing a bundle's files for a v1+v2
// hybrid torrent, and building that torrent deterministically. This is the
// part of tz::swarm that needs no session; it is used offline by the CLI.
//
// Hashing reads each byte once and computes both hash trees from the same
// buffer: SHA-256 of every 16 KiB block (v2 leaves) and SHA-1 of every piece
// (v1, which in a hybrid torrent also covers the zero padding after each
// file). Work is split by piece ranges over `threads` threads; every file is
// piece-aligned in a hybrid torrent, so the hashes of one file do not depend
// on the others. Blocking; call from the CLI or a worker, not the io thread.
#pragma once

#include "core/manifest.h"
#include "core/paths.h"
#include "core/result.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tz::swarm {

inline constexpr int kBlockSize = 16 * 1024;
inline constexpr int kMinPieceSize = 16 * 1024;
inline constexpr int kMaxPieceSize = 16 * 1024 * 1024;
using Sha1 = std::array<std::uint8_t, 20>;

// The piece size for files of these sizes (in any order): the smallest power of
// two from 16 KiB up to 16 MiB that gives at most 2048 pieces of content, then
// halved (not below 16 KiB) while the zero padding a hybrid torrent adds after
// each file exceeds 1/32 of the content. docs/protocol.md states the rule.
[[nodiscard]] int choose_piece_size(std::span<const std::uint64_t> sizes);

struct HashInput {
  std::filesystem::path file;  // absolute or relative to the working dir
  std::uint64_t size = 0;      // expected size; a different size is errc::file_changed
  std::string name;            // for diagnostics: the path inside the bundle
};

struct FileHashes {
  std::optional<Sha256> root;      // v2 pieces root; absent for an empty file
  std::vector<Sha1> v1_pieces;     // SHA-1 of each piece, zero-padded to the piece size
  std::vector<Sha256> piece_layer; // v2 hash of each piece (for one-piece files: the root)
};

// Hashes `files` with pieces of `piece_size` bytes on `threads` threads (at
// least 1). Fails with errc::file_changed (size differs, or the file shrank
// while being read), errc::not_regular_file, or a system error; `diag` names
// the file. Results are in the order of `files`.
[[nodiscard]] Result<std::vector<FileHashes>> hash_files(std::span<const HashInput> files, int piece_size,
                                                         int threads, Diag* diag = nullptr);

// Hashes bytes held in memory (a manifest) as one file. `piece_size` must be
// valid (see choose_piece_size). `only_file`: the torrent holds no other
// file, so (as libtorrent lays out hybrid torrents) its last v1 piece is not
// padded. Never fails.
[[nodiscard]] FileHashes hash_buffer(std::span<const std::uint8_t> data, int piece_size, bool only_file = false);

struct TorrentFile {
  SafeRelPath path;
  std::uint64_t size = 0;
  const FileHashes* hashes = nullptr;  // must outlive the build_torrent call
};

struct BuiltTorrent {
  std::vector<std::uint8_t> bytes;  // the .torrent file
  Sha256 info_hash_v2{};            // the bundle ID
  Sha1 info_hash_v1{};
  std::string name;
  std::string magnet;
  int piece_size = 0;
};

// Builds the hybrid torrent for `files` (any order; libtorrent sorts them and
// inserts pad files) under the top-level folder `name`. No creation date, no
// tracker, no mtime or attributes, creator "tamizdat": the same inputs always
// give the same bytes. Fails with errc::malformed_manifest when the hashes do
// not fit the files, or when libtorrent refuses the file list.
[[nodiscard]] Result<BuiltTorrent> build_torrent(const std::string& name, std::span<const TorrentFile> files,
                                                 int piece_size);

}  // namespace tz::swarm
