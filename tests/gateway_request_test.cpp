// The reader gateway's request parsing (gateway/request.h): every hostile
// input of issue 5 item 5 with a well-formed neighbour next to it.
#include "gateway/request.h"

#include "core/hex.h"
#include "core/ids.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tz::gateway {
namespace {

constexpr std::uint16_t kPort = 8733;
// 64 lower-case hex digits: a bundle ID.
const std::string kBundle = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

PublicKey test_key(std::uint8_t first = 1) {
  PublicKey k;
  for (std::size_t i = 0; i < k.bytes.size(); ++i) k.bytes[i] = static_cast<std::uint8_t>(first + i);
  return k;
}

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

void expect_bad_host(std::string_view host, std::uint16_t port = kPort) {
  const auto r = parse_host(host, port);
  EXPECT_FALSE(r) << "accepted host: " << host;
  if (!r) {
    EXPECT_EQ(r.error(), errc::bad_host) << host;
  }
}

// --- Host ---------------------------------------------------------------

TEST(GatewayHost, HomeOriginInEachLoopbackSpelling) {
  for (const char* h : {"localhost:8733", "127.0.0.1:8733", "[::1]:8733", "LocalHost:8733", "LOCALHOST:8733"}) {
    const auto r = parse_host(h, kPort);
    ASSERT_TRUE(r) << h;
    EXPECT_TRUE(r.value().is_home()) << h;
  }
}

TEST(GatewayHost, RefusesOtherNamesAsDnsRebinding) {
  for (const char* h : {"evil.example:8733", "evil.example", "localhost.evil.example:8733", "example.com:8733",
                        "127.0.0.2:8733", "127.1:8733", "2130706433:8733", "0.0.0.0:8733", "0x7f.0.0.1:8733",
                        "[0:0:0:0:0:0:0:1]:8733", "[::ffff:127.0.0.1]:8733", "[::1%25lo]:8733", "localhos:8733",
                        "xlocalhost:8733", "[::1]", "[::1:8733", "::1:8733"}) {
    expect_bad_host(h);
  }
}

TEST(GatewayHost, RefusesMissingOrWrongPort) {
  EXPECT_TRUE(parse_host("localhost:8733", kPort));
  for (const char* h : {"localhost", "localhost:", "localhost:8734", "localhost:08733", "localhost:+8733",
                        "localhost:8733 ", "localhost:8733:8733", "localhost:87330", "localhost:80",
                        "localhost: 8733", "127.0.0.1", "[::1]:", "[::1]:873"}) {
    expect_bad_host(h);
  }
}

TEST(GatewayHost, PortEightyMayBeLeftOutAsBrowsersDo) {
  EXPECT_TRUE(parse_host("localhost", 80));
  EXPECT_TRUE(parse_host("localhost:80", 80));
  EXPECT_TRUE(parse_host(encode_publisher_id(test_key()) + ".localhost", 80));
  expect_bad_host("localhost:8733", 80);
  expect_bad_host("evil.example", 80);
}

TEST(GatewayHost, RefusesTrailingDotUserinfoAndExtraLabels) {
  const std::string id = encode_publisher_id(test_key());
  for (const std::string& h : std::vector<std::string>{"localhost.:8733", "localhost..:8733", id + ".localhost.:8733",
                              "user@localhost:8733", "user:pw@localhost:8733", "@localhost:8733",
                              "user@" + id + ".localhost:8733", "a.b.localhost:8733", "a." + id + ".localhost:8733",
                              id + "." + id + ".localhost:8733", ".localhost:8733", "." + id + ".localhost:8733",
                              id + "localhost:8733", id + ".localhost.localhost:8733", id + ":8733"}) {
    expect_bad_host(h);
  }
}

TEST(GatewayHost, RefusesEmptyOverlongNonAsciiAndWhiteSpace) {
  expect_bad_host("");
  expect_bad_host(std::string(kMaxHostBytes + 1, 'a'));
  expect_bad_host(std::string(kMaxHostBytes - 14, 'a') + ".localhost:8733");
  expect_bad_host("l\xc3\xb6" "calhost:8733");
  expect_bad_host("\xef\xbd\x8c" "ocalhost:8733");  // fullwidth 'l'
  expect_bad_host(" localhost:8733");
  expect_bad_host("localhost :8733");
  expect_bad_host("local\thost:8733");
  expect_bad_host(std::string("localhost\0:8733", 15));
  expect_bad_host("localhost\r\n:8733");
}

TEST(GatewayHost, PublisherOriginDecodesTheId) {
  const PublicKey key = test_key();
  const std::string id = encode_publisher_id(key);
  const auto r = parse_host(id + ".localhost:8733", kPort);
  ASSERT_TRUE(r);
  ASSERT_FALSE(r.value().is_home());
  EXPECT_EQ(*r.value().publisher, key);

  const auto other = parse_host(encode_publisher_id(test_key(2)) + ".localhost:8733", kPort);
  ASSERT_TRUE(other);
  EXPECT_NE(*other.value().publisher, key);
}

TEST(GatewayHost, PublisherIdIsCaseInsensitive) {
  const PublicKey key = test_key();
  const std::string id = encode_publisher_id(key);
  for (const std::string& h : std::vector<std::string>{upper(id) + ".LOCALHOST:8733", upper(id) + ".localhost:8733",
                              id + ".LocalHost:8733"}) {
    const auto r = parse_host(h, kPort);
    ASSERT_TRUE(r) << h;
    EXPECT_EQ(*r.value().publisher, key) << h;
  }
}

TEST(GatewayHost, RefusesPublisherIdWithOneCharacterChanged) {
  const std::string id = encode_publisher_id(test_key());
  ASSERT_TRUE(parse_host(id + ".localhost:8733", kPort));
  for (std::size_t i = 0; i < id.size(); ++i) {
    std::string typo = id;
    typo[i] = typo[i] == 'a' ? 'b' : 'a';
    expect_bad_host(typo + ".localhost:8733");
  }
  expect_bad_host(id.substr(1) + ".localhost:8733");
  expect_bad_host(id + "a.localhost:8733");
  // decode_publisher_id alone would trim this white space; the host must not.
  expect_bad_host(" " + id + ".localhost:8733");
  expect_bad_host(id.substr(0, 55) + "1.localhost:8733");  // '1' is outside base32
}

// --- Content targets ----------------------------------------------------

Result<ContentTarget> content(const std::string& t) { return parse_content_target(t); }

void expect_target_error(const std::string& t, errc e) {
  std::string why;
  const auto r = parse_content_target(t, &why);
  EXPECT_FALSE(r) << "accepted target: " << t;
  if (!r) {
    EXPECT_EQ(r.error(), e) << t << " (" << why << ")";
  }
}

void expect_unsafe(const std::string& t) { expect_target_error(t, errc::unsafe_path); }
void expect_bad_target(const std::string& t) { expect_target_error(t, errc::bad_target); }

std::string path_of(const std::string& t) {
  const auto r = content(t);
  if (!r) return "<error " + error_name(r.error()) + ">";
  return r.value().path ? r.value().path->str() : "<entry point>";
}

TEST(GatewayContentTarget, EntryPointFileAndRedirect) {
  const auto entry = content("/" + kBundle + "/");
  ASSERT_TRUE(entry);
  EXPECT_FALSE(entry.value().path);
  EXPECT_FALSE(entry.value().needs_slash);
  EXPECT_EQ(to_hex(entry.value().bundle_id), kBundle);

  const auto bare = content("/" + kBundle);
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare.value().needs_slash);
  EXPECT_FALSE(bare.value().path);
  EXPECT_TRUE(content("/" + kBundle + "?x=1").value().needs_slash);

