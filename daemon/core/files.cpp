#include "core/files.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <cerrno>
#include <mutex>
#include <random>
#include <string>

namespace tz {
namespace {

boost::system::error_code last_error() {
  return {errno, boost::system::generic_category()};
}

// Opens `path` for reading into `fd`, refusing a symlink at the last
// component and anything but a regular file; `st` describes it. O_NONBLOCK:
// opening a FIFO must not wait for a writer (it is refused right after).
Result<void> open_regular(const std::filesystem::path& path, UniqueFd& fd, struct stat& st) {
  fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ELOOP) return errc::not_regular_file;
    return last_error();
  }
  if (::fstat(fd.get(), &st) != 0) return last_error();
  if (!S_ISREG(st.st_mode)) return errc::not_regular_file;
  return success();
}

bool write_all(int fd, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

void UniqueFd::reset(int fd) noexcept {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
}

Result<std::vector<std::uint8_t>> read_file_bounded(const std::filesystem::path& path,
                                                    std::uint64_t max_size) {
  UniqueFd fd;
  struct stat st {};
  BOOST_OUTCOME_TRY(open_regular(path, fd, st));
  if (static_cast<std::uint64_t>(st.st_size) > max_size) return errc::oversized;
  std::vector<std::uint8_t> out(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) {
      // The file may have grown since fstat: one more byte means too large
      // only if that exceeds the bound, otherwise keep reading.
      if (out.size() >= max_size) {
        std::uint8_t probe = 0;
        const ssize_t n = ::read(fd.get(), &probe, 1);
        if (n > 0) return errc::oversized;
        if (n < 0 && errno != EINTR) return last_error();
        break;
      }
      out.resize(std::min<std::uint64_t>(max_size, out.size() * 2 + 4096));
    }
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<std::array<std::uint8_t, 32>> sha256_of_file(const std::filesystem::path& path) {
  UniqueFd fd;
  struct stat st {};
  BOOST_OUTCOME_TRY(open_regular(path, fd, st));
  if (sodium_init() < 0) return errc::crypto_failure;
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<std::uint8_t> buf(64 * 1024);
  boost::system::error_code ec;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ec = last_error();
      break;
    }
    if (n == 0) break;
    crypto_hash_sha256_update(&state, buf.data(), static_cast<unsigned long long>(n));
  }
  std::array<std::uint8_t, 32> digest{};
  crypto_hash_sha256_final(&state, digest.data());
  sodium_memzero(&state, sizeof state);
  sodium_memzero(buf.data(), buf.size());
  if (ec) return ec;
  return digest;
}

Result<void> sync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return last_error();
  if (::fsync(fd.get()) != 0) return last_error();
  return success();
}

Result<void> sync_tree(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> dirs{dir};
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    const fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(st)) {
      dirs.push_back(it->path());
    } else if (fs::is_regular_file(st)) {
      UniqueFd fd(::open(it->path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0 || ::fsync(fd.get()) != 0) return last_error();
    }
  }
  if (ec) return to_boost(ec);
  // Folders after what they hold, deepest first.
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) {
    BOOST_OUTCOME_TRY(sync_dir(*d));
  }
  return success();
}

Result<void> write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                               unsigned mode, Replace replace, errc exists_error) {
  const std::filesystem::path dir = path.parent_path();
  std::error_code fec;
  if (replace == Replace::never && std::filesystem::exists(std::filesystem::symlink_status(path, fec))) {
    return exists_error;
  }
  std::random_device rd;
  std::filesystem::path tmp;
  int raw = -1;
  for (int attempt = 0; attempt < 16 && raw < 0; ++attempt) {
    tmp = path;
    tmp += ".tmp-" + std::to_string(rd());
    raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (raw < 0 && errno != EEXIST) return last_error();
  }
  if (raw < 0) return last_error();
  UniqueFd fd(raw);
  const auto cleanup = [&] { ::unlink(tmp.c_str()); };
  if (!write_all(fd.get(), bytes) || ::fsync(fd.get()) != 0) {
    auto ec = last_error();
    cleanup();
    return ec;
  }
  if (::close(fd.release()) != 0) {
    auto ec = last_error();
    cleanup();
    return ec;
  }
  if (replace == Replace::never) {
    // link() fails with EEXIST instead of replacing: no window where an
    // existing key could be overwritten.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      cleanup();
      if (err == EEXIST) return exists_error;
      return boost::system::error_code(err, boost::system::generic_category());
    }
    cleanup();
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto ec = last_error();
    cleanup();
    return ec;
  }
  return sync_dir(dir);
}

namespace {

thread_local sigjmp_buf* t_sigbus_jump = nullptr;

void on_sigbus(int sig, siginfo_t*, void*) {
  if (t_sigbus_jump != nullptr) siglongjmp(*t_sigbus_jump, 1);
  // Not ours: die as SIGBUS would have without us.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

bool run_guarding_sigbus(void (*fn)(void*), void* arg) {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
  sigjmp_buf jump;
  if (sigsetjmp(jump, 1) != 0) {
    t_sigbus_jump = nullptr;
    return false;
  }
  t_sigbus_jump = &jump;
  fn(arg);
  t_sigbus_jump = nullptr;
  return true;
}

}  // namespace tz
