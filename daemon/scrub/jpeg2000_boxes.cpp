#include "scrub/jpeg2000_boxes.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace tz::scrub::jpeg2000 {

namespace {

using jpeg::MetadataSegment;
using Bytes = std::span<const std::uint8_t>;

struct Walk {
  std::vector<MetadataSegment> found;
  std::vector<std::uint8_t> clean;
};

constexpr std::array<std::uint8_t, 12> kSignature = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50,
                                                     0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
constexpr std::array<std::uint8_t, 16> kXmpUuid = {0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8,
                                                   0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC};
constexpr std::array<std::uint8_t, 16> kGeoJp2Uuid = {0xB1, 0x4B, 0xF8, 0xBD, 0x08, 0x3D, 0x4B, 0x43,
                                                      0xA5, 0xAE, 0x8C, 0xD7, 0xD5, 0xA6, 0xCE, 0x03};
constexpr std::array<std::uint8_t, 16> kIptcUuid = {0x33, 0xC7, 0xA4, 0xD2, 0xB8, 0x1D, 0x47, 0x23,
                                                    0xA0, 0xBA, 0xF1, 0xA3, 0xE0, 0x97, 0xAD, 0x38};
constexpr std::string_view kExifUuid = "JpgTiffExif->JP2";  // what exiftool and others write

// Marker segments (all with a length) that may appear in main or tile-part
// headers: CAP, SIZ, COD, COC, TLM, PLM, PLT, CPF, QCD, QCC, RGN, POC, PPM,
// PPT, CRG, COM.
constexpr std::array<std::uint8_t, 16> kKnownMarkers = {0x50, 0x51, 0x52, 0x53, 0x55, 0x57, 0x58, 0x59,
                                                        0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x61, 0x63, 0x64};
constexpr std::uint8_t kSot = 0x90, kSod = 0x93, kEoc = 0xD9, kCom = 0x64;

std::uint64_t be(Bytes d, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | d[at + i];
  return v;
}

template <std::size_t N>
bool starts_with(Bytes d, const std::array<std::uint8_t, N>& prefix) {
  return d.size() >= N && std::equal(prefix.begin(), prefix.end(), d.begin());
}

bool is_blank(Bytes b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c == 0 || c == '\r' || c == '\n' || c == ' '; });
}

std::string hex_byte(std::uint8_t b) {
  constexpr char kHex[] = "0123456789ABCDEF";
  return {kHex[b >> 4], kHex[b & 15]};
}