  EXPECT_EQ(path_of("/" + kBundle + "/index.html"), "index.html");
  EXPECT_EQ(path_of("/" + kBundle + "/img/a.png"), "img/a.png");
  EXPECT_EQ(path_of("/" + kBundle + "/?x=1"), "<entry point>");
}

TEST(GatewayContentTarget, QueryAndFragmentAreDropped) {
  EXPECT_EQ(path_of("/" + kBundle + "/a.html?x=../../etc#frag"), "a.html");
  EXPECT_EQ(path_of("/" + kBundle + "/a.html#x?y"), "a.html");
  EXPECT_EQ(path_of("/" + kBundle + "/a.html?%00"), "a.html");
}

TEST(GatewayContentTarget, DecodesOnceWithEitherCaseOfHex) {
  EXPECT_EQ(path_of("/" + kBundle + "/a%20b.html"), "a b.html");
  EXPECT_EQ(path_of("/" + kBundle + "/%4a%4A.txt"), "JJ.txt");
  EXPECT_EQ(path_of("/" + kBundle + "/%D9%81%D8%A7%D8%B1%D8%B3%DB%8C.html"), "\xd9\x81\xd8\xa7\xd8\xb1\xd8\xb3\xdb\x8c.html");
  EXPECT_EQ(path_of("/" + kBundle + "/a+b.html"), "a+b.html");  // '+' is not a space in a path
}

