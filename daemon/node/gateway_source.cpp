// The node as the reader gateway's Library: what it holds, for the home page,
// and for one bundle, where its files are and which bytes passed their check.
#include "node/node.h"

#include "core/files.h"
#include "core/hex.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace tz::node {

namespace fs = std::filesystem;

namespace {

// A bundle as the catalogue records it (the title a head or link gave).
gateway::BundleSummary summary_of(const catalog::BundleRow& row) {
  gateway::BundleSummary s;
  s.id = row.id;
  s.title = row.title;
  s.size = row.size;
  s.downloaded = row.state == catalog::BundleState::verified ? row.size : 0;
  s.state = std::string(catalog::state_name(row.state));
  s.error = row.error;
  s.media = row.media;
  return s;
}

// A verified manifest read from a bundle's folder, signed by `publisher`.
std::shared_ptr<const VerifiedManifest> load_manifest(const fs::path& folder, const PublicKey& publisher) {
  auto bytes = read_file_bounded(folder / std::string(kManifestPath), kMaxManifestBytes);
  if (!bytes) return nullptr;
  auto m = verify_manifest(bytes.value(), &publisher);
  if (!m) return nullptr;
  return std::make_shared<const VerifiedManifest>(std::move(m.value()));
}

}  // namespace

Result<std::vector<gateway::ChannelSummary>> Node::channels() {
  BOOST_OUTCOME_TRY(followed, m_catalog.followed());
  BOOST_OUTCOME_TRY(own, m_catalog.own_channels());
  BOOST_OUTCOME_TRY(rows, m_catalog.bundles());
  const std::set<PublicKey> followed_set(followed.begin(), followed.end());
  const std::set<PublicKey> own_set(own.begin(), own.end());
  // Own channels first, then followed ones, then publishers of bundles
  // fetched by link alone; each group in the order the catalogue gives.
  std::vector<PublicKey> order(own.begin(), own.end());
  for (const auto& p : followed) {
    if (!own_set.contains(p)) order.push_back(p);
  }
  for (const auto& r : rows) {
    if (r.publisher != PublicKey{} && std::find(order.begin(), order.end(), r.publisher) == order.end()) {
      order.push_back(r.publisher);
    }
  }
  std::map<Sha256, const catalog::BundleRow*> by_id;
  for (const auto& r : rows) by_id[r.id] = &r;
  std::map<Sha256, std::uint64_t> progress;
  for (const auto& [key, b] : m_bundles) {
    if (b.stage == Stage::seeding) continue;
    if (const auto p = m_swarm != nullptr ? m_swarm->progress(key) : std::nullopt) progress[b.id] = p->done;
  }

  std::vector<gateway::ChannelSummary> out;
  for (const PublicKey& pub : order) {
    gateway::ChannelSummary ch;
    ch.publisher = pub;
    ch.own = own_set.contains(pub);
    ch.followed = followed_set.contains(pub);
    std::set<Sha256> listed;
    BOOST_OUTCOME_TRY(head_row, m_catalog.head(pub));
    if (head_row) {
      // Titles, sizes and dates from the signed head, verified again.
      if (auto head = verify_head(head_row->envelope, &pub)) {
        ch.head_seq = head.value().data().seq;
        for (const auto& e : head.value().data().bundles) {
          gateway::BundleSummary s;
          s.id = e.bundle_id;
          s.title = e.title;
          s.size = e.size;
          s.created = e.created;
          s.state = "listed";
          if (const auto r = by_id.find(e.bundle_id); r != by_id.end()) {
            s.state = std::string(catalog::state_name(r->second->state));
            s.error = r->second->error;
            s.media = r->second->media;
            if (r->second->state == catalog::BundleState::verified) s.downloaded = s.size;
          }
          ch.bundles.push_back(std::move(s));
          listed.insert(e.bundle_id);
        }
      }
    }
    for (const auto& r : rows) {
      if (r.publisher == pub && !listed.contains(r.id)) ch.bundles.push_back(summary_of(r));
    }
    for (auto& s : ch.bundles) {
      if (const auto p = progress.find(s.id); p != progress.end()) s.downloaded = std::min(p->second, s.size);
    }
    // The head lists oldest first; the reader wants the newest on top.
    std::reverse(ch.bundles.begin(), ch.bundles.end());
    out.push_back(std::move(ch));
  }
  return out;
}

gateway::NodeSummary Node::node_status() {
  gateway::NodeSummary s;
  if (m_swarm != nullptr) {
    const auto st = m_swarm->stats();
    s.peers = st.peers;
    s.dht_nodes = st.dht_nodes;
  }
  s.transfers = static_cast<std::uint32_t>(
      std::count_if(m_bundles.begin(), m_bundles.end(), [](const auto& kv) { return kv.second.stage != Stage::seeding; }));
  return s;
}

const Node::BundleFetch* Node::find_fetch(const Sha256& id, swarm::TorrentKey* key) const {
  for (const auto& [k, b] : m_bundles) {
    if (b.id != id) continue;
    if (key != nullptr) *key = k;
    return &b;
  }
  return nullptr;
}

