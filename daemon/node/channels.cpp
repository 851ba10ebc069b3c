// Node: channels and bundles on the network (see node.h for the rules).
#include "node/node.h"

#include "bundle/bundle.h"
#include "bundle/head_torrent.h"
#include "core/files.h"
#include "core/hex.h"
#include "core/ids.h"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace fs = std::filesystem;

namespace tz::node {

void Node::poll() {
  std::set<PublicKey> channels;
  if (auto f = m_catalog.followed()) channels.insert(f.value().begin(), f.value().end());
  if (auto o = m_catalog.own_channels()) channels.insert(o.value().begin(), o.value().end());
  for (const auto& pk : channels) {
    if (!is_denied(pk)) m_swarm->get_pointer(pk);
  }
  for (auto& [key, b] : m_bundles) {
    if (std::exchange(b.awaiting_retry, false)) m_swarm->retry(key);
  }
  reconcile_bundles();
  m_swarm->redial_peers();
  // Keep rules by age move on with the clock.
  (void)enforce();
}

// The stages move on libtorrent's events; this catches a bundle whose event
// never came (rarely, in the multi-node suite, a bundle stayed at its
// manifest, or at "every wanted piece" with only the manifest wanted, with no
// further event). A bundle found ready for its next stage at two polls in a
// row is moved on as if the event had come: the second look leaves time for
// an event still waiting on a cache flush.
void Node::reconcile_bundles() {
  std::vector<swarm::TorrentKey> overdue;
  for (auto& [key, b] : m_bundles) {
    const auto p = m_swarm->progress(key);
    bool ready = false;
    if (p && p->has_metadata) {
      if (b.stage == Stage::manifest) ready = p->finished || m_swarm->file_complete(key, b.manifest_index);
      if (b.stage == Stage::content) ready = p->finished;
    }
    b.overdue_polls = ready ? b.overdue_polls + 1 : 0;
    if (b.overdue_polls >= 2) overdue.push_back(key);
  }
  for (const auto& key : overdue) {
    const auto it = m_bundles.find(key);
    if (it == m_bundles.end()) continue;
    BundleFetch& b = it->second;
    b.overdue_polls = 0;
    const auto p = m_swarm->progress(key);
    if (b.stage == Stage::manifest) {
      warn("bundle " + to_hex(b.id) + ": its manifest arrived without notice; checking it now");
      check_manifest(key, b);
    } else if (p && p->seeding) {
      warn("bundle " + to_hex(b.id) + ": it arrived without notice; verifying it now");
      verify_downloaded(key, b);
    } else {
      // libtorrent holds every piece it was asked for, but not the content:
      // the choice of every file was lost. Ask again.
      warn("bundle " + to_hex(b.id) + ": its content was never requested; asking again");
      m_swarm->set_wanted_files(key, std::vector<bool>(b.meta.files.size(), true));
    }
  }
}

void Node::republish() {
  for (const auto& [pk, p] : m_pointers) m_swarm->put_pointer(p);
}

void Node::save_progress() {
  for (const auto& [key, b] : m_bundles) {
    if (b.stage == Stage::content || b.stage == Stage::manifest) m_swarm->save_resume(key);
  }
}

void Node::on_put(const PublicKey& publisher, std::int64_t seq, int stored) {
  const auto it = m_pointers.find(publisher);
  if (it == m_pointers.end() || it->second.seq != seq) return;
  if (stored > 0) {
    m_unconfirmed.erase(publisher);
    m_log(3, "DHT item seq " + std::to_string(seq) + " of " + encode_publisher_id(publisher) + " stored on " +
                 std::to_string(stored) + " nodes");
    return;
  }
  // No node took it (the routing table may still be filling): try again soon.
  m_unconfirmed.insert(publisher);
  m_retry_timer.expires_after(std::chrono::seconds(3));
  std::weak_ptr<bool> alive = m_alive;
  m_retry_timer.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    for (const auto& pk : m_unconfirmed) put_pointer(pk);
  });
}

void Node::on_dht_ready() {
  info("the DHT has nodes; announcing channels and looking them up");
  republish();
  poll();
}

