#include "core/hex.h"
#include "core/ids.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <fstream>

namespace tz {
namespace {

const char* const kBase32 = "abcdefghijklmnopqrstuvwxyz234567";

TEST(PublisherId, RoundTripsAndHasDocumentedShape) {
  const PublicKey pk = test::fixed_key().public_key();
  const std::string id = encode_publisher_id(pk);
  EXPECT_EQ(id.size(), kPublisherIdLength);
  EXPECT_EQ(id.find_first_not_of(kBase32), std::string::npos);
  auto back = decode_publisher_id(id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back.value(), pk);
}

TEST(PublisherId, AcceptsUpperCaseAndSurroundingWhitespace) {
  const PublicKey pk = test::fixed_key().public_key();
  std::string id = encode_publisher_id(pk);
  for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto back = decode_publisher_id("  " + id + "\n");
  ASSERT_TRUE(back);
  EXPECT_EQ(back.value(), pk);
}

// The checksum's promise: every single wrong character and every swap of two
// neighbouring characters is rejected. Checked exhaustively for several keys.
TEST(PublisherId, RejectsEverySingleCharacterTypo) {
  for (std::uint8_t k = 0; k < 8; ++k) {
    const std::string id = encode_publisher_id(test::fixed_key(static_cast<std::uint8_t>(k * 31)).public_key());
    for (std::size_t i = 0; i < id.size(); ++i) {
      for (const char* c = kBase32; *c != '\0'; ++c) {
        if (*c == id[i]) continue;
        std::string typo = id;
        typo[i] = *c;
        auto r = decode_publisher_id(typo);
        ASSERT_FALSE(r) << "accepted typo at " << i << ": " << typo;
        EXPECT_TRUE(r.error() == errc::bad_publisher_id || r.error() == errc::unknown_id_version);
      }
    }
  }
}

TEST(PublisherId, RejectsEveryNeighbourSwap) {
  for (std::uint8_t k = 0; k < 8; ++k) {
    const std::string id = encode_publisher_id(test::fixed_key(static_cast<std::uint8_t>(k * 17 + 3)).public_key());
    for (std::size_t i = 0; i + 1 < id.size(); ++i) {
      if (id[i] == id[i + 1]) continue;
      std::string typo = id;
      std::swap(typo[i], typo[i + 1]);
      EXPECT_FALSE(decode_publisher_id(typo)) << "accepted swap at " << i;
    }
  }
}

TEST(PublisherId, RejectsMalformedInput) {
  const std::string id = encode_publisher_id(test::fixed_key().public_key());
  EXPECT_EQ(decode_publisher_id("").error(), errc::bad_publisher_id);
  EXPECT_EQ(decode_publisher_id(id.substr(1)).error(), errc::bad_publisher_id);       // truncated
  EXPECT_EQ(decode_publisher_id(id + "a").error(), errc::bad_publisher_id);           // too long
  EXPECT_EQ(decode_publisher_id(id.substr(0, 55) + "1").error(), errc::bad_publisher_id);  // '1' not base32
  EXPECT_EQ(decode_publisher_id(id.substr(0, 20) + "=" + id.substr(21)).error(), errc::bad_publisher_id);
  EXPECT_EQ(decode_publisher_id(std::string(56, '\0')).error(), errc::bad_publisher_id);
}

TEST(PublisherId, UnknownVersionIsNamedAsSuch) {
  // Build an ID with version 2 and a correct checksum by hand.
  const PublicKey pk = test::fixed_key().public_key();
  std::vector<std::uint8_t> raw(pk.bytes.begin(), pk.bytes.end());
  raw.push_back(2);
  const std::uint16_t crc = crc16_ccitt(raw);
  raw.push_back(static_cast<std::uint8_t>(crc >> 8));
  raw.push_back(static_cast<std::uint8_t>(crc & 0xff));
  std::string text;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : raw) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      text.push_back(kBase32[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  EXPECT_EQ(decode_publisher_id(text).error(), errc::unknown_id_version);
}

TEST(PublisherId, Crc16MatchesTheStandardCheckValue) {
  // CRC-16/CCITT-FALSE of "123456789" is 0x29B1 by definition.
  const std::string s = "123456789";
  EXPECT_EQ(crc16_ccitt({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}), 0x29B1);
}

// tests/vectors/publisher_id.txt: "<public key hex> <publisher id>" per line.
TEST(PublisherId, MatchesTestVectors) {
  std::ifstream f(std::string(TZ_VECTORS_DIR) + "/publisher_id.txt");
  ASSERT_TRUE(f) << "missing vector file";
  std::string hex, id;
  int n = 0;
  while (f >> hex >> id) {
    std::vector<std::uint8_t> raw;
    ASSERT_TRUE(from_hex(hex, raw));
    PublicKey pk;
    ASSERT_TRUE(PublicKey::from_bytes(raw, pk));
    EXPECT_EQ(encode_publisher_id(pk), id);
    EXPECT_EQ(decode_publisher_id(id).value(), pk);
    ++n;
  }
  EXPECT_GE(n, 2);
}

}  // namespace
}  // namespace tz
