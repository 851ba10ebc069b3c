// The storage policy on the node: gathering what storage_plan.h decides on
// from the catalogue, and carrying the plan out. The catalogue is changed
// first, in one transaction, and data deleted after: a node killed in
// between finds the bundles marked collected and sweeps their folders at
// start (sweep_orphans), never a `verified` bundle with half its files gone.
#include "node/node.h"

#include "core/hex.h"

#include <algorithm>

namespace fs = std::filesystem;

namespace tz::node {
namespace {

std::string error_for(storage::Why why) {
  return error_name(why == storage::Why::keep_rule ? errc::not_kept : errc::over_quota);
}

bool left_out(const catalog::BundleRow& r) {
  return r.state == catalog::BundleState::failed &&
         (r.error == error_name(errc::over_quota) || r.error == error_name(errc::not_kept));
}

std::string why_words(storage::Why why) {
  switch (why) {
    case storage::Why::keep_rule:
      return "the publisher's keep rule";
    case storage::Why::publisher_quota:
      return "the publisher's quota";
    case storage::Why::quota:
      return "the node's quota";
  }
  return "the node's quota";
}

std::string publisher_text(const PublicKey& k) {
  return k == PublicKey{} ? std::string("an unknown publisher") : encode_publisher_id(k);
}

}  // namespace

storage::Limits Node::limits_of(const catalog::PublisherPolicy& p) const {
  const storage::Limits& d = m_options.publisher_defaults;
  return {p.quota.value_or(d.quota), p.keep_newest.value_or(d.keep_newest), p.keep_days.value_or(d.keep_days)};
}

std::map<Sha256, std::pair<std::int64_t, std::int64_t>> Node::head_positions() {
  std::map<Sha256, std::pair<std::int64_t, std::int64_t>> out;
  auto heads = m_catalog.heads();
  if (!heads) return out;
  for (const auto& row : heads.value()) {
    auto& cached = m_head_cache[row.publisher];
    if (!cached || cached->data().seq != row.seq) {
      auto h = verify_head(row.envelope, &row.publisher);
      if (!h) continue;
      cached = std::make_shared<const VerifiedHead>(std::move(h).value());
    }
    const auto& entries = cached->data().bundles;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      out[entries[i].bundle_id] = {static_cast<std::int64_t>(i), entries[i].created};
    }
  }
  return out;
}

