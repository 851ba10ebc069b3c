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
//   again changes nothing.
// A violated property traps.
#include "fuzz_util.h"

#include "scrub/jpeg2000_boxes.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

const char* const tz::fuzz::kTarget = "jpeg2000_boxes_fuzz";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tz::fuzz::check;
  namespace jpeg = tz::scrub::jpeg2000;
  const std::span<const std::uint8_t> in(data, size);
  tz::Diag fd, sd;
  const auto found = jpeg::find_metadata(in, &fd);
  const auto clean = jpeg::strip_metadata(in, &sd);
  check(found.has_value() == clean.has_value(), "find_metadata and strip_metadata disagree");
  if (!found) {
    check(found.error() == clean.error(), "the two report different errors");
    check(found.error() == tz::errc::bad_media || found.error() == tz::errc::cannot_inspect, "undocumented error");
    check(!fd.detail.empty() && fd.detail == sd.detail, "an error without its sentence");
    return 0;
  }
  std::size_t end = 0;
  for (const auto& s : found.value()) {
    check(s.offset >= end && s.size >= 1 && s.offset + s.size <= size, "a segment outside the input or overlapping");
    check(!s.name.empty(), "a segment without a name");
    end = s.offset + s.size;
  }
  const auto& c = clean.value();
  check(c.size() >= 4 && std::equal(c.begin(), c.begin() + 4, in.begin()), "the clean copy starts otherwise");
  check(c.size() <= size, "the clean copy is longer than the input");
  const auto again = jpeg::find_metadata(c);
  check(again.has_value() && again.value().empty(), "the clean copy still has metadata or does not read");
  const auto twice = jpeg::strip_metadata(c);
  check(twice.has_value() && twice.value() == c, "stripping the clean copy changes it");
  return 0;
}
