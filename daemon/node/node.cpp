// Node: start-up, shutdown and the control requests. Channel and bundle
// logic on the network is in channels.cpp.
#include "node/node.h"

#include "bundle/bundle.h"
#include "bundle/head_torrent.h"
#include "core/files.h"
#include "core/hex.h"
#include "core/ids.h"
#include "swarm/links.h"

#include <boost/asio/post.hpp>

namespace fs = std::filesystem;

namespace tz::node {
namespace {

// The DHT item pointing at `head`'s torrent, with `signature` checked: the
// one the publisher signed, which any node may put again.
Result<swarm::SignedPointer> pointer_for(const VerifiedHead& head, std::span<const std::uint8_t> signature) {
  BOOST_OUTCOME_TRY(torrent, bundle::build_head_torrent(head.envelope()));
  swarm::SignedPointer p;
  p.publisher = head.data().publisher;
  p.seq = static_cast<std::int64_t>(head.data().seq);
  p.value = encode_channel_pointer(torrent.info_hash_v1);
  if (signature.size() != p.signature.size()) return errc::bad_signature;
  std::copy(signature.begin(), signature.end(), p.signature.begin());
  if (!verify_channel_pointer(p.publisher, p.value, p.seq, p.signature)) return errc::bad_signature;
  return p;
}

}  // namespace

std::optional<Sha256> parse_bundle_id(std::string_view text) {
  std::vector<std::uint8_t> raw;
  Sha256 id{};
  if (text.size() != 2 * id.size() || !from_hex(text, raw) || raw.size() != id.size()) return std::nullopt;
  std::copy(raw.begin(), raw.end(), id.begin());
  return id;
}

Node::Node(boost::asio::io_context& io, catalog::Catalog& catalog, NodeOptions options,
           std::function<std::int64_t()> clock, LogFn log)
    : m_io(io),
      m_catalog(catalog),
      m_options(std::move(options)),
      m_clock(std::move(clock)),
      m_log(std::move(log)),
      m_workers(m_options.worker_threads == 0 ? 1 : m_options.worker_threads),
      m_poll_timer(io),
      m_republish_timer(io),
      m_resume_timer(io),
      m_shutdown_timer(io),
      m_retry_timer(io) {}

Node::~Node() {
  *m_alive = false;
  m_workers.join();
}

fs::path Node::resume_file(const swarm::TorrentKey& key) const {
  return m_options.data_dir / "resume" / (to_hex(key) + ".resume");
}

fs::path Node::bundle_save_path(const Sha256& id) const { return m_options.data_dir / "bundles" / to_hex(id); }

void Node::count(const boost::system::error_code& ec) { count(error_name(ec)); }

void Node::count(std::string_view reason) {
  if (auto r = m_catalog.count_rejection(reason); !r) warn("cannot count a rejection: " + r.error().message());
}

void Node::every(boost::asio::steady_timer& t, std::chrono::seconds interval, void (Node::*fn)()) {
  t.expires_after(interval);
  std::weak_ptr<bool> alive = m_alive;
  t.async_wait([this, &t, interval, fn, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    (this->*fn)();
    every(t, interval, fn);
  });
}

void Node::start(swarm::Session& swarm) {
  m_swarm = &swarm;
  std::error_code ec;
  for (const char* sub : {"bundles", "heads", "resume"}) fs::create_directories(m_options.data_dir / sub, ec);

  // Heads: verified again (the catalogue is not trusted blindly), seeded, re-put.
  if (auto heads = m_catalog.heads()) {
    for (const auto& row : heads.value()) {
      if (!is_denied(row.publisher)) restore_head(row);
    }
  } else {
    warn("cannot read heads from the catalogue: " + heads.error().message());
  }
  sweep_orphans();
  std::vector<catalog::BundleRow> media_unknown;
  if (auto rows = m_catalog.bundles()) {
    for (auto row : rows.value()) {
      // A deny or undeny cut short (it records the entry, then changes the
      // bundles) is finished here: a denied bundle is never brought back.
      const bool denied = is_denied_bundle(row.id) || (row.publisher != PublicKey{} && is_denied(row.publisher));
      const bool failed = row.state == catalog::BundleState::failed;
      if (denied && !failed) {
        fs::remove_all(bundle_save_path(row.id), ec);
        fs::remove(resume_file(row.info_hash_v1), ec);
        (void)m_catalog.set_state(row.id, catalog::BundleState::failed, error_name(errc::denied));
        continue;
      }
      if (!denied && failed && row.error == error_name(errc::denied) &&
          m_catalog.set_state(row.id, catalog::BundleState::downloading)) {
        row.state = catalog::BundleState::downloading;
      }
      if (row.state != catalog::BundleState::failed) restore_bundle(row);
      if (row.state == catalog::BundleState::verified && row.media.empty()) media_unknown.push_back(row);
    }
  } else {
    warn("cannot read bundles from the catalogue: " + rows.error().message());
  }
  fill_media(std::move(media_unknown));
  // A node stopped between storing a head and recording its bundles picks
  // them up here; then the storage policy is applied to what is held.
  std::set<PublicKey> channels;
  if (auto f = m_catalog.followed()) channels.insert(f.value().begin(), f.value().end());
  if (auto o = m_catalog.own_channels()) channels.insert(o.value().begin(), o.value().end());
  for (const auto& [pub, key] : m_seeded_heads) {
    if (!channels.contains(pub)) continue;
    auto row = m_catalog.head(pub);
    if (!row || !row.value()) continue;
    if (auto head = verify_head(row.value()->envelope, &pub)) schedule_bundles(head.value());
  }
  (void)enforce();

  // The DHT needs a moment to find nodes: the first lookups and puts go out
  // after two seconds, then at the configured intervals.
  m_poll_timer.expires_after(std::chrono::seconds(2));
  std::weak_ptr<bool> alive = m_alive;
  m_poll_timer.async_wait([this, alive](const boost::system::error_code& e) {
    if (e || alive.expired()) return;
    republish();
    poll();
    every(m_poll_timer, m_options.poll_interval, &Node::poll);
  });
  every(m_republish_timer, m_options.republish_interval, &Node::republish);
  every(m_resume_timer, m_options.resume_interval, &Node::save_progress);
}

void Node::restore_head(const catalog::HeadRow& row) {
  auto head = verify_head(row.envelope, &row.publisher);
  if (!head) {
    warn("stored head of " + encode_publisher_id(row.publisher) + " no longer verifies: " + head.error().message());
    return;
  }
  if (auto s = seed_head(head.value()); !s) warn("cannot seed a stored head: " + s.error().message());
  // A head stored without its DHT signature has no pointer to re-put.
  if (auto p = pointer_for(head.value(), row.dht_signature)) m_pointers[row.publisher] = p.value();
}

void Node::restore_bundle(const catalog::BundleRow& row) {
  const fs::path save = bundle_save_path(row.id);
  BundleFetch b;
  b.id = row.id;
  if (row.publisher != PublicKey{}) b.publisher = row.publisher;
  b.max_size = row.size == 0 ? kMaxBundleSize : row.size;
  b.save_path = save;
  // Resume data carries the metadata and which pieces passed, so nothing is
  // hashed again; without it a downloading bundle starts from its link
  // (libtorrent checks what is already on disk) and a verified one is
  // verified again before it is seeded. So is a verified one whose resume
  // data lacks pieces: saved while it downloaded, and a kill came before
  // the save that follows its verification.
  const bool verified = row.state == catalog::BundleState::verified;
  if (auto data = read_file_bounded(resume_file(row.info_hash_v1), 64u << 20)) {
    const std::vector<char> buf(data.value().begin(), data.value().end());
    if (auto k = m_swarm->add_resumed(buf, save, verified); k && k.value() == row.info_hash_v1) {
      b.stage = row.state == catalog::BundleState::verified ? Stage::seeding : Stage::metadata;
      m_bundles[row.info_hash_v1] = std::move(b);
      return;
    }
    warn("resume data of bundle " + to_hex(row.id) + " is unusable; starting it again");
  }
  if (row.state == catalog::BundleState::downloading) {
    m_bundles[row.info_hash_v1] = std::move(b);
    m_swarm->add_by_link({row.info_hash_v1, row.id, save});
    return;
  }
  // Verified, without resume data: verify from disk again, then seed.
  const fs::path folder = row.path;
  const auto pub = row.publisher;
  const Sha256 id = row.id;
  std::weak_ptr<bool> alive = m_alive;
  boost::asio::post(m_workers, [this, alive, folder, pub, id, save] {
    auto v = bundle::verify_bundle(folder, {pub, 1});
    boost::asio::post(m_io, [this, alive, v = std::move(v), id, save]() mutable {
      if (alive.expired()) return;
      // Collected (storage policy) or denied while it was being verified.
      if (auto now = m_catalog.bundle(id); !now || !now.value() || now.value()->state != catalog::BundleState::verified) {
        return;
      }
      if (!v || v.value().torrent.info_hash_v2 != id) {
        count(v ? make_error_code(errc::bundle_mismatch) : v.error());
        (void)m_catalog.set_state(id, catalog::BundleState::failed, v ? "bundle_mismatch" : error_name(v.error()));
        warn("bundle " + to_hex(id) + " no longer verifies; marked failed");
        return;
      }
      auto k = m_swarm->add_seed({v.value().torrent.bytes, save, true});
      if (!k) return;
      BundleFetch f;
      f.id = id;
      f.publisher = v.value().manifest.data().publisher;
      f.stage = Stage::seeding;
      f.save_path = save;
      m_bundles[k.value()] = std::move(f);
      m_swarm->save_resume(k.value());
    });
  });
}

void Node::fill_media(std::vector<catalog::BundleRow> rows) {
  if (rows.empty()) return;
  std::weak_ptr<bool> alive = m_alive;
  boost::asio::post(m_workers, [this, alive, rows = std::move(rows)] {
    // The manifest alone, verified as the gateway does before serving it:
    // what the status is read from is what readers would be shown.
    std::vector<std::pair<Sha256, std::string_view>> found;
    std::vector<Sha256> unreadable;
    for (const auto& r : rows) {
      const auto bytes = read_file_bounded(fs::path(r.path) / std::string(kManifestPath), kMaxManifestBytes);
      const auto m = bytes ? verify_manifest(bytes.value(), &r.publisher) : Result<VerifiedManifest>(bytes.error());
      if (m) {
        found.emplace_back(r.id, media_status(m.value().data()));
      } else {
        unreadable.push_back(r.id);
      }
    }
    boost::asio::post(m_io, [this, alive, found = std::move(found), unreadable = std::move(unreadable)] {
      if (alive.expired()) return;
      for (const auto& [id, media] : found) {
        // A bundle collected meanwhile is simply gone.
        if (auto s = m_catalog.set_media(id, media); !s && s.error() != catalog::catalog_errc::not_found) {
          warn("cannot record the media status of bundle " + to_hex(id) + ": " + s.error().message());
        }
      }
      for (const auto& id : unreadable) {
        warn("the manifest of bundle " + to_hex(id) + " cannot be read or verified; its media status stays unknown");
      }
    });
  });
}

void Node::shutdown(std::chrono::milliseconds limit, std::function<void()> done) {
  m_poll_timer.cancel();
  m_republish_timer.cancel();
  m_resume_timer.cancel();
  m_retry_timer.cancel();
  m_shutdown_done = std::move(done);
  m_pending_resume = m_swarm != nullptr ? m_swarm->save_resume_all() : 0;
  if (m_pending_resume == 0) {
    auto d = std::exchange(m_shutdown_done, nullptr);
    d();
    return;
  }
  m_shutdown_timer.expires_after(limit);
  m_shutdown_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !m_shutdown_done) return;
    warn("stopping before all resume data was saved");
    auto d = std::exchange(m_shutdown_done, nullptr);
    d();
  });
}

