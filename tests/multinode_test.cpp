// Several real tamizdatd on loopback, driven through the real tamizdat CLI:
// publishing, mirroring, a publisher going away and coming back, a mirror
// killed mid-download, and a hostile seed serving corrupt pieces. The
// fixture (multinode_fixture.h) says how nodes are started and cleaned up.
#include "control/framing.h"
#include "multinode_fixture.h"

#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

namespace tz {
namespace {

using namespace tz::test;

// The list item of bundle `bundle_id` on a gateway home page ("" if none).
std::string home_item(const std::string& page, const std::string& bundle_id) {
  const std::size_t at = page.find("<li id=\"b-" + bundle_id + "\">");
  return at == std::string::npos ? std::string() : page.substr(at, page.find("</li>", at) - at);
}

// A publisher, two mirrors, a reader and a plain DHT node. The mirrors copy
// the bundle; the reader gets it from them with the publisher dead; the
// publisher comes back and its update, a photo scrubbed before signing,
// reaches everyone. The home pages of the publisher and a mirror say what
// each bundle's manifest says of its media, also for a bundle recorded
// before the catalogue kept that.
TEST_F(Multinode, PublishMirrorReaderUpdate) {
  const int pgw = test::free_port(), mgw = test::free_port();
  start({"P", "M1", "M2", "R", "N"}, {{"P", {"--gateway", "127.0.0.1:" + std::to_string(pgw)}},
                                      {"M1", {"--gateway", "127.0.0.1:" + std::to_string(mgw)}}});
  const auto home = [](int port) { return test::http_get(port, "localhost:" + std::to_string(port), "/").body; };
  constexpr const char* kKeptWords = "published with its metadata";
  constexpr const char* kScrubbedWords = "media scrubbed by the publisher";
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
  // Random bytes cannot be checked: published with --keep-metadata, "kept".
  EXPECT_NE(home_item(home(pgw), b1).find(kKeptWords), std::string::npos) << home(pgw);
  EXPECT_NE(home_item(home(mgw), b1).find(kKeptWords), std::string::npos) << home(mgw);

  // The publisher dies; the reader finds the channel on the mirrors.
  node("P").kill();
  // Its catalogue as one from before schema 5 left it: no media status.
  const std::string forget = "/usr/bin/python3 -c \"import sqlite3, sys; c = sqlite3.connect('" +
                             (dir("P") / "catalog.db").string() +
                             "'); n = c.execute('UPDATE bundles SET media = ?', ('',)).rowcount; c.commit(); "
                             "sys.exit(0 if n == 1 else 1)\"";
  ASSERT_EQ(std::system(forget.c_str()), 0);
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
  // It reads the status again from the bundle's manifest.
  EXPECT_TRUE(eventually([&] { return home_item(home(pgw), b1).find(kKeptWords) != std::string::npos; }, 10s))
      << home(pgw);
  settle();
  // A photo with the place it was taken, scrubbed before signing.
  const fs::path a2 = article("second", "A follow-up report, with a photo.", 0, 2);
  const std::string make_photo = "ffmpeg -loglevel error -f lavfi -i testsrc=size=64x48 -frames:v 1 '" +
                                 (a2 / "photo.jpg").string() + "' && exiftool -q -overwrite_original " +
                                 "-GPSLatitude=43.2567 -GPSLatitudeRef=N -GPSLongitude=76.9286 -GPSLongitudeRef=E '" +
                                 (a2 / "photo.jpg").string() + "'";
  ASSERT_EQ(std::system(make_photo.c_str()), 0);
  const json p2 = publish("P", a2, key, "--scrub");
  ASSERT_EQ(p2.value("seq", 0), 2) << p2.dump();
  const std::string b2 = p2.value("bundle_id", "");
  ASSERT_TRUE(all_verified({"M1", "M2", "R"}, b2)) << ls("M1").dump() << ls("M2").dump() << ls("R").dump();
  for (const char* n : {"M1", "M2", "R"}) {
    EXPECT_TRUE(verified(n, b1)) << n;
    EXPECT_EQ(diff_trees(a2, entry(n, b2).value("path", "")), "") << n;
  }
  for (const int port : {pgw, mgw}) {
    const std::string page = home(port);
    EXPECT_NE(home_item(page, b2).find(kScrubbedWords), std::string::npos) << page;
    EXPECT_NE(home_item(page, b1).find(kKeptWords), std::string::npos) << page;
    const test::HttpReply photo =
        test::http_get(port, id + ".localhost:" + std::to_string(port), "/" + b2 + "/photo.jpg");
    EXPECT_EQ(photo.status, 200);
    EXPECT_EQ(photo.headers.count("tamizdat-media") ? photo.headers.at("tamizdat-media") : "", "scrubbed");
  }
  expect_no_rejections({"P", "M1", "M2", "R", "N"});
  stop_all();
}

// A mirror SIGKILLed while it downloads a large bundle picks the download
// up after a restart and ends with a verified, identical copy. The publisher
// caps its upload so the download lasts long enough to be interrupted.
TEST_F(Multinode, MirrorKilledMidDownloadResumes) {
  start({"P", "M", "N1", "N2", "N3"}, {{"P", {"--max-upload-rate", "25600"}}});
  const fs::path key = m_tmp / "p.key";
  const std::string id = make_key(key);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(cli(dir("M"), {"follow", id}).code, 0);
  constexpr std::size_t kSize = std::size_t{100} << 20;  // about 4 s at 25 MiB/s
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

// A reader opens a video whose bundle is still downloading, at its end: the
// gateway asks for those pieces first and sends them once they pass their
// hash check, long before the rest has arrived.
TEST_F(Multinode, ReaderStreamsTheEndOfAVideoWhileItDownloads) {
  const int gport = test::free_port();
  const std::string gw = std::to_string(gport);
  // 4 MiB/s from the only seed: the whole bundle takes about 10 s.
  start({"P", "R", "N1"}, {{"P", {"--max-upload-rate", "4096"}}, {"R", {"--gateway", "127.0.0.1:" + gw}}});
  EXPECT_EQ(status("R").value("gateway", ""), "http://localhost:" + gw + "/");
  const fs::path key = m_tmp / "p.key";
  const std::string id = make_key(key);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(cli(dir("R"), {"follow", id}).code, 0);
  constexpr std::size_t kSize = std::size_t{40} << 20;
  const fs::path a = article("film", "Footage from the square.", kSize, 5);
  settle();
  const json p = publish("P", a, key);
  const std::string b = p.value("bundle_id", "");
  ASSERT_FALSE(b.empty()) << p.dump();
  const std::string host = id + ".localhost:" + gw;

  // Readable once its manifest is verified (503 with a refresh before).
  int last = 0;
  ASSERT_TRUE(eventually([&] { return (last = test::http_get(gport, host, "/" + b + "/").status) == 200; }, kLong,
                         100ms))
      << last << "\n" << node("R").log();
  const std::string tail = [&] {
    std::ifstream f(a / "media.bin", std::ios::binary);
    f.seekg(static_cast<std::streamoff>(kSize - 300000));
    std::string t(300000, '\0');
    f.read(t.data(), static_cast<std::streamsize>(t.size()));
    return t;
  }();
  const auto t0 = std::chrono::steady_clock::now();
  test::HttpReply r = test::http_get(gport, host, "/" + b + "/media.bin", "Range: bytes=-300000\r\n");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const json during = entry("R", b);
  std::cout << "[ reader  ] the last 300000 bytes came in " << took << " s; the bundle was "
            << during.value("state", "") << "\n";
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.headers["content-range"], "bytes " + std::to_string(kSize - 300000) + "-" + std::to_string(kSize - 1) +
                                            "/" + std::to_string(kSize));
  EXPECT_EQ(r.headers["tamizdat-verified"], "pieces");
  EXPECT_TRUE(r.body == tail) << "the tail differs (" << r.body.size() << " bytes)";
  EXPECT_EQ(during.value("state", ""), "downloading") << during.dump();

  // Another publisher's origin does not serve it; the home page lists it.
  const std::string other = make_key(m_tmp / "o.key");
  EXPECT_EQ(test::http_get(gport, other + ".localhost:" + gw, "/" + b + "/").status, 404);
  const test::HttpReply home = test::http_get(gport, "localhost:" + gw, "/");
  EXPECT_EQ(home.status, 200);
  EXPECT_NE(home.body.find(">film<"), std::string::npos) << home.body;

  ASSERT_TRUE(all_verified({"R"}, b)) << entry("R", b).dump();
  test::HttpReply whole = test::http_get(gport, host, "/" + b + "/media.bin");
  EXPECT_EQ(whole.headers["tamizdat-verified"], "bundle");
  EXPECT_EQ(whole.body.size(), kSize);
  EXPECT_TRUE(whole.body.substr(kSize - 300000) == tail);
  expect_no_rejections({"P", "R", "N1"});
  stop_all();
}

// The operator's denylist on a mirror: a denied bundle, then its whole
// publisher, are stopped, deleted and no longer served or fetched; taken off
// the list, they are fetched and verified again.
TEST_F(Multinode, DenylistStopsDeletesAndRestores) {
  const int gport = test::free_port();
  const std::string gw = std::to_string(gport);
  start({"P", "M", "N"}, {{"M", {"--gateway", "127.0.0.1:" + gw}}});
  const fs::path key = m_tmp / "p.key";
  const std::string id = make_key(key);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(cli(dir("M"), {"follow", id}).code, 0);
  settle();
  const std::string b1 = publish("P", article("one", "First.", 1 << 20, 1), key).value("bundle_id", "");
  const std::string b2 = publish("P", article("two", "Second.", 1 << 20, 2), key).value("bundle_id", "");
  ASSERT_FALSE(b1.empty());
  ASSERT_FALSE(b2.empty());
  ASSERT_TRUE(all_verified({"M"}, b1));
  ASSERT_TRUE(all_verified({"M"}, b2));
  const fs::path held = entry("M", b1).value("path", "");
  ASSERT_TRUE(fs::exists(held));
  const std::string host = id + ".localhost:" + gw;
  EXPECT_EQ(test::http_get(gport, host, "/" + b1 + "/").status, 200);

  // One bundle.
  Outcome d = cli(dir("M"), {"deny", b1, "--reason", "not on this mirror", "--json"});
  ASSERT_EQ(d.code, 0) << d.out;
  const json dj = json::parse(d.std_out, nullptr, false);
  EXPECT_EQ(dj.value("bundles", 0), 1) << d.out;
  ASSERT_EQ(dj["entries"].size(), 1u) << d.out;
  EXPECT_EQ(dj["entries"][0].value("kind", ""), "bundle");
  EXPECT_EQ(dj["entries"][0].value("reason", ""), "not on this mirror");
  EXPECT_EQ(entry("M", b1).value("state", ""), "failed");
  EXPECT_EQ(entry("M", b1).value("error", ""), "denied");
  EXPECT_FALSE(fs::exists(held)) << held;
  EXPECT_EQ(test::http_get(gport, host, "/" + b1 + "/").status, 404);
  EXPECT_TRUE(verified("M", b2));
  // A link to it is refused.
  std::string magnet = cli(dir("P"), {"share", b1}).std_out;
  while (!magnet.empty() && (magnet.back() == '\n' || magnet.back() == '\r')) magnet.pop_back();
  ASSERT_TRUE(magnet.starts_with("magnet:")) << magnet;
  Outcome f = cli(dir("M"), {"fetch", magnet, "--no-wait", "--json"});
  EXPECT_EQ(f.code, 1);
  EXPECT_NE(f.out.find("\"denied\""), std::string::npos) << f.out;

  // The whole publisher: its other bundle goes, a new one is not fetched.
  d = cli(dir("M"), {"deny", id, "--json"});
  ASSERT_EQ(d.code, 0) << d.out;
  EXPECT_EQ(entry("M", b2).value("error", ""), "denied");
  EXPECT_EQ(test::http_get(gport, host, "/" + b2 + "/").status, 404);
  const std::string b3 = publish("P", article("three", "Third.", 1 << 20, 3), key).value("bundle_id", "");
  ASSERT_FALSE(b3.empty());
  std::this_thread::sleep_for(4s);  // several polls (1 s) of M
  const json e3 = entry("M", b3);
  EXPECT_TRUE(e3.empty() || e3.value("state", "") == "failed") << e3.dump();
  EXPECT_EQ(cli(dir("M"), {"follow", id}).code, 1);

  // Off the list: the publisher's bundles come back, except the one still denied.
  ASSERT_EQ(cli(dir("M"), {"undeny", id}).code, 0);
  EXPECT_TRUE(all_verified({"M"}, b2)) << entry("M", b2).dump();
  EXPECT_TRUE(all_verified({"M"}, b3)) << entry("M", b3).dump();
  EXPECT_EQ(entry("M", b1).value("error", ""), "denied");
  ASSERT_EQ(cli(dir("M"), {"undeny", b1}).code, 0);
  EXPECT_TRUE(all_verified({"M"}, b1)) << entry("M", b1).dump();
  EXPECT_EQ(test::http_get(gport, host, "/" + b1 + "/").status, 200);
  EXPECT_EQ(cli(dir("M"), {"undeny", b1}).code, 1);  // not on the list any more
  stop_all();
}

// A seed serving corrupt pieces of a bundle: the victim counts the bad
// pieces, never marks the bundle verified, and gets the true bundle once an
// honest seed is back (which it had given up dialling while it was down).
TEST_F(Multinode, CorruptPeerIsBannedAndChangesNothing) {
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

// A disk that refuses a download (here: a file sits where the bundle's folder
// must go, so every write fails with "Not a directory") is retried at each
// poll, then the bundle is marked failed with storage_failed, which is the
// node's own trouble and not counted as rejected input. Once the disk is
// fixed, fetching the link again gets the bundle.
TEST_F(Multinode, DiskErrorIsRetriedThenReported) {
  start({"P", "R"});
  const fs::path key = m_tmp / "p.key";
  ASSERT_FALSE(make_key(key).empty());
  const fs::path a = article("blocked", "A report the reader's disk will not take at first.", 1 << 20, 21);
  const json p = publish("P", a, key);
  const std::string b = p.value("bundle_id", "");
  const std::string magnet = p.value("magnet", "");
  ASSERT_FALSE(magnet.empty()) << p.dump();

  const fs::path blocker = dir("R") / "bundles" / b;
  test::write_file(blocker, "not a folder");
  ASSERT_EQ(cli(dir("R"), {"fetch", magnet, "--no-wait", "--json"}).code, 0);
  ASSERT_TRUE(eventually([&] { return entry("R", b).value("state", "") == "failed"; }, kLong)) << entry("R", b).dump();
  EXPECT_EQ(entry("R", b).value("error", ""), "storage_failed") << entry("R", b).dump();
  const std::string log = node("R").log();
  EXPECT_NE(log.find("retrying it at the next poll"), std::string::npos) << log;
  EXPECT_EQ(rejected("R", "storage_failed"), 0) << status("R").dump();
  EXPECT_TRUE(fs::is_regular_file(blocker));

  fs::remove(blocker);
  ASSERT_EQ(cli(dir("R"), {"fetch", magnet, "--no-wait", "--json"}).code, 0);
  ASSERT_TRUE(all_verified({"R"}, b)) << entry("R", b).dump();
  EXPECT_EQ(diff_trees(a, entry("R", b).value("path", "")), "");
  expect_no_rejections({"P", "R"});
  stop_all();
}

// Garbage on a mirror's control socket while it mirrors (an oversized
// header, frames that are not requests, many connections at once) gets
// errors and changes nothing: the mirror still verifies the bundle.
TEST_F(Multinode, GarbledControlRequestsDuringAMirrorHarmNothing) {
  start({"P", "M", "N"}, {{"P", {"--max-upload-rate", "10240"}}});
  const fs::path key = m_tmp / "p.key";
  const std::string id = make_key(key);
  ASSERT_EQ(cli(dir("M"), {"follow", id}).code, 0);
  const fs::path a = article("steady", "A report that arrives whatever the socket hears.", 20 << 20, 31);
  settle();
  const json p = publish("P", a, key);
  const std::string b = p.value("bundle_id", "");
  ASSERT_FALSE(b.empty()) << p.dump();
  ASSERT_TRUE(eventually([&] { return entry("M", b).value("downloaded", 0) > 0; }, kLong)) << entry("M", b).dump();

  const fs::path sock = dir("M") / "control.sock";
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 32; ++i) {
    clients.emplace_back([&, i] {
      const std::vector<std::uint8_t> junk = {0xff, 0xff, 0xff, 0x07, static_cast<std::uint8_t>(i)};
      std::string r = raw_exchange(sock, i % 2 == 0 ? control::frame(junk)
                                                    : std::vector<std::uint8_t>{0x80, 0x00, 0x00, 0x00, 'x'});
      if (r.find(i % 2 == 0 ? "malformed_request" : "oversized") != std::string::npos) ++answered;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), 32);
  EXPECT_NE(entry("M", b).value("state", ""), "verified") << "the transfer ended before the garbage: slow it down";
  ASSERT_TRUE(all_verified({"M"}, b)) << entry("M", b).dump();
  EXPECT_EQ(diff_trees(a, entry("M", b).value("path", "")), "");
  expect_no_rejections({"P", "M", "N"});
  stop_all();
}

}  // namespace
}  // namespace tz
