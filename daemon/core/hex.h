// Lower-case hexadecimal encoding of bytes. Pure; safe from any thread.
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

}  // namespace tz