std::shared_ptr<const gateway::ServedBundle> Node::bundle(const PublicKey& publisher, const Sha256& id) {
  auto row = m_catalog.bundle(id);
  if (!row || !row.value() || row.value()->publisher != publisher) return nullptr;
  const catalog::BundleRow& r = *row.value();
  const bool complete = r.state == catalog::BundleState::verified;
  if (const auto cached = m_served.find(id); cached != m_served.end()) {
    if (cached->second->complete == complete && cached->second->folder == fs::path(r.path)) return cached->second;
    m_served.erase(cached);
  }
  if (r.state == catalog::BundleState::failed) return nullptr;
  auto served = std::make_shared<gateway::ServedBundle>();
  served->publisher = publisher;
  served->id = id;
  served->complete = complete;
  served->folder = r.path;
  if (!complete) {
    // Servable once its manifest has been verified (and the torrent checked
    // against it): from then on every piece that passes is the publisher's.
    const BundleFetch* b = find_fetch(id, nullptr);
    if (b == nullptr || b->stage == Stage::metadata || b->stage == Stage::manifest || !b->publisher ||
        *b->publisher != publisher) {
      return nullptr;
    }
    served->folder = b->save_path / b->meta.name;
    served->manifest = b->manifest;
  }
  if (!served->manifest) served->manifest = load_manifest(served->folder, publisher);
  if (!served->manifest) {
    warn("gateway: the manifest of bundle " + to_hex(id) + " in " + served->folder.string() +
         " cannot be read or verified; not serving it");
    return nullptr;
  }
  // A bounded cache: the manifests of the bundles being read.
  if (m_served.size() >= 256) m_served.clear();
  m_served[id] = served;
  return served;
}

std::optional<gateway::BundleSummary> Node::find(const PublicKey& publisher, const Sha256& id) {
  auto row = m_catalog.bundle(id);
  if (!row || !row.value() || row.value()->publisher != publisher) return std::nullopt;
  gateway::BundleSummary s = summary_of(*row.value());
  swarm::TorrentKey key{};
  if (find_fetch(id, &key) != nullptr && m_swarm != nullptr) {
    if (const auto p = m_swarm->progress(key)) {
      s.downloaded = p->done;
      if (p->has_metadata) s.size = std::max(s.size, p->total);
    }
  }
  return s;
}

std::optional<std::size_t> Node::torrent_file(const BundleFetch& b, const gateway::ServedBundle& served,
                                              std::size_t file) const {
  const auto& files = served.manifest->data().files;
  if (file >= files.size()) return std::nullopt;
  const std::string path = b.meta.name + "/" + files[file].path.str();
  const auto t = std::find_if(b.meta.files.begin(), b.meta.files.end(),
                              [&](const swarm::MetaFile& f) { return f.path == path; });
  if (t == b.meta.files.end()) return std::nullopt;
  return static_cast<std::size_t>(t - b.meta.files.begin());
}

std::uint64_t Node::readable(const gateway::ServedBundle& served, std::size_t file, std::uint64_t offset,
                             std::uint64_t max) {
  const auto& files = served.manifest->data().files;
  if (file >= files.size() || offset >= files[file].size) return 0;
  max = std::min(max, files[file].size - offset);
  if (served.complete) return max;
  swarm::TorrentKey key{};
  const BundleFetch* b = find_fetch(served.id, &key);
  if (b == nullptr || m_swarm == nullptr) return 0;
  // Verified as a whole in the meantime: every byte is good.
  if (b->stage == Stage::seeding) return max;
  const auto index = torrent_file(*b, served, file);
  if (!index) return 0;
  return m_swarm->verified_bytes(key, *index, offset, max);
}

void Node::want(const gateway::ServedBundle& served, std::size_t file, std::uint64_t offset, std::uint64_t length) {
  if (served.complete || m_swarm == nullptr) return;
  swarm::TorrentKey key{};
  const BundleFetch* b = find_fetch(served.id, &key);
  if (b == nullptr || b->stage == Stage::seeding) return;
  if (const auto index = torrent_file(*b, served, file)) m_swarm->want_soon(key, *index, offset, length);
}

Result<gateway::Opened> Node::open(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) text.remove_suffix(1);
  gateway::Opened o;
  if (!text.starts_with("magnet:")) {
    BOOST_OUTCOME_TRY(key, decode_publisher_id(text));
    BOOST_OUTCOME_TRY(start_following(key));
    o.kind = gateway::Opened::Kind::channel;
    o.publisher = key;
    return o;
  }
  BOOST_OUTCOME_TRY(link, swarm::parse_bundle_link(text));
  if (!link.bundle_id) return errc::bad_link;
  BOOST_OUTCOME_TRY(fetch_bundle(link));
  o.kind = gateway::Opened::Kind::bundle;
  o.publisher = link.publisher;
  o.bundle_id = link.bundle_id;
  return o;
}

}  // namespace tz::node
