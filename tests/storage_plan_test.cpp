// The storage policy's decisions (node/storage_plan.h), one rule at a time,
// then thousands of random nodes checked against the rules as a whole.
#include "node/storage_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tz::node::storage {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kDay = 86400;

PublicKey pub(std::uint8_t n) {
  PublicKey k;
  k.bytes.fill(n);
  return k;
}

Sha256 bid(std::uint8_t channel, std::uint8_t n) {
  Sha256 id{};
  id[0] = channel;
  id[1] = n;
  return id;
}

// Bundle `n` of channel `channel`: listed n-th in its head, taken at
// kNow - 1000 + n, `size` bytes.
Item item(std::uint8_t channel, std::uint8_t n, std::uint64_t size, bool held = true) {
  Item it;
  it.id = bid(channel, n);
  it.publisher = pub(channel);
  it.size = size;
  it.rank = n;
  it.added_at = kNow - 1000 + n;
  it.created = it.added_at;
  it.held = held;
  return it;
}

bool has(const std::vector<std::pair<Sha256, Why>>& v, const Sha256& id, Why why) {
  return std::find(v.begin(), v.end(), std::pair{id, why}) != v.end();
}

TEST(StoragePlan, WithoutLimitsNothingIsCollectedAndEverythingFetched) {
  const Plan p = plan({item(1, 0, 100), item(1, 1, 100, false), item(2, 0, 50, false)}, 0, {}, kNow);
  EXPECT_TRUE(p.collect.empty());
  EXPECT_TRUE(p.refuse.empty());
  EXPECT_EQ(p.admit.size(), 2u);
  EXPECT_EQ(p.used, 250u);
  EXPECT_FALSE(p.over_quota);
}

TEST(StoragePlan, ANewBundleMakesRoomByCollectingTheOldestFirst) {
  // Quota 300, held 0,1,2 (100 each); a new bundle 3 of 150 needs 150 freed:
  // 0 and 1 go, in that order; 2 stays.
  const Plan p = plan({item(1, 0, 100), item(1, 1, 100), item(1, 2, 100), item(1, 3, 150, false)}, 300, {}, kNow);
  ASSERT_EQ(p.collect.size(), 2u);
  EXPECT_EQ(p.collect[0], std::pair(bid(1, 0), Why::quota));
  EXPECT_EQ(p.collect[1], std::pair(bid(1, 1), Why::quota));
  EXPECT_EQ(p.admit, std::vector<Sha256>{bid(1, 3)});
  EXPECT_EQ(p.used, 250u);
  EXPECT_FALSE(p.over_quota);
}

TEST(StoragePlan, ABundleLargerThanTheQuotaIsLeftOutAndNothingIsCollectedForIt) {
  const Plan p = plan({item(1, 0, 100), item(1, 1, 100), item(1, 2, 500, false)}, 300, {}, kNow);
  EXPECT_TRUE(p.collect.empty());
  EXPECT_TRUE(p.admit.empty());
  EXPECT_TRUE(has(p.refuse, bid(1, 2), Why::quota));
  EXPECT_TRUE(p.over_quota) << "a bundle was left out: status must say so";
  EXPECT_EQ(p.used, 200u);
}

TEST(StoragePlan, TheNewestBundleOfAChannelIsNeverCollected) {
  // Quota lowered below what two channels' newest bundles take: both stay.
  const Plan p = plan({item(1, 0, 100), item(1, 1, 100), item(2, 0, 100)}, 150, {}, kNow);
  EXPECT_EQ(p.collect, (std::vector<std::pair<Sha256, Why>>{{bid(1, 0), Why::quota}}));
  EXPECT_EQ(p.used, 200u);
  EXPECT_TRUE(p.over_quota);
}

TEST(StoragePlan, PinnedAndOwnBundlesAreNeverCollected) {
  Item pinned = item(1, 0, 100);
  pinned.pinned = true;
  Item own = item(2, 0, 100);
  own.own = true;
  Item own_new = item(2, 1, 100);
  own_new.own = true;
  const Plan p = plan({pinned, item(1, 1, 100), own, own_new, item(1, 2, 100, false)}, 400, {}, kNow);
  // Room for bundle 1/2 can only come from 1/1, which is older than it.
  EXPECT_EQ(p.collect, (std::vector<std::pair<Sha256, Why>>{{bid(1, 1), Why::quota}}));
  EXPECT_EQ(p.admit, std::vector<Sha256>{bid(1, 2)});
  // Nothing else can go: a new bundle of another channel is left out.
  const Plan q = plan({pinned, item(1, 2, 100), own, own_new, item(3, 0, 10, false)}, 400, {}, kNow);
  EXPECT_TRUE(q.collect.empty());
  EXPECT_TRUE(has(q.refuse, bid(3, 0), Why::quota));
}

