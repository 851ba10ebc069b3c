// Links readers are handed (docs/protocol.md, "Links"): a bundle's magnet
// round-trips, and anything that is not one is refused by name.
#include "swarm/links.h"

#include "core/hex.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tz::swarm {
namespace {

struct Fixture {
  Sha1 v1{};
  Sha256 v2{};
  PublicKey publisher = test::fixed_key().public_key();
  Fixture() {
    for (std::size_t i = 0; i < v1.size(); ++i) v1[i] = static_cast<std::uint8_t>(0x10 + i);
    for (std::size_t i = 0; i < v2.size(); ++i) v2[i] = static_cast<std::uint8_t>(0xa0 + i);
  }
  std::string link(std::string_view title = "Samizdat 1") const { return make_bundle_link(v1, v2, title, publisher); }
};

TEST(BundleLink, RoundTrip) {
  const Fixture f;
  const std::string link = f.link();
  EXPECT_EQ(link, "magnet:?xt=urn:btih:" + to_hex(f.v1) + "&xt=urn:btmh:1220" + to_hex(f.v2) +
                      "&dn=Samizdat%201&x.tz=" + encode_publisher_id(f.publisher));
  auto p = parse_bundle_link(link);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p.value().info_hash_v1, f.v1);
  ASSERT_TRUE(p.value().bundle_id.has_value());
  EXPECT_EQ(*p.value().bundle_id, f.v2);
  ASSERT_TRUE(p.value().publisher.has_value());
  EXPECT_EQ(*p.value().publisher, f.publisher);
  EXPECT_EQ(p.value().name, "Samizdat 1");
}

TEST(BundleLink, TitleIsEscaped) {
  const Fixture f;
  const std::string title = "Tom & Jerry = 100% ?#/+ \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85";
  const std::string link = f.link(title);
  // Nothing in the title can end the dn parameter or start another one.
  const std::string dn = link.substr(link.find("&dn=") + 4, link.find("&x.tz=") - link.find("&dn=") - 4);
  EXPECT_EQ(dn.find_first_of(" &=?#+/"), std::string::npos) << dn;
  EXPECT_EQ(std::count(link.begin(), link.end(), '&'), 3);
  EXPECT_NE(dn.find("%26"), std::string::npos);
  EXPECT_NE(dn.find("%20"), std::string::npos);
  auto p = parse_bundle_link(link);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p.value().name, title);
  ASSERT_TRUE(p.value().publisher.has_value());
  EXPECT_EQ(*p.value().publisher, f.publisher);
}

TEST(BundleLink, OnlyBtihIsRequired) {
  const Fixture f;
  auto p = parse_bundle_link("magnet:?xt=urn:btih:" + to_hex(f.v1));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p.value().info_hash_v1, f.v1);
  EXPECT_FALSE(p.value().bundle_id.has_value());
  EXPECT_FALSE(p.value().publisher.has_value());
  EXPECT_TRUE(p.value().name.empty());
}

TEST(BundleLink, MissingBtihIsBadLink) {
  const Fixture f;
  auto p = parse_bundle_link("magnet:?xt=urn:btmh:1220" + to_hex(f.v2) + "&x.tz=" + encode_publisher_id(f.publisher));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error(), make_error_code(errc::bad_link));
  EXPECT_EQ(parse_bundle_link("magnet:?dn=nothing").error(), make_error_code(errc::bad_link));
  EXPECT_EQ(parse_bundle_link("magnet:?xt=urn:btih:1234").error(), make_error_code(errc::bad_link));
}

TEST(BundleLink, NotAMagnetIsBadLink) {
  const Fixture f;
  for (const std::string& s :
       {std::string(), std::string("hello"), encode_publisher_id(f.publisher), "https://example.org/?xt=urn:btih:" + to_hex(f.v1),
        "MAGNET:?xt=urn:btih:" + to_hex(f.v1), " " + f.link(), "magnet:" + to_hex(f.v1)}) {
    auto p = parse_bundle_link(s);
    ASSERT_FALSE(p) << s;
    EXPECT_EQ(p.error(), make_error_code(errc::bad_link)) << s;
  }
  // Oversized input is refused before parsing.
  EXPECT_EQ(parse_bundle_link(f.link() + "&dn2=" + std::string(9000, 'a')).error(), make_error_code(errc::bad_link));
}

TEST(BundleLink, BadPublisherChecksumIsNamed) {
  const Fixture f;
  std::string id = encode_publisher_id(f.publisher);
  id[10] = id[10] == 'a' ? 'b' : 'a';  // one wrong character: the CRC always catches it
  auto p = parse_bundle_link("magnet:?xt=urn:btih:" + to_hex(f.v1) + "&x.tz=" + id);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error(), make_error_code(errc::bad_publisher_id));
  auto empty = parse_bundle_link("magnet:?xt=urn:btih:" + to_hex(f.v1) + "&x.tz=");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error(), make_error_code(errc::bad_publisher_id));
}

TEST(BundleLink, TwoPublishersAreBadLink) {
  const Fixture f;
  const std::string other = encode_publisher_id(test::fixed_key(0x40).public_key());
  auto p = parse_bundle_link(f.link() + "&x.tz=" + other);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error(), make_error_code(errc::bad_link));
  // The same one twice is refused too: no guessing about intent.
  auto same = parse_bundle_link(f.link() + "&x.tz=" + encode_publisher_id(f.publisher));
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error(), make_error_code(errc::bad_link));
}

}  // namespace
}  // namespace tz::swarm
