// The operator's denylist: publishers and bundles the node will neither fetch
// nor serve. Adding an entry stops and deletes what the node holds of it (a
// volunteer who learns a channel carries something they will not host wants
// it gone, not kept); removing one fetches those bundles again.
#include "node/node.h"

#include "core/hex.h"

#include <algorithm>

namespace tz::node {

namespace fs = std::filesystem;

namespace {

inline constexpr std::size_t kMaxDenyReasonBytes = 200;

struct DenyTarget {
  catalog::DenyKind kind = catalog::DenyKind::bundle;
  Sha256 id{};
};

// A bundle ID (64 hex digits) or a publisher ID.
Result<DenyTarget> parse_deny_target(std::string_view text) {
  DenyTarget t;
  if (const auto id = parse_bundle_id(text)) {
    t.id = *id;
    return t;
  }
  BOOST_OUTCOME_TRY(key, decode_publisher_id(text));
  t.kind = catalog::DenyKind::publisher;
  t.id = key.bytes;
  return t;
}

bool matches(const DenyTarget& t, const catalog::BundleRow& row) {
  return t.kind == catalog::DenyKind::publisher ? row.publisher.bytes == t.id : row.id == t.id;
}

}  // namespace

bool Node::is_denied(const PublicKey& publisher) {
  auto d = m_catalog.is_denied(catalog::DenyKind::publisher, publisher.bytes);
  return d && d.value();
}

bool Node::is_denied_bundle(const Sha256& id) {
  auto d = m_catalog.is_denied(catalog::DenyKind::bundle, id);
  return d && d.value();
}

tamizdat::v1::Response Node::deny_list(std::uint32_t bundles) {
  auto all = m_catalog.denylist();
  if (!all) return failure(all.error(), "reading the catalogue");
  tamizdat::v1::Response r;
  auto* d = r.mutable_deny();
  for (const auto& row : all.value()) {
    auto* e = d->add_entries();
    if (row.kind == catalog::DenyKind::publisher) {
      PublicKey k;
      k.bytes = row.id;
      e->set_id(encode_publisher_id(k));
    } else {
      e->set_id(to_hex(row.id));
    }
    e->set_kind(std::string(catalog::deny_kind_name(row.kind)));
    e->set_reason(row.reason);
    e->set_since(row.since);
  }
  d->set_bundles(bundles);
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::deny(const tamizdat::v1::DenyRequest& req) {
  if (req.reason().size() > kMaxDenyReasonBytes) return refuse(errc::oversized, "reason (at most 200 bytes)");
  auto target = parse_deny_target(req.id());
  if (!target) return refuse(target.error(), "publisher ID or bundle ID");
  const DenyTarget t = target.value();
  auto rows = m_catalog.bundles();
  if (!rows) return failure(rows.error(), "reading the catalogue");
  const std::string what = std::string(catalog::deny_kind_name(t.kind)) + " " +
                           (t.kind == catalog::DenyKind::bundle ? to_hex(t.id) : req.id());
  std::uint32_t n = 0;

  if (req.remove()) {
    auto was = m_catalog.undeny(t.kind, t.id);
    if (!was) return failure(was.error(), "changing the denylist");
    if (!was.value()) return control::error_response("not_denied", "that ID is not on the denylist");
    // What the entry stopped is fetched again (unless still denied otherwise).
    for (const auto& row : rows.value()) {
      if (!matches(t, row) || row.state != catalog::BundleState::failed || row.error != error_name(errc::denied)) {
        continue;
      }
      if (is_denied_bundle(row.id) || (row.publisher != PublicKey{} && is_denied(row.publisher))) continue;
      if (!m_catalog.set_state(row.id, catalog::BundleState::downloading)) continue;
      const std::optional<PublicKey> pub =
          row.publisher == PublicKey{} ? std::nullopt : std::optional<PublicKey>(row.publisher);
      start_bundle(row.id, row.info_hash_v1, pub, row.size == 0 ? kMaxBundleSize : row.size);
      ++n;
    }
    if (t.kind == catalog::DenyKind::publisher) {
      PublicKey pub;
      pub.bytes = t.id;
      if (auto head = m_catalog.head(pub); head && head.value()) restore_head(*head.value());
      put_pointer(pub);
      if (m_swarm != nullptr) m_swarm->get_pointer(pub);
    }
    info("removed " + what + " from the denylist; fetching " + std::to_string(n) + " bundles again");
    return deny_list(n);
  }

  if (auto d = m_catalog.deny(t.kind, t.id, req.reason(), m_clock()); !d) {
    return failure(d.error(), "changing the denylist");
  }
  for (const auto& row : rows.value()) {
    if (!matches(t, row)) continue;
    if (row.state == catalog::BundleState::failed && row.error == error_name(errc::denied)) continue;
    swarm::TorrentKey key{};
    if (find_fetch(row.id, &key) != nullptr) {
      discard_torrent(key);
    } else {
      // Not in the session (failed before): only the node's own copy goes.
      std::error_code ec;
      fs::remove_all(bundle_save_path(row.id), ec);
    }
    m_served.erase(row.id);
    (void)m_catalog.set_state(row.id, catalog::BundleState::failed, error_name(errc::denied));
    ++n;
  }
  if (t.kind == catalog::DenyKind::publisher) {
    // Nor its channel: no head seeded, no pointer re-put.
    PublicKey pub;
    pub.bytes = t.id;
    m_pointers.erase(pub);
    m_unconfirmed.erase(pub);
    if (const auto it = m_seeded_heads.find(pub); it != m_seeded_heads.end()) {
      m_swarm->remove(it->second, false);
      m_seeded_heads.erase(it);
    }
  }
  warn("denied " + what + "; stopped and deleted " + std::to_string(n) + " bundles");
  return deny_list(n);
}

}  // namespace tz::node
