// Bundles on disk: a folder of content files plus `.tamizdat/manifest`, the
// signed envelope of a Manifest. create_bundle signs a folder; verify_bundle
// checks one completely (signature, expected publisher, exact file list,
// every byte against the signed pieces roots) and rebuilds its deterministic
// hybrid torrent, whose v2 info-hash is the bundle ID.
// Blocking (reads every byte); call from the CLI or a worker thread.
#pragma once

#include "core/keys.h"
#include "core/manifest.h"
#include "core/result.h"
#include "swarm/torrent.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tz::bundle {

struct CreateOptions {
  std::optional<std::string> title;     // default: the folder's name
  std::optional<std::string> entry;     // default: index.html when present
  std::optional<std::string> language;  // default: "" (unknown)
  std::int64_t created = 0;             // seconds since the epoch; 0 = now
  int threads = 0;                      // hashing threads; 0 = one per core
  // What the caller checked about identifying metadata (daemon/scrub).
  MetadataStatement metadata = MetadataStatement::unstated;
  // Files scrubbed just before signing, by relative path, with the sealed
  // commitment to each original when the publisher wants one.
  std::map<std::string, std::optional<ProvenanceSeal>> scrubbed;
};

struct VerifyOptions {
  std::optional<PublicKey> publisher;   // the publisher the bundle must come from
  int threads = 0;
};

// A bundle whose every byte was checked against its verified manifest.
struct VerifiedBundle {
  VerifiedManifest manifest;
  swarm::BuiltTorrent torrent;
  bool reused_manifest = false;  // create_bundle kept an identical, valid manifest
};

// Lowercase hex of the bundle ID (the torrent's v2 info-hash).
[[nodiscard]] std::string bundle_id(const VerifiedBundle& b);

// Signs the folder `dir` with `key`: lists its files (refusing symlinks,
// special files, unsafe or colliding names), hashes them, and writes
// `dir/.tamizdat/manifest` atomically. When `dir` already holds a valid
// manifest by the same key describing exactly the same files and fields, it is
// kept, so running this twice gives the same bundle ID. A file the old
// manifest marks scrubbed keeps that mark (and its provenance) while its
// content is unchanged, unless `options.scrubbed` names it anew. Temporary files of a
// manifest write cut short (".tamizdat/manifest.tmp-" + digits) are removed
// first. Fails with
// errc::empty_bundle, errc::unsafe_path, errc::not_regular_file,
// errc::malformed_manifest (bad title, language or entry), errc::too_many_files,
// errc::file_changed (a file changed while being hashed) or a system error;
// `diag` names the file.
[[nodiscard]] Result<VerifiedBundle> create_bundle(const std::filesystem::path& dir, const SecretKey& key,
                                                   const CreateOptions& options, Diag* diag = nullptr);

// Verifies the bundle in `dir`. Fails with errc::no_manifest, the errors of
// verify_manifest (bad_signature, wrong_publisher, oversized,
// malformed_manifest, unknown_version, unsafe_path...), errc::file_missing,
// errc::extra_file, errc::file_changed, errc::not_regular_file or a system
// error; `diag` names the file.
[[nodiscard]] Result<VerifiedBundle> verify_bundle(const std::filesystem::path& dir, const VerifyOptions& options,
                                                   Diag* diag = nullptr);

// The torrent's top-level folder name: "tamizdat-" and the first 20 hex digits
// of SHA-256 over the manifest envelope, so it depends on the signed content
// only, never on where the folder happens to be.
[[nodiscard]] std::string torrent_name(std::span<const std::uint8_t> manifest_envelope);

}  // namespace tz::bundle
