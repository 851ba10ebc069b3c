#include "core/media_type.h"
#include "core/paths.h"

#include <gtest/gtest.h>

namespace tz {
namespace {

TEST(SafeRelPath, AcceptsOrdinaryPaths) {
  for (const char* p : {"index.html", "img/a.png", "a/b/c/d.txt", ".hidden", "Ünïcødé/فارسی.html", "a..b", "x.tar.gz"}) {
    EXPECT_TRUE(SafeRelPath::parse(p)) << p;
  }
}

TEST(SafeRelPath, RejectsEveryUnsafeForm) {
  const std::string nul_inside("a\0b", 3);
  for (const std::string p : {"", "/etc/passwd", "../x", "a/../../x", "a/./b", ".", "..", "a//b", "a/", "a\\b",
                              "..\\x", "C:/x", "a:b", "a\nb", "a\rb", "a\x7f", "a\x01", "nul", "NUL.txt", "com1",
                              "lpt9.log", "con/x", "trailing.", "trailing ", "a?b", "a*b", "a<b", "a|b", "a\"b"}) {
    std::string why;
    auto r = SafeRelPath::parse(p, &why);
    EXPECT_FALSE(r) << "accepted: " << p;
    if (!r) {
      EXPECT_EQ(r.error(), errc::unsafe_path);
      EXPECT_FALSE(why.empty());
    }
  }
  EXPECT_FALSE(SafeRelPath::parse(nul_inside));
}

TEST(SafeRelPath, RejectsInvalidUtf8) {
  for (const std::string p : {"\xff", "a\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\xc3"}) {
    EXPECT_FALSE(SafeRelPath::parse(p)) << "accepted invalid UTF-8";
  }
}

TEST(SafeRelPath, EnforcesLengthAndDepthLimits) {
  EXPECT_TRUE(SafeRelPath::parse(std::string(255, 'a')));
  EXPECT_FALSE(SafeRelPath::parse(std::string(256, 'a')));
  std::string deep;
  for (int i = 0; i < 32; ++i) deep += (i ? "/d" : "d");
  EXPECT_TRUE(SafeRelPath::parse(deep));
  EXPECT_FALSE(SafeRelPath::parse(deep + "/d"));
  std::string longp;
  while (longp.size() < 1100) longp += "abcdefghij/";
  longp += "x";
  EXPECT_FALSE(SafeRelPath::parse(longp));
}

TEST(SafeRelPath, FoldsCaseForCollisionChecks) {
  EXPECT_EQ(SafeRelPath::parse("Img/A.PNG").value().folded(), "img/a.png");
  EXPECT_EQ(SafeRelPath::parse("img/a.png").value().first_component(), "img");
}

TEST(MediaType, GuessesFromExtension) {
  EXPECT_EQ(media_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(media_type_for("a/b/PHOTO.JPG"), "image/jpeg");
  EXPECT_EQ(media_type_for("clip.webm"), "video/webm");
  EXPECT_EQ(media_type_for("noext"), "application/octet-stream");
  EXPECT_EQ(media_type_for(".bashrc"), "application/octet-stream");
}

TEST(MediaType, ValidatesHeaderSafeValues) {
  EXPECT_TRUE(is_valid_media_type("text/html; charset=utf-8"));
  EXPECT_TRUE(is_valid_media_type("image/svg+xml"));
  EXPECT_FALSE(is_valid_media_type(""));
  EXPECT_FALSE(is_valid_media_type("text"));
  EXPECT_FALSE(is_valid_media_type("text/html\r\nSet-Cookie: x=y"));
  EXPECT_FALSE(is_valid_media_type("text/html; charset"));
  EXPECT_FALSE(is_valid_media_type("text/ html"));
  EXPECT_FALSE(is_valid_media_type("a/" + std::string(200, 'b')));
}

}  // namespace
}  // namespace tz
