// Lower-case hexadecimal encoding of bytes, and percent-encoding for URLs.
// Pure; safe from any thread.
#pragma once

#include "core/result.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tz {

[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> bytes);

// Decodes `hex` (either case) into `out`. Returns false, leaving `out`
// untouched, when the length is odd or a character is not a hex digit.
[[nodiscard]] bool from_hex(std::string_view hex, std::vector<std::uint8_t>& out);

// `s` with every byte but RFC 3986's unreserved characters (ASCII letters,
// digits, - _ . ~) written as %XX with upper-case hex digits.
[[nodiscard]] std::string percent_encode(std::string_view s);

}  // namespace tz