void Node::on_resume_data(const swarm::TorrentKey& key, std::vector<char> data) {
  if (!data.empty()) {
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    if (auto w = write_file_atomic(resume_file(key), bytes, 0600, Replace::allow); !w) {
      warn("cannot save resume data: " + w.error().message());
    }
  }
  if (m_shutdown_done && m_pending_resume > 0 && --m_pending_resume == 0) {
    m_shutdown_timer.cancel();
    auto d = std::exchange(m_shutdown_done, nullptr);
    d();
  }
}

tamizdat::v1::Response Node::failure(const boost::system::error_code& ec, std::string_view what) {
  return control::error_response(error_name(ec), std::string(what) + ": " + ec.message());
}

tamizdat::v1::Response Node::refuse(const boost::system::error_code& ec, std::string_view what) {
  count(ec);
  return failure(ec, what);
}

void Node::handle(const tamizdat::v1::Request& request, control::Reply reply) {
  switch (request.body_case()) {
    case tamizdat::v1::Request::kStatus:
      return reply(status());
    case tamizdat::v1::Request::kFollow:
      return reply(follow(request.follow()));
    case tamizdat::v1::Request::kUnfollow:
      return reply(follow(request.unfollow().publisher_id(), false));
    case tamizdat::v1::Request::kList:
      return reply(list(request.list().publisher_id()));
    case tamizdat::v1::Request::kGetHead:
      return reply(get_head(request.get_head().publisher_id()));
    case tamizdat::v1::Request::kShare:
      return reply(share(request.share().id()));
    case tamizdat::v1::Request::kFetch:
      return reply(fetch(request.fetch().link()));
    case tamizdat::v1::Request::kPublish:
      return publish(request.publish(), std::move(reply));
    case tamizdat::v1::Request::kDeny:
      return reply(deny(request.deny()));
    case tamizdat::v1::Request::kDenyList:
      return reply(deny_list());
    case tamizdat::v1::Request::kPin:
      return reply(pin(request.pin()));
    case tamizdat::v1::Request::kPolicy:
      return reply(policy(request.policy()));
    case tamizdat::v1::Request::kGc:
      return reply(gc());
    case tamizdat::v1::Request::BODY_NOT_SET:
      break;
  }
  reply(control::error_response("malformed_request", "empty request"));
}

