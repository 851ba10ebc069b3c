// Source safety for a folder: inspect every file for identifying metadata
// and, when asked, remove it in place, one file at a time and atomically
// (the original is replaced only by a copy that was checked clean). Which
// tool handles which format: docs/source-safety.md. Blocking; call from the
// CLI or a worker thread.
#pragma once

#include "core/manifest.h"
#include "core/result.h"
#include "scrub/inspect.h"
#include "scrub/names.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tz::scrub {

struct FileReport {
  std::string path;                   // relative to the folder, '/'-separated
  Inspection found;                   // what the file held when inspected
  bool scrubbed = false;              // its metadata was removed (never in a dry run)
  std::optional<Sha256> original;     // SHA-256 of the original, when scrubbed
  std::optional<errc> error;          // why it could not be scrubbed (the original is untouched)
  std::string error_detail;
  // Why the file's name, or a folder's on its path, looks identifying
  // (judge_name): "IMG_20220105_Almaty.jpg" says when, and with what.
  std::vector<NameFlag> name_flags;

  // Holds identifying metadata (and was not scrubbed).
  [[nodiscard]] bool dirty() const { return !scrubbed && !found.findings.empty(); }
  // Could not be judged or not be cleaned: refused unless metadata is kept.
  [[nodiscard]] bool blocked() const { return found.problem.has_value() || error.has_value(); }
};

// The relative paths of the regular files under `dir`, not `.tamizdat/`,
// sorted bytewise: what a manifest would list.
[[nodiscard]] Result<std::vector<std::string>> list_files(const std::filesystem::path& dir);

// judge_name on every component of `path`: folders as folders, the last as a file.
[[nodiscard]] std::vector<NameFlag> judge_path(std::string_view path);

// Lists the regular files under `dir` (not `.tamizdat/`) and inspects them.
// Symbolic links and special files are reported with errc::not_regular_file.
// Fails only when the folder cannot be read or exiftool cannot run.
[[nodiscard]] Result<std::vector<FileReport>> inspect_folder(const std::filesystem::path& dir, Diag* diag = nullptr);

// Removes the metadata each report found from its file, in place: a clean
// copy is written under `dir/.tamizdat/`, and all copies are inspected again
// in one exiftool run (nothing identifying may be left, and the file must
// still be the same kind and read without damage); each is then synced and
// renamed over its original. Files that hold nothing, or could not be
// judged, are left alone. A file that fails gets `error` set and keeps its
// original; the others go on. Sets `scrubbed` on success, and `original`
// when `digests` (the SHA-256 each original had, for provenance seals).
// Works on every core: one thread per core makes the copies.
void scrub_files(const std::filesystem::path& dir, std::vector<FileReport>& reports, bool digests = true);

// Removes temporary copies a scrub cut short left under `dir/.tamizdat/`.
void remove_scrub_temps(const std::filesystem::path& dir);

}  // namespace tz::scrub
