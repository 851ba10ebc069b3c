#include "cli/source_safety.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace tz::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using scrub::FileReport;

constexpr int kExitFailed = 1;

std::string state_of(const FileReport& r) {
  if (r.found.problem || r.error) return "refused";
  if (r.scrubbed) return "scrubbed";
  if (!r.found.findings.empty()) return "metadata";
  return "clean";
}

json file_json(const FileReport& r) {
  json j = {{"path", r.path}, {"format", r.found.format}, {"kind", std::string(scrub::kind_name(r.found.kind))},
            {"state", state_of(r)}};
  json findings = json::array();
  for (const auto& f : r.found.findings) {
    findings.push_back({{"category", std::string(scrub::category_name(f.category))}, {"key", f.key}, {"value", f.value}});
  }
  j["findings"] = std::move(findings);
  json names = json::array();
  for (const auto& f : r.name_flags) {
    names.push_back({{"reason", std::string(scrub::name_reason_name(f.reason))}, {"detail", f.detail}});
  }
  j["name_warnings"] = std::move(names);
  if (r.found.problem) {
    j["error"] = error_name(make_error_code(*r.found.problem));
    j["message"] = r.found.detail;
  } else if (r.error) {
    j["error"] = error_name(make_error_code(*r.error));
    j["message"] = r.error_detail;
  }
  return j;
}

// "gps: GPSLatitude=43 deg..., GPSLongitude=...; device: Make=Google, +2 more"
std::string summary(const FileReport& r) {
  std::string out;
  // Most telling first: positions, devices, people.
  std::map<scrub::Category, std::vector<std::string>> by;
  for (const auto& f : r.found.findings) {
    const auto colon = f.key.rfind(':');
    by[f.category].push_back((colon == std::string::npos ? f.key : f.key.substr(colon + 1)) + "=" + f.value);
  }
  for (const auto& [c, items] : by) {
    if (!out.empty()) out += "; ";
    out += std::string(scrub::category_name(c)) + ": ";
    for (std::size_t i = 0; i < items.size() && i < 3; ++i) out += (i ? ", " : "") + items[i];
    if (items.size() > 3) out += ", +" + std::to_string(items.size() - 3) + " more";
  }
  return out;
}

void print_file(const FileReport& r, bool dry_run) {
  const std::string fmt = r.found.format.empty() ? "" : " (" + r.found.format + ")";
  if (r.found.problem) {
    std::cout << "  " << r.path << fmt << ": cannot be checked: " << r.found.detail << std::endl;
  } else if (r.error) {
    std::cout << "  " << r.path << fmt << ": NOT scrubbed: " << r.error_detail << "; found " << summary(r)
              << std::endl;
  } else if (!r.found.findings.empty()) {
    std::cout << "  " << r.path << fmt << ": "
              << (r.scrubbed ? "scrubbed: " : dry_run ? "would scrub: " : "holds: ") << summary(r) << std::endl;
  }
}

// "camera: Google Pixel (PXL_), date: 2022-01-05"; empty when the only
// reason is that a media file's name is not neutral.
std::string name_text(const FileReport& r) {
  std::string out;
  for (const auto& f : r.name_flags) {
    if (f.reason == scrub::NameReason::media) continue;
    if (!out.empty()) out += ", ";
    out += std::string(scrub::name_reason_name(f.reason)) + ": " + f.detail;
  }
  return out;
}

// Prints, to `os`, which names look identifying and what --rename would do.
void print_name_warnings(std::ostream& os, const std::vector<FileReport>& files) {
  std::size_t media_only = 0;
  for (const auto& r : files) {
    const std::string t = name_text(r);
    if (!t.empty()) {
      os << "  " << r.path << ": the name gives away " << t << std::endl;
    } else if (!r.name_flags.empty()) {
      ++media_only;
    }
  }
  if (media_only != 0) {
    os << "  " << media_only << " media file" << (media_only == 1 ? " keeps its" : "s keep their")
       << " own name (a place or person in it would be published too)" << std::endl;
  }
}

bool any_name_flag(const std::vector<FileReport>& files) {
  return std::any_of(files.begin(), files.end(), [](const FileReport& r) { return !r.name_flags.empty(); });
}

json rename_json(const scrub::RenamePlan& plan, const scrub::RenameReport* done) {
  json renamed = json::array();
  for (const auto& r : plan.renames) renamed.push_back({{"from", r.from}, {"to", r.to}});
  json j = {{"renamed", std::move(renamed)}, {"rewritten", json::array()}, {"mentions", json::array()}};
  if (done != nullptr) {
    for (const auto& w : done->rewritten) j["rewritten"].push_back({{"file", w.file}, {"references", w.references}});
    for (const auto& m : done->mentions) {
      j["mentions"].push_back({{"file", m.file}, {"name", m.name}, {"count", m.count}});
    }
  }
  return j;
}