TEST(StoragePlan, AnOlderBundleNeverPushesOutANewerOneOfItsChannel) {
  // Channel 1 holds its bundle 5; bundle 2 (older) does not fit without it.
  const Plan p = plan({item(1, 5, 100), item(1, 2, 100, false)}, 150, {}, kNow);
  EXPECT_TRUE(p.collect.empty());
  EXPECT_TRUE(has(p.refuse, bid(1, 2), Why::quota));
  // Not taking an old bundle back is not being full: no new data was refused.
  EXPECT_FALSE(p.over_quota);
}

TEST(StoragePlan, KeepNewestDropsTheRestAndDoesNotFetchIt) {
  std::map<PublicKey, Limits> lim{{pub(1), {0, 2, 0}}};
  const Plan p = plan({item(1, 0, 10), item(1, 1, 10), item(1, 2, 10), item(1, 3, 10, false)}, 0, lim, kNow);
  // Newest two: 3 (to fetch) and 2; 0 and 1 go.
  EXPECT_EQ(p.admit, std::vector<Sha256>{bid(1, 3)});
  EXPECT_TRUE(has(p.collect, bid(1, 0), Why::keep_rule));
  EXPECT_TRUE(has(p.collect, bid(1, 1), Why::keep_rule));
  EXPECT_EQ(p.collect.size(), 2u);
  // A channel followed afresh with keep_newest 2: only its newest two are fetched.
  const Plan f = plan({item(1, 0, 10, false), item(1, 1, 10, false), item(1, 2, 10, false)}, 0, lim, kNow);
  EXPECT_EQ(f.admit, (std::vector<Sha256>{bid(1, 2), bid(1, 1)}));
  EXPECT_EQ(f.refuse, (std::vector<std::pair<Sha256, Why>>{{bid(1, 0), Why::keep_rule}}));
}

TEST(StoragePlan, KeepDaysCountsFromTheEarlierOfSigningAndArrival) {
  std::map<PublicKey, Limits> lim{{pub(1), {0, 0, 30}}};
  Item old = item(1, 0, 10);
  old.created = kNow - 40 * kDay;
  old.added_at = kNow - 40 * kDay;
  Item recent = item(1, 1, 10);
  recent.created = kNow - 2 * kDay;
  recent.added_at = kNow - 2 * kDay;
  // Signed "in the future" to dodge the rule: arrival time counts instead.
  Item future = item(1, 2, 10);
  future.created = kNow + 1000 * kDay;
  future.added_at = kNow - 31 * kDay;
  Item newest = item(1, 3, 10);
  newest.created = kNow - 90 * kDay;  // the channel's newest stays, however old
  newest.added_at = kNow - 90 * kDay;
  const Plan p = plan({old, recent, future, newest}, 0, lim, kNow);
  EXPECT_TRUE(has(p.collect, bid(1, 0), Why::keep_rule));
  EXPECT_TRUE(has(p.collect, bid(1, 2), Why::keep_rule));
  EXPECT_EQ(p.collect.size(), 2u);
}

TEST(StoragePlan, APublishersQuotaTakesOnlyFromThatPublisher) {
  std::map<PublicKey, Limits> lim{{pub(1), {200, 0, 0}}};
  const Plan p = plan({item(2, 0, 100), item(2, 1, 100), item(1, 0, 100), item(1, 1, 100), item(1, 2, 100, false)}, 0,
                      lim, kNow);
  EXPECT_EQ(p.collect, (std::vector<std::pair<Sha256, Why>>{{bid(1, 0), Why::publisher_quota}}));
  EXPECT_EQ(p.admit, std::vector<Sha256>{bid(1, 2)});
  EXPECT_EQ(p.publisher_used.at(pub(1)), 200u);
  EXPECT_EQ(p.publisher_used.at(pub(2)), 200u);
  // One that can never fit its publisher's quota: left out, that publisher over.
  const Plan q = plan({item(1, 0, 100), item(1, 1, 300, false), item(2, 0, 10, false)}, 0, lim, kNow);
  EXPECT_TRUE(has(q.refuse, bid(1, 1), Why::publisher_quota));
  EXPECT_EQ(q.over, std::set<PublicKey>{pub(1)});
  EXPECT_EQ(q.admit, std::vector<Sha256>{bid(2, 0)});
  EXPECT_FALSE(q.over_quota);
}

TEST(StoragePlan, TheKeepRulesLeftoversGoBeforeAnythingElse) {
  // Channel 2 keeps its newest 1; making room for 1/1 takes 2/0 (dropped by
  // the rule anyway) rather than the older 1/0.
  std::map<PublicKey, Limits> lim{{pub(2), {0, 1, 0}}};
  Item c2old = item(2, 0, 100);
  c2old.added_at = kNow - 1;  // newer by arrival than channel 1's
  const Plan p = plan({item(1, 0, 100), c2old, item(2, 1, 100), item(1, 1, 100, false)}, 300, lim, kNow);
  EXPECT_EQ(p.collect, (std::vector<std::pair<Sha256, Why>>{{bid(2, 0), Why::keep_rule}}));
  EXPECT_EQ(p.admit, std::vector<Sha256>{bid(1, 1)});
}

