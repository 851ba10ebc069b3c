// See proc_util.h.
#include "proc_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace tz::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

namespace {

pid_t spawn_to(const std::vector<std::string>& args, const fs::path& out, const fs::path* err, bool append) {
  std::vector<std::string> all = args;
  std::vector<char*> argv;
  for (auto& s : all) argv.push_back(s.data());
  argv.push_back(nullptr);
  const int mode = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), mode, 0600);
  if (err != nullptr) {
    posix_spawn_file_actions_addopen(&fa, 2, err->c_str(), mode, 0600);
  } else {
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

}  // namespace

pid_t spawn(const std::vector<std::string>& args, const fs::path& out, bool append) {
  return spawn_to(args, out, nullptr, append);
}

int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  if (pid <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(20ms);
  }
}

Daemon::Daemon(const fs::path& dir, std::vector<std::string> extra)
    : m_dir(dir), m_port(free_port()), m_extra(std::move(extra)) {
  m_extra.insert(m_extra.begin(), {"--no-public-dht", "--no-gateway"});
  start(false);
}

Daemon::Daemon(const fs::path& dir, int port, std::vector<std::string> extra)
    : m_dir(dir), m_port(port), m_extra(std::move(extra)) {
  start(false);
}

Daemon::~Daemon() { kill(); }

fs::path Daemon::log_path() const { return m_dir.parent_path() / (m_dir.filename().string() + ".log"); }

void Daemon::start(bool append) {
  std::vector<std::string> args = {TZ_DAEMON, "--data-dir", m_dir.string(), "--listen",
                                   "127.0.0.1:" + std::to_string(m_port)};
  args.insert(args.end(), m_extra.begin(), m_extra.end());
  // Many daemons run at once in the tests: none takes the default gateway port.
  if (std::find(m_extra.begin(), m_extra.end(), "--gateway") == m_extra.end()) args.push_back("--no-gateway");
  m_pid = spawn(args, log_path(), append);
}

namespace {

// True when something accepts connections on the Unix socket `p`. (A daemon
// killed with SIGKILL leaves its socket file behind: its existence proves
// nothing.)
bool accepts(const fs::path& p) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string s = p.string();
  if (s.size() >= sizeof(addr.sun_path)) return false;
  std::copy(s.begin(), s.end(), addr.sun_path);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool Daemon::ready() const {
  for (int i = 0; i < 400; ++i) {
    if (accepts(m_dir / "control.sock")) return true;
    std::this_thread::sleep_for(25ms);
  }
  return false;
}

int Daemon::stop(int sig) {
  if (m_pid <= 0) return -1;
  ::kill(m_pid, sig);
  const int rc = wait_exit(m_pid, 5000ms);
  if (rc >= 0) m_pid = -1;
  return rc;
}

void Daemon::kill() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGKILL);
  ::waitpid(m_pid, nullptr, 0);
  m_pid = -1;
}

void Daemon::restart() {
  kill();
  start(true);
}

Outcome cli(const fs::path& dir, std::vector<std::string> args, std::chrono::milliseconds limit) {
  static std::atomic<int> counter{0};
  std::vector<std::string> all = {TZ_CLI, "--data-dir", dir.string()};
  all.insert(all.end(), args.begin(), args.end());
  const std::string stem = dir.filename().string() + ".cli" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter++);
  const fs::path out = dir.parent_path() / (stem + ".out");
  const fs::path err = dir.parent_path() / (stem + ".err");
  const pid_t pid = spawn_to(all, out, &err, false);
  int rc = wait_exit(pid, limit);
  if (rc < 0 && pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  Outcome o{rc, slurp(out), {}};
  o.std_out = o.out;
  o.out += slurp(err);
  std::error_code ec;
  fs::remove(out, ec);
  fs::remove(err, ec);
  return o;
}

std::string raw_exchange(const fs::path& sock, const std::vector<std::uint8_t>& bytes) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, sock.c_str(), sizeof(a.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "<connect failed>";
  }
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
    if (got.size() >= 4 && got.size() >= 4 + (static_cast<std::size_t>(static_cast<unsigned char>(got[2])) << 8 |
                                              static_cast<unsigned char>(got[3]))) {
      break;
    }
  }
  ::close(fd);
  return got;
}

HttpReply http_get(int port, const std::string& host, const std::string& target, const std::string& extra,
                   std::chrono::milliseconds limit) {
  HttpReply r;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) ::close(fd);
    return r;
  }
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "Connection: close\r\n\r\n";
  (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string data;
  char buf[65536];
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos || data.size() < 12 || !data.starts_with("HTTP/1.1 ")) return r;
  r.status = std::atoi(data.substr(9, 3).c_str());
  std::istringstream head(data.substr(0, end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t v = line.find_first_not_of(' ', colon + 1);
    r.headers[name] = v == std::string::npos ? std::string() : line.substr(v);
  }
  r.body = data.substr(end + 4);
  return r;
}

}  // namespace tz::test