TEST(GatewayContentTarget, RefusesDotDotInEveryEncoding) {
  EXPECT_TRUE(content("/" + kBundle + "/a..b"));
  for (const char* p : {"..", "../x", "a/../../x", "a/..", "./a", "a/./b", ".", "%2e%2e", "%2E%2e/x", "%2e%2E/x",
                        "%2E%2E", ".%2e/x", "%2e./x", "a/%2e%2e/%2e%2e/x", "%2e", "a/%2e/b"}) {
    expect_unsafe("/" + kBundle + "/" + p);
  }
}

TEST(GatewayContentTarget, RefusesEncodedSlashBackslashAndNul) {
  EXPECT_TRUE(content("/" + kBundle + "/a/b"));
  for (const char* p : {"a%2fb", "a%2Fb", "..%2f..%2fx", "%2e%2e%2fx", "a%5cb", "a%5Cb", "..%5cx", "a%00b",
                        "a.html%00.png", "%00"}) {
    expect_unsafe("/" + kBundle + "/" + p);
  }
}

TEST(GatewayContentTarget, RefusesRawBackslashAndControlBytes) {
  EXPECT_TRUE(content("/" + kBundle + "/ab"));
  for (const char* p : {"a\\b", "..\\x", "\\"}) expect_unsafe("/" + kBundle + "/" + p);
  // Decoded control characters are SafeRelPath's to refuse...
  for (const char* p : {"a%0ab", "a%0db", "a%01", "a%7f", "a%1B"}) expect_unsafe("/" + kBundle + "/" + p);
  // ... raw ones never get that far.
  expect_bad_target("/" + kBundle + "/a\nb");
  expect_bad_target("/" + kBundle + "/a b");
  expect_bad_target("/" + kBundle + "/a\x7f");
  expect_bad_target("/" + kBundle + "/" + std::string("a\0b", 3));
  expect_bad_target("/" + kBundle + "/\xd9\x81.html");  // raw non-ASCII
}

TEST(GatewayContentTarget, RefusesDoubleEncoding) {
  // "%252e%252e" decodes once to "%2e%2e"; a literal '%' after decoding is
  // refused, so no second decoder anywhere can turn it into "..".
  for (const char* p : {"%252e%252e", "%252e%252e/x", "%252f", "%255c", "%2500", "100%25.html", "%25"}) {
    expect_unsafe("/" + kBundle + "/" + p);
  }
  EXPECT_EQ(path_of("/" + kBundle + "/100.html"), "100.html");
}

TEST(GatewayContentTarget, RefusesInvalidEscapes) {
  EXPECT_TRUE(content("/" + kBundle + "/a%41"));
  for (const char* p : {"%zz", "%4", "%", "a%", "a%g0", "%0g", "%%41", "%-1", "% 41", "%4%41"}) {
    expect_bad_target("/" + kBundle + "/" + p);
  }
}

TEST(GatewayContentTarget, UnicodeIsNeverNormalised) {
  // Fullwidth full stops (U+FF0E) normalise to ".." under NFKC; the gateway
  // compares bytes, so they stay a file name that is not "..".
  EXPECT_EQ(path_of("/" + kBundle + "/%EF%BC%8E%EF%BC%8E/x"), "\xef\xbc\x8e\xef\xbc\x8e/x");
  // Overlong UTF-8 for '.' and '/' (the classic IIS traversal) is invalid UTF-8.
  for (const char* p : {"%c0%ae%c0%ae/x", "%C0%AE%C0%AE%C0%AFx", "a%c0%afb", "%e0%80%ae%e0%80%ae", "%ff", "%c3"}) {
    expect_unsafe("/" + kBundle + "/" + p);
  }
  // One-dot leader (U+2024) and division slash (U+2215): literal names.
  EXPECT_TRUE(content("/" + kBundle + "/%E2%80%A4%E2%80%A4%E2%88%95x"));
}

