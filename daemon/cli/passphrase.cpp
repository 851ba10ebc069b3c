#include "cli/passphrase.h"

#include "core/files.h"

#include <fcntl.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace tz::cli {
namespace {

// Copies the first line of `bytes` into a Secret.
Result<Secret> first_line(std::span<const unsigned char> bytes) {
  std::size_t n = 0;
  while (n < bytes.size() && bytes[n] != '\n') ++n;
  if (n > 0 && bytes[n - 1] == '\r') --n;
  if (n == 0) return errc::empty_passphrase;
  if (n > kMaxPassphraseBytes) return errc::oversized;
  Secret s(n);
  std::memcpy(s.data(), bytes.data(), n);
  return s;
}

Result<Secret> read_tty(int fd, const std::string& prompt) {
  (void)!::write(fd, prompt.data(), prompt.size());
  termios old {};
  const bool is_tty = ::tcgetattr(fd, &old) == 0;
  if (is_tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  Secret buf(kMaxPassphraseBytes + 2);
  std::size_t got = 0;
  while (got < buf.size()) {
    unsigned char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    buf.data()[got++] = c;
  }
  if (is_tty) ::tcsetattr(fd, TCSAFLUSH, &old);
  return first_line(buf.bytes().first(got));
}

}  // namespace

Result<Secret> read_passphrase_file(const std::filesystem::path& file) {
  auto bytes = read_file_bounded(file, 64 * 1024);
  if (!bytes) return bytes.error();
  Secret copy(bytes.value().size());
  std::memcpy(copy.data(), bytes.value().data(), bytes.value().size());
  sodium_memzero(bytes.value().data(), bytes.value().size());
  return first_line(copy.bytes());
}

Result<Secret> ask_passphrase(const std::string& prompt, bool confirm) {
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errc::no_passphrase;
  auto first = read_tty(fd, prompt);
  if (first && confirm) {
    auto second = read_tty(fd, "Repeat passphrase: ");
    if (!second) {
      ::close(fd);
      return second.error();
    }
    if (second.value().size() != first.value().size() ||
        sodium_memcmp(first.value().data(), second.value().data(), first.value().size()) != 0) {
      ::close(fd);
      return errc::passphrase_mismatch;
    }
  }
  ::close(fd);
  return first;
}

}  // namespace tz::cli
