#include "gateway/request.h"

#include "core/hex.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace tz::gateway {
namespace {

constexpr std::string_view kPublisherIdAlphabet = "abcdefghijklmnopqrstuvwxyz234567";

char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_visible_ascii(char c) noexcept { return c >= 0x21 && c <= 0x7E; }

bool all_visible_ascii(std::string_view s) noexcept { return std::all_of(s.begin(), s.end(), is_visible_ascii); }

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_lower_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f'); }

int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// --- Host ---------------------------------------------------------------

// Splits "name[:port]" (name possibly a bracketed IPv6 literal) and checks the
// port part against `port`. Returns the name, or nothing when the port is
// wrong. The port must be spelled exactly as std::to_string spells it, so
// "08733" or "+8733" never match.
std::optional<std::string_view> strip_port(std::string_view host, std::uint16_t port) {
  std::size_t name_end = 0;
  if (host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    name_end = close + 1;
  } else {
    name_end = std::min(host.find(':'), host.size());
  }
  const std::string_view name = host.substr(0, name_end);
  const std::string_view rest = host.substr(name_end);
  if (rest.empty()) {
    // Browsers never write the default port of http.
    if (port == 80) return name;
    return std::nullopt;
  }
  if (rest.front() != ':' || rest.substr(1) != std::to_string(port)) return std::nullopt;
  return name;
}

// The publisher of "<id>.localhost", where `label` is the part before the
// dot, already lower-cased. Only the 56-character lower-case form is handed
// to decode_publisher_id, which would otherwise also accept white space.
std::optional<PublicKey> publisher_label(std::string_view label) {
  if (label.size() != kPublisherIdLength) return std::nullopt;
  if (label.find_first_not_of(kPublisherIdAlphabet) != std::string_view::npos) return std::nullopt;
  auto key = decode_publisher_id(label);
  if (!key) return std::nullopt;
  return key.value();
}

// --- Request targets ----------------------------------------------------

// Checks what every origin-form target must satisfy and returns its path:
// the target up to the first '?' or '#'.
Result<std::string_view> origin_form_path(std::string_view target) {
  if (target.size() > kMaxTargetBytes) return errc::oversized;
  // Also refuses absolute-form ("http://..."), authority-form and "*".
  if (target.empty() || target.front() != '/') return errc::bad_target;
  // Browsers percent-encode everything else; a raw space, control byte or
  // non-ASCII byte here comes from something that is not a browser.
  if (!all_visible_ascii(target)) return errc::bad_target;
  return target.substr(0, target.find_first_of("?#"));
}

Result<void> fail_path(std::string* why, const char* reason) {
  if (why != nullptr) *why = reason;
  return errc::unsafe_path;
}

// Looks at every escape before anything is decoded: each '%' must start two
// hex digits, and none may encode a byte that would change the path's
// structure once decoded ('/', '\') or end a C string (NUL).
Result<void> check_escapes(std::string_view raw, std::string* why) {
  for (std::size_t i = raw.find('%'); i != std::string_view::npos; i = raw.find('%', i + 3)) {
    if (i + 2 >= raw.size() || hex_value(raw[i + 1]) < 0 || hex_value(raw[i + 2]) < 0) {
      if (why != nullptr) *why = "invalid percent escape";
      return errc::bad_target;
    }
    const int byte = hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]);
    if (byte == '/') return fail_path(why, "encoded '/' in path");
    if (byte == '\\') return fail_path(why, "encoded backslash in path");
    if (byte == 0) return fail_path(why, "encoded NUL in path");
  }
  return success();
}

// Decodes every escape once. Requires check_escapes to have passed.
std::string percent_decode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%') {
      out.push_back(static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2])));
      i += 2;
    } else {
      out.push_back(raw[i]);
    }
  }
  return out;
}

Result<SafeRelPath> decode_path(std::string_view raw, std::string* why) {
  BOOST_OUTCOME_TRY(check_escapes(raw, why));
  const std::string decoded = percent_decode(raw);
  // A '%' that survives decoding came from "%25". Refused so that no later
  // layer (a file name echoed into a URL, a second decoder) can decode it
  // again: "%252e%252e" stays two bytes away from "..".
  if (decoded.find('%') != std::string::npos) return fail_path(why, "'%' in decoded path").error();
  return SafeRelPath::parse(decoded, why);
}

Result<std::array<std::uint8_t, 32>> parse_bundle_id(std::string_view segment) {
  std::array<std::uint8_t, 32> id{};
  // Lower case only: one spelling per URL, as the gateway's own links write it.
  if (segment.size() != 2 * id.size() || !std::all_of(segment.begin(), segment.end(), is_lower_hex)) {
    return errc::bad_target;
  }
  std::vector<std::uint8_t> bytes;
  if (!from_hex(segment, bytes) || bytes.size() != id.size()) return errc::bad_target;
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

// --- Range --------------------------------------------------------------

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// The value of a string of digits, or kMax64 when it does not fit: every
// file is shorter than that, so the saturated value means "past the end"
// just as the real one does.
std::uint64_t saturating_value(std::string_view digits) noexcept {
  std::uint64_t v = 0;
  for (char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (kMax64 - d) / 10) return kMax64;
    v = v * 10 + d;
  }
  return v;
}

