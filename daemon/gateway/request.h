// What a reader's browser is asking the gateway for, decided from the raw
// Host header, request target and Range header before any I/O. Everything
// here is attacker-controlled: any web page the reader opens can make the
// browser send requests to the gateway (and a DNS-rebinding page can make
// them look same-origin to itself), so these parsers accept one canonical
// spelling of each thing and refuse the rest. The HTTP server (server.h) maps
// the results to statuses: bad_host -> 421, bad_target -> 400,
// oversized -> 414, unsafe_path and no_such_page -> 404, unsatisfiable range
// -> 416. Byte-exact grammar: docs/protocol.md ("Gateway origins and paths");
// why: docs/threat-model.md ("The reader gateway").
// Pure; safe from any thread. Nothing returned refers into the arguments.
#pragma once

#include "core/ids.h"
#include "core/paths.h"
#include "core/result.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tz::gateway {

// Longest Host header value considered; a publisher origin with a five-digit
// port is 56 + 10 + 6 = 72 bytes, so nothing legitimate comes near.
inline constexpr std::size_t kMaxHostBytes = 300;
// Longest request target considered (the server answers 414 beyond it).
inline constexpr std::size_t kMaxTargetBytes = 8192;
// The label that makes a host a loopback name in browsers (RFC 6761 §6.3).
inline constexpr std::string_view kLocalhost = "localhost";

// The origin a request was sent to.
struct Origin {
  // Empty for the gateway's own pages (home origin); the publisher whose
  // content origin it is otherwise.
  std::optional<PublicKey> publisher;
  [[nodiscard]] bool is_home() const noexcept { return !publisher.has_value(); }
};

// Decides which origin `host_header` (the Host field value, as the HTTP
// parser gives it: surrounding white space already removed) names, for a
// gateway listening on `port`. Accepts, ASCII case-insensitively:
//   localhost:PORT   127.0.0.1:PORT   [::1]:PORT          -> home origin
//   <publisher-id>.localhost:PORT                           -> that publisher
// where PORT is `port` in decimal without leading zeros. Browsers leave out
// port 80, so when `port` is 80 the ":80" may be missing too. Fails with
// errc::bad_host for anything else: another name (DNS rebinding), a missing
// or other port, a trailing dot, userinfo, more labels, another spelling of
// a loopback address, non-ASCII, empty, or longer than kMaxHostBytes. The
// caller must itself refuse a request with no Host field or more than one.
[[nodiscard]] Result<Origin> parse_host(std::string_view host_header, std::uint16_t port);

// A request on a publisher's origin: one file of one bundle.
struct ContentTarget {
  // The bundle ID (protocol.md §6) named by the first path segment.
  std::array<std::uint8_t, 32> bundle_id{};
  // The file, percent-decoded and validated; empty for the bundle's entry
  // point ("/<bundle-id>/").
  std::optional<SafeRelPath> path;
  // True for "/<bundle-id>" without the final slash: the server redirects to
  // "/<bundle-id>/" so that the entry point's relative links resolve inside
  // the bundle. `path` is then empty.
  bool needs_slash = false;
};

// Parses the request target of a request on a publisher's origin:
//   /<bundle-id>[/<path>][?query][#fragment]
// <bundle-id> is 64 lower-case hex digits; the query and fragment are
// ignored. <path> is percent-decoded exactly once and must then be a
// SafeRelPath holding no '%' (so a double-encoded "%252e" can never become
// a '.' in a later decoding step). Fails with
// - errc::oversized: longer than kMaxTargetBytes;
// - errc::bad_target: not origin-form (absolute-form "http://...", "*", no
//   leading '/'), a byte outside visible ASCII (0x21-0x7E), a bundle ID that
//   is not 64 lower-case hex digits, or an invalid escape ("%zz", "%4");
// - errc::unsafe_path: an encoded '/', '\' or NUL ("%2F", "%5C", "%00", any
//   case), or a decoded path SafeRelPath refuses ("..", "%2e%2e", '\', a
//   control character, invalid UTF-8, an empty segment or trailing '/', ...)
//   or that holds '%'. `why`, when given, is set to a sentence for the log.
[[nodiscard]] Result<ContentTarget> parse_content_target(std::string_view target,
                                                        std::string* why = nullptr);

// The gateway's own pages.
enum class HomePage {
  index,   // "/": followed channels and their bundles
  status,  // "/status": peers, DHT nodes, transfers
  open,    // "/open?q=...&t=...": the home page's field (follow an ID, fetch a link)
};

// Parses the request target of a request on the home origin: "/", "/status"
// or "/open", with any query or fragment ignored. Fails with errc::oversized
// (longer than kMaxTargetBytes), errc::bad_target (not origin-form, or a byte
// outside visible ASCII), or errc::no_such_page (any other path; no decoding
// is done, so "/%73tatus" is not "/status").
[[nodiscard]] Result<HomePage> parse_home_target(std::string_view target);

// The value of parameter `name` in the query of `target` (the part after the
// first '?' and before any '#'), decoded as an HTML form encodes it ('+' is a
// space, "%XX" a byte). Nullopt when the parameter is absent, appears more
// than once, or has an invalid escape or a decoded control byte. Values are
// what the reader typed: the caller still parses them.
[[nodiscard]] std::optional<std::string> query_param(std::string_view target, std::string_view name);

// An inclusive range of byte offsets, first <= last.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  [[nodiscard]] std::uint64_t length() const noexcept { return last - first + 1; }
  auto operator<=>(const ByteRange&) const = default;
};

// What to do with a Range header.
struct RangeDecision {
  enum class Kind {
    whole,          // ignore the header: 200 with the whole file
    partial,        // 206 with `range`, Content-Range: bytes first-last/size
    unsatisfiable,  // 416 with Content-Range: bytes */size
  };
  Kind kind = Kind::whole;
  ByteRange range;  // meaningful only when kind == partial
};

// Decides, per RFC 9110 §14, how to answer a request for a file of `size`
// bytes carrying the Range field value `header` (empty when there is none).
// One range is honoured: "bytes=a-b" (b clamped to size-1), "bytes=a-" and
// the suffix "bytes=-n" (the last n bytes, the whole file when n >= size).
// The unit is case-insensitive; white space is allowed around the value and
// around list commas, and empty list elements are skipped, as RFC 9110 §5.6.1
// asks of recipients. Unsatisfiable (416): a first byte at or past the end
// and "-0". Ignored (200, whole file; a server MAY ignore Range): no header,
// another unit, a syntax error, a > b, several ranges, and any request on an
// empty file (no byte range can describe it). Numbers too large for 64 bits
// are compared exactly, so they mean "past the end". Never fails.
[[nodiscard]] RangeDecision parse_range(std::string_view header, std::uint64_t size) noexcept;

// The Content-Range field value for a 206: "bytes first-last/size".
[[nodiscard]] std::string content_range(const ByteRange& range, std::uint64_t size);
// The Content-Range field value for a 416: "bytes */size".
[[nodiscard]] std::string content_range_unsatisfiable(std::uint64_t size);

}  // namespace tz::gateway
