// Small, careful file helpers shared by every module: bounded reads and atomic
// writes. Blocking I/O: call from the CLI or a worker thread, never from the
// daemon's io thread.
#pragma once

#include "core/result.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace tz {

// Owns a file descriptor and closes it on destruction. Not copyable.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) noexcept : m_fd(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  // Closes the current descriptor, if any, and owns `fd` instead.
  void reset(int fd = -1) noexcept;
  [[nodiscard]] int get() const noexcept { return m_fd; }
  // Gives up ownership without closing.
  [[nodiscard]] int release() noexcept {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }

 private:
  int m_fd;
};

// Reads the whole regular file at `path`, refusing symlinks at the last
// component. Fails with errc::oversized when it holds more than `max_size`
// bytes (checked before reading and while reading), errc::not_regular_file,
// or the system error.
[[nodiscard]] Result<std::vector<std::uint8_t>> read_file_bounded(const std::filesystem::path& path,
                                                                 std::uint64_t max_size);

enum class Replace { allow, never };

// Writes `bytes` to `path` atomically: a temporary file in the same folder,
// fsync, then rename (Replace::allow) or link (Replace::never, which fails with
// errc::key_exists-style `exists_error` when `path` exists), then fsync of the
// folder. Readers see the old file or the new one, never a part. The file is
// created with `mode` (before the umask is applied nothing wider is possible).
[[nodiscard]] Result<void> write_file_atomic(const std::filesystem::path& path,
                                             std::span<const std::uint8_t> bytes, unsigned mode,
                                             Replace replace, errc exists_error = errc::key_exists);

// SHA-256 of the regular file at `path`, read in 64 KiB blocks (any size;
// memory use is constant). The last component must not be a symlink. The
// read buffer and hash state are wiped, since the bytes may be an original
// the caller keeps private. Fails with errc::not_regular_file or the system
// error. The result is a core::Sha256 (manifest.h), spelt out here so this
// header needs no manifest.
[[nodiscard]] Result<std::array<std::uint8_t, 32>> sha256_of_file(const std::filesystem::path& path);

// Fsyncs the folder `dir` so a rename or new entry in it survives a power cut.
[[nodiscard]] Result<void> sync_dir(const std::filesystem::path& dir);

// Fsyncs every regular file and folder below `dir`, then `dir` itself, so
// that a folder written without fsync (a copy, libtorrent's downloads) is
// on disk before it is renamed into place or recorded as complete. Does not
// sync the entry of `dir` in its parent (sync_dir the parent for that) and
// follows no symlink. Fails with the first system error.
[[nodiscard]] Result<void> sync_tree(const std::filesystem::path& dir);

// Runs `fn`, which reads from a memory-mapped file, and returns false instead
// of letting the process die when a read touches a page the file no longer has
// (SIGBUS: the file was truncated while mapped). The signal can only arrive at
// an instruction that reads the mapping, so `fn` is abandoned there; anything
// it set up must be safe to drop (no locks held while reading the mapping).
// Installs, once, a process-wide SIGBUS handler that handles only faults
// inside such a call on the faulting thread and otherwise restores the default
// action and re-raises. Safe from any thread; calls do not nest.
[[nodiscard]] bool run_guarding_sigbus(void (*fn)(void*), void* arg);

}  // namespace tz
