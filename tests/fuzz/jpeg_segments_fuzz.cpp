// Fuzz target for the JPEG segment walker (scrub/jpeg_segments.h), which
// reads JPEG images found inside PDFs.
//
// For any input:
// - find_metadata and strip_metadata agree: both succeed, or both fail with
//   the same error, which is bad_media or cannot_inspect with a detail;
// - the segments listed lie inside the input, in order, without overlap,
//   each with a name and at least 1 byte;
// - the clean copy starts with SOI, is no longer than the input, has no
//   metadata left, and stripping it again changes nothing.
// A violated property traps.
#include "fuzz_util.h"

#include "scrub/jpeg_segments.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

const char* const tz::fuzz::kTarget = "jpeg_segments_fuzz";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tz::fuzz::check;
  namespace jpeg = tz::scrub::jpeg;
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
  check(c.size() >= 2 && c[0] == 0xFF && c[1] == 0xD8, "the clean copy does not start with SOI");
  check(c.size() <= size, "the clean copy is longer than the input");
  const auto again = jpeg::find_metadata(c);
  check(again.has_value() && again.value().empty(), "the clean copy still has metadata or does not read");
  const auto twice = jpeg::strip_metadata(c);
  check(twice.has_value() && twice.value() == c, "stripping the clean copy changes it");
  return 0;
}
