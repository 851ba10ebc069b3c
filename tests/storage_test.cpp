// The storage policy on real daemons: a mirror with a disk quota stays
// within it while its publisher publishes three times as much; a bundle that
// cannot fit is refused before any of it is downloaded; keep rules, pins and
// `tamizdat gc` do what the operator guide says.
#include "multinode_fixture.h"

#include <atomic>
#include <set>

namespace tz::test {
namespace {

class Storage : public Multinode {
 protected:
  // `bundle_id` of every ls entry of `name` in `state`.
  std::set<std::string> in_state(const std::string& name, const std::string& state) {
    std::set<std::string> out;
    const json l = ls(name);
    if (!l.is_array()) return out;
    for (const auto& b : l) {
      if (b.value("state", "") == state) out.insert(b.value("bundle_id", ""));
    }
    return out;
  }
  json gc(const std::string& name) {
    const Outcome o = cli(dir(name), {"gc", "--json"});
    EXPECT_EQ(o.code, 0) << o.out;
    return parse(o);
  }
};

// A mirror with a 24 MiB quota follows a publisher that publishes 18 bundles
// of 4 MiB (72 MiB, three times the quota). Sampled every 50 ms, the mirror's
// bundle folder never takes more than the quota (plus 1%); the newest
// bundles stay, the oldest are collected, and a bundle larger than the
// whole quota is refused before a byte of it is fetched.
TEST_F(Storage, AMirrorStaysWithinItsQuotaWhileThreeTimesItIsPublished) {
  constexpr std::uint64_t kQuota = std::uint64_t{24} << 20;
  constexpr std::size_t kBundle = std::size_t{4} << 20;
  constexpr int kBundles = 18;
  start({"P", "M"}, {{"M", {"--quota", "24MiB"}}});
  const fs::path key = m_tmp / "p.key";
  const std::string id = make_key(key);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(cli(dir("M"), {"follow", id}).code, 0);
  settle();
  EXPECT_EQ(status("M").value("quota", std::uint64_t{0}), kQuota);

  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> max_bytes{0}, max_blocks{0};
  std::thread sampler([&] {
    while (!done) {
      const DiskUse u = disk_use(dir("M") / "bundles");
      if (u.bytes > max_bytes) max_bytes = u.bytes;
      if (u.blocks > max_blocks) max_blocks = u.blocks;
      std::this_thread::sleep_for(50ms);
    }
  });

  std::vector<std::string> ids;
  std::uint64_t published = 0;
  for (int i = 0; i < kBundles; ++i) {
    const fs::path a = article("issue-" + std::to_string(i), "Issue " + std::to_string(i) + ".", kBundle,
                               static_cast<std::uint32_t>(100 + i));
    const json p = publish("P", a, key);
    ids.push_back(p.value("bundle_id", ""));
    ASSERT_FALSE(ids.back().empty()) << p.dump();
    published += entry("P", ids.back()).value("size", std::uint64_t{0});
    ASSERT_TRUE(all_verified({"M"}, ids.back())) << "bundle " << i << ": " << ls("M").dump();
    const json s = status("M");
    EXPECT_LE(s.value("used", std::uint64_t{0}), kQuota) << s.dump();
    EXPECT_FALSE(s.value("over_quota", true)) << s.dump();
  }
  // Collections delete through libtorrent's disk thread: let the last finish.
  std::this_thread::sleep_for(500ms);
  done = true;
  sampler.join();

  const std::set<std::string> held = in_state("M", "verified");
  // Five bundles of a little over 4 MiB fit in 24 MiB: the newest five.
  EXPECT_EQ(held, std::set<std::string>(ids.end() - 5, ids.end())) << ls("M").dump();
  for (std::size_t i = 0; i + 5 < ids.size(); ++i) {
    const json e = entry("M", ids[i]);
    EXPECT_EQ(e.value("state", ""), "failed") << e.dump();
    EXPECT_EQ(e.value("error", ""), "over_quota") << e.dump();
    // Its files are gone (libtorrent may leave the emptied folder until the next start).
    EXPECT_EQ(disk_use(dir("M") / "bundles" / ids[i]).bytes, 0u) << i;
  }
  const DiskUse end = disk_use(dir("M") / "bundles");
  std::cout << "[ quota   ] published " << published << " bytes against a quota of " << kQuota
            << "; the mirror's folder peaked at " << max_bytes << " bytes (" << max_blocks
            << " on disk), ended at " << end.bytes << "\n";
  RecordProperty("published_bytes", std::to_string(published));
  RecordProperty("peak_bytes", std::to_string(max_bytes.load()));
  RecordProperty("peak_disk_bytes", std::to_string(max_blocks.load()));
  EXPECT_GE(published, 3 * kQuota);
  EXPECT_LE(max_bytes.load(), kQuota + kQuota / 100);
  EXPECT_LE(max_blocks.load(), kQuota + kQuota / 100);

  // One bundle larger than the whole quota: refused from its signed size,
  // before any of it is fetched; the node says it is full; the rest stays.
  const fs::path big = article("huge", "Too big for this mirror.", std::size_t{30} << 20, 7);
  const std::string huge = publish("P", big, key).value("bundle_id", "");
  ASSERT_FALSE(huge.empty());
  ASSERT_TRUE(eventually([&] { return entry("M", huge).value("error", "") == "over_quota"; }, kLong))
      << ls("M").dump();
  EXPECT_EQ(entry("M", huge).value("state", ""), "failed");
  EXPECT_EQ(entry("M", huge).value("downloaded", std::uint64_t{1}), 0u);
  EXPECT_FALSE(fs::exists(dir("M") / "bundles" / huge));
  EXPECT_TRUE(status("M").value("over_quota", false)) << status("M").dump();
  EXPECT_EQ(in_state("M", "verified"), held);
  EXPECT_NE(node("M").log().find("disk quota reached"), std::string::npos);
  EXPECT_NE(node("M").log().find("left out bundle " + huge), std::string::npos);
  stop_all();
}

// Keep rules, pins and gc, driven by an operator through the CLI. The
// mirror polls rarely, so nothing but these commands changes what it holds.
TEST_F(Storage, KeepRulesPinsAndGcDoWhatTheOperatorAsked) {
  start({"P", "M"}, {{"M", {"--poll-interval", "600"}}});
  const fs::path key = m_tmp / "p.key";
  const std::string id = make_key(key);
  ASSERT_FALSE(id.empty());
  settle();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    const fs::path a = article("n" + std::to_string(i), "News " + std::to_string(i) + ".", 200000,
                               static_cast<std::uint32_t>(i + 1));
    ids.push_back(publish("P", a, key).value("bundle_id", ""));
    ASSERT_FALSE(ids.back().empty());
  }
  // Bad input first: nothing changes.
  EXPECT_EQ(cli(dir("M"), {"follow", id, "--quota", "lots"}).code, 2);
  EXPECT_EQ(parse(cli(dir("M"), {"policy", id, "--json"})).value("error", ""), "not_followed");
  EXPECT_EQ(parse(cli(dir("M"), {"pin", "nothex", "--json"})).value("error", ""), "bad_link");
  EXPECT_EQ(parse(cli(dir("M"), {"pin", std::string(64, 'a'), "--json"})).value("error", ""), "no_such_bundle");

