#include "scrub/jpeg_segments.h"

#include <algorithm>
#include <string_view>

namespace tz::scrub::jpeg {

namespace {

enum class Action { keep, drop, bare_jfif, short_adobe };

struct Piece {
  std::size_t offset = 0;  // of the marker's 0xFF (fill bytes before it are not part of it)
  std::size_t size = 0;
  Action action = Action::keep;
  Category category = Category::other;
  std::string name;
};

struct Layout {
  std::vector<Piece> pieces;  // in file order, SOI first
  bool has_eoi = false;
};

constexpr std::size_t kJfifBytes = 14;   // "JFIF\0", version, units, densities, thumbnail size
constexpr std::size_t kAdobeBytes = 12;  // "Adobe", version, flags0, flags1, transform

std::uint16_t be16(std::span<const std::uint8_t> d, std::size_t at) {
  return static_cast<std::uint16_t>((d[at] << 8) | d[at + 1]);
}

bool starts_with(std::span<const std::uint8_t> payload, std::string_view prefix) {
  return payload.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), payload.begin(),
                    [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
}

// The identifier at the start of an APPn payload ("Exif", "ICC_PROFILE"...),
// printable ASCII up to the first NUL, at most 32 characters.
std::string identifier(std::span<const std::uint8_t> payload) {
  std::string out;
  for (std::size_t i = 0; i < payload.size() && i < 32; ++i) {
    const auto c = payload[i];
    if (c == 0) break;
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  return out;
}

std::string hex_byte(std::uint8_t b) {
  constexpr char kHex[] = "0123456789ABCDEF";
  return {kHex[b >> 4], kHex[b & 15]};
}

// Decides what the clean copy does with the APPn or COM segment `marker`
// whose payload (after the length field) is `payload`.
void classify(std::uint8_t marker, std::span<const std::uint8_t> payload, Piece& p) {
  p.action = Action::drop;
  if (marker == 0xFE) {
    p.category = Category::comment;
    p.name = "COM";
    return;
  }
  const int n = marker - 0xE0;
  const std::string id = identifier(payload);
  p.name = "APP" + std::to_string(n) + (id.empty() ? "" : " " + id);
  if (n == 0 && starts_with(payload, std::string_view("JFIF\0", 5)) && payload.size() >= kJfifBytes) {
    const bool thumbnail = payload[12] != 0 && payload[13] != 0;
    if (payload.size() == kJfifBytes && payload[12] == 0 && payload[13] == 0) {
      p.action = Action::keep;
      return;
    }
    p.action = Action::bare_jfif;
    p.category = thumbnail ? Category::thumbnail : Category::other;
    p.name = thumbnail ? "APP0 JFIF thumbnail" : "APP0 JFIF extra bytes";
    return;
  }
  if (n == 14 && starts_with(payload, "Adobe") && payload.size() >= kAdobeBytes) {
    p.action = payload.size() == kAdobeBytes ? Action::keep : Action::short_adobe;
    p.name = "APP14 Adobe extra bytes";
    return;
  }
  if (n == 0 && id == "JFXX") {
    p.category = Category::thumbnail;
  } else if (n == 1 && id == "Exif") {
    p.category = Category::other;  // the caller may read the fields inside with libexiv2
  } else if (n == 1 && id.starts_with("http://ns.adobe.com/x")) {
    p.category = Category::xmp;
    p.name = id == "http://ns.adobe.com/xap/1.0/" ? "APP1 XMP" : "APP1 extended XMP";
  } else if (n == 2 && id == "ICC_PROFILE") {
    p.category = Category::icc;
  } else if (n == 13) {
    p.category = Category::iptc;  // Photoshop resources: IPTC, captions, paths, thumbnails
  }
}

bool is_blank(std::span<const std::uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](std::uint8_t b) { return b == 0 || b == ' ' || b == '\r' || b == '\n' || b == '\t'; });
}

Result<Layout> walk(std::span<const std::uint8_t> d, Diag* diag) {
  const auto bad = [&](const std::string& why) {
    return fail(errc::bad_media, diag, {}, "not a well-formed JPEG: " + why);
  };
  if (d.size() < 4 || d[0] != 0xFF || d[1] != 0xD8) return bad("no start-of-image marker");
  Layout out;
  out.pieces.push_back({0, 2, Action::keep, Category::other, "SOI"});
  std::size_t pos = 2;
  for (;;) {
    if (pos >= d.size()) return bad("it ends before the end-of-image marker");
    if (d[pos] != 0xFF) return bad("no marker at byte " + std::to_string(pos));
    while (pos < d.size() && d[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= d.size()) return bad("it ends in fill bytes");
    const std::uint8_t m = d[pos];
    Piece p;
    p.offset = pos - 1;
    ++pos;
    if (m == 0xD9) {
      out.pieces.push_back({p.offset, 2, Action::keep, Category::other, "EOI"});
      out.has_eoi = true;
      break;
    }
    if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) {  // RSTn, TEM: no length
      p.size = 2;
      out.pieces.push_back(std::move(p));
      continue;
    }
    if (m == 0x00 || m == 0xD8) return bad("marker 0xFF" + hex_byte(m) + " out of place");
    const bool known = (m >= 0xC0 && m <= 0xCF && m != 0xC8) || (m >= 0xDA && m <= 0xDF) || m >= 0xE0;
    if (!known || (m >= 0xF0 && m <= 0xFD)) {
      return fail(
          errc::cannot_inspect, diag, {},
          "a JPEG with marker 0xFF" + hex_byte(m) + " (JPEG-LS, an extension or reserved), which we do not rewrite");
    }
    if (pos + 2 > d.size()) return bad("a segment length past the end");
    const std::size_t len = be16(d, pos);
    if (len < 2 || pos + len > d.size()) return bad("a segment length past the end");
    const auto payload = d.subspan(pos + 2, len - 2);
    pos += len;
    p.size = pos - p.offset;
    if (m >= 0xE0 || m == 0xFE) classify(m, payload, p);
    if (m == 0xDA) {
      // Entropy-coded data: 0xFF is followed by 0x00 (a stuffed byte), by an
      // RSTn marker, by more 0xFF (fill) or by the marker that ends the scan.
      bool ended = false;
      while (!ended) {
        if (pos >= d.size()) break;  // no EOI: decoders show what they have; so do we
        if (d[pos] != 0xFF) {
          ++pos;
          continue;
        }
        std::size_t q = pos + 1;
        while (q < d.size() && d[q] == 0xFF) ++q;
        if (q >= d.size()) {
          pos = d.size();
          break;
        }
        if (d[q] == 0x00 || (d[q] >= 0xD0 && d[q] <= 0xD7)) {
          pos = q + 1;
        } else {
          ended = true;
        }
      }
      p.size = pos - p.offset;
      p.name = "SOS";
      out.pieces.push_back(std::move(p));
      if (pos >= d.size()) break;
      continue;
    }
    out.pieces.push_back(std::move(p));
  }
  if (pos < d.size()) {
    const auto rest = d.subspan(pos);
    const bool image = rest.size() >= 2 && rest[0] == 0xFF && rest[1] == 0xD8;
    Piece p{pos, rest.size(), Action::drop, image ? Category::thumbnail : Category::other,
            image ? "image after EOI" : "data after EOI"};
    // A newline or zero padding after EOI is no one's metadata: dropped, not reported.
    if (is_blank(rest)) p.name.clear();
    out.pieces.push_back(std::move(p));
  }
  return out;
}

}  // namespace

