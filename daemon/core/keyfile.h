// The publisher's secret key file: the 32-byte Ed25519 seed sealed with
// XChaCha20-Poly1305 under a key derived from a passphrase with Argon2id. The
// 96-byte header (magic, version, protection, KDF limits, salt, nonce, public
// key) is the AEAD's associated data, so no field can be changed undetected.
// Layout byte for byte: docs/protocol.md ("Key file").
//
// `--insecure-no-passphrase` files use protection 0 and an all-zero sealing
// key: still integrity-checked, but anyone who reads the file has the key.
// Pure except load/save; safe from any thread.
#pragma once

#include "core/keys.h"
#include "core/result.h"
#include "core/secret.h"

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace tz {

inline constexpr std::size_t kKeyFileSize = 144;
inline constexpr std::size_t kKeyFileHeaderSize = 96;

enum class KeyProtection : std::uint8_t { none = 0, argon2id = 1 };

struct KdfLimits {
  std::uint64_t opslimit;
  std::uint64_t memlimit;
};
// libsodium's MODERATE limits (3 passes, 256 MiB): the default and the minimum
// a key file may declare.
[[nodiscard]] KdfLimits default_kdf_limits();

struct KeyFileInfo {
  PublicKey public_key;
  KeyProtection protection;
};

// Seals `key`. An empty `passphrase` means KeyProtection::none. Fails with
// errc::crypto_failure (out of memory in Argon2id, or libsodium failure).
[[nodiscard]] Result<std::vector<std::uint8_t>> seal_key_file(const SecretKey& key,
                                                             std::span<const unsigned char> passphrase,
                                                             KdfLimits limits);

// Checks the header without the passphrase and returns what it says.
// Fails with errc::bad_key_file or errc::unknown_key_version.
[[nodiscard]] Result<KeyFileInfo> inspect_key_file(std::span<const std::uint8_t> file);

// Unseals the key. For a protected file `passphrase` must be the one it was
// sealed with; for an unprotected one it is ignored. Fails with the errors of
// inspect_key_file, errc::wrong_passphrase (wrong passphrase or any modified
// byte), or errc::crypto_failure. Derived keys are wiped before returning.
[[nodiscard]] Result<SecretKey> open_key_file(std::span<const std::uint8_t> file,
                                              std::span<const unsigned char> passphrase);

// Reads a key file (at most kKeyFileSize bytes are accepted).
[[nodiscard]] Result<std::vector<std::uint8_t>> load_key_file(const std::filesystem::path& path);

// Writes a key file with mode 0600, atomically, creating missing parent
// folders with mode 0700. Fails with errc::key_exists if `path` exists.
[[nodiscard]] Result<void> save_key_file(const std::filesystem::path& path,
                                         std::span<const std::uint8_t> file);

}  // namespace tz
