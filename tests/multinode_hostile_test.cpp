// Hostile channel data against real tamizdatd on loopback: a follower V of a
// publisher P meets forged, oversized, old and equivocating heads, a bundle
// whose manifest another key signed, and a DHT item with a bad signature,
// served by a hostile node (tools/hostile_node.cpp) that answers DHT lookups
// for P's channel with whatever item a test gives it and seeds the torrents
// it forges. Each test checks the exact reason V counts, what V holds
// afterwards, and that nothing V had regresses.
#include "multinode_fixture.h"

#include <gtest/gtest.h>

#include <functional>
#include <sstream>

namespace tz {
namespace {

using namespace tz::test;

class MultinodeHostile : public Multinode {
 protected:
  // Starts the hostile node H, then the daemons `names`. Every daemon
  // bootstraps to H as well, and V also dials H as a BitTorrent peer: H
  // never announces to itself, so without a third node V could not find
  // H's torrents through the DHT. H starts first, with no forgery, and all
  // daemons start at once (see multinode_fixture.h); commands arm H later.
  void start_with_hostile(const std::vector<std::string>& names) {
    m_hostile_port = free_port();
    for (const auto& n : names) m_ports[n] = free_port();
    m_commands = m_tmp / "hostile.commands";
    write_file(m_commands, "");
    std::vector<std::string> args = {TZ_HOSTILE_NODE, "--port", std::to_string(m_hostile_port), "--dir",
                                     (m_tmp / "hostile").string(), "--commands", m_commands.string()};
    for (const auto& n : names) args.insert(args.end(), {"--bootstrap", "127.0.0.1:" + std::to_string(m_ports[n])});
    m_hostile = std::make_unique<Child>(args, m_tmp / "hostile.log");
    ASSERT_TRUE(eventually([&] { return !hostile_lines("ready").empty(); }, 30s, 100ms)) << m_hostile->log();
    const std::string h = "127.0.0.1:" + std::to_string(m_hostile_port);
    std::map<std::string, std::vector<std::string>> extra;
    for (const auto& n : names) extra[n] = {"--bootstrap", h};
    extra["V"].insert(extra["V"].end(), {"--peer", h});
    start(names, extra);
  }

  // The JSON lines H printed that have `field`.
  std::vector<json> hostile_lines(const std::string& field) const {
    std::vector<json> out;
    std::istringstream in(m_hostile->log());
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] != '{') continue;
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.contains(field)) out.push_back(j);
    }
    return out;
  }

  // Sends H one command (see tools/hostile_node.cpp) and returns its answer.
  json hostile(const std::string& command) {
    {
      std::ofstream f(m_commands, std::ios::app);
      f << command << "\n";
    }
    const int n = ++m_sent;
    json answer = json::object();
    eventually([&] {
      for (const auto& j : hostile_lines("cmd")) {
        if (j.value("cmd", 0) == n) answer = j;
      }
      return !answer.empty();
    }, 60s, 100ms);
    return answer;
  }

  // How many times H has served its forged item.
  std::size_t answered() const { return hostile_lines("answered").size(); }

  // The seq of the head `name` holds for `publisher` (0 for none).
  std::uint64_t held_seq(const std::string& name, const std::string& publisher) {
    return parse(cli(dir(name), {"fetch", publisher, "--json", "--timeout", "1"})).value("head_seq", std::uint64_t{0});
  }

  // Signs `folder` with `key` as a bundle (no daemon involved); returns its ID.
  std::string sign_bundle(const fs::path& folder, const fs::path& key) {
    Outcome c = cli(dir(m_order.front()), {"bundle", "create", folder.string(), "--keep-metadata", "--key", key.string(), "--json"});
    EXPECT_EQ(c.code, 0) << c.out;
    return parse(c).value("bundle_id", "");
  }

  // Lines of `name`'s log from byte `from` on that contain `text`.
  std::size_t log_count(const std::string& name, const std::string& text, std::size_t from = 0) {
    const std::string log = node(name).log();
    std::size_t n = 0;
    for (auto at = log.find(text, from); at != std::string::npos; at = log.find(text, at + text.size())) ++n;
    return n;
  }

  // Regular files below `p` (0 when it does not exist).
  static std::size_t files_below(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return 0;
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(p, ec)) n += e.is_regular_file() ? 1 : 0;
    return n;
  }

  // P's genuine channel with two heads, as V holds it.
  struct TwoHeads {
    fs::path key;           // P's key file
    std::string publisher;  // P's publisher ID
    std::string b1, b2;     // the bundles of seq 1 and seq 2
  };
  // Starts H, P and V; V follows a new key of P's; P publishes seq 1 and
  // seq 2 (articles from `seed` on), and V verifies both. `between` runs
  // after seq 1 is published. Use with ASSERT_NO_FATAL_FAILURE.
  void two_genuine_heads(TwoHeads& out, std::uint32_t seed, const std::function<void()>& between = {}) {
    start_with_hostile({"P", "V"});
    out.key = m_tmp / "p.key";
    out.publisher = make_key(out.key);
    ASSERT_FALSE(out.publisher.empty());
    ASSERT_EQ(cli(dir("V"), {"follow", out.publisher}).code, 0);
    settle();
    const json p1 = publish("P", article("first", "The first report.", 1 << 20, seed), out.key);
    ASSERT_EQ(p1.value("seq", 0), 1) << p1.dump();
    if (between) between();
    const json p2 = publish("P", article("second", "The second report.", 1 << 20, seed + 1), out.key);
    ASSERT_EQ(p2.value("seq", 0), 2) << p2.dump();
    out.b1 = p1.value("bundle_id", "");
    out.b2 = p2.value("bundle_id", "");
    ASSERT_TRUE(all_verified({"V"}, out.b1)) << ls("V").dump();
    ASSERT_TRUE(all_verified({"V"}, out.b2)) << ls("V").dump();
    ASSERT_EQ(held_seq("V", out.publisher), 2u);
  }

  int m_hostile_port = 0;
  fs::path m_commands;
  int m_sent = 0;
};