Result<std::vector<MetadataSegment>> find_metadata(std::span<const std::uint8_t> data, Diag* diag) {
  BOOST_OUTCOME_TRY(layout, walk(data, diag));
  std::vector<MetadataSegment> out;
  for (const Piece& p : layout.pieces) {
    if (p.action == Action::keep || p.name.empty()) continue;
    out.push_back({p.offset, p.size, p.category, p.name});
  }
  return out;
}

Result<std::vector<std::uint8_t>> strip_metadata(std::span<const std::uint8_t> data, Diag* diag) {
  BOOST_OUTCOME_TRY(layout, walk(data, diag));
  std::vector<std::uint8_t> out;
  out.reserve(data.size());
  for (const Piece& p : layout.pieces) {
    const auto bytes = data.subspan(p.offset, p.size);
    switch (p.action) {
      case Action::keep:
        out.insert(out.end(), bytes.begin(), bytes.end());
        break;
      case Action::drop:
        break;
      case Action::bare_jfif: {
        // marker (2), length (2), then the first 12 payload bytes and a 0x0 thumbnail
        out.insert(out.end(), {0xFF, 0xE0, 0x00, static_cast<std::uint8_t>(2 + kJfifBytes)});
        out.insert(out.end(), bytes.begin() + 4, bytes.begin() + 4 + kJfifBytes - 2);
        out.insert(out.end(), {0x00, 0x00});
        break;
      }
      case Action::short_adobe:
        out.insert(out.end(), {0xFF, 0xEE, 0x00, static_cast<std::uint8_t>(2 + kAdobeBytes)});
        out.insert(out.end(), bytes.begin() + 4, bytes.begin() + 4 + kAdobeBytes);
        break;
    }
  }
  return out;
}

}  // namespace tz::scrub::jpeg