void Node::put_pointer(const PublicKey& publisher) {
  if (const auto it = m_pointers.find(publisher); it != m_pointers.end()) m_swarm->put_pointer(it->second);
}

void Node::on_pointer(const PublicKey& publisher, const Result<std::optional<swarm::SignedPointer>>& item) {
  if (!item) {
    count(item.error());
    warn("refused a DHT item for " + encode_publisher_id(publisher) + ": " + item.error().message());
    return;
  }
  if (!item.value()) {
    m_log(3, "no DHT item found for " + encode_publisher_id(publisher));
    return;
  }
  m_log(3, "DHT item seq " + std::to_string(item.value()->seq) + " found for " + encode_publisher_id(publisher));
  if (is_denied(publisher)) return;
  const swarm::SignedPointer& p = *item.value();
  auto followed = m_catalog.is_followed(publisher);
  const auto own = m_catalog.own_channels();
  const bool is_own = own && std::find(own.value().begin(), own.value().end(), publisher) != own.value().end();
  if ((!followed || !followed.value()) && !is_own) return;
  const auto held = m_pointers.find(publisher);
  if (held != m_pointers.end()) {
    if (held->second.seq > p.seq) {
      // The DHT returned an older item than ours: store ours again.
      m_swarm->put_pointer(held->second);
      return;
    }
    if (held->second.seq == p.seq && held->second.value == p.value) return;
  }
  fetch_head(publisher, p);
}

void Node::fetch_head(const PublicKey& publisher, const swarm::SignedPointer& pointer) {
  auto ih = decode_channel_pointer(pointer.value);
  if (!ih) return;
  const swarm::TorrentKey key = ih.value();
  if (m_judged.contains(key) || m_head_fetches.contains(key)) return;
  if (const auto s = m_seeded_heads.find(publisher); s != m_seeded_heads.end() && s->second == key) return;
  m_head_fetches[key] = HeadFetch{publisher, pointer};
  m_swarm->add_by_link({key, std::nullopt, m_options.data_dir / "heads" / to_hex(publisher.bytes)});
  info("fetching head seq " + std::to_string(pointer.seq) + " of " + encode_publisher_id(publisher));
}

Result<void> Node::seed_head(const VerifiedHead& head) {
  BOOST_OUTCOME_TRY(t, bundle::build_head_torrent(head.envelope()));
  const PublicKey& pub = head.data().publisher;
  const fs::path save = m_options.data_dir / "heads" / to_hex(pub.bytes);
  const fs::path file = save / t.name / std::string(bundle::kHeadFileName);
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    fs::create_directories(file.parent_path(), ec);
    BOOST_OUTCOME_TRY(write_file_atomic(file, head.envelope(), 0644, Replace::allow));
  }
  BOOST_OUTCOME_TRY(key, m_swarm->add_seed({t.bytes, save, true}));
  const auto old = m_seeded_heads.find(pub);
  if (old != m_seeded_heads.end() && old->second != key) m_swarm->remove(old->second, true);
  m_seeded_heads[pub] = key;
  return success();
}

void Node::refuse_head(const swarm::TorrentKey& key, const HeadFetch& f, const boost::system::error_code& ec,
                       const std::string& why) {
  count(ec);
  warn("refused head seq " + std::to_string(f.pointer.seq) + " of " + encode_publisher_id(f.publisher) + ": " + why);
  m_judged.insert(key);
  m_swarm->remove(key, true);
}