TEST(GatewayContentTarget, RefusesOtherUnsafePaths) {
  for (const char* p : {"a//b", "a/", "dir/", "/etc/passwd", "C:/x", "a:b", "nul", "CON.txt", "trailing.",
                        "a%20", "a%3cb", "a%7cb", "a%22", "a%2a", "a%3a"}) {
    expect_unsafe("/" + kBundle + "/" + p);
  }
}

TEST(GatewayContentTarget, RefusesBadBundleIds) {
  EXPECT_TRUE(content("/" + kBundle + "/"));
  for (const std::string& t : std::vector<std::string>{"/", "//", "/" + upper(kBundle) + "/", "/" + kBundle.substr(1) + "/",
                              "/" + kBundle + "0/", "/" + kBundle.substr(0, 63) + "g/", "/x/index.html",
                              "//" + kBundle + "/", "/%30" + kBundle.substr(2) + "/", "/favicon.ico",
                              "/" + kBundle.substr(0, 10) + "A" + kBundle.substr(11) + "/"}) {
    expect_bad_target(t);
  }
}

TEST(GatewayContentTarget, RefusesOtherRequestForms) {
  for (const std::string& t : std::vector<std::string>{"", "*", "http://localhost:8733/" + kBundle + "/",
                              "HTTP://evil.example/" + kBundle + "/", "//evil.example/" + kBundle + "/",
                              "localhost:8733", kBundle + "/index.html", " /" + kBundle + "/",
                              "\\" + kBundle + "/"}) {
    expect_bad_target(t);
  }
}

TEST(GatewayContentTarget, BoundsLength) {
  // The longest accepted path is SafeRelPath's 1024 bytes; the target bound
  // applies first and says "too long" rather than "unsafe".
  std::string path;
  for (int i = 0; i < 10; ++i) path += std::string(99, static_cast<char>('a' + i)) + "/";
  path += "x";  // 1001 bytes, 11 deep
  EXPECT_TRUE(content("/" + kBundle + "/" + path));
  const std::string at_limit = "/" + kBundle + "/a?" + std::string(kMaxTargetBytes - kBundle.size() - 4, 'q');
  ASSERT_EQ(at_limit.size(), kMaxTargetBytes);
  EXPECT_TRUE(content(at_limit));
  expect_target_error(at_limit + "q", errc::oversized);
  expect_target_error("/" + kBundle + "/" + std::string(kMaxTargetBytes, 'a'), errc::oversized);
  expect_unsafe("/" + kBundle + "/" + std::string(1100, 'a'));  // under 8 KiB but over 255 per name
}

// --- Home targets -------------------------------------------------------

TEST(GatewayHomeTarget, KnowsItsPages) {
  EXPECT_EQ(parse_home_target("/").value(), HomePage::index);
  EXPECT_EQ(parse_home_target("/?q=1").value(), HomePage::index);
  EXPECT_EQ(parse_home_target("/status").value(), HomePage::status);
  EXPECT_EQ(parse_home_target("/status#x").value(), HomePage::status);
  EXPECT_EQ(parse_home_target("/open?q=x&t=y").value(), HomePage::open);
}

TEST(GatewayQueryParam, DecodesFormEncoding) {
  EXPECT_EQ(query_param("/open?q=a+b%2Bc&t=1", "q"), "a b+c");
  EXPECT_EQ(query_param("/open?t=1&q=magnet%3A%3Fxt%3Durn%3Abtih%3Aab", "q"), "magnet:?xt=urn:btih:ab");
  EXPECT_EQ(query_param("/open?q=&t=1", "q"), "");
  EXPECT_EQ(query_param("/open?q&t=1", "q"), "");
  EXPECT_EQ(query_param("/open?q=x#frag", "q"), "x");
  EXPECT_EQ(query_param("/open?qq=x&q=y", "q"), "y");
}

