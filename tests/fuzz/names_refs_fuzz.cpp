// Fuzz target for the HTML and CSS reference rewriter (scrub/names.h).
//
// The input is rewritten, as HTML and as CSS, against a fixed plan that
// renames a file at the root, a folder and a file inside it. Properties:
// 1. With an empty plan, the output is the input, byte for byte, and no
//    reference is counted.
// 2. With the plan, the output differs from the input only by edits: with
//    no reference counted it is the input; otherwise it is different.
// 3. Rewriting the output again finds nothing more to rewrite: the new
//    names never resolve to a renamed path, and an edit never changes how
//    the rest of the text is tokenised.
// 4. The file names in the input are judged without a crash.
#include "fuzz_util.h"

#include "scrub/names.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tz::fuzz {
const char* const kTarget = "names_refs_fuzz";
}  // namespace tz::fuzz

namespace {

using tz::fuzz::check;
namespace sc = tz::scrub;

const sc::RenamePlan& fixed_plan() {
  static const sc::RenamePlan plan = [] {
    const std::vector<std::string> files = {"IMG_1.jpg", "2022-01-05 a/DSC_0042.JPG", "index.html", "css/s.css"};
    return sc::plan_renames(files, nullptr).value();
  }();
  return plan;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const sc::RenamePlan empty;
  for (const sc::RefSyntax syntax : {sc::RefSyntax::html, sc::RefSyntax::css}) {
    for (std::string_view referrer : {"index.html", "css/s.css"}) {
      const auto same = sc::rewrite_references(text, syntax, referrer, empty);
      check(same.text == text && same.references == 0, "an empty plan changed the text");
      const auto once = sc::rewrite_references(text, syntax, referrer, fixed_plan());
      check((once.references == 0) == (once.text == text), "text changed without a reference, or not with one");
      const auto twice = sc::rewrite_references(once.text, syntax, referrer, fixed_plan());
      check(twice.references == 0 && twice.text == once.text, "a second rewrite found more");
    }
  }
  (void)sc::judge_name(text.substr(0, 300), sc::EntryKind::file);
  (void)sc::judge_name(text.substr(0, 300), sc::EntryKind::folder);
  return 0;
}
