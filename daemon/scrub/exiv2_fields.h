// Reads the Exif, IPTC and XMP fields of an image or an XMP packet held in
// memory with libexiv2, and sorts each field into a Category, for the
// findings of formats that embed pictures or XMP (PDF today).
//
// Reports only: nothing here writes. Untrusted bytes go to libexiv2, which
// throws on what it cannot read; these functions catch that and report
// nothing for the fields. Safe from any thread: the XMP toolkit is set up
// once, behind a lock (libexiv2 registers XMP namespaces in a global table).
#pragma once

#include "scrub/finding.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tz::scrub {

// Sets up libexiv2's XMP toolkit once, with a lock around every use of its
// global state. Call before any thread uses libexiv2; the first caller
// decides, so every user in this program calls this one.
void init_xmp_once();

// The category of the field libexiv2 calls `key` ("Exif.GPSInfo.GPSLatitude",
// "Xmp.xmp.CreatorTool", "Iptc.Application2.Byline").
[[nodiscard]] Category category_of_key(std::string_view key);

// Findings for the fields libexiv2 reads in the image `bytes` (JPEG, JPEG
// 2000...), each keyed `prefix` + the field's key. Fields of Category::other
// (exposure, resolution...) are counted into one finding keyed
// `prefix` + "other fields". Returns nothing when libexiv2 cannot read the
// image. `bytes` is read during the call only.
[[nodiscard]] std::vector<Finding> image_fields(std::span<const std::uint8_t> bytes, const std::string& prefix);

// The same for the XMP packet `packet` (XML text).
[[nodiscard]] std::vector<Finding> xmp_fields(std::string_view packet, const std::string& prefix);

}  // namespace tz::scrub