TEST(StoragePlan, AnUnknownPublishersBundleIsItsOwnChannel) {
  Item bare = item(9, 0, 100);
  bare.publisher.reset();
  const Plan p = plan({bare, item(1, 0, 100), item(1, 1, 100, false)}, 150, {}, kNow);
  EXPECT_TRUE(p.collect.empty());
  EXPECT_TRUE(has(p.refuse, bid(1, 1), Why::quota));
}

// Random nodes: whatever the mix, the plan keeps every rule.
TEST(StoragePlan, RandomNodesKeepEveryRule) {
  std::mt19937 rng(20261201);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int round = 0; round < 3000; ++round) {
    std::vector<Item> items;
    std::map<PublicKey, Limits> lim;
    const int channels = pick(1, 4);
    for (int c = 1; c <= channels; ++c) {
      if (pick(0, 2) == 0) {
        lim[pub(static_cast<std::uint8_t>(c))] = {static_cast<std::uint64_t>(pick(0, 4) * 100),
                                                  static_cast<std::uint32_t>(pick(0, 3)),
                                                  static_cast<std::uint32_t>(pick(0, 2) * 10)};
      }
      const int n = pick(0, 6);
      for (int i = 0; i < n; ++i) {
        Item it = item(static_cast<std::uint8_t>(c), static_cast<std::uint8_t>(i),
                       static_cast<std::uint64_t>(pick(1, 200)), pick(0, 2) != 0);
        it.pinned = pick(0, 9) == 0;
        it.own = pick(0, 14) == 0;
        it.added_at = kNow - pick(0, 60) * kDay;
        it.created = it.added_at + pick(-5, 5) * kDay;
        items.push_back(it);
      }
    }
    const std::uint64_t quota = static_cast<std::uint64_t>(pick(0, 8) * 100);
    const Plan p = plan(items, quota, lim, kNow);

    std::map<Sha256, const Item*> by_id;
    for (const auto& it : items) by_id[it.id] = &it;
    std::set<Sha256> kept;
    for (const auto& it : items) {
      if (it.held) kept.insert(it.id);
    }
    for (const auto& [id, why] : p.collect) {
      const Item& it = *by_id.at(id);
      ASSERT_TRUE(it.held) << "round " << round << ": collected a bundle not held";
      ASSERT_FALSE(it.pinned) << "round " << round;
      ASSERT_FALSE(it.own) << "round " << round;
      ASSERT_EQ(kept.erase(id), 1u) << "round " << round << ": collected twice";
    }
    for (const auto& id : p.admit) {
      ASSERT_FALSE(by_id.at(id)->held) << "round " << round;
      kept.insert(id);
    }
    ASSERT_EQ(p.admit.size() + p.refuse.size(),
              static_cast<std::size_t>(std::count_if(items.begin(), items.end(), [](const Item& i) { return !i.held; })))
        << "round " << round << ": every candidate is either fetched or left out";
    std::uint64_t used = 0;
    std::map<PublicKey, std::uint64_t> per;
    for (const auto& id : kept) {
      used += by_id.at(id)->size;
      per[*by_id.at(id)->publisher] += by_id.at(id)->size;
    }
    ASSERT_EQ(used, p.used) << "round " << round;
    if (quota != 0 && !p.over_quota) {
      ASSERT_LE(used, quota) << "round " << round;
    }
    for (const auto& [k, l] : lim) {
      if (l.quota != 0 && !p.over.contains(k)) {
        ASSERT_LE(per[k], l.quota) << "round " << round;
      }
    }
    // Every channel that held a bundle still holds its newest held-or-fetched one.
    for (int c = 1; c <= channels; ++c) {
      const Item* newest_held = nullptr;
      for (const auto& it : items) {
        if (it.held && it.publisher == pub(static_cast<std::uint8_t>(c)) &&
            (newest_held == nullptr || it.rank > newest_held->rank)) {
          newest_held = &it;
        }
      }
      if (newest_held == nullptr) continue;
      bool has_newer_or_same = false;
      for (const auto& id : kept) {
        const Item& it = *by_id.at(id);
        if (it.publisher == newest_held->publisher && it.rank >= newest_held->rank) has_newer_or_same = true;
      }
      ASSERT_TRUE(has_newer_or_same) << "round " << round << ": channel " << c << " lost its newest bundle";
    }
    // Pure: the same input gives the same plan.
    const Plan again = plan(items, quota, lim, kNow);
    ASSERT_EQ(again.collect, p.collect);
    ASSERT_EQ(again.admit, p.admit);
  }
}

}  // namespace
}  // namespace tz::node::storage
