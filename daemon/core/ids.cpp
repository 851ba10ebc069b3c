#include "core/ids.h"

#include <algorithm>
#include <cstring>

namespace tz {
namespace {

constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kRawSize = kPublicKeySize + 1 + 2;  // 35 bytes = 280 bits = 56 chars

int base32_value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

std::string_view trim(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool PublicKey::from_bytes(std::span<const std::uint8_t> b, PublicKey& out) {
  if (b.size() != kPublicKeySize) return false;
  std::copy(b.begin(), b.end(), out.bytes.begin());
  return true;
}

std::uint16_t crc16_ccitt(std::span<const std::uint8_t> data) {
  std::uint16_t crc = 0xFFFF;
  for (std::uint8_t byte : data) {
    crc = static_cast<std::uint16_t>(crc ^ (byte << 8));
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::string encode_publisher_id(const PublicKey& key) {
  std::array<std::uint8_t, kRawSize> raw{};
  std::copy(key.bytes.begin(), key.bytes.end(), raw.begin());
  raw[kPublicKeySize] = kIdVersion;
  const std::uint16_t crc = crc16_ccitt(std::span(raw).first(kPublicKeySize + 1));
  raw[kPublicKeySize + 1] = static_cast<std::uint8_t>(crc >> 8);
  raw[kPublicKeySize + 2] = static_cast<std::uint8_t>(crc & 0xff);

  std::string out;
  out.reserve(kPublisherIdLength);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : raw) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  // 280 bits divide evenly into 56 characters: nothing is left over.
  return out;
}

Result<PublicKey> decode_publisher_id(std::string_view text) {
  text = trim(text);
  if (text.size() != kPublisherIdLength) return errc::bad_publisher_id;
  std::array<std::uint8_t, kRawSize> raw{};
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char c : text) {
    const int v = base32_value(c);
    if (v < 0) return errc::bad_publisher_id;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      raw[n++] = static_cast<std::uint8_t>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const std::uint16_t want = crc16_ccitt(std::span(raw).first(kPublicKeySize + 1));
  const std::uint16_t got =
      static_cast<std::uint16_t>(raw[kPublicKeySize + 1] << 8 | raw[kPublicKeySize + 2]);
  if (want != got) return errc::bad_publisher_id;
  // Checked after the checksum, so a typo in the version character reads as a typo.
  if (raw[kPublicKeySize] != kIdVersion) return errc::unknown_id_version;
  PublicKey key;
  std::copy_n(raw.begin(), kPublicKeySize, key.bytes.begin());
  return key;
}

}  // namespace tz
