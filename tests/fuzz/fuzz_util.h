// Helpers shared by the fuzz targets: stopping on a violated property, and
// the fixed keys whose seeds the test vectors use. Test-only.
#pragma once

#include "core/keys.h"
#include "core/result.h"

#include <array>
#include <cstdio>
#include <utility>

namespace tz::fuzz {

// Each target defines this as its own name, for messages.
extern const char* const kTarget;

[[noreturn]] inline void violated(const char* what) {
  std::fprintf(stderr, "%s: property violated: %s\n", kTarget, what);
  std::fflush(stderr);
  __builtin_trap();
}

inline void check(bool ok, const char* what) {
  if (!ok) violated(what);
}

// True for the errors open_envelope documents.
inline bool is_envelope_error(const boost::system::error_code& e) {
  return e == errc::oversized || e == errc::malformed_envelope || e == errc::unknown_kind ||
         e == errc::bad_signature || e == errc::wrong_publisher;
}

// The key whose seed is `first`, `first`+1, ... (32 bytes).
inline SecretKey make_key(unsigned char first) {
  std::array<unsigned char, kSeedSize> seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<unsigned char>(first + i);
  auto k = SecretKey::from_seed(seed);
  check(k.has_value(), "cannot make a fixed key");
  return std::move(k).value();
}

// Seed 00..1f: the key of the test vectors. Made once (guarded memory).
inline const SecretKey& fixed_key() {
  static const SecretKey key = make_key(0x00);
  return key;
}

// Seed 20..3f: another publisher.
inline const SecretKey& other_key() {
  static const SecretKey key = make_key(0x20);
  return key;
}

}  // namespace tz::fuzz
