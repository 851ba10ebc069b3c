// Sneakernet: a verified bundle as a plain tar archive, and back.
//
// Layout (docs/protocol.md, "Export archive"), in this order:
//   <bundle-id>.torrent              the bundle's torrent
//   <bundle-id>/.tamizdat/manifest   the signed manifest
//   <bundle-id>/<path>...            every content file, in manifest order
// Folder entries may appear anywhere and are ignored. Import reads the torrent
// and the manifest first, verifies the manifest, and from then on accepts only
// regular files the manifest lists, each exactly its signed size, so nothing
// unlisted or oversized is ever written. Everything lands in a temporary
// folder beside the destination, is verified byte for byte, and only then is
// renamed to the destination, which must not exist. On any failure nothing is
// left behind; an import that is killed leaves its hidden temporary folder,
// which the next import into the same destination removes. Blocking; call
// from the CLI or a worker thread.
#pragma once

#include "bundle/bundle.h"
#include "core/result.h"

#include <cstdint>
#include <filesystem>
#include <span>

namespace tz::bundle {

inline constexpr std::uint64_t kMaxTorrentBytes = 64u << 20;

// Verifies the bundle in `dir` and writes it to `out` (atomically; an existing
// `out` is replaced). Fails with the errors of verify_bundle, or a system or
// errc::bad_archive error when the archive cannot be written.
[[nodiscard]] Result<VerifiedBundle> export_bundle(const std::filesystem::path& dir,
                                                   const std::filesystem::path& out, const VerifyOptions& options,
                                                   Diag* diag = nullptr);

// Imports the archive at `archive` into `dest`. Fails with
// errc::destination_exists, errc::bad_archive (not a tar, wrong order or
// names, links, devices, sparse entries), errc::oversized, errc::extra_file,
// errc::file_missing, errc::file_changed (size or bytes differ from the
// manifest), errc::torrent_mismatch, the errors of verify_manifest, or a
// system error; `diag` names the entry.
[[nodiscard]] Result<VerifiedBundle> import_bundle(const std::filesystem::path& archive,
                                                   const std::filesystem::path& dest, const VerifyOptions& options,
                                                   Diag* diag = nullptr);

// The same, reading the archive from memory (for tests and fuzzing).
[[nodiscard]] Result<VerifiedBundle> import_bundle_from_memory(std::span<const std::uint8_t> archive,
                                                               const std::filesystem::path& dest,
                                                               const VerifyOptions& options, Diag* diag = nullptr);

}  // namespace tz::bundle