// The DHT item for P's channel is signed by P, so every DHT node accepts
// it, but the head torrent it points at carries a head that Q signed (naming
// Q as its publisher, listing a bundle Q signed). V checks the envelope
// against the channel it follows (verify_head with P): wrong_publisher.
TEST_F(MultinodeHostile, ForgedHeadSignedByAnotherKeyIsRefused) {
  start_with_hostile({"V", "N"});
  const fs::path p_key = m_tmp / "p.key", q_key = m_tmp / "q.key";
  const std::string p = make_key(p_key);
  ASSERT_FALSE(p.empty());
  ASSERT_FALSE(make_key(q_key).empty());
  const fs::path a = article("forged", "Words put in the publisher's mouth.", 1 << 20, 31);
  const std::string b = sign_bundle(a, q_key);
  ASSERT_FALSE(b.empty());
  ASSERT_TRUE(hostile("head " + q_key.string() + " 1 " + a.string()).value("ok", false)) << m_hostile->log();
  ASSERT_TRUE(hostile("answer " + p_key.string() + " 1").value("ok", false)) << m_hostile->log();

  ASSERT_EQ(cli(dir("V"), {"follow", p}).code, 0);
  ASSERT_TRUE(eventually([&] { return rejected("V", "wrong_publisher") >= 1; }, kLong)) << status("V").dump();
  // Later lookups still find the item: the refused head is not fetched (nor
  // counted) again, and nothing else is accepted.
  const std::size_t seen = answered();
  ASSERT_TRUE(eventually([&] { return answered() >= seen + 3; }, kLong)) << m_hostile->log();
  const json s = status("V");
  EXPECT_EQ(s["rejected"], json({{"wrong_publisher", 1}})) << s.dump();
  EXPECT_EQ(held_seq("V", p), 0u);
  EXPECT_EQ(ls("V"), json::array()) << ls("V").dump();
  EXPECT_EQ(files_below(dir("V") / "bundles" / b), 0u);
  expect_no_rejections({"N"});
  stop_all();
}

// A head genuinely signed by P lists a real bundle, P-signed too, but with a
// size one byte below its torrent's total; H seeds both. V accepts the head,
// then refuses the bundle as soon as its metadata shows the true size,
// before downloading any of it.
TEST_F(MultinodeHostile, BundleLargerThanHeadSaysIsRefused) {
  start_with_hostile({"V", "N"});
  const fs::path p_key = m_tmp / "p.key";
  const std::string p = make_key(p_key);
  ASSERT_FALSE(p.empty());
  const fs::path a = article("padded", "A report with more inside than announced.", 2 << 20, 32);
  const std::string b = sign_bundle(a, p_key);
  ASSERT_FALSE(b.empty());
  ASSERT_TRUE(hostile("head " + p_key.string() + " 1 " + a.string() + ":-1").value("ok", false)) << m_hostile->log();
  ASSERT_TRUE(hostile("answer " + p_key.string() + " 1").value("ok", false)) << m_hostile->log();

  ASSERT_EQ(cli(dir("V"), {"follow", p}).code, 0);
  ASSERT_TRUE(eventually([&] { return entry("V", b).value("state", "") == "failed"; }, kLong)) << ls("V").dump();
  EXPECT_EQ(entry("V", b).value("error", ""), "oversized") << entry("V", b).dump();
  EXPECT_EQ(status("V")["rejected"], json({{"oversized", 1}})) << status("V").dump();
  EXPECT_EQ(held_seq("V", p), 1u);
  // libtorrent deletes a removed torrent's files in the background.
  EXPECT_TRUE(eventually([&] { return files_below(dir("V") / "bundles" / b) == 0; }, 10s))
      << fs::path(dir("V") / "bundles" / b);
  expect_no_rejections({"N"});
  stop_all();
}

