#include "core/dht_item.h"
#include "test_util.h"

#include <libtorrent/kademlia/ed25519.hpp>
#include <libtorrent/kademlia/item.hpp>

#include <gtest/gtest.h>

namespace tz {
namespace {

InfoHashV1 ih(std::uint8_t b) {
  InfoHashV1 h{};
  h.fill(b);
  return h;
}

TEST(ChannelPointer, EncodesAsDocumented) {
  const std::string v = encode_channel_pointer(ih(0x41));
  EXPECT_EQ(v, "d2:ih20:" + std::string(20, 'A') + "e");
  EXPECT_EQ(decode_channel_pointer(v).value(), ih(0x41));
}

TEST(ChannelPointer, RejectsEveryOtherForm) {
  const std::string good = encode_channel_pointer(ih(1));
  for (const std::string& bad : {std::string(), std::string("de"), good.substr(0, good.size() - 1), good + "x",
                                "d2:ih19:" + std::string(19, 'a') + "e", "d2:ix20:" + std::string(20, 'a') + "e",
                                "d2:ih20:" + std::string(20, 'a') + "1:xi1ee"}) {
    EXPECT_EQ(decode_channel_pointer(bad).error(), errc::malformed_dht_item) << bad;
  }
  EXPECT_EQ(decode_channel_pointer(std::string(1001, 'd')).error(), errc::oversized);
}

TEST(ChannelPointer, SignedBufferIsBep44) {
  const auto b = bep44_signed_buffer("tamizdat/v1", 7, "d2:ih20:" + std::string(20, 'z') + "e");
  EXPECT_EQ(std::string(b.begin(), b.end()), "4:salt11:tamizdat/v13:seqi7e1:vd2:ih20:" + std::string(20, 'z') + "e");
  const auto nosalt = bep44_signed_buffer("", 1, "i1e");
  EXPECT_EQ(std::string(nosalt.begin(), nosalt.end()), "3:seqi1e1:vi1e");
}

// libtorrent's own Ed25519 and BEP 44 code, from the same seed, must produce
// the same public key and the very same signature (Ed25519 is deterministic):
// DHT nodes running libtorrent will then accept the items we sign.
TEST(ChannelPointer, SignatureMatchesLibtorrent) {
  std::array<char, 32> seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<char>(i);
  const SecretKey key = test::fixed_key();
  auto [lt_pk, lt_sk] = lt::dht::ed25519_create_keypair(seed);
  ASSERT_TRUE(std::equal(key.public_key().bytes.begin(), key.public_key().bytes.end(),
                         reinterpret_cast<const std::uint8_t*>(lt_pk.bytes.data())));
  const std::string value = encode_channel_pointer(ih(0x5a));
  for (std::int64_t seq : {std::int64_t{1}, std::int64_t{42}, std::int64_t{1} << 40}) {
    const Signature ours = sign_channel_pointer(key, value, seq);
    const lt::dht::signature theirs = lt::dht::sign_mutable_item(
        value, std::string_view(kDhtSalt), lt::dht::sequence_number(seq), lt_pk, lt_sk);
    EXPECT_TRUE(std::equal(ours.begin(), ours.end(), reinterpret_cast<const std::uint8_t*>(theirs.bytes.data())))
        << "seq " << seq;
    EXPECT_TRUE(verify_channel_pointer(key.public_key(), value, seq, ours));
  }
}

TEST(ChannelPointer, VerificationRefusesAnyChange) {
  const SecretKey key = test::fixed_key();
  const std::string value = encode_channel_pointer(ih(3));
  Signature sig = sign_channel_pointer(key, value, 9);
  EXPECT_TRUE(verify_channel_pointer(key.public_key(), value, 9, sig));
  EXPECT_FALSE(verify_channel_pointer(key.public_key(), value, 10, sig));               // replayed at another seq
  EXPECT_FALSE(verify_channel_pointer(test::fixed_key(2).public_key(), value, 9, sig));  // other key
  EXPECT_FALSE(verify_channel_pointer(key.public_key(), encode_channel_pointer(ih(4)), 9, sig));
  EXPECT_FALSE(verify_channel_pointer(key.public_key(), value, -1, sig));
  sig[0] ^= 1;
  EXPECT_FALSE(verify_channel_pointer(key.public_key(), value, 9, sig));
  // Signed without our salt (another application's item) does not verify.
  const auto unsalted = key.sign(bep44_signed_buffer("", 9, value));
  EXPECT_FALSE(verify_channel_pointer(key.public_key(), value, 9, unsalted));
}

TEST(ChannelPointer, MatchesTestVector) {
  auto v = test::read_vector("dht_item.txt");
  const SecretKey key = SecretKey::from_seed(test::unhex(v["seed"])).value();
  const auto value = test::unhex(v["value"]);
  const std::string value_str(value.begin(), value.end());
  const auto sig = test::unhex(v["signature"]);
  const std::int64_t seq = std::stoll(v["seq"]);
  const Signature ours = sign_channel_pointer(key, value_str, seq);
  EXPECT_TRUE(std::equal(ours.begin(), ours.end(), sig.begin(), sig.end()));
  EXPECT_TRUE(verify_channel_pointer(key.public_key(), value_str, seq, sig));
}

}  // namespace
}  // namespace tz