tamizdat::v1::Response Node::status() {
  tamizdat::v1::Response r;
  auto* s = r.mutable_status();
  if (m_swarm != nullptr) {
    const auto f = m_swarm->stats();
    s->set_dht_nodes(f.dht_nodes);
    s->set_listen_port(f.listen_port);
    s->set_peers(f.peers);
  }
  auto followed = m_catalog.followed();
  auto bundles = m_catalog.bundles();
  auto rejected = m_catalog.rejections();
  if (!followed) return failure(followed.error(), "reading the catalogue");
  if (!bundles) return failure(bundles.error(), "reading the catalogue");
  if (!rejected) return failure(rejected.error(), "reading the catalogue");
  s->set_followed(static_cast<std::uint32_t>(followed.value().size()));
  s->set_bundles(static_cast<std::uint32_t>(bundles.value().size()));
  for (const auto& [reason, n] : rejected.value()) (*s->mutable_rejected())[reason] = n;
  s->set_gateway(m_options.gateway_url);
  fill_storage(*s);
  r.set_ok(true);
  return r;
}

Result<void> Node::start_following(const PublicKey& publisher, const std::optional<catalog::PublisherPolicy>& policy) {
  if (is_denied(publisher)) return errc::denied;
  BOOST_OUTCOME_TRY(already, m_catalog.is_followed(publisher));
  if (!already) {
    BOOST_OUTCOME_TRY(followed, m_catalog.followed());
    if (followed.size() >= m_options.max_followed) return errc::too_many_followed;
  }
  BOOST_OUTCOME_TRY(m_catalog.transaction([&]() -> Result<void> {
    BOOST_OUTCOME_TRY(m_catalog.follow(publisher, m_clock()));
    if (!policy) return success();
    // Fields not given keep what was set before.
    BOOST_OUTCOME_TRY(all, m_catalog.policies());
    catalog::PublisherPolicy p = all[publisher];
    if (policy->quota) p.quota = policy->quota;
    if (policy->keep_newest) p.keep_newest = policy->keep_newest;
    if (policy->keep_days) p.keep_days = policy->keep_days;
    return m_catalog.set_policy(publisher, p);
  }));
  // Look the channel up now rather than at the next poll.
  if (m_swarm != nullptr) m_swarm->get_pointer(publisher);
  return success();
}