TEST(GatewayQueryParam, RefusesAbsentRepeatedAndMalformedValues) {
  EXPECT_EQ(query_param("/open", "q"), std::nullopt);
  EXPECT_EQ(query_param("/open?t=1", "q"), std::nullopt);
  EXPECT_EQ(query_param("/open?q=1&q=2", "q"), std::nullopt);
  EXPECT_EQ(query_param("/open?q=%zz", "q"), std::nullopt);
  EXPECT_EQ(query_param("/open?q=%4", "q"), std::nullopt);
  EXPECT_EQ(query_param("/open?q=a%00b", "q"), std::nullopt);
  EXPECT_EQ(query_param("/open?q=a%0Ab", "q"), std::nullopt);
  EXPECT_EQ(query_param("/open?q=%7F", "q"), std::nullopt);
}

TEST(GatewayHomeTarget, EverythingElseIsNotFoundOrMalformed) {
  for (const std::string& t : std::vector<std::string>{"/x", "/status/", "/Status", "/%73tatus", "//", "/../status", "/" + kBundle + "/",
                              "/status%00", "/index.html"}) {
    const auto r = parse_home_target(t);
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error(), errc::no_such_page) << t;
  }
  for (const std::string& t : std::vector<std::string>{"", "*", "status", "http://localhost:8733/", "/ status", "/\xc3\xa9",
                              std::string("/\0", 2)}) {
    const auto r = parse_home_target(t);
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error(), errc::bad_target) << t;
  }
  const auto big = parse_home_target("/?" + std::string(kMaxTargetBytes, 'a'));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error(), errc::oversized);
}

// --- Range --------------------------------------------------------------

using Kind = RangeDecision::Kind;

void expect_partial(std::string_view header, std::uint64_t size, std::uint64_t first, std::uint64_t last) {
  const RangeDecision d = parse_range(header, size);
  EXPECT_EQ(d.kind, Kind::partial) << header << " size " << size;
  EXPECT_EQ(d.range, (ByteRange{first, last})) << header << " size " << size;
}

void expect_kind(std::string_view header, std::uint64_t size, Kind kind) {
  EXPECT_EQ(parse_range(header, size).kind, kind) << header << " size " << size;
}

TEST(GatewayRange, Rfc9110Examples) {
  // RFC 9110 §14.1.2, for a representation of length 10000.
  expect_partial("bytes=0-499", 10000, 0, 499);
  expect_partial("bytes=500-999", 10000, 500, 999);
  expect_partial("bytes=-500", 10000, 9500, 9999);
  expect_partial("bytes=9500-", 10000, 9500, 9999);
  expect_partial("bytes=0-0", 10000, 0, 0);
  expect_partial("bytes=-1", 10000, 9999, 9999);
  // "bytes=0-999,4500-5499,-1000": several ranges, ignored.
  expect_kind("bytes=0-999, 4500-5499, -1000", 10000, Kind::whole);
  expect_kind("bytes=500-600,601-999", 10000, Kind::whole);
}

TEST(GatewayRange, ClampsLastAndSuffix) {
  expect_partial("bytes=0-99999", 100, 0, 99);
  expect_partial("bytes=50-", 100, 50, 99);
  expect_partial("bytes=-100", 100, 0, 99);
  expect_partial("bytes=-101", 100, 0, 99);  // suffix larger than the file: all of it
  expect_partial("bytes=99-99", 100, 99, 99);
}

TEST(GatewayRange, Unsatisfiable) {
  expect_partial("bytes=99-", 100, 99, 99);
  expect_kind("bytes=100-", 100, Kind::unsatisfiable);
  expect_kind("bytes=100-200", 100, Kind::unsatisfiable);
  expect_kind("bytes=-0", 100, Kind::unsatisfiable);
  expect_kind("bytes=-000", 100, Kind::unsatisfiable);
  expect_kind("bytes=18446744073709551615-", 100, Kind::unsatisfiable);
}

