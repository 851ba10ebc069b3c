// Fuzz target for the JPEG 2000 box and marker walker
// (scrub/jpeg2000_boxes.h), which reads JPEG 2000 images found inside PDFs.
//
// For any input:
// - find_metadata and strip_metadata agree: both succeed, or both fail with
//   the same error, which is bad_media or cannot_inspect with a detail;
// - the segments listed lie inside the input, in order, without overlap,
//   each with a name and at least 1 byte;
// - the clean copy is no longer than the input, starts as the input does
//   (JP2 signature box or SOC), has no metadata left, and stripping it
//   again changes nothing
// (tz::fuzz::check_walker, shared with jpeg_segments_fuzz).
// A violated property traps.
#include "walker_check.h"

#include "scrub/jpeg2000_boxes.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

const char* const tz::fuzz::kTarget = "jpeg2000_boxes_fuzz";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace jp2 = tz::scrub::jpeg2000;
  const std::span<const std::uint8_t> in(data, size);
  tz::fuzz::check_walker(
      in, [](std::span<const std::uint8_t> d, tz::Diag* diag) { return jp2::find_metadata(d, diag); },
      [](std::span<const std::uint8_t> d, tz::Diag* diag) { return jp2::strip_metadata(d, diag); },
      [&](const std::vector<std::uint8_t>& c) {
        return c.size() >= 4 && std::equal(c.begin(), c.begin() + 4, in.begin());
      });
  return 0;
}