tamizdat::v1::Response Node::follow(const tamizdat::v1::FollowRequest& req) {
  auto key = decode_publisher_id(req.publisher_id());
  if (!key) return refuse(key.error(), "publisher ID");
  std::optional<catalog::PublisherPolicy> policy;
  if (req.has_quota() || req.has_keep_newest() || req.has_keep_days()) {
    if (req.quota() > kMaxQuota) return refuse(errc::oversized, "quota (at most 1 EiB)");
    policy.emplace();
    if (req.has_quota()) policy->quota = req.quota();
    if (req.has_keep_newest()) policy->keep_newest = req.keep_newest();
    if (req.has_keep_days()) policy->keep_days = req.keep_days();
  }
  if (auto f = start_following(key.value(), policy); !f) return failure(f.error(), "following");
  tamizdat::v1::Response r;
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::follow(const std::string& id, bool on) {
  auto key = decode_publisher_id(id);
  if (!key) return refuse(key.error(), "publisher ID");
  tamizdat::v1::Response r;
  if (on) {
    if (auto f = start_following(key.value()); !f) return failure(f.error(), "following");
  } else {
    auto was = m_catalog.unfollow(key.value());
    if (!was) return failure(was.error(), "unfollowing");
    if (!was.value()) return control::error_response("not_followed", "that publisher was not followed");
  }
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::list(const std::string& id) {
  std::optional<PublicKey> only;
  if (!id.empty()) {
    auto key = decode_publisher_id(id);
    if (!key) return refuse(key.error(), "publisher ID");
    only = key.value();
  }
  auto rows = m_catalog.bundles(only);
  if (!rows) return failure(rows.error(), "reading the catalogue");
  tamizdat::v1::Response r;
  auto* l = r.mutable_list();
  for (const auto& b : rows.value()) {
    auto* e = l->add_bundles();
    e->set_bundle_id(to_hex(b.id));
    e->set_publisher_id(b.publisher == PublicKey{} ? std::string() : encode_publisher_id(b.publisher));
    e->set_title(b.title);
    e->set_state(std::string(catalog::state_name(b.state)));
    e->set_path(b.path);
    e->set_size(b.size);
    e->set_own(b.own);
    e->set_error(b.error);
    e->set_pinned(b.pinned);
    std::uint64_t done = b.state == catalog::BundleState::verified ? b.size : 0;
    if (b.state == catalog::BundleState::downloading && m_swarm != nullptr) {
      if (auto p = m_swarm->progress(b.info_hash_v1)) done = p->has_metadata ? p->done : 0;
    }
    e->set_downloaded(done);
  }
  if (only) {
    auto held = m_catalog.head(*only);
    if (!held) return failure(held.error(), "reading the catalogue");
    if (held.value()) {
      if (auto h = verify_head(held.value()->envelope, &*only)) {
        l->set_head_seq(h.value().data().seq);
        l->set_head_bundles(static_cast<std::uint32_t>(h.value().data().bundles.size()));
      }
    }
  }
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::get_head(const std::string& id) {
  auto key = decode_publisher_id(id);
  if (!key) return refuse(key.error(), "publisher ID");
  auto held = m_catalog.head(key.value());
  if (!held) return failure(held.error(), "reading the catalogue");
  tamizdat::v1::Response r;
  auto* g = r.mutable_get_head();
  if (held.value()) g->set_envelope(held.value()->envelope.data(), held.value()->envelope.size());
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::share(const std::string& id) {
  tamizdat::v1::Response r;
  auto* s = r.mutable_share();
  if (id.empty()) {
    auto own = m_catalog.own_channels();
    if (!own) return failure(own.error(), "reading the catalogue");
    for (const auto& k : own.value()) s->add_links(encode_publisher_id(k));
    r.set_ok(true);
    return r;
  }
  if (id.size() == 64) {
    const auto bid = parse_bundle_id(id);
    if (!bid) return failure(errc::bad_link, "bundle ID");
    auto row = m_catalog.bundle(*bid);
    if (!row) return failure(row.error(), "reading the catalogue");
    if (!row.value() || row.value()->publisher == PublicKey{}) return failure(errc::no_such_bundle, id);
    const auto& b = *row.value();
    s->add_links(swarm::make_bundle_link(b.info_hash_v1, b.id, b.title, b.publisher));
    r.set_ok(true);
    return r;
  }
  auto key = decode_publisher_id(id);
  if (!key) return failure(key.error(), "publisher ID");
  s->add_links(encode_publisher_id(key.value()));
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::fetch(const std::string& link) {
  tamizdat::v1::Response r;
  if (auto key = decode_publisher_id(link)) {
    if (auto f = start_following(key.value()); !f) return failure(f.error(), "following");
    r.mutable_fetch()->set_publisher_id(encode_publisher_id(key.value()));
    r.set_ok(true);
    return r;
  }
  auto parsed = swarm::parse_bundle_link(link);
  if (!parsed) return refuse(parsed.error(), "link");
  const auto& l = parsed.value();
  // The bundle ID (the v2 hash) is what the node keys bundles by and what
  // the metadata is checked against: a v1-only link is not enough.
  if (!l.bundle_id) return refuse(errc::bad_link, "link without a bundle ID (urn:btmh)");
  if (auto f = fetch_bundle(l); !f) return failure(f.error(), f.error() == errc::denied ? "link" : "recording the bundle");
  r.mutable_fetch()->set_bundle_id(to_hex(*l.bundle_id));
  r.set_ok(true);
  return r;
}

Result<void> Node::fetch_bundle(const swarm::BundleLink& l) {
  if (is_denied_bundle(*l.bundle_id) || (l.publisher && is_denied(*l.publisher))) return errc::denied;
  BOOST_OUTCOME_TRY(row, m_catalog.bundle(*l.bundle_id));
  if (row && row->state != catalog::BundleState::failed) return success();
  catalog::BundleRow b;
  b.id = *l.bundle_id;
  b.info_hash_v1 = l.info_hash_v1;
  if (l.publisher) b.publisher = *l.publisher;
  b.title = l.name.substr(0, kMaxTitleBytes);
  b.size = 0;  // unknown until the metadata arrives (the link says nothing)
  b.path = bundle_save_path(b.id).string();
  b.added_at = m_clock();
  BOOST_OUTCOME_TRY(m_catalog.upsert_bundle(b));
  start_bundle(b.id, b.info_hash_v1, l.publisher, kMaxBundleSize);
  return success();
}

// Publishing: everything arrives signed; the node checks it all again, copies
// the bundle into its store, verifies the copy, and only then stores the head
// and announces it.
void Node::publish(const tamizdat::v1::PublishRequest& req, control::Reply reply) {
  const std::vector<std::uint8_t> envelope(req.head_envelope().begin(), req.head_envelope().end());
  auto head = verify_head(envelope);
  if (!head) return reply(refuse(head.error(), "channel head"));
  const PublicKey pub = head.value().data().publisher;
  auto held = m_catalog.head(pub);
  if (!held) return reply(failure(held.error(), "reading the catalogue"));
  if (held.value()) {
    auto current = verify_head(held.value()->envelope, &pub);
    if (current) {
      const HeadVerdict v = judge_head(&current.value(), head.value());
      if (v == HeadVerdict::equivocation) return reply(failure(errc::equivocation, "channel head"));
      if (v != HeadVerdict::accept) {
        return reply(failure(errc::stale_head, "this node holds seq " + std::to_string(current.value().data().seq)));
      }
    }
  }
  auto checked = pointer_for(head.value(), std::span(reinterpret_cast<const std::uint8_t*>(req.dht_signature().data()),
                                                    req.dht_signature().size()));
  if (!checked) return reply(refuse(checked.error(), "DHT item"));
  const swarm::SignedPointer pointer = checked.value();
  const fs::path dir = req.bundle_dir();
  if (!dir.is_absolute()) return reply(control::error_response("malformed_request", "bundle_dir must be absolute"));

  // Verify the folder, copy it into the store, verify the copy: what is
  // seeded is then exactly what was signed, whatever happens to the folder.
  const fs::path store = m_options.data_dir / "bundles";
  std::weak_ptr<bool> alive = m_alive;
  auto verified_head = std::make_shared<VerifiedHead>(std::move(head).value());
  boost::asio::post(m_workers, [this, alive, dir, store, pub, verified_head, pointer, reply = std::move(reply)]() mutable {
    Diag diag;
    auto result = [&]() -> Result<std::pair<bundle::VerifiedBundle, fs::path>> {
      BOOST_OUTCOME_TRY(src, bundle::verify_bundle(dir, {pub, 0}, &diag));
      const fs::path save = store / to_hex(src.torrent.info_hash_v2);
      const fs::path folder = save / src.torrent.name;
      std::error_code ec;
      if (!fs::exists(folder, ec)) {
        const fs::path staging = save / (".staging-" + src.torrent.name);
        fs::remove_all(staging, ec);
        fs::create_directories(staging, ec);
        if (ec) return boost::system::error_code(ec.value(), boost::system::system_category());
        for (const auto& f : src.manifest.data().files) {
          const fs::path to = staging / f.path.str();
          fs::create_directories(to.parent_path(), ec);
          if (!ec) fs::copy_file(dir / f.path.str(), to, fs::copy_options::overwrite_existing, ec);
          if (ec) return boost::system::error_code(ec.value(), boost::system::system_category());
        }
        fs::create_directories(staging / kManifestDir, ec);
        if (ec) return boost::system::error_code(ec.value(), boost::system::system_category());
        BOOST_OUTCOME_TRY(write_file_atomic(staging / kManifestPath, src.manifest.envelope(), 0644, Replace::allow));
        // On disk before it takes its name: the catalogue is about to call it
        // verified, and after a power cut it would be seeded as it is.
        BOOST_OUTCOME_TRY(sync_tree(staging));
        fs::rename(staging, folder, ec);
        if (ec) return boost::system::error_code(ec.value(), boost::system::system_category());
      }
      BOOST_OUTCOME_TRY(sync_dir(save));
      BOOST_OUTCOME_TRY(sync_dir(store));
      BOOST_OUTCOME_TRY(copy, bundle::verify_bundle(folder, {pub, 0}, &diag));
      if (copy.torrent.info_hash_v2 != src.torrent.info_hash_v2) return errc::file_changed;
      return std::make_pair(std::move(copy), save);
    }();
    boost::asio::post(m_io, [this, alive, result = std::move(result), diag, verified_head, pointer,
                             reply = std::move(reply)]() mutable {
      if (alive.expired()) return;
      if (!result) {
        auto resp = failure(result.error(), "bundle");
        if (!diag.file.empty()) resp.set_message(resp.message() + ": " + diag.file);
        return reply(resp);
      }
      auto& [b, save] = result.value();
      const HeadData& h = verified_head->data();
      const auto entry = std::find_if(h.bundles.begin(), h.bundles.end(),
                                      [&](const HeadEntry& e) { return e.bundle_id == b.torrent.info_hash_v2; });
      if (entry == h.bundles.end() || entry->info_hash_v1 != b.torrent.info_hash_v1 ||
          entry->size != b.manifest.total_size() + b.manifest.envelope().size()) {
        return reply(failure(errc::not_in_head, "the signed head does not list this bundle as it is"));
      }
      catalog::BundleRow row;
      row.id = b.torrent.info_hash_v2;
      row.info_hash_v1 = b.torrent.info_hash_v1;
      row.publisher = h.publisher;
      row.title = b.manifest.data().title;
      row.state = catalog::BundleState::verified;
      row.size = b.manifest.total_size() + b.manifest.envelope().size();
      row.path = (save / b.torrent.name).string();
      row.added_at = m_clock();
      row.own = true;
      row.media = std::string(media_status(b.manifest.data()));
      auto stored = m_catalog.transaction([&]() -> Result<void> {
        BOOST_OUTCOME_TRY(m_catalog.upsert_bundle(row));
        BOOST_OUTCOME_TRY(m_catalog.store_head(*verified_head, pointer.signature, m_clock()));
        return m_catalog.mark_own_channel(h.publisher, m_clock());
      });
      if (!stored) return reply(failure(stored.error(), "recording the publication"));
      if (auto k = m_swarm->add_seed({b.torrent.bytes, save, true})) {
        BundleFetch f;
        f.id = row.id;
        f.publisher = h.publisher;
        f.stage = Stage::seeding;
        f.save_path = save;
        m_bundles[k.value()] = std::move(f);
        m_swarm->save_resume(k.value());
      }
      if (auto s = seed_head(*verified_head); !s) warn("cannot seed the new head: " + s.error().message());
      m_pointers[h.publisher] = pointer;
      put_pointer(h.publisher);
      schedule_bundles(*verified_head);
      info("published bundle " + to_hex(row.id) + " as seq " + std::to_string(h.seq) + " of " +
           encode_publisher_id(h.publisher));
      tamizdat::v1::Response r;
      auto* p = r.mutable_publish();
      p->set_bundle_id(to_hex(row.id));
      p->set_publisher_id(encode_publisher_id(h.publisher));
      p->set_seq(h.seq);
      p->set_magnet(swarm::make_bundle_link(row.info_hash_v1, row.id, row.title, row.publisher));
      r.set_ok(true);
      reply(r);
    });
  });
}

}  // namespace tz::node
