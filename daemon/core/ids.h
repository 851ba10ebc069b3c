// Publisher IDs: how a 32-byte Ed25519 public key is written for humans.
//
//   id = base32(public_key[32] || version[1] || crc16[2])   -> 56 characters
//
// base32 is RFC 4648's alphabet in lower case, without padding; crc16 is
// CRC-16/CCITT-FALSE over the first 33 bytes, big-endian. Because a degree-16
// CRC detects every error burst of up to 16 bits, any single wrong character
// (a 5-bit burst) and any two neighbouring characters swapped (a 10-bit burst)
// are always rejected; other typos slip through with probability 2^-16.
// Decoding accepts upper case. Byte-exact rules: docs/protocol.md.
// Pure; safe from any thread.
#pragma once

#include "core/result.h"

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tz {

inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::uint8_t kIdVersion = 1;
inline constexpr std::size_t kPublisherIdLength = 56;

struct PublicKey {
  std::array<std::uint8_t, kPublicKeySize> bytes{};
  auto operator<=>(const PublicKey&) const = default;
  [[nodiscard]] std::span<const std::uint8_t> span() const { return bytes; }
  // Copies exactly 32 bytes into `out`; returns false on any other size.
  [[nodiscard]] static bool from_bytes(std::span<const std::uint8_t> b, PublicKey& out);
};

// Encodes `key` as a publisher ID. Never fails.
[[nodiscard]] std::string encode_publisher_id(const PublicKey& key);

// Decodes `text` (surrounding white space ignored). Fails with
// errc::bad_publisher_id (wrong length, a character outside the alphabet, or
// checksum mismatch) or errc::unknown_id_version.
[[nodiscard]] Result<PublicKey> decode_publisher_id(std::string_view text);

// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xor-out).
[[nodiscard]] std::uint16_t crc16_ccitt(std::span<const std::uint8_t> data);

}  // namespace tz