TEST(GatewayRange, HugeNumbers) {
  const std::uint64_t max = UINT64_MAX;
  // 2^64 - 1 fits; 2^64 and beyond saturate but are still compared exactly.
  expect_partial("bytes=0-18446744073709551615", 100, 0, 99);
  expect_partial("bytes=0-18446744073709551616", 100, 0, 99);
  expect_partial("bytes=0-99999999999999999999999999999999", 100, 0, 99);
  expect_partial("bytes=-99999999999999999999999999999999", 100, 0, 99);
  expect_kind("bytes=99999999999999999999999999999999-", 100, Kind::unsatisfiable);
  expect_kind("bytes=18446744073709551616-18446744073709551617", 100, Kind::unsatisfiable);
  // first > last even though both saturate: invalid, so ignored.
  expect_kind("bytes=18446744073709551617-18446744073709551616", 100, Kind::whole);
  expect_kind("bytes=00000000000000000000000000000000000000000000000000005-4", 100, Kind::whole);
  expect_partial("bytes=00000000000000000000000000000000000000000000000000004-5", 100, 4, 5);
  // A file of the largest size.
  expect_partial("bytes=18446744073709551613-", max, max - 2, max - 1);
  expect_partial("bytes=-1", max, max - 1, max - 1);
  expect_kind("bytes=18446744073709551614-", max - 1, Kind::unsatisfiable);
}

TEST(GatewayRange, EmptyFileIsAlwaysServedWhole) {
  for (const char* h : {"bytes=0-", "bytes=0-0", "bytes=-1", "bytes=-0", "bytes=5-"}) expect_kind(h, 0, Kind::whole);
  expect_partial("bytes=0-", 1, 0, 0);
}

TEST(GatewayRange, WhiteSpaceCaseAndEmptyListElements) {
  expect_partial(" \tbytes=1-2\t ", 10, 1, 2);
  expect_partial("Bytes=1-2", 10, 1, 2);
  expect_partial("BYTES=1-2", 10, 1, 2);
  expect_partial("bytes=, 1-2 ,", 10, 1, 2);
  expect_partial("bytes=,,\t1-2", 10, 1, 2);
  // No white space inside a range-spec or around '='.
  for (const char* h : {"bytes = 1-2", "bytes =1-2", "bytes= 1 -2", "bytes=1 - 2", "bytes=1- 2", "bytes=- 5"}) {
    expect_kind(h, 10, Kind::whole);
  }
}

TEST(GatewayRange, IgnoresOtherUnitsAndGarbage) {
  expect_partial("bytes=1-2", 10, 1, 2);
  for (const char* h : {"", "   ", "bytes", "bytes=", "bytes=,", "bytes=-", "bytes=--1", "bytes=1--2", "bytes=1",
                        "bytes=a-b", "bytes=1-b", "bytes=0x1-2", "bytes=+1-2", "bytes=1-+2", "bytes=-1-2",
                        "bytes=2-1", "bytes=1-2;x", "items=1-2", "byte=1-2", "bytesx=1-2", "=1-2", "bytes:1-2",
                        "bytes=1-2=3", "bytes=\xd9\xa1-2", "bytes=1-2, x"}) {
    expect_kind(h, 10, Kind::whole);
  }
}

TEST(GatewayRange, FormatsContentRange) {
  EXPECT_EQ(content_range({0, 499}, 10000), "bytes 0-499/10000");
  EXPECT_EQ(content_range({9999, 9999}, 10000), "bytes 9999-9999/10000");
  EXPECT_EQ(content_range({0, UINT64_MAX - 1}, UINT64_MAX), "bytes 0-18446744073709551614/18446744073709551615");
  EXPECT_EQ(content_range_unsatisfiable(100), "bytes */100");
  EXPECT_EQ(content_range_unsatisfiable(0), "bytes */0");
  EXPECT_EQ((ByteRange{10, 19}).length(), 10u);
}

// --- Errors -------------------------------------------------------------

TEST(GatewayErrors, HaveStableNames) {
  EXPECT_EQ(error_name(make_error_code(errc::bad_host)), "bad_host");
  EXPECT_EQ(error_name(make_error_code(errc::bad_target)), "bad_target");
  EXPECT_EQ(error_name(make_error_code(errc::no_such_page)), "no_such_page");
}

}  // namespace
}  // namespace tz::gateway