storage::Plan Node::enforce(const std::vector<catalog::BundleRow>& fresh, const std::set<Sha256>& unplaced) {
  auto rows = m_catalog.bundles();
  auto policies = m_catalog.policies();
  if (!rows || !policies) {
    // Without the catalogue there is nothing to plan on: take what a head
    // listed, as a node without a policy would.
    warn("cannot read the catalogue to apply the storage policy: " +
         (rows ? policies.error() : rows.error()).message());
    for (const auto& r : fresh) {
      if (m_catalog.upsert_bundle(r)) start_bundle(r.id, r.info_hash_v1, r.publisher, r.size);
    }
    return {};
  }
  std::map<PublicKey, storage::Limits> limits;
  for (const auto& [k, p] : policies.value()) limits[k] = limits_of(p);
  const auto positions = head_positions();

  std::map<Sha256, catalog::BundleRow> known;
  std::vector<storage::Item> items;
  auto add = [&](const catalog::BundleRow& r, bool held) {
    storage::Item it;
    it.id = r.id;
    if (r.publisher != PublicKey{}) it.publisher = r.publisher;
    it.size = r.size;
    it.added_at = r.added_at;
    it.created = r.added_at;
    if (const auto p = positions.find(r.id); p != positions.end()) {
      it.rank = p->second.first;
      it.created = p->second.second;
    }
    it.held = held;
    it.pinned = r.pinned;
    it.own = r.own;
    items.push_back(it);
    known[r.id] = r;
  };
  for (const auto& r : rows.value()) {
    if (r.state != catalog::BundleState::failed) {
      add(r, !unplaced.contains(r.id));
      continue;
    }
    // Left out earlier: a candidate again if pinned, while a followed
    // channel still lists it, or when it was asked for by link (no held
    // head lists it and its publisher is not followed). An unfollowed
    // channel's bundles do not come back.
    if (!left_out(r) || is_denied_bundle(r.id) || (r.publisher != PublicKey{} && is_denied(r.publisher))) continue;
    const bool listed = positions.contains(r.id);
    const bool followed = limits.contains(r.publisher);
    if (r.pinned || (listed && followed) || (!listed && !followed)) add(r, false);
  }
  std::set<Sha256> fresh_ids;
  for (const auto& r : fresh) {
    if (known.contains(r.id)) continue;
    add(r, false);
    fresh_ids.insert(r.id);
  }

  storage::Plan plan = storage::plan(items, m_options.quota, limits, m_clock());

  // The catalogue first, in one transaction; then the data and the swarm.
  std::vector<Sha256> to_fail;  // unplaced bundles that did not fit
  auto changed = m_catalog.transaction([&]() -> Result<void> {
    for (const auto& [id, why] : plan.collect) {
      BOOST_OUTCOME_TRY(m_catalog.set_state(id, catalog::BundleState::failed, error_for(why)));
    }
    for (const auto& id : plan.admit) {
      if (unplaced.contains(id)) continue;
      catalog::BundleRow r = known[id];
      r.state = catalog::BundleState::downloading;
      r.error.clear();
      if (fresh_ids.contains(id)) {
        BOOST_OUTCOME_TRY(m_catalog.upsert_bundle(r));
      } else {
        BOOST_OUTCOME_TRY(m_catalog.set_state(id, catalog::BundleState::downloading));
      }
    }
    for (const auto& [id, why] : plan.refuse) {
      catalog::BundleRow r = known[id];
      if (unplaced.contains(id)) {
        to_fail.push_back(id);
        continue;
      }
      if (fresh_ids.contains(id)) {
        r.state = catalog::BundleState::failed;
        r.error = error_for(why);
        BOOST_OUTCOME_TRY(m_catalog.upsert_bundle(r));
      } else if (r.error != error_for(why)) {
        BOOST_OUTCOME_TRY(m_catalog.set_state(id, catalog::BundleState::failed, error_for(why)));
      }
    }
    return success();
  });
  if (!changed) {
    warn("cannot record the storage policy's changes: " + changed.error().message());
    return {};
  }

  for (const auto& [id, why] : plan.collect) collect_bundle(known[id], why);
  for (const auto& id : plan.admit) {
    if (unplaced.contains(id)) continue;
    const catalog::BundleRow& r = known[id];
    const std::optional<PublicKey> pub = r.publisher == PublicKey{} ? std::nullopt : std::optional(r.publisher);
    start_bundle(r.id, r.info_hash_v1, pub, r.size == 0 ? kMaxBundleSize : r.size);
    if (!fresh_ids.contains(id)) info("fetching bundle " + to_hex(id) + " again: it fits the storage policy now");
  }
  for (const auto& [id, why] : plan.refuse) {
    const catalog::BundleRow& r = known[id];
    if (fresh_ids.contains(id) || unplaced.contains(id)) {
      info("left out bundle " + to_hex(id) + " of " + publisher_text(r.publisher) + " (" + std::to_string(r.size) +
           " bytes): " + why_words(why));
    }
  }
  for (const auto& id : to_fail) {
    swarm::TorrentKey key{};
    if (find_fetch(id, &key) != nullptr) {
      const auto why = std::find_if(plan.refuse.begin(), plan.refuse.end(), [&](const auto& p) { return p.first == id; });
      fail_bundle(key, why->second == storage::Why::keep_rule ? errc::not_kept : errc::over_quota,
                  "it does not fit " + why_words(why->second), false);
    }
  }

  // Say when the node (or a publisher) reaches its quota, and when it is
  // back under it; not at every poll in between.
  if (plan.over_quota != m_over_quota) {
    if (plan.over_quota) {
      warn("disk quota reached (" + std::to_string(plan.used) + " of " + std::to_string(m_options.quota) +
           " bytes held): taking no new bundles that do not fit; unpin bundles or raise the quota");
    } else {
      info("within the disk quota again (" + std::to_string(plan.used) + " of " + std::to_string(m_options.quota) +
           " bytes)");
    }
    m_over_quota = plan.over_quota;
  }
  for (const auto& pub : plan.over) {
    if (!m_over.contains(pub)) {
      warn("publisher " + encode_publisher_id(pub) + " reached its quota: taking no new bundles of it that do not fit");
    }
  }
  for (const auto& pub : m_over) {
    if (!plan.over.contains(pub)) info("publisher " + encode_publisher_id(pub) + " is within its quota again");
  }
  m_over = plan.over;
  return plan;
}

