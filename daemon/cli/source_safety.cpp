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

int cmd_scrub(const fs::path& dir, bool dry_run, bool as_json) {
  Diag diag;
  if (!dry_run) scrub::remove_scrub_temps(dir);
  auto found = scrub::inspect_folder(dir, &diag);
  if (!found) {
    report_error(as_json, "scrub", found.error(), diag);
    return kExitFailed;
  }
  auto& files = found.value();
  if (!dry_run) {
    scrub::scrub_files(dir, files);
  }
  const Counts c = count(files);
  const bool ok = c.refused == 0 && c.metadata == 0;
  if (as_json) {
    json list = json::array();
    for (const auto& r : files) list.push_back(file_json(r));
    json j = {{"ok", ok}, {"dry_run", dry_run}, {"files", std::move(list)}, {"counts", counts_json(files)}};
    if (!ok) j["error"] = error_name(make_error_code(c.refused != 0 ? worst(files) : errc::metadata_found));
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << (dry_run ? "Checked " : "Scrubbed ") << dir.string() << " (" << files.size() << " files)" << std::endl;
    for (const auto& r : files) print_file(r, dry_run);
    std::cout << "  " << c.clean << " clean, " << (dry_run ? c.metadata : c.scrubbed)
              << (dry_run ? " to scrub, " : " scrubbed, ") << c.refused << " refused" << std::endl;
    if (dry_run && c.metadata != 0) std::cout << "Nothing was changed (--dry-run)." << std::endl;
  }
  return ok ? 0 : kExitFailed;
}

std::optional<GatePassed> metadata_gate(const fs::path& dir, const SafetyChoice& choice, const std::string& what) {
  Diag diag;
  scrub::remove_scrub_temps(dir);
  auto found = scrub::inspect_folder(dir, &diag);
  GatePassed passed;
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
