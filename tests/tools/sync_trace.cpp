// LD_PRELOAD library for the durability tests: logs every fsync/fdatasync
// (with the path of the descriptor) and every rename, in the order the
// process made them, to the file named by $TZ_SYNC_TRACE. A test then checks
// that what a rename publishes was on disk before it ("fsync\tPATH" lines
// before "rename\tOLD\tNEW"), which a SIGKILL cannot show but a power cut
// would. One line per call, appended with O_APPEND (whole lines from any
// thread). Test-only.
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace {

void log_line(const std::string& line) {
  const char* file = ::getenv("TZ_SYNC_TRACE");
  if (file == nullptr) return;
  const int saved = errno;
  const int fd = ::open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
  }
  errno = saved;
}

std::string fd_path(int fd) {
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char buf[PATH_MAX];
  const ssize_t n = ::readlink(link, buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
}

std::string at_path(int dirfd, const char* p) {
  if (p == nullptr) return "?";
  if (p[0] == '/' || dirfd == AT_FDCWD) {
    if (p[0] == '/') return p;
    char cwd[PATH_MAX];
    return ::getcwd(cwd, sizeof cwd) != nullptr ? std::string(cwd) + "/" + p : p;
  }
  return fd_path(dirfd) + "/" + p;
}

template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int fsync(int fd) {
  static const auto real = next<int (*)(int)>("fsync");
  const int r = real(fd);
  if (r == 0) log_line("fsync\t" + fd_path(fd) + "\n");
  return r;
}

int fdatasync(int fd) {
  static const auto real = next<int (*)(int)>("fdatasync");
  const int r = real(fd);
  if (r == 0) log_line("fsync\t" + fd_path(fd) + "\n");
  return r;
}

int rename(const char* from, const char* to) {
  static const auto real = next<int (*)(const char*, const char*)>("rename");
  const int r = real(from, to);
  if (r == 0) log_line("rename\t" + at_path(AT_FDCWD, from) + "\t" + at_path(AT_FDCWD, to) + "\n");
  return r;
}

int renameat(int fromfd, const char* from, int tofd, const char* to) {
  static const auto real = next<int (*)(int, const char*, int, const char*)>("renameat");
  const int r = real(fromfd, from, tofd, to);
  if (r == 0) log_line("rename\t" + at_path(fromfd, from) + "\t" + at_path(tofd, to) + "\n");
  return r;
}

int renameat2(int fromfd, const char* from, int tofd, const char* to, unsigned int flags) {
  static const auto real = next<int (*)(int, const char*, int, const char*, unsigned int)>("renameat2");
  const int r = real(fromfd, from, tofd, to, flags);
  if (r == 0) log_line("rename\t" + at_path(fromfd, from) + "\t" + at_path(tofd, to) + "\n");
  return r;
}

}  // extern "C"
