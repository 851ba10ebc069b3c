// The pages the gateway writes itself, as strings: what they say of a
// bundle's media status, and that what came from outside stays escaped.
// The server's own test (gateway_server_test.cpp) checks them on the wire.
#include "core/hex.h"
#include "gateway/pages.h"

#include <gtest/gtest.h>

namespace tz::gateway {
namespace {

Sha256 id_of(std::uint8_t n) {
  Sha256 id{};
  id.fill(n);
  return id;
}

BundleSummary summary(std::uint8_t n, std::string state, std::string media) {
  BundleSummary b;
  b.id = id_of(n);
  b.title = "Bundle " + std::to_string(n);
  b.created = 1764547200;
  b.size = 2048;
  b.downloaded = state == "verified" ? 2048 : 1024;
  b.state = std::move(state);
  b.media = std::move(media);
  return b;
}

// The home page with one channel holding `bundles`.
std::string home_with(std::vector<BundleSummary> bundles) {
  ChannelSummary ch;
  ch.publisher.bytes.fill(7);
  ch.followed = true;
  ch.head_seq = 3;
  ch.bundles = std::move(bundles);
  return home_page({ch}, NodeSummary{}, PageContext{8733, "0123456789abcdef0123456789abcdef"});
}

// The list item of bundle `n` on `page` ("" when it has none).
std::string item(const std::string& page, std::uint8_t n) {
  const std::size_t at = page.find("<li id=\"" + bundle_anchor(id_of(n)) + "\">");
  if (at == std::string::npos) return {};
  return page.substr(at, page.find("</li>", at) - at);
}

constexpr const char* kScrubbedWords = "media scrubbed by the publisher";
constexpr const char* kCheckedWords = "checked: no identifying metadata";
constexpr const char* kKeptWords = "published with its metadata (the publisher\u2019s choice)";
constexpr const char* kUnstatedWords = "metadata not checked (older Tamizdat or other software)";

TEST(GatewayPages, EachHeldBundleSaysWhatItsMediaStatusIs) {
  const std::string page = home_with({summary(1, "verified", "scrubbed"), summary(2, "verified", "checked"),
                                      summary(3, "verified", "kept"), summary(4, "verified", "unstated")});
  const std::pair<std::uint8_t, const char*> expected[] = {
      {1, kScrubbedWords}, {2, kCheckedWords}, {3, kKeptWords}, {4, kUnstatedWords}};
  for (const auto& [n, words] : expected) {
    const std::string li = item(page, n);
    ASSERT_FALSE(li.empty()) << page;
    // In the muted line, after the state.
    EXPECT_NE(li.find("2.0 KiB \u00b7 verified \u00b7 " + std::string(words) + "</span>"), std::string::npos) << li;
    // And no other bundle's words.
    for (const auto& [m, other] : expected) {
      if (m != n) {
        EXPECT_EQ(li.find(other), std::string::npos) << li;
      }
    }
  }
}

TEST(GatewayPages, NothingIsSaidOfMediaNotKnownOrNotHeld) {
  const std::string page =
      home_with({summary(1, "verified", ""), summary(2, "verified", "clean"), summary(3, "verified", "<b>scrubbed</b>"),
                 summary(4, "downloading", "scrubbed"), summary(5, "listed", "kept"), summary(6, "failed", "checked")});
  // Not read yet, or a status this build does not know (a later one): nothing.
  EXPECT_NE(item(page, 1).find("2.0 KiB \u00b7 verified</span>"), std::string::npos) << item(page, 1);
  EXPECT_NE(item(page, 2).find("2.0 KiB \u00b7 verified</span>"), std::string::npos) << item(page, 2);
  EXPECT_NE(item(page, 3).find("2.0 KiB \u00b7 verified</span>"), std::string::npos) << item(page, 3);
  EXPECT_EQ(page.find("clean"), std::string::npos);
  // Not held: what it is on the way to, never what it will say.
  EXPECT_NE(item(page, 4).find("downloading, 50%</span>"), std::string::npos) << item(page, 4);
  EXPECT_NE(item(page, 5).find("not fetched</span>"), std::string::npos) << item(page, 5);
  EXPECT_NE(item(page, 6).find("failed: </span>"), std::string::npos) << item(page, 6);
  for (const char* words : {kScrubbedWords, kCheckedWords, kKeptWords, kUnstatedWords}) {
    EXPECT_EQ(page.find(words), std::string::npos) << words;
  }
  EXPECT_EQ(page.find("scrubbed"), std::string::npos) << page;
}

TEST(GatewayPages, PublisherTextIsStillEscapedBesideTheMediaStatus) {
  BundleSummary b = summary(1, "verified", "kept");
  b.title = "<script>alert('x')</script> & \"co\"";
  BundleSummary f = summary(2, "failed", "scrubbed");
  f.error = "<img src=x onerror=alert(1)>";
  const std::string page = home_with({b, f});
  EXPECT_NE(page.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;"), std::string::npos)
      << page;
  EXPECT_NE(page.find("failed: &lt;img src=x onerror=alert(1)&gt;"), std::string::npos) << page;
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_NE(item(page, 1).find(kKeptWords), std::string::npos) << item(page, 1);
  // html_escape itself is unchanged.
  EXPECT_EQ(html_escape("<a href='x'>\"&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;");
}

// A served bundle signed by a fresh key with `files`, whose manifest states `metadata`.
ServedBundle served(std::vector<ManifestFile> files, MetadataStatement metadata) {
  EXPECT_TRUE(crypto_init());
  const SecretKey key = SecretKey::generate().value();
  ManifestData m;
  m.publisher = key.public_key();
  m.created = 1764547200;
  m.title = "Files & <notes>";
  m.files = std::move(files);
  m.metadata = metadata;
  auto env = sign_manifest(m, key);
  EXPECT_TRUE(env) << env.error().message();
  ServedBundle b;
  b.publisher = key.public_key();
  b.manifest = std::make_shared<const VerifiedManifest>(verify_manifest(env.value()).value());
  b.complete = true;
  return b;
}

ManifestFile file(const char* path, bool scrubbed) {
  ManifestFile f{SafeRelPath::parse(path).value(), 5, "application/octet-stream", Sha256{}};
  f.scrubbed = scrubbed;
  return f;
}

TEST(GatewayPages, TheFileListMarksScrubbedFilesAndSaysTheBundlesStatus) {
  const std::string page =
      file_list_page(served({file("it's & more.jpg", true), file("notes.txt", false), file("z&z.mp4", true)},
                            MetadataStatement::checked));
  EXPECT_NE(page.find(kScrubbedWords), std::string::npos) << page;
  EXPECT_NE(page.find(">it&#39;s &amp; more.jpg</a> <span class=\"muted\">5 B \u00b7 scrubbed</span>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find(">notes.txt</a> <span class=\"muted\">5 B</span>"), std::string::npos) << page;
  EXPECT_NE(page.find(">z&amp;z.mp4</a> <span class=\"muted\">5 B \u00b7 scrubbed</span>"), std::string::npos) << page;
  EXPECT_NE(page.find("Files &amp; &lt;notes&gt;"), std::string::npos) << page;

  const std::string kept = file_list_page(served({file("doc.pdf", false)}, MetadataStatement::kept));
  EXPECT_NE(kept.find(kKeptWords), std::string::npos) << kept;
  EXPECT_EQ(kept.find("scrubbed"), std::string::npos) << kept;
  const std::string old = file_list_page(served({file("doc.pdf", false)}, MetadataStatement::unstated));
  EXPECT_NE(old.find(kUnstatedWords), std::string::npos) << old;
}

}  // namespace
}  // namespace tz::gateway