// A head genuinely signed by P lists a bundle whose manifest Q signed; H
// seeds both. V accepts the head, fetches only the manifest, finds it is not
// P's and refuses the bundle (wrong_publisher) before fetching its content.
TEST_F(MultinodeHostile, ManifestSignedByAnotherKeyIsRefused) {
  start_with_hostile({"V", "N"});
  const fs::path p_key = m_tmp / "p.key", q_key = m_tmp / "q.key";
  const std::string p = make_key(p_key);
  ASSERT_FALSE(p.empty());
  ASSERT_FALSE(make_key(q_key).empty());
  const fs::path a = article("planted", "A report the publisher never signed.", 2 << 20, 38);
  const std::string b = sign_bundle(a, q_key);
  ASSERT_FALSE(b.empty());
  ASSERT_TRUE(hostile("head " + p_key.string() + " 1 " + a.string()).value("ok", false)) << m_hostile->log();
  ASSERT_TRUE(hostile("answer " + p_key.string() + " 1").value("ok", false)) << m_hostile->log();

  ASSERT_EQ(cli(dir("V"), {"follow", p}).code, 0);
  ASSERT_TRUE(eventually([&] { return entry("V", b).value("state", "") == "failed"; }, kLong)) << ls("V").dump();
  EXPECT_EQ(entry("V", b).value("error", ""), "wrong_publisher") << entry("V", b).dump();
  EXPECT_LT(entry("V", b).value("downloaded", std::uint64_t{0}), std::uint64_t{1} << 20) << entry("V", b).dump();
  EXPECT_EQ(status("V")["rejected"], json({{"wrong_publisher", 1}})) << status("V").dump();
  EXPECT_EQ(held_seq("V", p), 1u);
  EXPECT_TRUE(eventually([&] { return files_below(dir("V") / "bundles" / b) == 0; }, 10s))
      << fs::path(dir("V") / "bundles" / b);
  expect_no_rejections({"N"});
  stop_all();
}

// V holds P's genuine head seq 2; then P is gone and the only DHT answer V
// gets is P's genuine seq-1 item (H signs the very same bytes: Ed25519 is
// deterministic), whose head H also seeds. The node does not even fetch a
// head older than the one it holds (Node::on_pointer re-puts its own item
// instead), so nothing is counted and V keeps seq 2 and its bundles.
TEST_F(MultinodeHostile, LowerSeqHeadIsIgnored) {
  TwoHeads t;
  // P replaces (and deletes) its seq-1 head torrent when it publishes seq 2.
  const fs::path head1 = m_tmp / "head-1";
  ASSERT_NO_FATAL_FAILURE(two_genuine_heads(t, 33, [&] {
    for (const auto& e : fs::recursive_directory_iterator(dir("P") / "heads")) {
      if (e.path().filename() == "channel-head") fs::copy_file(e.path(), head1);
    }
  }));
  ASSERT_TRUE(fs::exists(head1));
  const fs::path& key = t.key;
  const std::string& p = t.publisher;
  const std::string &b1 = t.b1, &b2 = t.b2;

  node("P").kill();
  const std::size_t from = node("V").log().size();
  const json h = hostile("envelope " + head1.string());
  ASSERT_EQ(h.value("seq", 0), 1) << h.dump() << m_hostile->log();
  ASSERT_TRUE(hostile("answer " + key.string() + " 1").value("ok", false)) << m_hostile->log();

  const std::string found = "DHT item seq 1 found for " + p;
  ASSERT_TRUE(eventually([&] { return log_count("V", found, from) >= 3; }, kLong)) << m_hostile->log();
  EXPECT_EQ(log_count("V", "fetching head seq 1", from), 0u);
  // V answers an old item by putting its own again; H (V's only live DHT
  // node) drops it, and a lookup waits for the dead P to time out first.
  EXPECT_TRUE(eventually([&] {
    for (const auto& j : hostile_lines("dropped_put")) {
      if (j.value("dropped_put", 0) == 2) return true;
    }
    return false;
  }, kLong)) << m_hostile->log();
  EXPECT_EQ(held_seq("V", p), 2u);
  EXPECT_TRUE(verified("V", b1)) << ls("V").dump();
  EXPECT_TRUE(verified("V", b2)) << ls("V").dump();
  expect_no_rejections({"V"});
  stop_all();
}

