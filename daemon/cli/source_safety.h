// The CLI's side of source safety: `tamizdat scrub`, and the gate `publish`
// and `bundle create` pass before signing a folder. Output only; the work
// is daemon/scrub's.
#pragma once

#include "core/manifest.h"
#include "scrub/scrub.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tz::cli {

struct SafetyChoice {
  bool scrub = false;          // --scrub: remove what is found, then sign
  bool keep_metadata = false;  // --keep-metadata: sign the files as they are, with a warning
  bool rename = false;         // --rename: neutral names for identifying ones, first
  bool json = false;
};

// What the gate let through: what the manifest states, and the files it
// scrubbed with the SHA-256 of each original (for provenance seals).
struct GatePassed {
  MetadataStatement statement = MetadataStatement::unstated;
  std::map<std::string, Sha256> scrubbed;
  bool renamed = false;  // --rename renamed something (the folder must be signed again)
};

// With --rename, first gives identifying file and folder names neutral ones
// (references in the bundle's HTML and CSS follow). Then inspects `dir` and
// decides: clean folders pass; otherwise --scrub scrubs
// and passes when every file came out clean, --keep-metadata passes with a
// warning on stderr, and anything else is refused with every file named and
// what it holds. On refusal prints (human or --json) and returns nullopt.
[[nodiscard]] std::optional<GatePassed> metadata_gate(const std::filesystem::path& dir, const SafetyChoice& choice,
                                                      const std::string& what);

// `tamizdat scrub DIR [--dry-run] [--rename] [--json]`; returns the exit code.
[[nodiscard]] int cmd_scrub(const std::filesystem::path& dir, bool dry_run, bool rename, bool json);

}  // namespace tz::cli
