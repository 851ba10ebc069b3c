// The properties both metadata walkers of pictures inside PDFs must keep
// (scrub/jpeg_segments.h, scrub/jpeg2000_boxes.h), checked on one input:
// - find_metadata and strip_metadata agree: both succeed, or both fail with
//   the same error, which is bad_media or cannot_inspect with a detail;
// - the segments listed lie inside the input, in order, without overlap,
//   each with a name and at least 1 byte;
// - the clean copy starts as `starts_right` says, is no longer than the
//   input, has no metadata left, and stripping it again changes nothing.
// A violated property traps. Test-only.
#pragma once

#include "fuzz_util.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tz::fuzz {

template <class Find, class Strip, class StartsRight>
void check_walker(std::span<const std::uint8_t> in, Find find_metadata, Strip strip_metadata,
                  StartsRight starts_right) {
  Diag fd, sd;
  const auto found = find_metadata(in, &fd);
  const auto clean = strip_metadata(in, &sd);
  check(found.has_value() == clean.has_value(), "find_metadata and strip_metadata disagree");
  if (!found) {
    check(found.error() == clean.error(), "the two report different errors");
    check(found.error() == errc::bad_media || found.error() == errc::cannot_inspect, "undocumented error");
    check(!fd.detail.empty() && fd.detail == sd.detail, "an error without its sentence");
    return;
  }
  std::size_t end = 0;
  for (const auto& s : found.value()) {
    check(s.offset >= end && s.size >= 1 && s.offset + s.size <= in.size(),
          "a segment outside the input or overlapping");
    check(!s.name.empty(), "a segment without a name");
    end = s.offset + s.size;
  }
  const std::vector<std::uint8_t>& c = clean.value();
  check(starts_right(c), "the clean copy does not start as it should");
  check(c.size() <= in.size(), "the clean copy is longer than the input");
  const auto again = find_metadata(c, nullptr);
  check(again.has_value() && again.value().empty(), "the clean copy still has metadata or does not read");
  const auto twice = strip_metadata(c, nullptr);
  check(twice.has_value() && twice.value() == c, "stripping the clean copy changes it");
}

}  // namespace tz::fuzz
