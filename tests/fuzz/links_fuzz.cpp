// Fuzz target for bundle links (swarm/links.h): magnet URIs readers paste.
//
// 1. The input as a link, as it is and behind "magnet:?xt=urn:btih:<hash>&"
//    (which gets it past the first checks), through parse_bundle_link:
//    - only bad_link, bad_publisher_id or unknown_id_version come back, and
//      bad_link for anything over 8192 bytes or not starting with "magnet:?";
//    - an accepted link has a v1 info-hash (not all zeros), at most one x.tz
//      parameter, and a publisher exactly when it has one, equal to that
//      parameter decoded; a publisher ID error is the first x.tz's own error;
//    - an accepted link with a bundle ID and a publisher, made again with
//      make_bundle_link, parses back to the same four fields (bad_link only
//      when the new link is over 8192 bytes, which a name of a manifest's
//      kMaxTitleBytes never makes).
// 2. The input as link fields, when it has at least 84 bytes: v1 info-hash
//    (20 bytes), bundle ID (32), publisher key (32), title (the rest).
//    make_bundle_link writes the form of docs/protocol.md §11 (parameters in
//    order, the title escaped as `%XX` in upper-case hex but for ASCII
//    letters, digits and `- _ . ~`), and parse_bundle_link reads back
//    exactly those fields, refusing only a link over 8192 bytes or an
//    all-zero v1 info-hash (libtorrent's "no v1 hash"); an all-zero bundle ID
//    reads back as none.
// A violated property traps.
#include "fuzz_util.h"

#include "core/hex.h"
#include "core/ids.h"
#include "core/manifest.h"
#include "swarm/links.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

const char* const tz::fuzz::kTarget = "links_fuzz";

namespace {

using tz::fuzz::check;
namespace sw = tz::swarm;

constexpr std::size_t kMaxLinkBytes = 8192;
constexpr std::string_view kFixedBtih = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&";

bool is_documented(const boost::system::error_code& e) {
  return e == tz::errc::bad_link || e == tz::errc::bad_publisher_id || e == tz::errc::unknown_id_version;
}

template <typename Array>
bool all_zero(const Array& a) {
  return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

// The values of the "x.tz=" parameters after "magnet:?", split on '&' as the
// protocol says, independently of links.cpp.
std::vector<std::string_view> xtz_values(std::string_view link) {
  std::vector<std::string_view> out;
  std::string_view q = link.substr(std::min<std::size_t>(8, link.size()));
  for (;;) {
    const std::size_t amp = q.find('&');
    const std::string_view kv = q.substr(0, amp);
    if (kv.substr(0, 5) == "x.tz=") out.push_back(kv.substr(5));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

bool same_link(const sw::BundleLink& a, const sw::BundleLink& b) {
  return a.info_hash_v1 == b.info_hash_v1 && a.bundle_id == b.bundle_id && a.publisher == b.publisher &&
         a.name == b.name;
}

void check_link(std::string_view link) {
  const auto r = sw::parse_bundle_link(link);
  if (!r) {
    check(is_documented(r.error()), "parse_bundle_link: undocumented error");
    if (r.error() != tz::errc::bad_link) {
      const auto xtz = xtz_values(link);
      check(!xtz.empty(), "parse_bundle_link: publisher ID error without x.tz");
      const auto first = tz::decode_publisher_id(xtz.front());
      check(!first && first.error() == r.error(), "parse_bundle_link: not the first x.tz's own error");
    }
    return;
  }
  check(link.size() <= kMaxLinkBytes, "parse_bundle_link: accepted a link over 8192 bytes");
  check(link.substr(0, 8) == "magnet:?", "parse_bundle_link: accepted a link without magnet:?");
  const sw::BundleLink& b = r.value();
  check(!all_zero(b.info_hash_v1), "parse_bundle_link: accepted without a v1 info-hash");
  check(!b.bundle_id || !all_zero(*b.bundle_id), "parse_bundle_link: all-zero bundle ID");

  const auto xtz = xtz_values(link);
  check(xtz.size() <= 1, "parse_bundle_link: accepted two x.tz");
  check(b.publisher.has_value() == (xtz.size() == 1), "parse_bundle_link: publisher without x.tz, or x.tz lost");
  if (b.publisher) {
    const auto key = tz::decode_publisher_id(xtz.front());
    check(key && key.value() == *b.publisher, "parse_bundle_link: publisher is not x.tz decoded");
  }

  if (!b.bundle_id || !b.publisher) return;
  const std::string again = sw::make_bundle_link(b.info_hash_v1, *b.bundle_id, b.name, *b.publisher);
  const auto back = sw::parse_bundle_link(again);
  if (again.size() > kMaxLinkBytes) {
    check(b.name.size() > tz::kMaxTitleBytes, "make_bundle_link: over 8192 bytes for a manifest title");
    check(!back && back.error() == tz::errc::bad_link, "parse_bundle_link: long re-made link not bad_link");
    return;
  }
  check(back.has_value(), "parse_bundle_link refuses a link re-made from an accepted one");
  check(same_link(back.value(), b), "a re-made link parses to other fields");
}

bool is_escape_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower case is not what make_bundle_link writes
}

// `dn` as make_bundle_link must write it, undone; nullopt if it is not so.
std::optional<std::string> unescape_dn(std::string_view dn) {
  std::string out;
  for (std::size_t i = 0; i < dn.size(); ++i) {
    if (dn[i] != '%') {
      if (!is_escape_safe(dn[i])) return std::nullopt;
      out += dn[i];
      continue;
    }
    if (i + 2 >= dn.size()) return std::nullopt;
    const int hi = hex_value(dn[i + 1]);
    const int lo = hex_value(dn[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (is_escape_safe(c)) return std::nullopt;  // escaped needlessly
    out += c;
    i += 2;
  }
  return out;
}

void check_fields(const std::uint8_t* data, std::size_t size) {
  sw::BundleLink want;
  std::copy(data, data + 20, want.info_hash_v1.begin());
  tz::Sha256 v2{};
  std::copy(data + 20, data + 52, v2.begin());
  tz::PublicKey key;
  std::copy(data + 52, data + 84, key.bytes.begin());
  want.name.assign(reinterpret_cast<const char*>(data + 84), size - 84);

  const std::string link = sw::make_bundle_link(want.info_hash_v1, v2, want.name, key);
  const std::string head = "magnet:?xt=urn:btih:" + tz::to_hex(want.info_hash_v1) + "&xt=urn:btmh:1220" +
                           tz::to_hex(v2) + "&dn=";
  const std::string tail = "&x.tz=" + tz::encode_publisher_id(key);
  check(link.size() >= head.size() + tail.size() && link.substr(0, head.size()) == head &&
            link.substr(link.size() - tail.size()) == tail,
        "make_bundle_link: not the documented form");
  const auto dn = unescape_dn(std::string_view(link).substr(head.size(), link.size() - head.size() - tail.size()));
  check(dn && *dn == want.name, "make_bundle_link: the title is not escaped as documented");

  const auto r = sw::parse_bundle_link(link);
  if (link.size() > kMaxLinkBytes || all_zero(want.info_hash_v1)) {
    check(!r && r.error() == tz::errc::bad_link, "parse_bundle_link: an unusable made link is not bad_link");
    return;
  }
  check(r.has_value(), "parse_bundle_link refuses a link make_bundle_link made");
  if (!all_zero(v2)) want.bundle_id = v2;
  want.publisher = key;
  check(same_link(r.value(), want), "a made link parses to other fields");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_link(in);
  check_link(std::string(kFixedBtih) + std::string(in));
  if (size >= 84) check_fields(data, size);
  return 0;
}
