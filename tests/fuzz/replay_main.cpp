// Replays fuzz inputs without libFuzzer, so compilers without it (g++) can run
// the seed corpus and the saved crashers under ctest.
//
//   <target>_replay [FILE|DIR]...
//
// Every regular file named (or found below a named folder, in sorted order;
// names starting with '.', such as .gitkeep, are skipped) is passed once to
// LLVMFuzzerTestOneInput. Arguments starting with '-' are ignored, so a
// libFuzzer command line works too. Prints "replayed N inputs" and exits 0;
// exits 1 when an argument does not exist or a file cannot be read. If an
// input crashes, the file being replayed is printed to stderr first.
#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fs = std::filesystem;

namespace {

// The file being replayed, for the crash handler (written before each input).
char g_current[4096] = "";

void on_crash(int sig) {
  const char prefix[] = "replay: crashed on input ";
  // Only async-signal-safe calls here.
  ssize_t ignored = ::write(STDERR_FILENO, prefix, sizeof prefix - 1);
  ignored = ::write(STDERR_FILENO, g_current, std::strlen(g_current));
  ignored = ::write(STDERR_FILENO, "\n", 1);
  static_cast<void>(ignored);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool skipped(const fs::path& p) { return p.filename().string().starts_with('.'); }

bool collect(const fs::path& arg, std::vector<fs::path>& out) {
  std::error_code ec;
  const auto st = fs::status(arg, ec);
  if (ec || !fs::exists(st)) {
    std::fprintf(stderr, "replay: %s: no such file or folder\n", arg.c_str());
    return false;
  }
  if (!fs::is_directory(st)) {
    out.push_back(arg);
    return true;
  }
  std::vector<fs::path> found;
  for (fs::recursive_directory_iterator it(arg, ec), end; !ec && it != end; it.increment(ec)) {
    if (skipped(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) found.push_back(it->path());
  }
  if (ec) {
    std::fprintf(stderr, "replay: %s: %s\n", arg.c_str(), ec.message().c_str());
    return false;
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
  return true;
}

bool read_all(const fs::path& p, std::vector<std::uint8_t>& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  for (int sig : {SIGABRT, SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGTRAP}) std::signal(sig, on_crash);

  std::vector<fs::path> inputs;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    ok = collect(argv[i], inputs) && ok;
  }

  std::size_t replayed = 0;
  std::vector<std::uint8_t> bytes;
  for (const auto& p : inputs) {
    if (!read_all(p, bytes)) {
      std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
      ok = false;
      continue;
    }
    const std::string name = p.string();
    const std::size_t n = std::min(name.size(), sizeof g_current - 1);
    std::memcpy(g_current, name.data(), n);
    g_current[n] = '\0';
    // libFuzzer never passes a null pointer, even for an empty input; nor do we.
    const std::uint8_t empty = 0;
    LLVMFuzzerTestOneInput(bytes.empty() ? &empty : bytes.data(), bytes.size());
    ++replayed;
  }
  std::printf("replayed %zu inputs\n", replayed);
  return ok ? 0 : 1;
}