// V holds P's head A, seq 2. Then the only DHT answer is another head B,
// also signed by P with seq 2 (listing another bundle), which H seeds. V
// fetches B, finds two different heads with one seq, keeps A, records both
// and reports the equivocation.
TEST_F(MultinodeHostile, EquivocationIsKeptAndReported) {
  TwoHeads t;
  ASSERT_NO_FATAL_FAILURE(two_genuine_heads(t, 35));
  const fs::path& key = t.key;
  const std::string& p = t.publisher;
  const std::string &b1 = t.b1, &b2 = t.b2;

  // While P is up, V's lookups may get A first, and libtorrent then drops
  // B (same seq) for that lookup; with P gone only H answers.
  node("P").kill();
  const fs::path other = article("other", "What the publisher told someone else.", 1 << 20, 37);
  const std::string b3 = sign_bundle(other, key);
  ASSERT_FALSE(b3.empty());
  ASSERT_TRUE(hostile("head " + key.string() + " 2 " + other.string()).value("ok", false)) << m_hostile->log();
  ASSERT_TRUE(hostile("answer " + key.string() + " 2").value("ok", false)) << m_hostile->log();

  ASSERT_TRUE(eventually([&] { return rejected("V", "equivocation") >= 1; }, kLong)) << status("V").dump();
  EXPECT_NE(node("V").log().find("EQUIVOCATION: publisher " + p), std::string::npos);
  // More lookups find B again: it is judged once, and A stays.
  const std::size_t seen = answered();
  ASSERT_TRUE(eventually([&] { return answered() >= seen + 3; }, kLong)) << m_hostile->log();
  EXPECT_EQ(status("V")["rejected"], json({{"equivocation", 1}})) << status("V").dump();
  EXPECT_EQ(held_seq("V", p), 2u);
  EXPECT_TRUE(entry("V", b3).empty()) << ls("V").dump();
  EXPECT_TRUE(verified("V", b1)) << ls("V").dump();
  EXPECT_TRUE(verified("V", b2)) << ls("V").dump();
  stop_all();
}

// From the start H answers every lookup for P's channel with seq 5 and a
// bad signature, pointing at a head that P's key did sign (so only the DHT
// signature stands between V and that head). libtorrent checks BEP 44
// signatures itself and silently drops such an answer, so the daemon's own
// check (bad_signature) never sees it and counts nothing: what is asserted
// is that no seq-5 head is ever fetched or held and that V accepts P's
// genuine seq 1, found on the honest N, all the same.
TEST_F(MultinodeHostile, DhtItemWithBadSignatureChangesNothing) {
  start_with_hostile({"P", "V", "N"});
  const fs::path key = m_tmp / "p.key";
  const std::string p = make_key(key);
  ASSERT_FALSE(p.empty());
  const fs::path forged = article("forged", "Never published.", 1 << 20, 38);
  const std::string b5 = sign_bundle(forged, key);
  ASSERT_FALSE(b5.empty());
  ASSERT_TRUE(hostile("head " + key.string() + " 5 " + forged.string()).value("ok", false)) << m_hostile->log();
  ASSERT_TRUE(hostile("answer " + key.string() + " 5 bad-signature").value("ok", false)) << m_hostile->log();

  ASSERT_EQ(cli(dir("V"), {"follow", p}).code, 0);
  settle();
  const json p1 = publish("P", article("genuine", "The real report.", 1 << 20, 39), key);
  ASSERT_EQ(p1.value("seq", 0), 1) << p1.dump();
  const std::string b1 = p1.value("bundle_id", "");
  ASSERT_TRUE(all_verified({"V"}, b1)) << ls("V").dump();
  EXPECT_EQ(held_seq("V", p), 1u);

  // With P gone, only V looks the channel up: every answer H serves now
  // went to V.
  node("P").kill();
  const std::size_t seen = answered();
  ASSERT_TRUE(eventually([&] { return answered() >= seen + 3; }, kLong)) << m_hostile->log();
  EXPECT_EQ(held_seq("V", p), 1u);
  EXPECT_EQ(log_count("V", "seq 5"), 0u);
  EXPECT_TRUE(entry("V", b5).empty()) << ls("V").dump();
  EXPECT_TRUE(verified("V", b1)) << ls("V").dump();
  expect_no_rejections({"V", "N"});
  stop_all();
}

}  // namespace
}  // namespace tz