  // Following with "keep the newest 2": the two older are not fetched at all.
  ASSERT_EQ(cli(dir("M"), {"follow", id, "--keep-newest", "2"}).code, 0);
  ASSERT_TRUE(all_verified({"M"}, ids[3]));
  ASSERT_TRUE(all_verified({"M"}, ids[2]));
  for (int i : {0, 1}) {
    EXPECT_EQ(entry("M", ids[i]).value("error", ""), "not_kept") << entry("M", ids[i]).dump();
    EXPECT_EQ(entry("M", ids[i]).value("downloaded", std::uint64_t{1}), 0u);
  }
  // `fetch` of the channel is satisfied: what the rule leaves out is not a failure.
  const Outcome f = cli(dir("M"), {"fetch", id, "--json", "--timeout", "60"});
  EXPECT_EQ(f.code, 0) << f.out;
  EXPECT_EQ(parse(f).value("left_out", 0), 2) << f.out;
  const json pol = parse(cli(dir("M"), {"policy", id, "--json"}));
  EXPECT_EQ(pol.value("keep_newest", 0), 2) << pol.dump();
  EXPECT_TRUE(pol.value("followed", false));

  // Pinning an old one fetches it whatever the rule says.
  const Outcome pin = cli(dir("M"), {"pin", ids[0]});
  ASSERT_EQ(pin.code, 0) << pin.out;
  ASSERT_TRUE(all_verified({"M"}, ids[0])) << ls("M").dump();
  EXPECT_TRUE(entry("M", ids[0]).value("pinned", false));

