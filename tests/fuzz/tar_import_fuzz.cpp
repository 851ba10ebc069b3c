// Fuzz target for importing a bundle from a tar archive (bundle/archive.h).
//
// Each input is imported into a fresh destination inside one folder made for
// this process under /tmp. Properties (a violation traps):
// - on failure nothing is left behind: no destination, no temporary
//   `.<dest>.import-XXXXXX` folder, nothing else;
// - on success the destination holds exactly the imported bundle: it verifies
//   again to the same bundle ID, and its manifest is the verified envelope.
// The destination is then removed, so the folder is empty between inputs.
#include "bundle/archive.h"
#include "bundle/bundle.h"
#include "core/files.h"

#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>

namespace fs = std::filesystem;

namespace {

[[noreturn]] void violated(const char* what, const fs::path& where) {
  std::fprintf(stderr, "tar_import_fuzz: property violated: %s (%s)\n", what, where.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

// The folder every import of this process goes into: made once, removed at exit.
class WorkDir {
 public:
  WorkDir() {
    std::string tmpl = "/tmp/tz-tar-import-fuzz-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("tar_import_fuzz: mkdtemp");
      std::abort();
    }
    m_path = tmpl;
  }
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

const WorkDir& work_dir() {
  static const WorkDir dir;
  return dir;
}

// Traps, naming the first leftover, unless `dir` is empty.
void check_empty(const fs::path& dir, const char* what) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) violated("cannot list the work folder", dir);
  if (it != fs::directory_iterator()) violated(what, it->path());
}

void check_imported(const tz::bundle::VerifiedBundle& imported, const fs::path& dest,
                    const tz::bundle::VerifyOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dest, ec))) violated("import succeeded but left no folder", dest);
  const auto manifest = tz::read_file_bounded(dest / tz::kManifestPath, tz::kMaxManifestBytes);
  if (!manifest || manifest.value() != imported.manifest.envelope()) {
    violated("the imported manifest is not the verified one", dest);
  }
  const auto again = tz::bundle::verify_bundle(dest, options);
  if (!again) violated("the imported folder does not verify", dest);
  if (tz::bundle::bundle_id(again.value()) != tz::bundle::bundle_id(imported)) {
    violated("the imported folder verifies to another bundle ID", dest);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Parse failures are expected here; protobuf would log each one to stderr.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  static_cast<void>(quiet);
  static unsigned long long counter = 0;
  const fs::path& dir = work_dir().path();
  const fs::path dest = dir / ("bundle-" + std::to_string(counter++));

  tz::bundle::VerifyOptions options;
  options.threads = 1;  // one hashing thread: no thread pool per input
  tz::Diag diag;
  const auto imported = tz::bundle::import_bundle_from_memory(std::span(data, size), dest, options, &diag);
  if (imported) {
    check_imported(imported.value(), dest, options);
    std::error_code ec;
    fs::remove_all(dest, ec);
    if (ec) violated("cannot remove the imported folder", dest);
    check_empty(dir, "something besides the imported folder was left");
  } else {
    check_empty(dir, "a failed import left this behind");
  }
  return 0;
}
