#include "node/storage_plan.h"

#include <algorithm>
#include <numeric>
#include <tuple>

namespace tz::node::storage {
namespace {

constexpr std::int64_t kDay = 24 * 60 * 60;
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

class Planner {
 public:
  Planner(const std::vector<Item>& items, std::uint64_t quota, const std::map<PublicKey, Limits>& limits,
          std::int64_t now)
      : m_items(items), m_quota(quota), m_limits(limits), m_now(now), m_group(items.size()),
        m_alive(items.size()), m_keep(items.size(), true) {}

  Plan run() {
    group();
    keep_rule();
    for (std::size_t i = 0; i < m_items.size(); ++i) {
      m_alive[i] = m_items[i].held;
      if (m_items[i].held) add(i);
    }
    // Oldest first, the keep rule's leftovers before everything else: the
    // order bundles are collected in.
    m_pool.resize(m_items.size());
    std::iota(m_pool.begin(), m_pool.end(), std::size_t{0});
    std::erase_if(m_pool, [&](std::size_t i) { return !m_items[i].held; });
    std::sort(m_pool.begin(), m_pool.end(), [&](std::size_t a, std::size_t b) {
      const Item& x = m_items[a];
      const Item& y = m_items[b];
      return std::tuple(static_cast<bool>(m_keep[a]), x.added_at, x.rank, x.id) <
             std::tuple(static_cast<bool>(m_keep[b]), y.added_at, y.rank, y.id);
    });
    admit();
    // What the keep rule drops, then what the quotas no longer allow
    // (lowered, or filled by pinned bundles).
    for (const std::size_t i : m_pool) {
      if (!m_keep[i] && collectible(i, kNone)) collect(i, Why::keep_rule);
    }
    for (const auto& [pub, lim] : m_limits) {
      if (lim.quota == 0 || m_plan.publisher_used[pub] <= lim.quota) continue;
      for (const std::size_t i : m_pool) {
        if (m_plan.publisher_used[pub] <= lim.quota) break;
        if (m_items[i].publisher == pub && collectible(i, kNone)) collect(i, Why::publisher_quota);
      }
      if (m_plan.publisher_used[pub] > lim.quota) m_plan.over.insert(pub);
    }
    if (m_quota != 0) {
      for (const std::size_t i : m_pool) {
        if (m_plan.used <= m_quota) break;
        if (collectible(i, kNone)) collect(i, Why::quota);
      }
      if (m_plan.used > m_quota) m_plan.over_quota = true;
    }
    std::erase_if(m_plan.publisher_used, [](const auto& kv) { return kv.second == 0; });
    return std::move(m_plan);
  }

 private:
  // Newer within a channel: later in its head, then taken later.
  bool newer(std::size_t a, std::size_t b) const {
    const Item& x = m_items[a];
    const Item& y = m_items[b];
    return std::tuple(x.rank, x.added_at, x.id) > std::tuple(y.rank, y.added_at, y.id);
  }

  void group() {
    std::map<PublicKey, std::size_t> ids;
    for (std::size_t i = 0; i < m_items.size(); ++i) {
      if (m_items[i].publisher) {
        const auto [it, fresh] = ids.try_emplace(*m_items[i].publisher, m_groups.size());
        if (fresh) m_groups.emplace_back();
        m_group[i] = it->second;
      } else {
        m_group[i] = m_groups.size();
        m_groups.emplace_back();
      }
      m_groups[m_group[i]].push_back(i);
    }
    m_newest.assign(m_groups.size(), kNone);
  }

  const Limits* limits_of(std::size_t i) const {
    if (!m_items[i].publisher) return nullptr;
    const auto it = m_limits.find(*m_items[i].publisher);
    return it == m_limits.end() ? nullptr : &it->second;
  }

  void keep_rule() {
    for (auto& g : m_groups) {
      std::sort(g.begin(), g.end(), [&](std::size_t a, std::size_t b) { return newer(a, b); });
      const Limits* lim = limits_of(g.front());
      if (lim == nullptr) continue;
      for (std::size_t n = 1; n < g.size(); ++n) {  // the newest (n = 0) is always kept
        const Item& it = m_items[g[n]];
        if (it.pinned || it.own) continue;
        const std::int64_t age = m_now - std::min(it.created, it.added_at);
        if ((lim->keep_newest != 0 && n >= lim->keep_newest) ||
            (lim->keep_days != 0 && age > static_cast<std::int64_t>(lim->keep_days) * kDay)) {
          m_keep[g[n]] = false;
        }
      }
    }
  }

  void add(std::size_t i) {
    m_plan.used += m_items[i].size;
    if (m_items[i].publisher) m_plan.publisher_used[*m_items[i].publisher] += m_items[i].size;
    std::size_t& top = m_newest[m_group[i]];
    if (top == kNone || newer(i, top)) top = i;
  }