void print_renames(std::ostream& os, const scrub::RenamePlan& plan, const scrub::RenameReport* done) {
  if (plan.renames.empty()) return;
  os << (done != nullptr ? "Renamed:" : "Would rename:") << std::endl;
  for (const auto& r : plan.renames) os << "  " << r.from << " -> " << r.to << std::endl;
  if (done == nullptr) return;
  for (const auto& w : done->rewritten) {
    os << "  " << w.file << ": " << w.references << " link" << (w.references == 1 ? "" : "s") << " updated"
       << std::endl;
  }
  for (const auto& m : done->mentions) {
    os << "  warning: " << m.file << " still names \"" << m.name << "\" " << m.count << " time"
       << (m.count == 1 ? "" : "s") << " (text, a script or a link Tamizdat did not change): read it before publishing"
       << std::endl;
  }
}

// Plans neutral names for the folder and, unless `dry_run`, applies them.
struct RenameStep {
  scrub::RenamePlan plan;
  std::optional<scrub::RenameReport> done;
};
Result<RenameStep> rename_step(const fs::path& dir, bool dry_run, Diag* diag) {
  BOOST_OUTCOME_TRY(files, scrub::list_files(dir));
  BOOST_OUTCOME_TRY(plan, scrub::plan_renames(files, diag));
  RenameStep step{std::move(plan), std::nullopt};
  if (!dry_run && !step.plan.renames.empty()) {
    BOOST_OUTCOME_TRY(done, scrub::apply_renames(dir, step.plan, diag));
    step.done = std::move(done);
  }
  return step;
}

struct Counts {
  std::size_t clean = 0, metadata = 0, scrubbed = 0, refused = 0;
};
Counts count(const std::vector<FileReport>& files) {
  Counts c;
  for (const auto& r : files) {
    const std::string s = state_of(r);
    if (s == "clean") ++c.clean;
    if (s == "metadata") ++c.metadata;
    if (s == "scrubbed") ++c.scrubbed;
    if (s == "refused") ++c.refused;
  }
  return c;
}

json counts_json(const std::vector<FileReport>& files) {
  const Counts c = count(files);
  return {{"files", files.size()}, {"clean", c.clean}, {"metadata", c.metadata}, {"scrubbed", c.scrubbed},
          {"refused", c.refused}};
}

// The error a refused folder reports: damage first, then what cannot be
// checked or cleaned, then metadata.
errc worst(const std::vector<FileReport>& files) {
  errc e = errc::metadata_found;
  for (const auto& r : files) {
    const auto p = r.found.problem ? r.found.problem : r.error;
    if (!p) continue;
    if (*p == errc::bad_media) return errc::bad_media;
    e = *p;
  }
  return e;
}

void report_error(bool as_json, const std::string& what, const boost::system::error_code& ec, const Diag& d) {
  if (as_json) {
    json j = {{"ok", false}, {"error", error_name(ec)}, {"message", ec.message()}};
    if (!d.detail.empty()) j["detail"] = d.detail;
    std::cout << j.dump() << std::endl;
  } else {
    std::cerr << "tamizdat: " << what << ": " << ec.message() << (d.detail.empty() ? "" : " (" + d.detail + ")")
              << std::endl;
  }
}

}  // namespace

int cmd_scrub(const fs::path& dir, bool dry_run, bool rename, bool as_json) {
  Diag diag;
  if (!dry_run) scrub::remove_scrub_temps(dir);
  std::optional<RenameStep> renamed;
  if (rename) {
    auto step = rename_step(dir, dry_run, &diag);
    if (!step) {
      report_error(as_json, "scrub", step.error(), diag);
      return kExitFailed;
    }
    renamed = std::move(step).value();
  }
  auto found = scrub::inspect_folder(dir, &diag);
  if (!found) {
    report_error(as_json, "scrub", found.error(), diag);
    return kExitFailed;
  }
  auto& files = found.value();
  if (!dry_run) {
    // Nothing is signed here, so no digest of the originals is needed.
    scrub::scrub_files(dir, files, false);
  }
  const Counts c = count(files);
  const bool ok = c.refused == 0 && c.metadata == 0;
  if (as_json) {
    json list = json::array();
    for (const auto& r : files) list.push_back(file_json(r));
    json j = {{"ok", ok}, {"dry_run", dry_run}, {"files", std::move(list)}, {"counts", counts_json(files)}};
    if (renamed) j["rename"] = rename_json(renamed->plan, renamed->done ? &*renamed->done : nullptr);
    if (!ok) j["error"] = error_name(make_error_code(c.refused != 0 ? worst(files) : errc::metadata_found));
    std::cout << j.dump() << std::endl;
  } else {
    if (renamed) print_renames(std::cout, renamed->plan, renamed->done ? &*renamed->done : nullptr);
    std::cout << (dry_run ? "Checked " : "Scrubbed ") << dir.string() << " (" << files.size() << " files)" << std::endl;
    for (const auto& r : files) print_file(r, dry_run);
    if (any_name_flag(files) && !(renamed && !dry_run)) {
      std::cout << "Names:" << std::endl;
      print_name_warnings(std::cout, files);
      std::cout << "  --rename gives them neutral names (photo-01.jpg...) and updates the links in the HTML" << std::endl;
    }
    std::cout << "  " << c.clean << " clean, " << (dry_run ? c.metadata : c.scrubbed)
              << (dry_run ? " to scrub, " : " scrubbed, ") << c.refused << " refused" << std::endl;
    if (dry_run && c.metadata != 0) std::cout << "Nothing was changed (--dry-run)." << std::endl;
  }
  return ok ? 0 : kExitFailed;
}