void Node::head_arrived(const swarm::TorrentKey& key) {
  const auto it = m_head_fetches.find(key);
  if (it == m_head_fetches.end()) return;
  const HeadFetch f = it->second;
  m_head_fetches.erase(it);
  if (is_denied(f.publisher)) {
    // Denied while its head was on the way: neither kept nor seeded.
    m_swarm->remove(key, true);
    return;
  }
  const std::string who = encode_publisher_id(f.publisher);
  auto refuse_head = [&](const boost::system::error_code& ec, const std::string& why) {
    this->refuse_head(key, f, ec, why);
  };
  const fs::path folder = m_options.data_dir / "heads" / to_hex(f.publisher.bytes) / f.name;
  auto bytes = read_file_bounded(folder / std::string(bundle::kHeadFileName), kMaxHeadBytes);
  if (!bytes) return refuse_head(bytes.error(), bytes.error().message());
  auto head = verify_head(bytes.value(), &f.publisher);
  if (!head) return refuse_head(head.error(), head.error().message());
  // The head must travel in its canonical torrent, or no other node could
  // seed the same swarm after rebuilding it from the envelope.
  auto canonical = bundle::build_head_torrent(bytes.value());
  if (!canonical || canonical.value().info_hash_v1 != key) {
    return refuse_head(errc::head_mismatch, "its torrent is not the canonical one for its envelope");
  }
  if (static_cast<std::int64_t>(head.value().data().seq) != f.pointer.seq) {
    return refuse_head(errc::head_mismatch, "its seq differs from the DHT item's");
  }
  auto held_row = m_catalog.head(f.publisher);
  std::optional<VerifiedHead> held;
  if (held_row && held_row.value()) {
    if (auto h = verify_head(held_row.value()->envelope, &f.publisher)) held = std::move(h).value();
  }
  switch (judge_head(held ? &*held : nullptr, head.value())) {
    case HeadVerdict::accept:
      break;
    case HeadVerdict::same:
      return;
    case HeadVerdict::rollback:
      return refuse_head(errc::stale_head, "older than the held seq " + std::to_string(held->data().seq));
    case HeadVerdict::other_channel:
      return refuse_head(errc::wrong_publisher, "signed by another publisher");
    case HeadVerdict::equivocation:
      (void)m_catalog.record_equivocation(f.publisher, head.value().data().seq, held->envelope(),
                                          head.value().envelope(), m_clock());
      m_log(0, "EQUIVOCATION: publisher " + who + " signed two different heads with seq " +
                   std::to_string(held->data().seq) + "; keeping the first, both are recorded as evidence");
      return refuse_head(errc::equivocation, "a second head with the held seq");
  }
  if (auto s = m_catalog.store_head(head.value(), f.pointer.signature, m_clock()); !s) {
    warn("cannot store a head: " + s.error().message());
    return;
  }
  if (head.value().is_stale(m_clock())) warn("head seq " + std::to_string(f.pointer.seq) + " of " + who + " is stale (expired)");
  info("accepted head seq " + std::to_string(f.pointer.seq) + " of " + who + " listing " +
       std::to_string(head.value().data().bundles.size()) + " bundles");
  m_pointers[f.publisher] = f.pointer;
  put_pointer(f.publisher);
  if (auto s = seed_head(head.value()); !s) warn("cannot seed a head: " + s.error().message());
  schedule_bundles(head.value());
}

void Node::schedule_bundles(const VerifiedHead& head) {
  const HeadData& h = head.data();
  // Bundles new to this node go through the storage policy, which records
  // each as fetched or left out.
  std::vector<catalog::BundleRow> fresh;
  for (const auto& e : h.bundles) {
    auto row = m_catalog.bundle(e.bundle_id);
    if (!row) continue;
    if (row.value()) {
      const auto& r = *row.value();
      if (r.state == catalog::BundleState::downloading && !m_swarm->has(r.info_hash_v1)) {
        start_bundle(r.id, r.info_hash_v1, h.publisher, e.size);
      }
      continue;
    }
    catalog::BundleRow b;
    b.id = e.bundle_id;
    b.info_hash_v1 = e.info_hash_v1;
    b.publisher = h.publisher;
    b.title = e.title;
    b.size = e.size;
    b.path = bundle_save_path(e.bundle_id).string();
    b.added_at = m_clock();
    if (is_denied_bundle(b.id) || is_denied(b.publisher)) {
      b.state = catalog::BundleState::failed;
      b.error = error_name(errc::denied);
      if (auto u = m_catalog.upsert_bundle(b); !u) warn("cannot record a bundle: " + u.error().message());
      continue;
    }
    fresh.push_back(std::move(b));
  }
  (void)enforce(fresh);
}

