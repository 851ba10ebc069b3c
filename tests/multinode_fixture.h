// The fixture of the multi-node suites: real tamizdatd processes on
// loopback, driven through the real tamizdat CLI.
//
// Every node listens on 127.0.0.1, runs no public DHT and bootstraps to
// every other node of its scenario; all nodes of a scenario start at the
// beginning (a DHT lookup never consults the node's own storage, and a dead
// node in routing tables slows traversals, so late joiners are avoided).
// Waits are bounded and generous; every process is SIGKILLed on the way out
// and node logs are printed when a test fails.
#pragma once

#include "proc_util.h"
#include "test_util.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

namespace tz::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = nlohmann::json;

inline constexpr auto kLong = 90s;  // bound on anything that crosses the network

// Polls `pred` every `every` until it holds or `limit` passes.
template <class F>
bool eventually(F pred, std::chrono::milliseconds limit, std::chrono::milliseconds every = 300ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

// The JSON a CLI call printed on stdout (an empty object if none parses).
inline json parse(const Outcome& o) {
  json j = json::parse(o.std_out, nullptr, false);
  return j.is_discarded() || j.is_null() ? json::object() : j;
}

// "" when every regular file below `a` is also below `b` with the same bytes
// and neither has a file the other lacks; else what differs.
inline std::string diff_trees(const fs::path& a, const fs::path& b) {
  if (!fs::is_directory(a)) return a.string() + " is not a folder";
  if (!fs::is_directory(b)) return b.string() + " is not a folder";
  std::map<std::string, fs::path> fa, fb;
  for (const auto& e : fs::recursive_directory_iterator(a)) {
    if (e.is_regular_file()) fa[fs::relative(e.path(), a).string()] = e.path();
  }
  for (const auto& e : fs::recursive_directory_iterator(b)) {
    if (e.is_regular_file()) fb[fs::relative(e.path(), b).string()] = e.path();
  }
  for (const auto& [rel, p] : fa) {
    if (!fb.count(rel)) return "missing in " + b.string() + ": " + rel;
  }
  for (const auto& [rel, p] : fb) {
    if (!fa.count(rel)) return "extra in " + b.string() + ": " + rel;
  }
  std::vector<char> x(1 << 20), y(1 << 20);
  for (const auto& [rel, p] : fa) {
    if (fs::file_size(p) != fs::file_size(fb[rel])) return "size differs: " + rel;
    std::ifstream f(p, std::ios::binary), g(fb[rel], std::ios::binary);
    while (f && g) {
      f.read(x.data(), static_cast<std::streamsize>(x.size()));
      g.read(y.data(), static_cast<std::streamsize>(y.size()));
      if (f.gcount() != g.gcount() || !std::equal(x.begin(), x.begin() + f.gcount(), y.begin())) {
        return "bytes differ: " + rel;
      }
    }
  }
  return "";
}

// Writes `n` pseudo-random bytes to `p` in 1 MiB chunks.
inline void write_random(const fs::path& p, std::size_t n, std::uint32_t seed) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  for (std::size_t done = 0; done < n;) {
    const std::size_t chunk = std::min<std::size_t>(n - done, 1 << 20);
    const std::string bytes = random_bytes(chunk, seed + static_cast<std::uint32_t>(done >> 20));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    done += chunk;
  }
}

// A child process (not a daemon) killed and reaped on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& args, fs::path log) : m_log(std::move(log)) {
    m_pid = spawn(args, m_log);
  }
  ~Child() { kill(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  void kill() {
    if (m_pid <= 0) return;
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
    m_pid = -1;
  }
  bool running() {
    if (m_pid <= 0) return false;
    if (wait_exit(m_pid, 0ms) >= 0) m_pid = -1;
    return m_pid > 0;
  }
  std::string log() const { return slurp(m_log); }

 private:
  fs::path m_log;
  pid_t m_pid = -1;
};

struct DiskUse {
  std::uint64_t bytes = 0;   // file sizes
  std::uint64_t blocks = 0;  // what the disk holds for them (st_blocks)
};

// What the regular files below `root` take (zero when it is gone). Files may
// vanish while it counts.
inline DiskUse disk_use(const fs::path& root) {
  DiskUse u;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    u.bytes += static_cast<std::uint64_t>(st.st_size);
    u.blocks += static_cast<std::uint64_t>(st.st_blocks) * 512;
  }
  return u;
}

class Multinode : public ::testing::Test {
 protected:
  // Starts one daemon per name (on m_ports[name] if set), all at once, each bootstrapping to all the
  // others; `extra` adds flags per name. Fails the test if one is not ready.
  void start(const std::vector<std::string>& names, std::map<std::string, std::vector<std::string>> extra = {}) {
    std::map<std::string, int> ports;
    for (const auto& n : names) {
      if (!m_ports.count(n)) m_ports[n] = free_port();
      ports[n] = m_ports[n];
    }
    for (const auto& n : names) {
      std::vector<std::string> args = {"--no-public-dht", "--no-gateway", "--poll-interval", "1", "--log-level",
                                       "debug"};
      for (const auto& [other, port] : ports) {
        if (other != n) args.insert(args.end(), {"--bootstrap", "127.0.0.1:" + std::to_string(port)});
      }
      for (const auto& e : extra[n]) args.push_back(e);
      m_order.push_back(n);
      m_nodes[n] = std::make_unique<Daemon>(m_tmp / n, ports[n], args);
    }
    for (const auto& n : names) ASSERT_TRUE(m_nodes[n]->ready()) << n << ":\n" << m_nodes[n]->log();
  }