std::string box_type(Bytes d, std::size_t at) {
  std::string t;
  for (std::size_t i = 0; i < 4; ++i) {
    const auto c = d[at + i];
    t += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  return t;
}

class Parser {
 public:
  explicit Parser(Diag* diag) : m_diag(diag) {}

  Result<Walk> run(Bytes d) {
    Walk w;
    if (starts_with(d, kSignature)) {
      BOOST_OUTCOME_TRYV(boxes(d, w));
    } else {
      BOOST_OUTCOME_TRYV(codestream(d, 0, w.found, w.clean));
    }
    return w;
  }

 private:
  boost::system::error_code bad(const std::string& why) {
    return fail(errc::bad_media, m_diag, {}, "not a well-formed JPEG 2000 image: " + why);
  }
  boost::system::error_code refuse(const std::string& why) {
    return fail(errc::cannot_inspect, m_diag, {}, "a JPEG 2000 image with " + why + ", which we do not rewrite");
  }

  // A box header for `payload_size` bytes of type `type`: the short form
  // when the length fits in 32 bits.
  static void put_box_header(std::vector<std::uint8_t>& out, Bytes type, std::uint64_t payload_size) {
    const bool fits = payload_size + 8 <= 0xFFFFFFFFu;
    const std::uint64_t len = payload_size + (fits ? 8 : 16);
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(
          static_cast<std::uint8_t>(fits ? (len >> shift) & 0xFF : (shift == 0 ? 1 : 0)));  // 1: XLBox follows
    }
    out.insert(out.end(), type.begin(), type.end());
    if (!fits) {
      for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(len >> shift));
    }
  }

  Result<void> boxes(Bytes d, Walk& w) {
    bool has_codestream = false;
    std::size_t pos = 0;
    while (pos < d.size()) {
      if (d.size() - pos < 8) return bad("a box header cut short");
      std::uint64_t len = be(d, pos, 4);
      std::size_t header = 8;
      if (len == 1) {
        if (d.size() - pos < 16) return bad("a box header cut short");
        len = be(d, pos + 8, 8);
        header = 16;
      } else if (len == 0) {
        len = d.size() - pos;  // the last box runs to the end
      }
      if (len < header || len > d.size() - pos) return bad("a box length past the end");
      const std::string type = box_type(d, pos + 4);
      const std::size_t size = static_cast<std::size_t>(len);
      const Bytes box = d.subspan(pos, size);
      const Bytes payload = box.subspan(header);
      const auto drop = [&](Category c, std::string name) { w.found.push_back({pos, size, c, std::move(name)}); };
      if (type == "jP  " || type == "ftyp" || type == "rreq" || type == "jp2h") {
        w.clean.insert(w.clean.end(), box.begin(), box.end());
      } else if (type == "jp2c") {
        std::vector<std::uint8_t> cs;
        BOOST_OUTCOME_TRYV(codestream(payload, pos + header, w.found, cs));
        put_box_header(w.clean, box.subspan(4, 4), cs.size());
        has_codestream = true;
        w.clean.insert(w.clean.end(), cs.begin(), cs.end());
      } else if (type == "xml ") {
        drop(Category::xmp, "xml box");
      } else if (type == "uuid") {
        if (starts_with(payload, kXmpUuid)) {
          drop(Category::xmp, "uuid box (XMP)");
        } else if (starts_with(payload, kGeoJp2Uuid)) {
          drop(Category::gps, "uuid box (GeoJP2)");
        } else if (starts_with(payload, kIptcUuid)) {
          drop(Category::iptc, "uuid box (IPTC)");
        } else if (payload.size() >= 16 &&
                   std::equal(kExifUuid.begin(), kExifUuid.end(), payload.begin(),
                              [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; })) {
          drop(Category::other, "uuid box (Exif)");
        } else {
          drop(Category::other, "uuid box");
        }
      } else if (type == "jp2i") {
        drop(Category::owner, "jp2i box");  // intellectual property rights
      } else if (type == "uinf" || type == "free" || type == "asoc" || type == "lbl " || type == "nlst") {
        drop(Category::other, type.substr(0, type.find_last_not_of(' ') + 1) + " box");
      } else {
        return refuse("a '" + type + "' box");
      }
      pos += size;
    }
    if (!has_codestream) return bad("no codestream box");
    return success();
  }

  // Copies the codestream `cs` (at `base` in the whole file) to `out`
  // without its main-header comments and without bytes after EOC.
  Result<void> codestream(Bytes cs, std::size_t base, std::vector<MetadataSegment>& found,
                          std::vector<std::uint8_t>& out) {
    if (cs.size() < 4 || cs[0] != 0xFF || cs[1] != 0x4F || cs[2] != 0xFF || cs[3] != 0x51) {
      return bad("no codestream start (SOC, SIZ)");
    }
    out.insert(out.end(), {0xFF, 0x4F});
    std::size_t pos = 2;
    for (;;) {  // main header
      if (cs.size() - pos < 2 || cs[pos] != 0xFF) return bad("the main header is cut or has no marker");
      const std::uint8_t m = cs[pos + 1];
      if (m == kSot) break;
      BOOST_OUTCOME_TRY(len, segment_length(cs, pos, m));
      if (m == kCom) {
        found.push_back({base + pos, len, Category::comment, "COM"});
      } else {
        out.insert(out.end(), cs.begin() + pos, cs.begin() + pos + len);
      }
      pos += len;
    }
    const std::size_t tiles = pos;
    for (;;) {                      // tile-parts, kept as they are
      if (pos == cs.size()) break;  // no EOC: decoders show what they have, so do we
      if (cs.size() - pos < 2 || cs[pos] != 0xFF) return bad("no marker where a tile-part should start");
      if (cs[pos + 1] == kEoc) {
        pos += 2;
        break;
      }
      if (cs[pos + 1] != kSot || cs.size() - pos < 12 || be(cs, pos + 2, 2) != 10) return bad("a malformed tile-part");
      const std::uint64_t psot = be(cs, pos + 6, 4);
      std::size_t h = pos + 12;
      for (;;) {  // tile-part header
        if (cs.size() - h < 2 || cs[h] != 0xFF) return bad("a tile-part header is cut or has no marker");
        const std::uint8_t m = cs[h + 1];
        if (m == kSod) break;
        if (m == kCom) return refuse("a comment in a tile-part header");
        BOOST_OUTCOME_TRY(len, segment_length(cs, h, m));
        h += len;
      }
      if (psot == 0) {  // the last tile-part runs to EOC
        pos = (cs.size() >= 2 && cs[cs.size() - 2] == 0xFF && cs[cs.size() - 1] == kEoc) ? cs.size() - 2 : cs.size();
        continue;
      }
      if (psot < h + 2 - pos || psot > cs.size() - pos) return bad("a tile-part length past the end");
      pos += static_cast<std::size_t>(psot);
    }
    out.insert(out.end(), cs.begin() + tiles, cs.begin() + pos);
    if (pos < cs.size()) {
      const Bytes rest = cs.subspan(pos);
      if (!is_blank(rest)) found.push_back({base + pos, rest.size(), Category::other, "data after EOC"});
    }
    return success();
  }

  Result<std::size_t> segment_length(Bytes cs, std::size_t at, std::uint8_t marker) {
    if (std::find(kKnownMarkers.begin(), kKnownMarkers.end(), marker) == kKnownMarkers.end()) {
      return refuse("marker 0xFF" + hex_byte(marker));
    }
    if (cs.size() - at < 4) return bad("a marker segment cut short");
    const std::size_t len = static_cast<std::size_t>(be(cs, at + 2, 2));
    if (len < 2 || len > cs.size() - at - 2) return bad("a marker segment length past the end");
    return len + 2;
  }

  Diag* m_diag;
};

}  // namespace

Result<std::vector<MetadataSegment>> find_metadata(std::span<const std::uint8_t> data, Diag* diag) {
  BOOST_OUTCOME_TRY(w, Parser(diag).run(data));
  return std::move(w.found);
}

Result<std::vector<std::uint8_t>> strip_metadata(std::span<const std::uint8_t> data, Diag* diag) {
  BOOST_OUTCOME_TRY(w, Parser(diag).run(data));
  return std::move(w.clean);
}

}  // namespace tz::scrub::jpeg2000
