#include "core/channel.h"
#include "tamizdat/v1/channel.pb.h"
#include "test_util.h"

#include <gtest/gtest.h>

namespace tz {
namespace {

HeadEntry entry(std::uint8_t n) {
  HeadEntry e;
  e.bundle_id.fill(n);
  e.info_hash_v1.fill(static_cast<std::uint8_t>(n + 100));
  e.title = "Bundle " + std::to_string(n);
  e.size = 1000u * n + 1;
  e.created = 1700000000 + n;
  return e;
}

HeadData head(const SecretKey& key, std::uint64_t seq, std::size_t bundles = 2) {
  HeadData h;
  h.publisher = key.public_key();
  h.seq = seq;
  h.created = 1700000000;
  h.expires = 1700000000 + 7 * 86400;
  for (std::size_t i = 0; i < bundles; ++i) h.bundles.push_back(entry(static_cast<std::uint8_t>(i + 1)));
  return h;
}

VerifiedHead verified(const HeadData& h, const SecretKey& key) {
  return verify_head(sign_head(h, key).value()).value();
}

std::vector<std::uint8_t> sign_raw(const tamizdat::v1::ChannelHead& pb, const SecretKey& key) {
  const std::string s = pb.SerializeAsString();
  return seal_envelope(EnvelopeKind::channel_head, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}, key);
}

TEST(ChannelHead, SignAndVerifyRoundTrip) {
  const SecretKey key = test::fixed_key();
  const HeadData h = head(key, 3);
  auto env = sign_head(h, key);
  ASSERT_TRUE(env);
  const PublicKey pk = key.public_key();
  auto v = verify_head(env.value(), &pk);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value().data(), h);
  EXPECT_EQ(v.value().envelope(), env.value());
}

TEST(ChannelHead, AManifestIsNotAHead) {
  // Kind is part of the signed message: a signed manifest cannot pass as a head.
  const SecretKey key = test::fixed_key();
  const std::vector<std::uint8_t> payload = {1, 2, 3};
  EXPECT_EQ(verify_head(seal_envelope(EnvelopeKind::manifest, payload, key)).error(), errc::unknown_kind);
}

TEST(ChannelHead, ForgedOrForeignHeadsAreRefused) {
  const SecretKey key = test::fixed_key();
  auto env = sign_head(head(key, 1), key).value();
  const PublicKey other = test::fixed_key(4).public_key();
  EXPECT_EQ(verify_head(env, &other).error(), errc::wrong_publisher);
  env[env.size() - 3] ^= 1;
  EXPECT_EQ(verify_head(env).error(), errc::bad_signature);
  // Naming one publisher while signed by another.
  tamizdat::v1::ChannelHead pb;
  pb.set_version(1);
  pb.set_publisher(std::string(key.public_key().bytes.begin(), key.public_key().bytes.end()));
  pb.set_seq(1);
  EXPECT_EQ(verify_head(sign_raw(pb, test::fixed_key(4))).error(), errc::wrong_publisher);
}

TEST(ChannelHead, StructuralRulesAreEnforced) {
  const SecretKey key = test::fixed_key();
  const std::string pk(key.public_key().bytes.begin(), key.public_key().bytes.end());
  struct Case {
    const char* what;
    std::function<void(tamizdat::v1::ChannelHead&)> edit;
    errc want;
  };
  const std::vector<Case> cases = {
      {"version 2", [](auto& pb) { pb.set_version(2); }, errc::unknown_version},
      {"seq 0", [](auto& pb) { pb.set_seq(0); }, errc::malformed_head},
      {"seq beyond int64", [](auto& pb) { pb.set_seq(1ull << 63); }, errc::malformed_head},
      {"expires before created", [](auto& pb) { pb.set_expires(pb.created() - 1); }, errc::malformed_head},
      {"short bundle id", [](auto& pb) { pb.mutable_bundles(0)->set_bundle_id("abc"); }, errc::malformed_head},
      {"short v1 hash", [](auto& pb) { pb.mutable_bundles(0)->set_info_hash_v1(std::string(32, 'a')); },
       errc::malformed_head},
      {"duplicate bundle", [](auto& pb) { *pb.add_bundles() = pb.bundles(0); }, errc::malformed_head},
      {"zero size", [](auto& pb) { pb.mutable_bundles(0)->set_size(0); }, errc::oversized},
      {"huge size", [](auto& pb) { pb.mutable_bundles(0)->set_size(kMaxBundleSize + 1); }, errc::oversized},
      {"long title", [](auto& pb) { pb.mutable_bundles(0)->set_title(std::string(1025, 't')); },
       errc::malformed_head},
      {"short publisher", [](auto& pb) { pb.set_publisher("x"); }, errc::malformed_head},
  };
  for (const auto& c : cases) {
    tamizdat::v1::ChannelHead pb;
    pb.set_version(1);
    pb.set_publisher(pk);
    pb.set_seq(5);
    pb.set_created(100);
    pb.set_expires(200);
    auto* b = pb.add_bundles();
    b->set_bundle_id(std::string(32, 'b'));
    b->set_info_hash_v1(std::string(20, 'v'));
    b->set_title("t");
    b->set_size(10);
    c.edit(pb);
    auto r = verify_head(sign_raw(pb, key));
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error(), c.want) << c.what << ": " << r.error().message();
  }
}

