// Fuzz target for the reader gateway's request parsing (gateway/request.h).
//
// The input is fed, as it is and behind fixed prefixes that get it past the
// first checks, to parse_host, parse_content_target, parse_home_target and
// parse_range. Properties:
// 1. Host: only errc::bad_host; an accepted host is, lower-cased, exactly one
//    of the canonical spellings (a home name or "<publisher-id>.localhost"
//    with the publisher ID re-encoded from the decoded key, then ":8733").
// 2. Content target: only oversized, bad_target or unsafe_path; an accepted
//    target starts with "/" and the lower-case hex of its bundle ID; its path
//    is a SafeRelPath holding no '%', '\' or NUL, and percent-encoding that
//    path again gives a target that parses to the same path.
// 3. Home target: only oversized, bad_target or no_such_page; an accepted one
//    is "/", "/status" or "/open" up to its first '?' or '#'.
// 5. Query parameters: a value found holds no control byte (so it can never
//    split a header or a log line).
// 4. Range: never partial for an empty file; a partial range lies inside the
//    file; Content-Range formats as "bytes a-b/size".
#include "fuzz_util.h"

#include "core/hex.h"
#include "core/ids.h"
#include "gateway/request.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

namespace tz::fuzz {
const char* const kTarget = "gateway_request_fuzz";
}  // namespace tz::fuzz

namespace {

using tz::fuzz::check;
namespace gw = tz::gateway;

constexpr std::uint16_t kPort = 8733;
const std::string kBundle = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

void check_host(std::string_view host) {
  const auto r = gw::parse_host(host, kPort);
  if (!r) {
    check(r.error() == tz::errc::bad_host, "parse_host: unexpected error");
    return;
  }
  const std::string l = lower(host);
  if (r.value().is_home()) {
    check(l == "localhost:8733" || l == "127.0.0.1:8733" || l == "[::1]:8733", "parse_host: odd home host");
  } else {
    check(l == tz::encode_publisher_id(*r.value().publisher) + ".localhost:8733",
          "parse_host: publisher host is not the canonical ID");
  }
}

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// Percent-encodes every byte of `path` but unreserved ones and '/'.
std::string encode_path(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : path) {
    if (is_unreserved(c) || c == '/') {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += {'%', kHex[b >> 4], kHex[b & 15]};
    }
  }
  return out;
}

void check_content(std::string_view target) {
  const auto r = gw::parse_content_target(target);
  if (!r) {
    const auto e = r.error();
    check(e == tz::errc::oversized || e == tz::errc::bad_target || e == tz::errc::unsafe_path,
          "parse_content_target: unexpected error");
    return;
  }
  const gw::ContentTarget& t = r.value();
  check(target.substr(0, 65) == "/" + tz::to_hex(t.bundle_id), "parse_content_target: bundle ID differs");
  check(!(t.needs_slash && t.path), "parse_content_target: redirect with a path");
  if (!t.path) return;
  const std::string& p = t.path->str();
  check(p.find_first_of(std::string_view("%\\\0", 3)) == std::string::npos,
        "parse_content_target: '%', '\\' or NUL in a decoded path");
  check(tz::SafeRelPath::parse(p).has_value(), "parse_content_target: path SafeRelPath refuses");
  const auto again = gw::parse_content_target("/" + kBundle + "/" + encode_path(p));
  check(again.has_value() && again.value().path && again.value().path->str() == p,
        "parse_content_target: re-encoded path does not parse to itself");
}

void check_home(std::string_view target) {
  const auto r = gw::parse_home_target(target);
  if (!r) {
    const auto e = r.error();
    check(e == tz::errc::oversized || e == tz::errc::bad_target || e == tz::errc::no_such_page,
          "parse_home_target: unexpected error");
    return;
  }
  const std::string_view path = target.substr(0, target.find_first_of("?#"));
  const char* want = r.value() == gw::HomePage::index ? "/" : r.value() == gw::HomePage::status ? "/status" : "/open";
  check(path == want, "parse_home_target: wrong page");
}

void check_query(std::string_view target) {
  for (const char* name : {"q", "t"}) {
    const auto v = gw::query_param(target, name);
    if (!v) continue;
    check(std::none_of(v->begin(), v->end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }),
          "query_param: control byte in a value");
  }
}

void check_range(std::string_view header, std::uint64_t size) {
  const gw::RangeDecision d = gw::parse_range(header, size);
  if (size == 0) check(d.kind == gw::RangeDecision::Kind::whole, "parse_range: range of an empty file");
  if (d.kind != gw::RangeDecision::Kind::partial) return;
  check(d.range.first <= d.range.last && d.range.last < size, "parse_range: range outside the file");
  check(gw::content_range(d.range, size) == "bytes " + std::to_string(d.range.first) + "-" +
                                                std::to_string(d.range.last) + "/" + std::to_string(size),
        "content_range: wrong format");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  check_host(in);
  check_host(std::string(in) + ".localhost:8733");

  check_content(in);
  check_content("/" + kBundle + "/" + std::string(in));
  check_home(in);
  check_query(in);
  check_query("/open?q=" + std::string(in));

  // The first 8 bytes (when there are 8) also choose a file size.
  std::uint64_t chosen = 0;
  if (size >= 8) std::memcpy(&chosen, data, 8);
  for (const std::uint64_t file_size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{10000}, chosen,
                                        UINT64_MAX}) {
    check_range(in, file_size);
    check_range("bytes=" + std::string(in), file_size);
  }
  return 0;
}
