// The JPEG segment walker (scrub/jpeg_segments.h) that source safety uses
// for JPEG images inside other formats.
#include "scrub/jpeg_segments.h"
#include "test_util.h"

#include <string>
#include <utility>
#include <vector>

namespace {

namespace jpeg = tz::scrub::jpeg;
using tz::scrub::Category;

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// ---------------------------------------------------------------------------
// The JPEG segment walker on its own.

std::string segment(std::uint8_t marker, const std::string& payload) {
  const std::size_t len = payload.size() + 2;
  std::string s = {'\xFF', static_cast<char>(marker), static_cast<char>(len >> 8), static_cast<char>(len & 0xff)};
  return s + payload;
}

const std::string kJfifBare = segment(0xE0, std::string("JFIF\0\x01\x02\x00\x00\x48\x00\x48\x00\x00", 14));
const std::string kAdobe = segment(0xEE, std::string("Adobe\x00\x64\x00\x00\x00\x00\x01", 12));

// A minimal structure: SOI, the given segments, a frame, a scan with
// stuffed bytes and a restart marker, EOI.
std::string tiny_jpeg(const std::string& middle, const std::string& after = {}) {
  std::string s = "\xFF\xD8";
  s += middle;
  s += segment(0xDB, std::string(65, '\x01'));
  s += segment(0xC0, std::string("\x08\x00\x10\x00\x10\x01\x01\x11\x00", 9));
  s += segment(0xC4, std::string(20, '\x00'));
  s += segment(0xDA, std::string("\x01\x01\x00\x00\x3F\x00", 6));
  s += std::string("\x12\xFF\x00\x34\xFF\xD0\x56", 7);
  s += "\xFF\xD9";
  return s + after;
}

TEST(JpegSegments, CleanFileHasNothingAndStripsToItself) {
  const std::string j = tiny_jpeg(kJfifBare + kAdobe);
  const auto m = jpeg::find_metadata(bytes_of(j));
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m.value().empty());
  const auto s = jpeg::strip_metadata(bytes_of(j));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(std::string(s.value().begin(), s.value().end()), j);
}

TEST(JpegSegments, MetadataSegmentsAreNamedAndDropped) {
  const std::string exif = segment(0xE1, std::string("Exif\0\0MM\0\x2a", 10));
  const std::string xmp = segment(0xE1, std::string("http://ns.adobe.com/xap/1.0/\0<x/>", 33));
  const std::string icc = segment(0xE2, std::string("ICC_PROFILE\0\x01\x01", 14));
  const std::string ps = segment(0xED, std::string("Photoshop 3.0\0", 14));
  const std::string com = segment(0xFE, "secret");
  const std::string jfxx = segment(0xE0, std::string("JFXX\0\x10", 6));
  const std::string j = tiny_jpeg(kJfifBare + exif + xmp + icc + ps + com + jfxx, "MAKERTRAILER");
  const auto m = jpeg::find_metadata(bytes_of(j));
  ASSERT_TRUE(m.has_value());
  std::vector<std::pair<std::string, Category>> got;
  for (const auto& s : m.value()) got.emplace_back(s.name, s.category);
  const std::vector<std::pair<std::string, Category>> want = {
      {"APP1 Exif", Category::other},          {"APP1 XMP", Category::xmp}, {"APP2 ICC_PROFILE", Category::icc},
      {"APP13 Photoshop 3.0", Category::iptc}, {"COM", Category::comment},  {"APP0 JFXX", Category::thumbnail},
      {"data after EOI", Category::other}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(m.value()[4].size, com.size());
  const auto s = jpeg::strip_metadata(bytes_of(j));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(std::string(s.value().begin(), s.value().end()), tiny_jpeg(kJfifBare));
}

TEST(JpegSegments, JfifThumbnailAndLongAdobeAreRewrittenBare) {
  std::string jfif_thumb("JFIF\0\x01\x02\x00\x00\x48\x00\x48\x02\x01", 14);
  jfif_thumb += std::string(6, '\x7f');  // a 2x1 RGB thumbnail
  const std::string long_adobe = segment(0xEE, std::string("Adobe\x00\x64\x00\x00\x00\x00\x01XYZ", 15));
  const std::string j = tiny_jpeg(segment(0xE0, jfif_thumb) + long_adobe);
  const auto m = jpeg::find_metadata(bytes_of(j));
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m.value().size(), 2u);
  EXPECT_EQ(m.value()[0].category, Category::thumbnail);
  const auto s = jpeg::strip_metadata(bytes_of(j));
  ASSERT_TRUE(s.has_value());
  const std::string want_jfif = segment(0xE0, std::string("JFIF\0\x01\x02\x00\x00\x48\x00\x48\x00\x00", 14));
  EXPECT_EQ(std::string(s.value().begin(), s.value().end()), tiny_jpeg(want_jfif + kAdobe));
}

TEST(JpegSegments, FillBytesAndBlankTailAreDroppedWithoutReport) {
  std::string j = tiny_jpeg("\xFF\xFF" + kJfifBare, "\r\n");
  const auto m = jpeg::find_metadata(bytes_of(j));
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m.value().empty());
  const auto s = jpeg::strip_metadata(bytes_of(j));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(std::string(s.value().begin(), s.value().end()), tiny_jpeg(kJfifBare));
}

TEST(JpegSegments, HostileInputsAreRefused) {
  const std::string good = tiny_jpeg(kJfifBare);
  const auto expect = [](const std::string& j, tz::errc want) {
    tz::Diag d;
    const auto m = jpeg::find_metadata(bytes_of(j), &d);
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error(), tz::make_error_code(want)) << d.detail;
    EXPECT_FALSE(d.detail.empty());
    const auto s = jpeg::strip_metadata(bytes_of(j));
    ASSERT_FALSE(s.has_value());
  };
  expect("", tz::errc::bad_media);
  expect("\xFF\xD8", tz::errc::bad_media);
  expect("GIF89a....", tz::errc::bad_media);
  expect(good.substr(0, 30), tz::errc::bad_media);                                   // cut inside a segment
  expect(std::string("\xFF\xD8\xFF\xE1\xFF\xFF", 6) + "abc", tz::errc::bad_media);   // length past the end
  expect(std::string("\xFF\xD8\xFF\xE1\x00\x01", 6) + "abcd", tz::errc::bad_media);  // length below 2
  expect(std::string("\xFF\xD8\x00\x00", 4), tz::errc::bad_media);                   // no marker
  expect(std::string("\xFF\xD8\xFF\xD8", 4), tz::errc::bad_media);                   // SOI again
  expect(std::string("\xFF\xD8\xFF\xF7\x00\x02", 6), tz::errc::cannot_inspect);      // JPEG-LS frame
  expect(std::string("\xFF\xD8\xFF\x02\x00\x02", 6), tz::errc::cannot_inspect);      // reserved
  // Every prefix of a good file either reads or fails as documented.
  for (std::size_t n = 0; n < good.size(); ++n) {
    tz::Diag d;
    const auto m = jpeg::find_metadata(bytes_of(good.substr(0, n)), &d);
    if (!m) {
      EXPECT_EQ(m.error(), tz::make_error_code(tz::errc::bad_media)) << n;
    }
  }
}

}  // namespace
