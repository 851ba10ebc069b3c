// Provenance without exposure (issue 7): a sealed commitment, carried in a
// signed manifest, to the original a scrubbed file was made from. Only the
// publisher can open it: revealing one file's proof key (a proof) lets anyone
// who also holds the original confirm that this original is the one that
// file came from; without that key a commitment says nothing about any
// original, so holding a seized original does not let anyone match it
// against a bundle through its seal. Bytes: docs/protocol.md ("Provenance");
// what it does and does not hide: docs/threat-model.md ("Provenance").
//
//   K = BLAKE2b-256(key = the Ed25519 seed, "tamizdat/provenance-key/v1")
//   k = BLAKE2b-256(key = K, "tamizdat/provenance-file/v1" || salt)
//   C = BLAKE2b-256(key = k, "tamizdat/provenance-commit/v1" || SHA-256(original))
//
// The salt is 16 random bytes per sealed file, so each file has its own k,
// and revealing one k tells nothing about K or any other file's k.
//
// Also the proof file, which carries one k with the bundle and file it
// opens. Pure (libsodium only); safe from any thread. K never leaves this
// module; K and k live in guarded memory (core/secret.h), wiped when dropped.
#pragma once

#include "core/keys.h"
#include "core/manifest.h"
#include "core/paths.h"
#include "core/result.h"
#include "core/secret.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace tz {

inline constexpr std::size_t kProvenanceSaltSize = 16;
inline constexpr std::size_t kFileProofKeySize = 32;
// A proof file is at most this long; the longest valid one is 1212 bytes
// (60 of fixed text, 128 of hex, a path of at most kMaxPathBytes).
inline constexpr std::size_t kMaxProofBytes = 2048;

using ProvenanceSalt = std::array<std::uint8_t, kProvenanceSaltSize>;

// One file's proof key k. Held in guarded memory; movable, not copyable. It
// is a secret until the publisher chooses to reveal it in a proof.
class FileProofKey {
 public:
  // Copies `bytes` (a key read from a proof file) into guarded memory.
  // Throws std::bad_alloc only when guarded memory cannot be had.
  [[nodiscard]] static FileProofKey from_bytes(std::span<const std::uint8_t, kFileProofKeySize> bytes);

  FileProofKey(FileProofKey&&) noexcept = default;
  FileProofKey& operator=(FileProofKey&&) noexcept = default;
  FileProofKey(const FileProofKey&) = delete;
  FileProofKey& operator=(const FileProofKey&) = delete;

  // The 32 key bytes, valid while this object lives.
  [[nodiscard]] std::span<const unsigned char> bytes() const noexcept { return m_key.bytes(); }

 private:
  friend FileProofKey proof_key(const SecretKey&, const ProvenanceSalt&);
  explicit FileProofKey(Secret key) : m_key(std::move(key)) {}
  Secret m_key;
};

// Seals `original_digest` (SHA-256 of the original's bytes, see
// sha256_of_file in core/files.h) under `key`'s provenance key with a fresh
// random salt. Sealing the same original twice gives unrelated seals. Never
// fails for a constructed key (libsodium is initialised by then); throws
// std::bad_alloc only when guarded memory cannot be had.
[[nodiscard]] ProvenanceSeal seal_original(const SecretKey& key, const Sha256& original_digest);

// seal_original with the salt given: for test vectors and tests only. A
// salt used twice under one key makes the two files share one proof key.
[[nodiscard]] ProvenanceSeal seal_original_with_salt(const SecretKey& key, const Sha256& original_digest,
                                                     const ProvenanceSalt& salt);

// The proof key k of the file sealed with `salt` under `key`. Revealing it
// opens that one seal; it gives nothing about K or other salts' keys.
[[nodiscard]] FileProofKey proof_key(const SecretKey& key, const ProvenanceSalt& salt);

// True when `seal`'s commitment is the one `file_key` makes of
// `original_digest`: the original with that SHA-256 is the one sealed.
// Compares in constant time. Does not check that `file_key` belongs to
// `seal.salt` (nobody but the publisher can); a key that opens a commitment
// it was not made for would need a BLAKE2b preimage.
[[nodiscard]] bool opens(const FileProofKey& file_key, const Sha256& original_digest, const ProvenanceSeal& seal);

// What a proof file says: this key opens the seal of `path` in the bundle
// `bundle_id` (its v2 info-hash, protocol.md §6).
struct ProvenanceProof {
  Sha256 bundle_id;
  SafeRelPath path;
  FileProofKey file_key;
};

// The proof file's bytes (protocol.md, "Provenance"): one line of JSON in a
// fixed form, ending in a newline. The result holds `file_key` in ordinary
// memory; a caller that keeps it around should wipe it.
[[nodiscard]] std::string encode_proof(const Sha256& bundle_id, const SafeRelPath& path,
                                       const FileProofKey& file_key);

// Reads proof file bytes. Only the exact form encode_proof writes is
// accepted (lower-case hex, fields in order, no white space, one trailing
// newline), so a proof has one byte form. Fails with errc::oversized past
// kMaxProofBytes (before looking at the bytes), otherwise errc::bad_proof
// for anything else, with `diag->detail` saying what is wrong (never the
// key). The result does not refer to `bytes`.
[[nodiscard]] Result<ProvenanceProof> parse_proof(std::span<const std::uint8_t> bytes, Diag* diag = nullptr);

}  // namespace tz
