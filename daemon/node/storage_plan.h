// The storage policy as a pure function: given every bundle the node holds
// or could fetch, the node's disk quota and each publisher's quota and keep
// rule, which bundles to delete, which to fetch and which to leave out.
// node/storage.cpp gathers the input from the catalogue and carries the plan
// out; keeping the decision here lets the tests check it exhaustively.
//
// The rules (docs/operator-guide.md, "Storage policy"):
// - Held bundles (downloading or verified) count against the quotas with
//   their whole size from the signed head: a download is paid for before it
//   starts, so the disk never holds more than the quotas allow.
// - Never collected: a pinned bundle, a bundle this node published, and the
//   newest bundle a channel has on this node.
// - Keep rule: beyond the newest N of its channel, or older than D days (by
//   its signed creation time, but never later than when this node took it),
//   a bundle is collected or not fetched. The newest of a channel is kept.
// - A bundle is fetched only if it fits both quotas, by collecting bundles
//   older than it if need be (first those the keep rule drops, then the
//   oldest by when this node took them). If it cannot fit, it is left out
//   and nothing is collected for it: the node stops taking that publisher's
//   new data, and says so.
// - Newer bundles come first: the newest wanted bundle is placed first.
#pragma once

#include "core/ids.h"
#include "core/manifest.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace tz::node::storage {

// One publisher's limits; 0 means none.
struct Limits {
  std::uint64_t quota = 0;        // bytes
  std::uint32_t keep_newest = 0;  // bundles
  std::uint32_t keep_days = 0;    // days
  bool operator==(const Limits&) const = default;
};

struct Item {
  Sha256 id{};
  // Unknown for a bundle fetched by a bare magnet whose manifest has not
  // arrived: it is then a channel of its own.
  std::optional<PublicKey> publisher;
  std::uint64_t size = 0;
  std::int64_t added_at = 0;  // when this node took it: the order across channels
  std::int64_t created = 0;   // its signing time, from the channel head
  // Its place in the channel's held head, oldest 0; -1 when the head does
  // not list it (older than every listed bundle).
  std::int64_t rank = -1;
  bool held = false;  // downloading or verified; otherwise a candidate to fetch
  bool pinned = false;
  bool own = false;
};

// Why a bundle is collected or left out.
enum class Why { keep_rule, publisher_quota, quota };

struct Plan {
  std::vector<std::pair<Sha256, Why>> collect;  // held bundles to delete, in order
  std::vector<Sha256> admit;                    // candidates to fetch, newest first
  std::vector<std::pair<Sha256, Why>> refuse;   // candidates left out
  std::uint64_t used = 0;                       // bytes held once the plan is carried out
  std::map<PublicKey, std::uint64_t> publisher_used;
  // Over the node's quota, or a bundle newer than its channel holds was
  // left out for it (the node takes no new data): status says so.
  bool over_quota = false;
  // Publishers over their own quota, or with such a bundle left out for it.
  std::set<PublicKey> over;
};

// `limits` names the followed publishers; others have none. `quota` is the
// node's, 0 for none. `now` in seconds since the epoch.
[[nodiscard]] Plan plan(const std::vector<Item>& items, std::uint64_t quota,
                        const std::map<PublicKey, Limits>& limits, std::int64_t now);

[[nodiscard]] const char* why_name(Why w);

}  // namespace tz::node::storage