void Node::start_bundle(const Sha256& id, const InfoHashV1& v1, std::optional<PublicKey> publisher,
                        std::uint64_t max_size) {
  if (m_bundles.contains(v1)) return;
  if (is_denied_bundle(id) || (publisher && is_denied(*publisher))) {
    (void)m_catalog.set_state(id, catalog::BundleState::failed, error_name(errc::denied));
    return;
  }
  BundleFetch b;
  b.id = id;
  b.publisher = publisher;
  b.max_size = max_size;
  b.save_path = bundle_save_path(id);
  m_bundles[v1] = std::move(b);
  m_swarm->add_by_link({v1, id, bundle_save_path(id)});
}

void Node::on_metadata(const swarm::TorrentKey& key, const swarm::TorrentMeta& meta) {
  m_log(3, "metadata of " + to_hex(key) + ": " + std::to_string(meta.files.size()) + " files, " +
               std::to_string(meta.total_size) + " bytes");
  if (m_head_fetches.contains(key)) {
    // A head torrent is one small file, "<name>/channel-head".
    if (meta.files.size() != 1 || meta.files[0].path != meta.name + "/" + std::string(bundle::kHeadFileName) ||
        meta.total_size == 0 || meta.total_size > kMaxHeadBytes) {
      const HeadFetch f = m_head_fetches[key];
      m_head_fetches.erase(key);
      return refuse_head(key, f, errc::head_mismatch, "its torrent is not a channel head torrent");
    }
    m_head_fetches[key].name = meta.name;
    m_swarm->set_wanted_files(key, {true});
    return;
  }
  const auto it = m_bundles.find(key);
  if (it != m_bundles.end()) bundle_metadata(key, it->second, meta);
}

void Node::bundle_metadata(const swarm::TorrentKey& key, BundleFetch& b, const swarm::TorrentMeta& meta) {
  b.meta = meta;
  if (!meta.info_hash_v2 || *meta.info_hash_v2 != b.id) {
    return fail_bundle(key, errc::bundle_mismatch, "its torrent is not the bundle the link or head names");
  }
  if (meta.total_size > b.max_size) {
    return fail_bundle(key, errc::oversized,
                       "its torrent holds " + std::to_string(meta.total_size) + " bytes; the head says at most " +
                           std::to_string(b.max_size));
  }
  if (meta.files.size() > kMaxManifestFiles + 1) return fail_bundle(key, errc::too_many_files, "too many files");
  const std::string manifest_path = meta.name + "/" + std::string(kManifestPath);
  const auto m = std::find_if(meta.files.begin(), meta.files.end(),
                              [&](const swarm::MetaFile& f) { return f.path == manifest_path; });
  if (m == meta.files.end()) return fail_bundle(key, errc::no_manifest, "its torrent holds no manifest");
  b.manifest_index = static_cast<std::size_t>(m - meta.files.begin());
  bool size_was_unknown = false;
  if (auto row = m_catalog.bundle(b.id); row && row.value()) {
    auto r = *row.value();
    size_was_unknown = r.size == 0;
    r.path = (b.save_path / meta.name).string();
    r.size = meta.total_size;  // authentic now: the metadata hashes to the bundle ID
    (void)m_catalog.upsert_bundle(r);
  }
  if (size_was_unknown && b.stage != Stage::seeding) {
    // Fetched by link: now that its size is known, it must fit the storage
    // policy before any of its content is downloaded.
    (void)enforce({}, {b.id});
    if (!m_bundles.contains(key)) return;
  }
  if (b.stage == Stage::seeding) {
    // A verified bundle brought back from resume data.
    m_swarm->set_wanted_files(key, std::vector<bool>(meta.files.size(), true));
    return;
  }
  b.stage = Stage::manifest;
  std::vector<bool> wanted(meta.files.size(), false);
  wanted[b.manifest_index] = true;
  m_swarm->set_wanted_files(key, wanted);
}