  void collect(std::size_t i, Why why) {
    m_alive[i] = false;
    m_plan.used -= m_items[i].size;
    if (m_items[i].publisher) m_plan.publisher_used[*m_items[i].publisher] -= m_items[i].size;
    m_plan.collect.emplace_back(m_items[i].id, why);
  }

  // Whether held bundle `i` may be collected (to make room for candidate
  // `w`, when not kNone): never pinned, own, or its channel's newest, and
  // never for an older bundle of its own channel.
  bool collectible(std::size_t i, std::size_t w) const {
    const Item& it = m_items[i];
    if (!m_alive[i] || it.pinned || it.own) return false;
    const bool same = w != kNone && m_group[w] == m_group[i];
    if (same) return newer(w, i);
    return m_newest[m_group[i]] != i;
  }

  void admit() {
    std::vector<std::size_t> wanted;
    for (std::size_t i = 0; i < m_items.size(); ++i) {
      if (m_items[i].held) continue;
      if (m_keep[i]) {
        wanted.push_back(i);
      } else {
        m_plan.refuse.emplace_back(m_items[i].id, Why::keep_rule);
      }
    }
    // The newest first, across channels by when the node took them.
    std::sort(wanted.begin(), wanted.end(), [&](std::size_t a, std::size_t b) {
      const Item& x = m_items[a];
      const Item& y = m_items[b];
      return std::tuple(x.added_at, x.rank, x.id) > std::tuple(y.added_at, y.rank, y.id);
    });
    for (const std::size_t w : wanted) place(w);
  }

  void place(std::size_t w) {
    const Item& it = m_items[w];
    const Limits* lim = limits_of(w);
    const std::uint64_t pub_used = it.publisher ? m_plan.publisher_used[*it.publisher] : 0;
    const std::uint64_t need_pub =
        lim != nullptr && lim->quota != 0 && pub_used + it.size > lim->quota ? pub_used + it.size - lim->quota : 0;
    const std::uint64_t need_all = m_quota != 0 && m_plan.used + it.size > m_quota ? m_plan.used + it.size - m_quota : 0;
    std::vector<std::pair<std::size_t, Why>> chosen;
    std::uint64_t freed_pub = 0;
    std::uint64_t freed_all = 0;
    auto taken = [&](std::size_t i) {
      return std::any_of(chosen.begin(), chosen.end(), [&](const auto& c) { return c.first == i; });
    };
    for (const std::size_t i : m_pool) {
      if (freed_pub >= need_pub) break;
      if (m_group[i] == m_group[w] && collectible(i, w)) {
        chosen.emplace_back(i, m_keep[i] ? Why::publisher_quota : Why::keep_rule);
        freed_pub += m_items[i].size;
        freed_all += m_items[i].size;
      }
    }
    // Only new data marks the node (or publisher) full: a bundle older than
    // what its channel holds (one collected before) is simply not taken back.
    const std::size_t top = m_newest[m_group[w]];
    const bool is_new = top == kNone || newer(w, top);
    if (freed_pub < need_pub) {
      m_plan.refuse.emplace_back(it.id, Why::publisher_quota);
      if (is_new) m_plan.over.insert(*it.publisher);
      return;
    }
    for (const std::size_t i : m_pool) {
      if (freed_all >= need_all) break;
      if (collectible(i, w) && !taken(i)) {
        chosen.emplace_back(i, m_keep[i] ? Why::quota : Why::keep_rule);
        freed_all += m_items[i].size;
      }
    }
    if (freed_all < need_all) {
      m_plan.refuse.emplace_back(it.id, Why::quota);
      if (is_new) m_plan.over_quota = true;
      return;
    }
    for (const auto& [i, why] : chosen) collect(i, why);
    m_alive[w] = true;
    add(w);
    m_plan.admit.push_back(it.id);
  }

  const std::vector<Item>& m_items;
  std::uint64_t m_quota;
  const std::map<PublicKey, Limits>& m_limits;
  std::int64_t m_now;
  std::vector<std::size_t> m_group;               // item -> its channel
  std::vector<std::vector<std::size_t>> m_groups;  // channel -> items, newest first
  std::vector<std::size_t> m_newest;              // channel -> its newest held or admitted item
  std::vector<char> m_alive;                      // held now, or admitted
  std::vector<char> m_keep;                       // the keep rule keeps it
  std::vector<std::size_t> m_pool;                // held items in collection order
  Plan m_plan;
};

}  // namespace

Plan plan(const std::vector<Item>& items, std::uint64_t quota, const std::map<PublicKey, Limits>& limits,
          std::int64_t now) {
  return Planner(items, quota, limits, now).run();
}

const char* why_name(Why w) {
  switch (w) {
    case Why::keep_rule:
      return "keep_rule";
    case Why::publisher_quota:
      return "publisher_quota";
    case Why::quota:
      return "quota";
  }
  return "quota";
}

}  // namespace tz::node::storage
