#include "scrub/finding.h"

namespace tz::scrub {

std::string_view category_name(Category c) {
  switch (c) {
    case Category::gps: return "gps";
    case Category::device: return "device";
    case Category::owner: return "owner";
    case Category::software: return "software";
    case Category::time: return "time";
    case Category::thumbnail: return "thumbnail";
    case Category::xmp: return "xmp";
    case Category::iptc: return "iptc";
    case Category::icc: return "icc";
    case Category::comment: return "comment";
    case Category::tag: return "tag";
    case Category::other: return "other";
  }
  return "other";
}

std::string printable_value(std::string_view raw) {
  constexpr std::size_t kMax = 96;
  std::string out;
  out.reserve(std::min(raw.size(), kMax));
  std::size_t i = 0;
  while (i < raw.size()) {
    const auto c = static_cast<unsigned char>(raw[i]);
    std::size_t len = 0;
    if (c >= 0x20 && c < 0x7f) {
      len = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
    }
    bool ok = len != 0 && i + len <= raw.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(raw[i + k]) & 0xc0) == 0x80;
    }
    // Reject overlongs and surrogates of the 3- and 4-byte forms.
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(raw[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(raw[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (!ok) len = 1;
    if (out.size() + len > kMax) {
      while (out.size() > kMax - 3) out.pop_back();
      // Do not leave half a UTF-8 sequence before the ellipsis.
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80) out.pop_back();
      if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0) out.pop_back();
      out += "...";
      return out;
    }
    if (ok) {
      out.append(raw.substr(i, len));
    } else {
      out += '?';
    }
    i += len;
  }
  return out;
}

}  // namespace tz::scrub