  // A tighter rule changes nothing until gc, which then says what it freed.
  ASSERT_EQ(cli(dir("M"), {"policy", id, "--keep-newest", "1"}).code, 0);
  EXPECT_TRUE(verified("M", ids[2]));
  const std::uint64_t size2 = entry("M", ids[2]).value("size", std::uint64_t{0});
  const json g = gc("M");
  ASSERT_EQ(g.value("collected", json::array()).size(), 1u) << g.dump();
  EXPECT_EQ(g["collected"][0].value("bundle_id", ""), ids[2]);
  EXPECT_EQ(g["collected"][0].value("reason", ""), "keep_rule");
  EXPECT_EQ(g.value("freed", std::uint64_t{0}), size2);
  EXPECT_EQ(entry("M", ids[2]).value("error", ""), "not_kept");
  EXPECT_TRUE(verified("M", ids[3])) << "the newest stays";
  EXPECT_TRUE(verified("M", ids[0])) << "the pinned one stays";
  EXPECT_TRUE(eventually([&] { return !fs::exists(dir("M") / "bundles" / ids[2] / "n2"); }, 10s));

  // Unpinned, it goes at the next gc; a gc with nothing to do frees nothing.
  ASSERT_EQ(cli(dir("M"), {"unpin", ids[0]}).code, 0);
  EXPECT_TRUE(verified("M", ids[0]));
  const json g2 = gc("M");
  ASSERT_EQ(g2.value("collected", json::array()).size(), 1u) << g2.dump();
  EXPECT_EQ(g2["collected"][0].value("bundle_id", ""), ids[0]);
  const json g3 = gc("M");
  EXPECT_EQ(g3.value("freed", std::uint64_t{1}), 0u) << g3.dump();
  EXPECT_TRUE(g3.value("collected", json::array()).empty());
  const Outcome human = cli(dir("M"), {"gc"});
  EXPECT_EQ(human.code, 0);
  EXPECT_NE(human.out.find("Freed 0 B in 0 bundles"), std::string::npos) << human.out;
  stop_all();
}

// A publisher's own quota: a bundle that would pass it is refused before it
// is fetched, the publisher is reported over its quota, and raising the
// quota fetches it at the next gc.
TEST_F(Storage, APublishersQuotaRefusesWhatWouldPassItUntilRaised) {
  start({"P", "M"}, {{"M", {"--poll-interval", "600"}}});
  const fs::path key = m_tmp / "p.key";
  const std::string id = make_key(key);
  ASSERT_FALSE(id.empty());
  settle();
  const std::string small = publish("P", article("small", "Small.", 1 << 20, 1), key).value("bundle_id", "");
  const std::string large = publish("P", article("large", "Large.", 6 << 20, 2), key).value("bundle_id", "");
  ASSERT_FALSE(small.empty());
  ASSERT_FALSE(large.empty());
  ASSERT_EQ(cli(dir("M"), {"follow", id, "--quota", "4MiB"}).code, 0);
  ASSERT_TRUE(all_verified({"M"}, small));
  ASSERT_TRUE(eventually([&] { return entry("M", large).value("error", "") == "over_quota"; }, kLong)) << ls("M").dump();
  EXPECT_EQ(entry("M", large).value("downloaded", std::uint64_t{1}), 0u);
  const json s = status("M");
  ASSERT_TRUE(s.contains("storage")) << s.dump();
  bool reported = false;
  for (const auto& p : s["storage"]) {
    if (p.value("publisher_id", "") == id) {
      reported = p.value("over_quota", false);
      EXPECT_EQ(p.value("quota", std::uint64_t{0}), std::uint64_t{4} << 20);
      EXPECT_EQ(p.value("used", std::uint64_t{0}), entry("M", small).value("size", std::uint64_t{1}));
    }
  }
  EXPECT_TRUE(reported) << s.dump();
  EXPECT_FALSE(s.value("over_quota", true)) << "the node has no quota of its own";
  const Outcome text = cli(dir("M"), {"status"});
  EXPECT_NE(text.out.find("OVER QUOTA"), std::string::npos) << text.out;

  ASSERT_EQ(cli(dir("M"), {"policy", id, "--quota", "0"}).code, 0);
  (void)gc("M");
  ASSERT_TRUE(all_verified({"M"}, large)) << ls("M").dump();
  EXPECT_TRUE(verified("M", small));
  stop_all();
}

}  // namespace
}  // namespace tz::test
