// Fuzz target for the JPEG segment walker (scrub/jpeg_segments.h), which
// reads JPEG images found inside PDFs.
//
// For any input:
// - find_metadata and strip_metadata agree: both succeed, or both fail with
//   the same error, which is bad_media or cannot_inspect with a detail;
// - the segments listed lie inside the input, in order, without overlap,
//   each with a name and at least 1 byte;
// - the clean copy starts with SOI, is no longer than the input, has no
//   metadata left, and stripping it again changes nothing
// (tz::fuzz::check_walker, shared with jpeg2000_boxes_fuzz).
// A violated property traps.
#include "walker_check.h"

#include "scrub/jpeg_segments.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

const char* const tz::fuzz::kTarget = "jpeg_segments_fuzz";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace jpeg = tz::scrub::jpeg;
  tz::fuzz::check_walker(
      std::span<const std::uint8_t>(data, size),
      [](std::span<const std::uint8_t> d, tz::Diag* diag) { return jpeg::find_metadata(d, diag); },
      [](std::span<const std::uint8_t> d, tz::Diag* diag) { return jpeg::strip_metadata(d, diag); },
      [](const std::vector<std::uint8_t>& c) { return c.size() >= 2 && c[0] == 0xFF && c[1] == 0xD8; });
  return 0;
}