std::optional<GatePassed> metadata_gate(const fs::path& dir, const SafetyChoice& choice, const std::string& what) {
  Diag diag;
  scrub::remove_scrub_temps(dir);
  GatePassed passed;
  if (choice.rename) {
    auto step = rename_step(dir, false, &diag);
    if (!step) {
      report_error(choice.json, what, step.error(), diag);
      return std::nullopt;
    }
    if (step.value().done) {
      passed.renamed = true;
      print_renames(std::cerr, step.value().plan, &*step.value().done);
    }
  }
  auto found = scrub::inspect_folder(dir, &diag);
  if (!found) {
    if (choice.keep_metadata) {
      std::cerr << "tamizdat: warning: could not check the files for identifying metadata (" << diag.detail
                << "); publishing them as they are (--keep-metadata)" << std::endl;
      passed.statement = MetadataStatement::kept;
      return passed;
    }
    report_error(choice.json, what, found.error(), diag);
    return std::nullopt;
  }
  auto& files = found.value();
  if (choice.scrub) {
    scrub::scrub_files(dir, files);
  }
  const Counts c = count(files);
  for (const auto& r : files) {
    if (r.scrubbed && r.original) passed.scrubbed[r.path] = *r.original;
  }
  if (!choice.rename && !choice.json && any_name_flag(files)) {
    std::cerr << "tamizdat: warning: file names are published as they are:" << std::endl;
    print_name_warnings(std::cerr, files);
    std::cerr << "  --rename gives them neutral names (photo-01.jpg...) and updates the links in the HTML" << std::endl;
  }
  if (c.metadata == 0 && c.refused == 0) {
    passed.statement = MetadataStatement::checked;
    if (!choice.json && c.scrubbed != 0) {
      std::cerr << "Scrubbed identifying metadata from " << c.scrubbed << " file" << (c.scrubbed == 1 ? "" : "s")
                << ":" << std::endl;
      for (const auto& r : files) {
        if (r.scrubbed) std::cerr << "  " << r.path << ": " << summary(r) << std::endl;
      }
    }
    return passed;
  }
  if (choice.keep_metadata) {
    std::cerr << "tamizdat: warning: publishing " << (c.metadata + c.refused) << " file"
              << (c.metadata + c.refused == 1 ? "" : "s")
              << " with their metadata as they are (--keep-metadata); once mirrored it cannot be taken back:"
              << std::endl;
    for (const auto& r : files) {
      if (r.dirty()) std::cerr << "  " << r.path << ": " << summary(r) << std::endl;
      if (r.found.problem) std::cerr << "  " << r.path << ": not checked: " << r.found.detail << std::endl;
      if (r.error) std::cerr << "  " << r.path << ": not scrubbed: " << r.error_detail << std::endl;
    }
    passed.statement = MetadataStatement::kept;
    return passed;
  }
  const errc e = c.refused != 0 ? worst(files) : errc::metadata_found;
  const std::string msg = std::to_string(c.metadata + c.refused) + " of " + std::to_string(files.size()) +
                          " files hold identifying metadata or cannot be checked; nothing was signed";
  if (choice.json) {
    json list = json::array();
    for (const auto& r : files) {
      if (state_of(r) != "clean") list.push_back(file_json(r));
    }
    std::cout << json{{"ok", false}, {"error", error_name(make_error_code(e))}, {"message", msg},
                      {"files", std::move(list)}, {"counts", counts_json(files)}}
                     .dump()
              << std::endl;
  } else {
    std::cerr << "tamizdat: " << what << ": " << msg << ":" << std::endl;
    for (const auto& r : files) {
      if (r.dirty()) std::cerr << "  " << r.path << ": " << summary(r) << std::endl;
      if (r.found.problem) std::cerr << "  " << r.path << ": cannot be checked: " << r.found.detail << std::endl;
      if (r.error) std::cerr << "  " << r.path << ": cannot be scrubbed: " << r.error_detail << std::endl;
    }
    std::cerr << "Run `tamizdat scrub " << dir.string()
              << "` to remove it (--dry-run to look first), or add --scrub to do both; "
                 "--keep-metadata publishes the files as they are (when the metadata is the evidence)."
              << std::endl;
  }
  return std::nullopt;
}

}  // namespace tz::cli
