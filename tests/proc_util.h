// Process helpers for the tests that run the real tamizdatd and tamizdat
// binaries: free loopback ports, spawning with output to a file, bounded
// waits, a daemon that is always killed when its owner goes away, and one
// CLI call. Test-only; every wait here is bounded.
#pragma once

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace tz::test {

// The whole content of `p` ("" if it cannot be read).
std::string slurp(const std::filesystem::path& p);

// A free TCP port on 127.0.0.1 (bound and released; good enough for a test).
int free_port();

// Starts `args[0]` with `args`, stdin from /dev/null, stdout and stderr to
// `out` (truncated, or appended to when `append`). Returns the pid, or -1.
pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out, bool append = false);

// Waits up to `limit` for `pid`; returns its exit code (128 + signal when
// killed), or -1 if it is still running.
int wait_exit(pid_t pid, std::chrono::milliseconds limit);

// One tamizdatd, SIGKILLed (and reaped) on destruction if still running.
// Its output goes to <dir>.log next to `dir`; restarts append to it.
class Daemon {
 public:
  // Starts at once on a free port with the loopback-only defaults.
  explicit Daemon(const std::filesystem::path& dir, std::vector<std::string> extra = {});
  // Starts at once listening on 127.0.0.1:`port` with `extra` flags.
  Daemon(const std::filesystem::path& dir, int port, std::vector<std::string> extra);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Waits (bounded, 10 s) until the control socket accepts connections.
  bool ready() const;
  // Sends `sig` and waits up to 5 s; returns the exit code, or -1 if still running.
  int stop(int sig = SIGTERM);
  // SIGKILLs and reaps; no-op if not running.
  void kill();
  // Starts again with the same data dir, port and flags (kills a running one first).
  void restart();
  bool running() const { return m_pid > 0; }
  int port() const { return m_port; }
  const std::filesystem::path& dir() const { return m_dir; }
  std::filesystem::path log_path() const;
  std::string log() const { return slurp(log_path()); }

 private:
  void start(bool append);

  std::filesystem::path m_dir;
  int m_port;
  std::vector<std::string> m_extra;
  pid_t m_pid = -1;
};

struct Outcome {
  int code;         // exit code, 128 + signal, or -1 when it timed out (then killed)
  std::string out;  // stdout then stderr
  std::string std_out;
};

// Runs `tamizdat --data-dir dir args...` and waits up to `limit` (killing it after).
Outcome cli(const std::filesystem::path& dir, std::vector<std::string> args,
            std::chrono::milliseconds limit = std::chrono::milliseconds(30000));

// Sends raw bytes on the control socket `sock` and returns what comes back
// (one response frame, or whatever arrived before the daemon closed or 2 s
// passed); "<connect failed>" when nothing listens.
std::string raw_exchange(const std::filesystem::path& sock, const std::vector<std::uint8_t>& bytes);

// One HTTP/1.1 response, as read by http_get.
struct HttpReply {
  int status = 0;                              // 0 when nothing (valid) came back
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// Sends `GET target` with `Host: host` (and `extra`, whole "Name: value\r\n"
// lines) to 127.0.0.1:`port` with Connection: close, and reads the response
// (waiting at most `limit` in all).
HttpReply http_get(int port, const std::string& host, const std::string& target, const std::string& extra = {},
                   std::chrono::milliseconds limit = std::chrono::milliseconds(30000));

}  // namespace tz::test