  Daemon& node(const std::string& name) { return *m_nodes.at(name); }
  fs::path dir(const std::string& name) const { return m_tmp / name; }

  json status(const std::string& name) { return parse(cli(dir(name), {"status", "--json"})); }
  json ls(const std::string& name) { return parse(cli(dir(name), {"ls", "--json"})); }

  // The ls entry of `bundle_id` on `name`, or an empty object.
  json entry(const std::string& name, const std::string& bundle_id) {
    const json l = ls(name);
    if (!l.is_array()) return json::object();
    for (const auto& b : l) {
      if (b.is_object() && b.value("bundle_id", "") == bundle_id) return b;
    }
    return json::object();
  }
  bool verified(const std::string& name, const std::string& bundle_id) {
    return entry(name, bundle_id).value("state", "") == "verified";
  }
  // Waits (bounded) until every one of `names` lists `bundle_id` verified.
  bool all_verified(const std::vector<std::string>& names, const std::string& bundle_id,
                    std::chrono::milliseconds limit = kLong) {
    return eventually([&] {
      for (const auto& n : names) {
        if (!verified(n, bundle_id)) return false;
      }
      return true;
    }, limit, 500ms);
  }
  std::int64_t rejected(const std::string& name, const std::string& reason) {
    const json s = status(name);
    if (!s.contains("rejected") || !s["rejected"].is_object()) return -1;
    return s["rejected"].value(reason, std::int64_t{0});
  }
  // Waits (bounded) until every running node has other nodes in its DHT
  // routing table, so lookups and puts reach the others.
  void settle() {
    for (const auto& n : m_order) {
      if (!m_nodes[n]->running()) continue;
      EXPECT_TRUE(eventually([&] { return status(n).value("dht_nodes", 0) > 0; }, 30s, 200ms))
          << n << ": " << status(n).dump();
    }
  }

  // A new publisher key; returns its publisher ID.
  std::string make_key(const fs::path& key) {
    Outcome k = cli(dir(m_order.front()), {"key", "generate", "--out", key.string(), "--insecure-no-passphrase",
                                           "--json"});
    EXPECT_EQ(k.code, 0) << k.out;
    return parse(k).value("publisher_id", "");
  }
  // Publishes `folder` from `name`; `safety` is the metadata gate's choice.
  json publish(const std::string& name, const fs::path& folder, const fs::path& key,
               const std::string& safety = "--keep-metadata") {
    Outcome p = cli(dir(name), {"publish", folder.string(), safety, "--key", key.string(), "--json"}, 120s);
    EXPECT_EQ(p.code, 0) << p.out;
    return parse(p);
  }

  // An article folder: index.html and (if `media` > 0) media.bin of random bytes.
  fs::path article(const std::string& name, const std::string& text, std::size_t media, std::uint32_t seed) {
    const fs::path d = m_tmp / "src" / name;
    write_file(d / "index.html", "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + name +
                                           "</title></head><body><article><h1>" + name + "</h1><p>" + text +
                                           "</p></article></body></html>\n");
    if (media > 0) write_random(d / "media.bin", media, seed);
    return d;
  }

  void expect_no_rejections(const std::vector<std::string>& names) {
    for (const auto& n : names) {
      const json s = status(n);
      ASSERT_TRUE(s.contains("rejected")) << n << ": " << s.dump();
      EXPECT_TRUE(s["rejected"].empty()) << n << " rejected: " << s["rejected"].dump();
    }
  }

  // Kills every node and checks no child process of this test is left.
  void stop_all() {
    if (m_hostile) m_hostile->kill();
    for (auto& [n, d] : m_nodes) d->kill();
    errno = 0;
    EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD) << "a child process is still running";
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const auto& n : m_order) {
        std::string log = m_nodes[n]->log();
        // The tail is what matters; a debug log of a whole scenario is long.
        constexpr std::size_t kTail = 60000;
        if (log.size() > kTail) log = "...\n" + log.substr(log.size() - kTail);
        std::cerr << "===== " << n << " (127.0.0.1:" << m_ports[n] << ") log =====\n" << log << "\n";
        if (m_nodes[n]->running()) std::cerr << "----- " << n << " status: " << status(n).dump() << "\n";
      }
      if (m_hostile) std::cerr << "===== hostile seed log =====\n" << m_hostile->log() << "\n";
    }
    if (m_hostile) m_hostile->kill();
    for (auto& [n, d] : m_nodes) d->kill();
  }

  TempDir m_tmp;
  std::unique_ptr<Child> m_hostile;
  std::map<std::string, std::unique_ptr<Daemon>> m_nodes;
  std::map<std::string, int> m_ports;
  std::vector<std::string> m_order;
};

}  // namespace tz::test
