#include "core/envelope.h"
#include "core/hex.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace tz {
namespace {

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(Envelope, SealAndOpenRoundTrip) {
  const SecretKey key = test::fixed_key();
  const auto env = seal_envelope(EnvelopeKind::manifest, bytes("payload"), key);
  auto opened = open_envelope(env, EnvelopeKind::manifest, 1 << 20);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened.value().signer(), key.public_key());
  EXPECT_EQ(opened.value().payload(), bytes("payload"));
  const PublicKey pk = key.public_key();
  EXPECT_TRUE(open_envelope(env, EnvelopeKind::manifest, 1 << 20, &pk));
}

TEST(Envelope, SignatureCoversDomainKindAndPayload) {
  const auto msg = signed_message("manifest", bytes("xy"));
  EXPECT_EQ(std::string(msg.begin(), msg.end()), std::string("tamizdat/v1/manifest\0xy", 23));
}

TEST(Envelope, EveryFlippedBitIsRejected) {
  const auto env = seal_envelope(EnvelopeKind::manifest, bytes("some payload bytes"), test::fixed_key());
  for (std::size_t i = 0; i < env.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = env;
      bad[i] = static_cast<std::uint8_t>(bad[i] ^ (1 << bit));
      EXPECT_FALSE(open_envelope(bad, EnvelopeKind::manifest, 1 << 20)) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(Envelope, EveryTruncationIsRejected) {
  const auto env = seal_envelope(EnvelopeKind::manifest, bytes("p"), test::fixed_key());
  for (std::size_t n = 0; n < env.size(); ++n) {
    EXPECT_FALSE(open_envelope(std::span(env).first(n), EnvelopeKind::manifest, 1 << 20)) << n;
  }
}

TEST(Envelope, KindIsBoundToTheSignature) {
  const auto env = seal_envelope(EnvelopeKind::channel_head, bytes("p"), test::fixed_key());
  EXPECT_EQ(open_envelope(env, EnvelopeKind::manifest, 1 << 20).error(), errc::unknown_kind);
}

TEST(Envelope, WrongSignerIsNamed) {
  const auto env = seal_envelope(EnvelopeKind::manifest, bytes("p"), test::fixed_key());
  const PublicKey other = test::fixed_key(1).public_key();
  EXPECT_EQ(open_envelope(env, EnvelopeKind::manifest, 1 << 20, &other).error(), errc::wrong_publisher);
}

TEST(Envelope, SignerSwappedForAnotherKeyFailsSignature) {
  auto env = seal_envelope(EnvelopeKind::manifest, bytes("p"), test::fixed_key());
  const PublicKey other = test::fixed_key(1).public_key();
  // The signer field's 32 bytes follow its tag and length.
  const PublicKey mine = test::fixed_key().public_key();
  auto it = std::search(env.begin(), env.end(), mine.bytes.begin(), mine.bytes.end());
  ASSERT_NE(it, env.end());
  std::copy(other.bytes.begin(), other.bytes.end(), it);
  EXPECT_EQ(open_envelope(env, EnvelopeKind::manifest, 1 << 20).error(), errc::bad_signature);
}

TEST(Envelope, NonCanonicalEncodingsAreRejected) {
  const auto env = seal_envelope(EnvelopeKind::manifest, bytes("p"), test::fixed_key());
  // An unknown field appended (field 15, varint 1).
  auto extra = env;
  extra.push_back(0x78);
  extra.push_back(0x01);
  EXPECT_EQ(open_envelope(extra, EnvelopeKind::manifest, 1 << 20).error(), errc::malformed_envelope);
  // The kind field repeated at the end: parses (last wins) but is not canonical.
  auto repeated = env;
  for (char b : std::string("\x0a\x08manifest")) repeated.push_back(static_cast<std::uint8_t>(b));
  EXPECT_EQ(open_envelope(repeated, EnvelopeKind::manifest, 1 << 20).error(), errc::malformed_envelope);
}

TEST(Envelope, OversizedInputIsRejectedBeforeParsing) {
  const auto env = seal_envelope(EnvelopeKind::manifest, std::vector<std::uint8_t>(1000, 7), test::fixed_key());
  EXPECT_EQ(open_envelope(env, EnvelopeKind::manifest, 999).error(), errc::oversized);
  EXPECT_EQ(open_envelope(std::vector<std::uint8_t>(10, 0xff), EnvelopeKind::manifest, 1 << 20).error(),
            errc::malformed_envelope);
  // Found by tar_import_fuzz: an empty envelope reached memcmp with a null pointer.
  EXPECT_EQ(open_envelope({}, EnvelopeKind::manifest, 1 << 20).error(), errc::malformed_envelope);
}

// tests/vectors/envelope.txt holds key=value lines: seed, kind, payload and
// the exact envelope bytes, all hex except kind. Ed25519 is deterministic, so
// sealing the same payload with the same seed must give the same bytes.
TEST(Envelope, MatchesTestVector) {
  std::ifstream f(std::string(TZ_VECTORS_DIR) + "/envelope.txt");
  ASSERT_TRUE(f) << "missing vector file";
  std::map<std::string, std::string> v;
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    v[line.substr(0, eq)] = line.substr(eq + 1);
  }
  std::vector<std::uint8_t> seed, payload, envelope;
  ASSERT_TRUE(from_hex(v["seed"], seed));
  ASSERT_TRUE(from_hex(v["payload"], payload));
  ASSERT_TRUE(from_hex(v["envelope"], envelope));
  ASSERT_EQ(v["kind"], "manifest");
  const SecretKey key = SecretKey::from_seed(seed).value();
  EXPECT_EQ(to_hex(key.public_key().bytes), v["public_key"]);
  EXPECT_EQ(seal_envelope(EnvelopeKind::manifest, payload, key), envelope);
  auto opened = open_envelope(envelope, EnvelopeKind::manifest, 1 << 20);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened.value().payload(), payload);
}

}  // namespace
}  // namespace tz