void Node::on_file_complete(const swarm::TorrentKey& key, std::size_t index) {
  const auto it = m_bundles.find(key);
  if (it == m_bundles.end() || it->second.stage != Stage::manifest || index != it->second.manifest_index) return;
  if (!m_swarm->file_complete(key, index)) return;
  check_manifest(key, it->second);
}

void Node::check_manifest(const swarm::TorrentKey& key, BundleFetch& b) {
  const fs::path folder = b.save_path / b.meta.name;
  auto bytes = read_file_bounded(folder / std::string(kManifestPath), kMaxManifestBytes);
  if (!bytes) return fail_bundle(key, bytes.error(), "cannot read its manifest");
  Diag diag;
  auto m = verify_manifest(bytes.value(), b.publisher ? &*b.publisher : nullptr, &diag);
  if (!m) return fail_bundle(key, m.error(), "its manifest: " + m.error().message());
  // The torrent must hold exactly the manifest's files, with its pieces roots,
  // and be named after the manifest.
  const auto& files = m.value().data().files;
  if (b.meta.name != bundle::torrent_name(m.value().envelope()) || b.meta.files.size() != files.size() + 1) {
    return fail_bundle(key, errc::bundle_mismatch, "its torrent lists other files than its manifest");
  }
  for (const auto& f : files) {
    const std::string path = b.meta.name + "/" + f.path.str();
    const auto t = std::find_if(b.meta.files.begin(), b.meta.files.end(),
                                [&](const swarm::MetaFile& x) { return x.path == path; });
    if (t == b.meta.files.end() || t->size != f.size || t->root != f.pieces_root) {
      return fail_bundle(key, errc::bundle_mismatch, "its torrent differs from its manifest at " + f.path.str());
    }
  }
  if (is_denied(m.value().data().publisher)) {
    return fail_bundle(key, errc::denied, "its publisher is on the denylist", false);
  }
  if (!b.publisher) {
    b.publisher = m.value().data().publisher;
    if (auto row = m_catalog.bundle(b.id); row && row.value()) {
      auto r = *row.value();
      r.publisher = *b.publisher;
      r.title = m.value().data().title;
      r.size = m.value().total_size() + m.value().envelope().size();
      (void)m_catalog.upsert_bundle(r);
    }
  }
  b.stage = Stage::content;
  b.manifest = std::make_shared<const VerifiedManifest>(std::move(m.value()));
  m_swarm->set_wanted_files(key, std::vector<bool>(b.meta.files.size(), true));
}

void Node::on_finished(const swarm::TorrentKey& key, bool seeding) {
  m_log(3, "torrent " + to_hex(key) + (seeding ? " complete" : " has every wanted piece"));
  if (m_head_fetches.contains(key)) {
    if (seeding) head_arrived(key);
    return;
  }
  const auto it = m_bundles.find(key);
  if (it == m_bundles.end()) return;
  BundleFetch& b = it->second;
  if (b.stage == Stage::manifest) {
    // Only once the manifest's pieces have all passed (libtorrent can call a
    // torrent finished a moment before the priorities it was given apply).
    if (!m_swarm->file_complete(key, b.manifest_index)) return;
    check_manifest(key, b);
    // check_manifest may have failed and removed the entry.
    const auto again = m_bundles.find(key);
    if (again == m_bundles.end() || !seeding || again->second.stage != Stage::content) return;
  }
  if (m_bundles[key].stage == Stage::content && seeding) verify_downloaded(key, m_bundles[key]);
}