TEST(ChannelHead, TooManyBundlesAreRefused) {
  const SecretKey key = test::fixed_key();
  HeadData h = head(key, 1, 0);
  for (std::size_t i = 0; i <= kMaxHeadBundles; ++i) {
    HeadEntry e = entry(1);
    e.bundle_id[0] = static_cast<std::uint8_t>(i);
    e.bundle_id[1] = static_cast<std::uint8_t>(i >> 8);
    h.bundles.push_back(e);
  }
  EXPECT_EQ(sign_head(h, key).error(), errc::too_many_files);
}

TEST(ChannelHead, OversizedEnvelopeIsRefusedUnread) {
  EXPECT_EQ(verify_head(std::vector<std::uint8_t>(kMaxHeadBytes + 1, 0)).error(), errc::oversized);
  EXPECT_EQ(verify_head({}).error(), errc::malformed_envelope);
}

TEST(MirrorRules, FirstHeadIsAccepted) {
  const SecretKey key = test::fixed_key();
  EXPECT_EQ(judge_head(nullptr, verified(head(key, 1), key)), HeadVerdict::accept);
}

TEST(MirrorRules, NewerSeqIsAccepted) {
  const SecretKey key = test::fixed_key();
  const auto cur = verified(head(key, 4), key);
  EXPECT_EQ(judge_head(&cur, verified(head(key, 5, 3), key)), HeadVerdict::accept);
  EXPECT_EQ(judge_head(&cur, verified(head(key, 1000), key)), HeadVerdict::accept);
}

TEST(MirrorRules, LowerSeqIsRollback) {
  const SecretKey key = test::fixed_key();
  const auto cur = verified(head(key, 4), key);
  EXPECT_EQ(judge_head(&cur, verified(head(key, 3, 5), key)), HeadVerdict::rollback);
}

TEST(MirrorRules, SameBytesAreSame) {
  const SecretKey key = test::fixed_key();
  const auto cur = verified(head(key, 4), key);
  EXPECT_EQ(judge_head(&cur, verified(head(key, 4), key)), HeadVerdict::same);
}

TEST(MirrorRules, SameSeqDifferentContentIsEquivocation) {
  const SecretKey key = test::fixed_key();
  const auto cur = verified(head(key, 4, 2), key);
  EXPECT_EQ(judge_head(&cur, verified(head(key, 4, 3), key)), HeadVerdict::equivocation);
}

TEST(MirrorRules, OtherPublisherIsRefused) {
  const SecretKey key = test::fixed_key();
  const SecretKey other = test::fixed_key(9);
  const auto cur = verified(head(key, 4), key);
  EXPECT_EQ(judge_head(&cur, verified(head(other, 9), other)), HeadVerdict::other_channel);
}

TEST(MirrorRules, StalenessFollowsExpiry) {
  const SecretKey key = test::fixed_key();
  HeadData h = head(key, 1);
  const auto v = verified(h, key);
  EXPECT_FALSE(v.is_stale(h.expires));
  EXPECT_TRUE(v.is_stale(h.expires + 1));
  h.expires = 0;
  EXPECT_FALSE(verified(h, key).is_stale(INT64_MAX));
}

// tests/vectors/channel_head.txt: Ed25519 is deterministic, so the same head
// signed with the same seed must give the same bytes.
TEST(ChannelHead, MatchesTestVector) {
  auto v = test::read_vector("channel_head.txt");
  const SecretKey key = SecretKey::from_seed(test::unhex(v["seed"])).value();
  const auto envelope = test::unhex(v["envelope"]);
  auto head = verify_head(envelope);
  ASSERT_TRUE(head);
  EXPECT_EQ(head.value().data().seq, 1u);
  ASSERT_EQ(head.value().data().bundles.size(), 1u);
  EXPECT_EQ(head.value().data().bundles[0].title, "Test vector");
  EXPECT_EQ(sign_head(head.value().data(), key).value(), envelope);
}

}  // namespace
}  // namespace tz
