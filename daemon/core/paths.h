// Relative paths that came from outside (a manifest, a torrent, a tar archive,
// a folder being published). The only way to make a SafeRelPath is
// SafeRelPath::parse, which enforces the portable-path rules of
// docs/protocol.md, so code that holds one can join it to a folder without
// escaping it, and the bundle can be copied to a FAT or exFAT USB stick.
// Pure; safe from any thread.
#pragma once

#include "core/result.h"

#include <compare>
#include <string>
#include <string_view>

namespace tz {

inline constexpr std::size_t kMaxPathBytes = 1024;
inline constexpr std::size_t kMaxComponentBytes = 255;
inline constexpr std::size_t kMaxPathDepth = 32;

class SafeRelPath {
 public:
  // Accepts a '/'-separated relative path of valid UTF-8 whose components are
  // not empty, ".", or "..", that holds no NUL, control character, backslash
  // or any of  < > : " | ? *, no component ending in '.' or ' ', and no
  // Windows device name (CON, NUL, COM1...). Fails with errc::unsafe_path and,
  // when `why` is given, a sentence saying which rule it broke.
  [[nodiscard]] static Result<SafeRelPath> parse(std::string_view text, std::string* why = nullptr);

  [[nodiscard]] const std::string& str() const noexcept { return m_path; }
  // The first component ("a" for "a/b/c").
  [[nodiscard]] std::string_view first_component() const;
  // ASCII-lower-cased form, for detecting names that collide on
  // case-insensitive file systems.
  [[nodiscard]] std::string folded() const;

  auto operator<=>(const SafeRelPath&) const = default;

 private:
  explicit SafeRelPath(std::string p) : m_path(std::move(p)) {}
  std::string m_path;
};

// True when `s` is valid UTF-8 (no overlong forms, surrogates or code points
// beyond U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view s);

}  // namespace tz
