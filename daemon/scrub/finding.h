// What source-safety inspection reports about one file: each piece of
// identifying metadata found, sorted into the categories a publisher reads
// ("GPS position", "device serial"...). Shared by every format's inspector
// (images through libexiv2, containers through ffprobe, PDF through libqpdf).
// Pure data; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tz::scrub {

// Stable names (category_name) appear in `--json` output.
enum class Category {
  gps,        // positions, altitudes, directions, GPS times
  device,     // make, model, lens, serial numbers, unique IDs of camera or phone
  owner,      // owner, author, artist, creator, copyright holder, contact
  software,   // software, firmware, editing history, producer, encoder
  time,       // creation, modification and digitization times
  thumbnail,  // embedded previews and thumbnails (they keep the uncropped picture)
  xmp,        // an XMP packet (any other XMP property)
  iptc,       // IPTC records (any other IPTC dataset)
  icc,        // an ICC colour profile (its text names vendor and device)
  comment,    // comments, descriptions, titles, keywords, document info
  tag,        // other container tags (video, audio and document metadata)
  other,      // any other metadata the format carries (camera settings...)
};

[[nodiscard]] std::string_view category_name(Category c);

struct Finding {
  Category category;
  std::string key;    // the tool's own name, e.g. "Exif.GPSInfo.GPSLatitude" or "format:location"
  std::string value;  // printable, at most 96 bytes (longer values are cut and end in "...")
};

// Makes `raw` printable for a Finding: control bytes and invalid UTF-8
// become '?', and more than 96 bytes are cut to 93 plus "...".
[[nodiscard]] std::string printable_value(std::string_view raw);

}  // namespace tz::scrub