void Node::collect_bundle(const catalog::BundleRow& row, storage::Why why) {
  swarm::TorrentKey key{};
  if (find_fetch(row.id, &key) != nullptr) discard_torrent(key);
  // At once rather than when libtorrent's disk thread gets to it: the space
  // is what the quota is about. Open files (a reader mid-video) keep
  // reading; their blocks are freed when they close.
  std::error_code ec;
  fs::remove_all(bundle_save_path(row.id), ec);
  fs::remove(resume_file(row.info_hash_v1), ec);
  m_served.erase(row.id);
  info("collected bundle " + to_hex(row.id) + " of " + publisher_text(row.publisher) + " (" +
       std::to_string(row.size) + " bytes): " + why_words(why));
}

// Folders and resume files of bundles the catalogue does not hold: left by a
// node killed between marking a bundle collected (or failed) and deleting
// it, or while copying a bundle to publish.
void Node::sweep_orphans() {
  auto rows = m_catalog.bundles();
  if (!rows) return;
  std::set<std::string> folders;
  std::set<std::string> resumes;
  for (const auto& r : rows.value()) {
    if (r.state == catalog::BundleState::failed) continue;
    folders.insert(to_hex(r.id));
    resumes.insert(to_hex(r.info_hash_v1) + ".resume");
  }
  for (const auto& [pub, key] : m_seeded_heads) resumes.insert(to_hex(key) + ".resume");
  std::uint64_t removed = 0;
  std::error_code ec;
  for (const auto& [sub, keep] : {std::pair{"bundles", &folders}, std::pair{"resume", &resumes}}) {
    for (fs::directory_iterator it(m_options.data_dir / sub, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (keep->contains(name)) continue;
      std::error_code rm;
      fs::remove_all(it->path(), rm);
      if (!rm) ++removed;
    }
  }
  if (removed > 0) info("removed " + std::to_string(removed) + " leftover bundle folders and resume files");
}

void Node::fill_storage(tamizdat::v1::StatusResponse& s) {
  auto rows = m_catalog.bundles();
  auto policies = m_catalog.policies();
  if (!rows || !policies) return;
  std::uint64_t used = 0;
  std::map<PublicKey, std::uint64_t> by_publisher;
  for (const auto& [k, p] : policies.value()) by_publisher[k] = 0;
  for (const auto& r : rows.value()) {
    if (r.state == catalog::BundleState::failed) continue;
    used += r.size;
    if (r.publisher != PublicKey{}) by_publisher[r.publisher] += r.size;
  }
  s.set_quota(m_options.quota);
  s.set_used(used);
  s.set_over_quota(m_over_quota);
  for (const auto& [k, bytes] : by_publisher) {
    auto* e = s.add_storage();
    e->set_publisher_id(encode_publisher_id(k));
    e->set_used(bytes);
    const auto p = policies.value().find(k);
    e->set_followed(p != policies.value().end());
    const storage::Limits lim = p != policies.value().end() ? limits_of(p->second) : storage::Limits{};
    e->set_quota(lim.quota);
    e->set_keep_newest(lim.keep_newest);
    e->set_keep_days(lim.keep_days);
    e->set_over_quota(m_over.contains(k));
  }
}

tamizdat::v1::Response Node::pin(const tamizdat::v1::PinRequest& req) {
  const auto parsed = parse_bundle_id(req.bundle_id());
  if (!parsed) return refuse(errc::bad_link, "bundle ID (64 hex digits)");
  const Sha256 id = *parsed;
  if (auto s = m_catalog.set_pinned(id, !req.remove()); !s) {
    if (s.error() == catalog::catalog_errc::not_found) return failure(errc::no_such_bundle, req.bundle_id());
    return failure(s.error(), "recording the pin");
  }
  info(std::string(req.remove() ? "unpinned" : "pinned") + " bundle " + to_hex(id));
  // A pinned bundle left out earlier is fetched now if it fits. Unpinning
  // deletes nothing by itself: the next poll or `gc` applies the policy.
  if (!req.remove()) (void)enforce();
  tamizdat::v1::Response r;
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::policy(const tamizdat::v1::PolicyRequest& req) {
  auto key = decode_publisher_id(req.publisher_id());
  if (!key) return refuse(key.error(), "publisher ID");
  auto policies = m_catalog.policies();
  if (!policies) return failure(policies.error(), "reading the catalogue");
  const auto it = policies.value().find(key.value());
  if (it == policies.value().end()) {
    return control::error_response("not_followed", "the storage policy is set per followed publisher; follow it first");
  }
  catalog::PublisherPolicy p = req.reset() ? catalog::PublisherPolicy{} : it->second;
  if (req.has_quota()) {
    if (req.quota() > kMaxQuota) return refuse(errc::oversized, "quota (at most 1 EiB)");
    p.quota = req.quota();
  }
  if (req.has_keep_newest()) p.keep_newest = req.keep_newest();
  if (req.has_keep_days()) p.keep_days = req.keep_days();
  if (p != it->second) {
    if (auto s = m_catalog.set_policy(key.value(), p); !s) return failure(s.error(), "recording the policy");
    const storage::Limits lim = limits_of(p);
    // Applied at the next poll or `gc`, like every collection: a change
    // typed by mistake can still be undone before anything is deleted.
    info("storage policy of " + req.publisher_id() + ": quota " + std::to_string(lim.quota) + " bytes, newest " +
         std::to_string(lim.keep_newest) + " bundles, " + std::to_string(lim.keep_days) + " days (0: no limit)");
  }
  tamizdat::v1::StatusResponse s;
  fill_storage(s);
  tamizdat::v1::Response r;
  for (const auto& e : s.storage()) {
    if (e.publisher_id() == encode_publisher_id(key.value())) *r.mutable_policy()->mutable_storage() = e;
  }
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::gc() {
  auto rows = m_catalog.bundles();
  if (!rows) return failure(rows.error(), "reading the catalogue");
  std::map<Sha256, catalog::BundleRow> before;
  for (const auto& r : rows.value()) before[r.id] = r;
  const storage::Plan plan = enforce();
  tamizdat::v1::Response r;
  auto* g = r.mutable_gc();
  std::uint64_t freed = 0;
  for (const auto& [id, why] : plan.collect) {
    const auto& row = before[id];
    auto* c = g->add_collected();
    c->set_bundle_id(to_hex(id));
    c->set_publisher_id(row.publisher == PublicKey{} ? std::string() : encode_publisher_id(row.publisher));
    c->set_size(row.size);
    c->set_reason(storage::why_name(why));
    freed += row.size;
  }
  g->set_freed(freed);
  tamizdat::v1::StatusResponse s;
  fill_storage(s);
  g->set_used(s.used());
  g->set_quota(m_options.quota);
  g->set_over_quota(m_over_quota);
  r.set_ok(true);
  return r;
}

}  // namespace tz::node
