// Ed25519 keys: generation, signing, verification (libsodium). A SecretKey
// keeps its 64-byte libsodium secret key in guarded memory that is wiped when
// it is destroyed; it cannot be copied. Signing is deterministic (RFC 8032).
// Pure; a SecretKey may be used from one thread at a time, verification from any.
#pragma once

#include "core/ids.h"
#include "core/result.h"
#include "core/secret.h"

#include <array>
#include <cstdint>
#include <span>

namespace tz {

inline constexpr std::size_t kSeedSize = 32;
inline constexpr std::size_t kSignatureSize = 64;
using Signature = std::array<std::uint8_t, kSignatureSize>;

class SecretKey {
 public:
  // Makes a new key from the operating system's random source.
  // Fails with errc::crypto_failure if libsodium cannot initialise.
  [[nodiscard]] static Result<SecretKey> generate();
  // Rebuilds the key from its 32-byte seed. Fails with errc::crypto_failure
  // when `seed` is not 32 bytes or libsodium fails.
  [[nodiscard]] static Result<SecretKey> from_seed(std::span<const unsigned char> seed);

  SecretKey(SecretKey&&) noexcept = default;
  SecretKey& operator=(SecretKey&&) noexcept = default;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;

  [[nodiscard]] const PublicKey& public_key() const noexcept { return m_public; }
  // The 32-byte seed, valid while this key lives. Only for sealing a key file.
  [[nodiscard]] std::span<const unsigned char> seed() const noexcept {
    return m_secret.bytes().first(kSeedSize);
  }
  // Signs `message`. Never fails for a constructed key.
  [[nodiscard]] Signature sign(std::span<const std::uint8_t> message) const;

 private:
  SecretKey(Secret secret, const PublicKey& pk) : m_secret(std::move(secret)), m_public(pk) {}
  Secret m_secret;  // libsodium's 64-byte form: seed || public key
  PublicKey m_public;
};

// True when `signature` is `signer`'s valid Ed25519 signature over `message`.
// libsodium rejects small-order keys and non-canonical signatures.
[[nodiscard]] bool verify_signature(const PublicKey& signer, std::span<const std::uint8_t> message,
                                    std::span<const std::uint8_t> signature);

// Initialises libsodium once. Returns false if it cannot be initialised.
[[nodiscard]] bool crypto_init();

}  // namespace tz
