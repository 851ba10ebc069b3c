#include "core/paths.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace tz {

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  while (i < s.size()) {
    const unsigned char c = byte(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (byte(i + k) & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

namespace {

bool is_device_name(std::string_view comp) {
  // Windows treats these as devices with any extension ("nul.txt").
  const std::string_view stem = comp.substr(0, comp.find('.'));
  std::string up(stem);
  std::transform(up.begin(), up.end(), up.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  static constexpr std::array<std::string_view, 4> kPlain = {"CON", "PRN", "AUX", "NUL"};
  if (std::find(kPlain.begin(), kPlain.end(), up) != kPlain.end()) return true;
  if (up.size() == 4 && (up.starts_with("COM") || up.starts_with("LPT")) && up[3] >= '0' && up[3] <= '9') {
    return true;
  }
  return false;
}

Result<void> check_component(std::string_view comp, std::string* why) {
  const auto bad = [&](const char* reason) -> Result<void> {
    if (why != nullptr) *why = reason;
    return errc::unsafe_path;
  };
  if (comp.empty()) return bad("empty path component (leading, trailing or double '/')");
  if (comp == "." || comp == "..") return bad("'.' or '..' component");
  if (comp.size() > kMaxComponentBytes) return bad("path component longer than 255 bytes");
  for (char ch : comp) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return bad("control character or NUL in path");
    if (c == '\\') return bad("backslash in path");
    if (c == '<' || c == '>' || c == ':' || c == '"' || c == '|' || c == '?' || c == '*') {
      return bad("character not allowed on FAT/NTFS (< > : \" | ? *) in path");
    }
  }
  if (comp.back() == '.' || comp.back() == ' ') return bad("path component ends in '.' or space");
  if (is_device_name(comp)) return bad("Windows device name (CON, NUL, COM1...) in path");
  return success();
}

}  // namespace

Result<SafeRelPath> SafeRelPath::parse(std::string_view text, std::string* why) {
  const auto bad = [&](const char* reason) -> Result<SafeRelPath> {
    if (why != nullptr) *why = reason;
    return errc::unsafe_path;
  };
  if (text.empty()) return bad("empty path");
  if (text.size() > kMaxPathBytes) return bad("path longer than 1024 bytes");
  if (text.front() == '/') return bad("absolute path");
  if (!is_valid_utf8(text)) return bad("path is not valid UTF-8");
  std::size_t depth = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = text.find('/', start);
    const std::string_view comp =
        text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (auto r = check_component(comp, why); !r) return r.error();
    if (++depth > kMaxPathDepth) return bad("path deeper than 32 folders");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return SafeRelPath(std::string(text));
}

std::string_view SafeRelPath::first_component() const {
  return std::string_view(m_path).substr(0, m_path.find('/'));
}

std::string SafeRelPath::folded() const {
  std::string f = m_path;
  std::transform(f.begin(), f.end(), f.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return f;
}

}  // namespace tz