void Node::verify_downloaded(const swarm::TorrentKey& key, BundleFetch& b) {
  b.stage = Stage::verifying;
  const fs::path folder = b.save_path / b.meta.name;
  const PublicKey pub = *b.publisher;
  const Sha256 id = b.id;
  std::weak_ptr<bool> alive = m_alive;
  boost::asio::post(m_workers, [this, alive, folder, pub, id, key] {
    Diag diag;
    // Every core: this is the last step before the bundle is served.
    auto v = bundle::verify_bundle(folder, {pub, 0}, &diag);
    // libtorrent does not fsync: the bundle goes to disk before the catalogue
    // calls it verified, or a power cut could leave a verified bundle with holes.
    Result<void> synced = success();
    if (v) synced = sync_tree(folder.parent_path());
    if (v && synced) synced = sync_dir(folder.parent_path().parent_path());
    boost::asio::post(m_io, [this, alive, v = std::move(v), synced, diag, id, key] {
      if (alive.expired()) return;
      const auto it = m_bundles.find(key);
      if (it == m_bundles.end()) return;
      if (!v) return fail_bundle(key, v.error(), "verifying it from disk: " + v.error().message() + " " + diag.file);
      if (!synced) return fail_bundle(key, synced.error(), "syncing it to disk: " + synced.error().message(), false);
      if (v.value().torrent.info_hash_v2 != id) {
        return fail_bundle(key, errc::bundle_mismatch, "it verifies as another bundle");
      }
      // With its media status, so the home page never shows it held without one.
      const std::string_view media = media_status(v.value().manifest.data());
      auto s = m_catalog.transaction([&]() -> Result<void> {
        BOOST_OUTCOME_TRY(m_catalog.set_media(id, media));
        return m_catalog.set_state(id, catalog::BundleState::verified);
      });
      if (!s) {
        warn("cannot record a verified bundle: " + s.error().message());
        return;
      }
      it->second.stage = Stage::seeding;
      m_swarm->save_resume(key);
      // IDs only: a title is the publisher's text and stays out of the log.
      info("verified bundle " + to_hex(id) + " of " + encode_publisher_id(v.value().manifest.data().publisher) +
           "; seeding it");
    });
  });
}

void Node::fail_bundle(const swarm::TorrentKey& key, const boost::system::error_code& ec, const std::string& detail,
                       bool rejected_input) {
  const auto it = m_bundles.find(key);
  if (it == m_bundles.end()) return;
  const Sha256 id = it->second.id;
  m_bundles.erase(it);
  if (rejected_input) {
    count(ec);
    warn("refused bundle " + to_hex(id) + ": " + detail);
  } else {
    warn("gave up bundle " + to_hex(id) + ": " + detail);
  }
  (void)m_catalog.set_state(id, catalog::BundleState::failed, error_name(ec));
  discard_torrent(key);
}

void Node::discard_torrent(const swarm::TorrentKey& key) {
  m_bundles.erase(key);
  m_swarm->remove(key, true);
  std::error_code ec;
  fs::remove(resume_file(key), ec);
}

void Node::on_torrent_error(const swarm::TorrentKey& key, const std::string& message) {
  if (m_head_fetches.erase(key) > 0) {
    warn("a head torrent failed: " + message);
    return;
  }
  const auto it = m_bundles.find(key);
  if (it == m_bundles.end()) {
    warn("torrent " + to_hex(key) + " failed: " + message);
    return;
  }
  // libtorrent stops a torrent on a disk error (full, read-only, a file
  // removed under it). Such errors often pass, so it is retried a few times
  // before the bundle is given up.
  BundleFetch& b = it->second;
  if (++b.storage_errors >= kMaxStorageErrors) {
    return fail_bundle(key, errc::storage_failed, "the disk failed it " + std::to_string(b.storage_errors) +
                                                      " times; last: " + message, false);
  }
  b.awaiting_retry = true;
  warn("bundle " + to_hex(b.id) + " stopped on a disk error (" + message + "); retrying it at the next poll");
}

void Node::on_stalled(const swarm::TorrentKey& key) {
  const auto it = m_bundles.find(key);
  const std::string what = it == m_bundles.end() ? "torrent " + to_hex(key) : "bundle " + to_hex(it->second.id);
  warn(what + " stalled with every byte received but a piece never passed; checking its data again");
}

void Node::on_hash_failed(const swarm::TorrentKey& key) {
  count("corrupt_piece");
  m_log(3, "a piece of " + to_hex(key) + " failed its hash check");
}

void Node::on_peer_banned(const swarm::TorrentKey& key) {
  count("banned_peer");
  warn("banned a peer that sent corrupt data for " + to_hex(key));
}

}  // namespace tz::node
