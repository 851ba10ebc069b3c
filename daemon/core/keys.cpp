#include "core/keys.h"

#include <sodium.h>

#include <algorithm>

namespace tz {

bool crypto_init() { return sodium_init() >= 0; }

Result<SecretKey> SecretKey::generate() {
  if (!crypto_init()) return errc::crypto_failure;
  Secret seed(kSeedSize);
  randombytes_buf(seed.data(), seed.size());
  return from_seed(seed.bytes());
}

Result<SecretKey> SecretKey::from_seed(std::span<const unsigned char> seed) {
  if (!crypto_init() || seed.size() != kSeedSize) return errc::crypto_failure;
  Secret sk(crypto_sign_SECRETKEYBYTES);
  PublicKey pk;
  if (crypto_sign_seed_keypair(pk.bytes.data(), sk.data(), seed.data()) != 0) {
    return errc::crypto_failure;
  }
  return SecretKey(std::move(sk), pk);
}

Signature SecretKey::sign(std::span<const std::uint8_t> message) const {
  Signature sig{};
  // crypto_sign_detached cannot fail for a valid secret key.
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), m_secret.data());
  return sig;
}

bool verify_signature(const PublicKey& signer, std::span<const std::uint8_t> message,
                      std::span<const std::uint8_t> signature) {
  if (signature.size() != kSignatureSize || !crypto_init()) return false;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     signer.bytes.data()) == 0;
}

}  // namespace tz