// True when the number `a` is greater than the number `b` (both digit
// strings of any length), compared exactly.
bool decimal_greater(std::string_view a, std::string_view b) noexcept {
  a.remove_prefix(std::min(a.find_first_not_of('0'), a.size()));
  b.remove_prefix(std::min(b.find_first_not_of('0'), b.size()));
  if (a.size() != b.size()) return a.size() > b.size();
  return a > b;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// The one non-empty element of a range-set, or nothing when there are none
// or several.
std::optional<std::string_view> single_range_spec(std::string_view set) noexcept {
  std::optional<std::string_view> found;
  for (;;) {
    const std::size_t comma = set.find(',');
    const std::string_view element = trim_ows(set.substr(0, comma));
    if (!element.empty()) {
      if (found) return std::nullopt;
      found = element;
    }
    if (comma == std::string_view::npos) return found;
    set.remove_prefix(comma + 1);
  }
}

RangeDecision partial(std::uint64_t first, std::uint64_t last) noexcept {
  return {RangeDecision::Kind::partial, {first, last}};
}

constexpr RangeDecision kWhole{RangeDecision::Kind::whole, {}};
constexpr RangeDecision kUnsatisfiable{RangeDecision::Kind::unsatisfiable, {}};

// Decides one range-spec for a file of `size` > 0 bytes.
RangeDecision decide_spec(std::string_view spec, std::uint64_t size) noexcept {
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return kWhole;
  const std::string_view first = spec.substr(0, dash);
  const std::string_view last = spec.substr(dash + 1);
  if (first.empty()) {  // suffix-range: the last n bytes
    if (!all_digits(last)) return kWhole;
    const std::uint64_t n = saturating_value(last);
    if (n == 0) return kUnsatisfiable;
    return partial(n >= size ? 0 : size - n, size - 1);
  }
  if (!all_digits(first) || (!last.empty() && !all_digits(last))) return kWhole;
  if (!last.empty() && decimal_greater(first, last)) return kWhole;  // invalid: RFC 9110 §14.1.1
  const std::uint64_t a = saturating_value(first);
  if (a >= size) return kUnsatisfiable;
  const std::uint64_t b = last.empty() ? size - 1 : std::min(saturating_value(last), size - 1);
  return partial(a, b);
}

}  // namespace

Result<Origin> parse_host(std::string_view host_header, std::uint16_t port) {
  if (host_header.empty() || host_header.size() > kMaxHostBytes) return errc::bad_host;
  // Refuses non-ASCII, white space and control bytes in one go.
  if (!all_visible_ascii(host_header)) return errc::bad_host;
  std::string host(host_header);
  std::transform(host.begin(), host.end(), host.begin(), ascii_lower);

  const auto name = strip_port(host, port);
  if (!name) return errc::bad_host;
  if (*name == kLocalhost || *name == "127.0.0.1" || *name == "[::1]") return Origin{};

  // "<id>.localhost": exactly one label before "localhost". A trailing dot,
  // userinfo ('@') or any further label fails here or in publisher_label.
  constexpr std::string_view kDotLocalhost = ".localhost";
  if (!name->ends_with(kDotLocalhost)) return errc::bad_host;
  auto key = publisher_label(name->substr(0, name->size() - kDotLocalhost.size()));
  if (!key) return errc::bad_host;
  return Origin{*key};
}

Result<ContentTarget> parse_content_target(std::string_view target, std::string* why) {
  BOOST_OUTCOME_TRY(path, origin_form_path(target));
  const std::string_view rest = path.substr(1);
  const std::size_t slash = rest.find('/');
  ContentTarget out;
  BOOST_OUTCOME_TRY(id, parse_bundle_id(rest.substr(0, slash)));
  out.bundle_id = id;
  if (slash == std::string_view::npos) {
    out.needs_slash = true;
    return out;
  }
  const std::string_view file = rest.substr(slash + 1);
  if (file.empty()) return out;  // the entry point
  BOOST_OUTCOME_TRY(safe, decode_path(file, why));
  out.path = std::move(safe);
  return out;
}

Result<HomePage> parse_home_target(std::string_view target) {
  BOOST_OUTCOME_TRY(path, origin_form_path(target));
  if (path == "/") return HomePage::index;
  if (path == "/status") return HomePage::status;
  if (path == "/open") return HomePage::open;
  return errc::no_such_page;
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  std::optional<std::string> found;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    if (found) return std::nullopt;  // twice: which one the reader meant is unclear
    const std::string_view raw = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    std::string value;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '+') {
        c = ' ';
      } else if (c == '%') {
        if (i + 2 >= raw.size() || hex_value(raw[i + 1]) < 0 || hex_value(raw[i + 2]) < 0) return std::nullopt;
        c = static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
        i += 2;
      }
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return std::nullopt;
      value.push_back(c);
    }
    found = std::move(value);
  }
  return found;
}

RangeDecision parse_range(std::string_view header, std::uint64_t size) noexcept {
  // An empty file has no byte a Content-Range could name.
  if (size == 0) return kWhole;
  header = trim_ows(header);
  const std::size_t eq = header.find('=');
  if (eq == std::string_view::npos || !equals_ignoring_case(header.substr(0, eq), "bytes")) return kWhole;
  const auto spec = single_range_spec(header.substr(eq + 1));
  if (!spec) return kWhole;
  return decide_spec(*spec, size);
}

std::string content_range(const ByteRange& range, std::uint64_t size) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" + std::to_string(size);
}

std::string content_range_unsatisfiable(std::uint64_t size) { return "bytes */" + std::to_string(size); }

}  // namespace tz::gateway
