// Media types: guessed from a file name when a bundle is made, and checked
// when a manifest is read (the gateway will send them as Content-Type, so a
// value with CR, LF or other non-token bytes must never get through).
// Pure; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace tz {

inline constexpr std::size_t kMaxMediaTypeBytes = 127;

// The media type for `file_name` by its extension (case-insensitive), or
// "application/octet-stream" when unknown. Text types carry "; charset=utf-8".
[[nodiscard]] std::string media_type_for(std::string_view file_name);

// True when `mt` is `type/subtype` of RFC 7231 token characters, optionally
// followed by `; name=value` parameters of token characters, at most 127 bytes.
[[nodiscard]] bool is_valid_media_type(std::string_view mt);

}  // namespace tz
