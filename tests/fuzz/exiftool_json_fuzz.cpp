// Fuzz target for the rules that read exiftool's report on a file
// (scrub/inspect.h). Tag names and values come from the file, which may be
// hostile; the JSON around them comes from exiftool.
//
// 1. The input as one JSON object: classify_exiftool_object never fails; it
//    says "cannot be checked" (errc::cannot_inspect) or "damaged"
//    (errc::bad_media) with a detail, or gives findings; a text file has
//    none; every finding's value is printable and at most 96 bytes.
// 2. The input as a value: printable_value gives valid UTF-8 (no overlong
//    form, no surrogate) with no control byte, at most 96 bytes, and leaves
//    short clean text as it is.
// A violated property traps.
#include "fuzz_util.h"

#include "scrub/inspect.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

const char* const tz::fuzz::kTarget = "exiftool_json_fuzz";

namespace {

using tz::fuzz::check;

bool printable(std::string_view s) {
  if (s.size() > 96) return false;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    std::size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (len == 0 || c > 0xf4 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    // No overlong forms, no surrogates, nothing above U+10FFFF.
    const auto c1 = len > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
    if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) ||
        (c == 0xf4 && c1 >= 0x90)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = tz::scrub::classify_exiftool_object(in);
  if (r.problem) {
    check(*r.problem == tz::errc::cannot_inspect || *r.problem == tz::errc::bad_media,
          "a file was refused with an undocumented error");
    check(!r.detail.empty(), "a refusal without a detail");
    check(r.findings.empty(), "a refused file with findings");
  }
  if (r.kind == tz::scrub::Kind::text) check(r.findings.empty(), "a text file with findings");
  if (r.kind == tz::scrub::Kind::unknown) check(r.problem.has_value(), "an unknown file was not refused");
  for (const auto& f : r.findings) {
    check(printable(f.value), "a finding's value is not printable or too long");
    check(!f.key.empty(), "a finding without a key");
  }
  const std::string v = tz::scrub::printable_value(in);
  check(printable(v), "printable_value gave unprintable text");
  if (size <= 96 && printable(in)) check(v == in, "printable_value changed clean text");
  return 0;
}
