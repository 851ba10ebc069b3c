#include "swarm/session.h"

#include "swarm/dht.h"
#include "swarm/settings.h"

#include <libtorrent/alert_types.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_stats.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/write_resume_data.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <map>

namespace tz::swarm {
namespace {

TorrentKey key_of(const lt::info_hash_t& ih) {
  TorrentKey k{};
  std::copy(ih.v1.begin(), ih.v1.end(), k.begin());
  return k;
}

lt::sha1_hash to_lt(const Sha1& h) { return lt::sha1_hash(reinterpret_cast<const char*>(h.data())); }
lt::sha256_hash to_lt(const Sha256& h) { return lt::sha256_hash(reinterpret_cast<const char*>(h.data())); }

std::optional<lt::tcp::endpoint> parse_endpoint(const std::string& s) {
  const auto hp = split_host_port(s);
  if (!hp) return std::nullopt;
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(hp->first, ec);
  if (ec) return std::nullopt;
  return lt::tcp::endpoint(addr, hp->second);
}

lt::settings_pack debug_settings(lt::settings_pack p) {
  if (std::getenv("TZ_DEBUG_ALERTS") != nullptr) p.set_int(lt::settings_pack::alert_mask, static_cast<int>(lt::alert_category::all));
  return p;
}

}  // namespace

struct Session::Impl : std::enable_shared_from_this<Session::Impl> {
  struct Entry {
    lt::torrent_handle handle;
    std::vector<lt::file_index_t> files;  // TorrentMeta index -> libtorrent file index
    TorrentProgress progress;
    bool from_link = false;  // fetched by link: the node chooses files after on_metadata
    bool chosen = false;     // set_wanted_files was called at least once
    // Completions waiting for their data to reach the disk: libtorrent may
    // report a piece passed while it is still in its write buffers.
    std::vector<std::size_t> completed_files;
    bool finished = false;
    int flushes = 0;  // flush_cache calls not yet answered; report after the last
    // prioritize_files calls whose disk job has not answered yet. libtorrent
    // applies new piece priorities only when it answers: a torrent leaving
    // upload mode before that would request pieces of files it was just told
    // not to fetch, and libtorrent 2.0.8 keeps such pieces in its part file,
    // from which it later fails to export half-written ones ("partfile_write:
    // End of file"). So upload mode ends only when the last one answered.
    int priorities_pending = 0;
    bool release_upload_mode = false;
    std::vector<lt::download_priority_t> priorities;  // the latest set_wanted_files choice
    int stalled_polls = 0;  // redial_peers calls in a row that found it stalled
    bool resume_wanted = false;  // save_resume was asked before libtorrent finished adding it
    std::string last_file_error;  // operation and file of the latest file_error_alert
  };

  Impl(boost::asio::io_context& io_, const SwarmOptions& o, Events& ev, std::vector<std::string> peer_list)
      : io(io_), events(ev), session(lt::session_params(debug_settings(make_settings(o)))), timer(io_) {
    peers_idx = lt::find_metric_idx("peer.num_peers_connected");
    for (const auto& p : peer_list) {
      if (auto ep = parse_endpoint(p)) peers.push_back(*ep);
    }
    dht_seeds = private_dht_nodes(o);
  }

  // Adds the private DHT's bootstrap nodes (see private_dht_nodes); again
  // whenever the routing table is empty (they may have been down and dropped).
  void seed_dht() {
    for (const auto& n : dht_seeds) session.add_dht_node(n);
  }

  void start() {
    // libtorrent calls this from its own thread: only post, never touch state.
    std::weak_ptr<Impl> weak = shared_from_this();
    session.set_alert_notify([weak, &ctx = io] {
      boost::asio::post(ctx, [weak] {
        if (auto self = weak.lock()) self->drain();
      });
    });
    seed_dht();
    tick();
  }

  void tick() {
    if (!dht_seeds.empty() && stats.dht_nodes == 0 && ++empty_ticks % 10 == 0) seed_dht();
    session.post_session_stats();
    session.post_dht_stats();
    session.post_torrent_updates();
    timer.expires_after(std::chrono::seconds(1));
    std::weak_ptr<Impl> weak = shared_from_this();
    timer.async_wait([weak](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->tick();
    });
  }

  Entry* find(const TorrentKey& k) {
    const auto it = torrents.find(k);
    return it == torrents.end() ? nullptr : &it->second;
  }

  // Reads the metadata of a torrent in the session, mapping file indices.
  TorrentMeta describe(Entry& e) {
    TorrentMeta m;
    e.files.clear();
    const auto ti = e.handle.torrent_file();
    if (!ti) return m;
    const lt::file_storage& fs = ti->files();
    m.name = fs.name();
    for (const lt::file_index_t fi : fs.file_range()) {
      if (fs.pad_file_at(fi)) continue;
      MetaFile f;
      f.path = fs.file_path(fi);
      f.size = static_cast<std::uint64_t>(fs.file_size(fi));
      if (ti->v2() && f.size > 0) {
        const lt::sha256_hash r = fs.root(fi);
        Sha256 root{};
        std::copy(r.begin(), r.end(), root.begin());
        f.root = root;
      }
      m.total_size += f.size;
      m.files.push_back(std::move(f));
      e.files.push_back(fi);
    }
    if (ti->info_hashes().has_v2()) {
      Sha256 v2{};
      std::copy(ti->info_hashes().v2.begin(), ti->info_hashes().v2.end(), v2.begin());
      m.info_hash_v2 = v2;
    }
    return m;
  }

  void dial(const lt::torrent_handle& h) {
    for (const auto& ep : peers) h.connect_peer(ep);
  }

  void drain() {
    std::vector<lt::alert*> alerts;
    session.pop_alerts(&alerts);
    for (lt::alert* a : alerts) {
      if (debug_alerts) std::fprintf(stderr, "alert: %s\n", a->message().c_str());
      handle(a);
    }
  }

  void handle(lt::alert* a) {
    if (const auto* s = lt::alert_cast<lt::session_stats_alert>(a)) {
      const auto counters = s->counters();
      if (peers_idx >= 0) stats.peers = static_cast<std::uint32_t>(counters[peers_idx]);
      stats.listen_port = static_cast<std::uint32_t>(session.listen_port());
    } else if (const auto* ds = lt::alert_cast<lt::dht_stats_alert>(a)) {
      const std::uint32_t before = stats.dht_nodes;
      std::uint32_t nodes = 0;
      for (const auto& bucket : ds->routing_table) nodes += static_cast<std::uint32_t>(bucket.num_nodes);
      stats.dht_nodes = nodes;
      if (before == 0 && stats.dht_nodes > 0) {
        // Torrents added before the DHT had nodes announced to nobody.
        for (auto& [k, e] : torrents) {
          if (e.handle.is_valid()) e.handle.force_dht_announce();
        }
        events.on_dht_ready();
      }
    } else if (const auto* su = lt::alert_cast<lt::state_update_alert>(a)) {
      for (const lt::torrent_status& st : su->status) {
        if (Entry* e = find(key_of(st.info_hashes))) {
          e->progress.done = static_cast<std::uint64_t>(st.total_wanted_done);
          e->progress.total = static_cast<std::uint64_t>(st.total_wanted);
          e->progress.peers = static_cast<std::uint32_t>(st.num_peers);
          e->progress.has_metadata = st.has_metadata;
          e->progress.seeding = st.is_seeding;
          e->progress.finished = st.is_finished;
          e->progress.downloading = st.state == lt::torrent_status::downloading && !st.errc;
        }
      }
    } else if (const auto* ad = lt::alert_cast<lt::add_torrent_alert>(a)) {
      const TorrentKey k = key_of(ad->params.info_hashes);
      Entry* e = find(k);
      if (e == nullptr) {
        // Removed before libtorrent finished adding it.
        if (!ad->error && ad->handle.is_valid()) session.remove_torrent(ad->handle);
        return;
      }
      if (ad->error) {
        const std::string msg = ad->error.message();
        torrents.erase(k);
        events.on_torrent_error(k, msg);
        return;
      }
      e->handle = ad->handle;
      if (std::exchange(e->resume_wanted, false)) ad->handle.save_resume_data(lt::torrent_handle::save_info_dict);
      if (!(ad->handle.flags() & lt::torrent_flags::seed_mode)) dial(ad->handle);
      if (e->from_link && ad->handle.torrent_file()) events.on_metadata(k, describe(*e));
    } else if (const auto* md = lt::alert_cast<lt::metadata_received_alert>(a)) {
      const TorrentKey k = key_of(md->handle.info_hashes());
      if (Entry* e = find(k)) events.on_metadata(k, describe(*e));
    } else if (const auto* fc = lt::alert_cast<lt::file_completed_alert>(a)) {
      const TorrentKey k = key_of(fc->handle.info_hashes());
      if (Entry* e = find(k)) {
        const auto it = std::find(e->files.begin(), e->files.end(), fc->index);
        if (it != e->files.end()) {
          e->completed_files.push_back(static_cast<std::size_t>(it - e->files.begin()));
          ++e->flushes;
          fc->handle.flush_cache();
        }
      }
    } else if (const auto* tf = lt::alert_cast<lt::torrent_finished_alert>(a)) {
      const TorrentKey k = key_of(tf->handle.info_hashes());
      if (Entry* e = find(k)) {
        e->finished = true;
        ++e->flushes;
        tf->handle.flush_cache();
      }
    } else if (const auto* cf = lt::alert_cast<lt::cache_flushed_alert>(a)) {
      const TorrentKey k = key_of(cf->handle.info_hashes());
      Entry* e = find(k);
      if (e == nullptr) return;
      // Pieces that passed after an earlier flush was asked for may not be on
      // disk when that flush answers: report only after the last one.
      if (e->flushes > 0 && --e->flushes > 0) return;
      const auto files = std::exchange(e->completed_files, {});
      const bool finished = std::exchange(e->finished, false);
      for (const std::size_t f : files) {
        events.on_file_complete(k, f);
        if (find(k) == nullptr) return;  // the node removed it
      }
      if (finished) events.on_finished(k, cf->handle.status({}).is_seeding);
    } else if (const auto* fp = lt::alert_cast<lt::file_prio_alert>(a)) {
      Entry* e = find(key_of(fp->handle.info_hashes()));
      if (e == nullptr || e->priorities_pending == 0 || --e->priorities_pending > 0) return;
      if (std::exchange(e->release_upload_mode, false)) {
        fp->handle.unset_flags(lt::torrent_flags::upload_mode);
        dial(fp->handle);
      }
    } else if (const auto* hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
      const TorrentKey k = key_of(hf->handle.info_hashes());
      if (find(k) != nullptr) events.on_hash_failed(k);
    } else if (const auto* pb = lt::alert_cast<lt::peer_ban_alert>(a)) {
      const TorrentKey k = key_of(pb->handle.info_hashes());
      if (find(k) != nullptr) events.on_peer_banned(k);
    } else if (const auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
      // libtorrent follows it with a torrent_error_alert; report once, then.
      if (Entry* e = find(key_of(fe->handle.info_hashes()))) {
        e->last_file_error = std::string(lt::operation_name(fe->op)) + " of " + fe->filename();
      }
    } else if (const auto* te = lt::alert_cast<lt::torrent_error_alert>(a)) {
      const TorrentKey k = key_of(te->handle.info_hashes());
      Entry* e = find(k);
      if (e == nullptr) return;
      // A failed priority change answers with an error instead of file_prio_alert.
      e->priorities_pending = 0;
      std::string what = te->error.message();
      const std::string where = std::exchange(e->last_file_error, {});
      const std::string file = te->filename();
      if (!where.empty()) {
        what += " (" + where + ")";
      } else if (!file.empty()) {
        what += " (" + file + ")";
      }
      events.on_torrent_error(k, what);
    } else if (const auto* rd = lt::alert_cast<lt::save_resume_data_alert>(a)) {
      const TorrentKey k = key_of(rd->params.info_hashes);
      events.on_resume_data(k, lt::write_resume_data_buf(rd->params));
    } else if (const auto* rf = lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
      events.on_resume_data(key_of(rf->handle.info_hashes()), {});
    } else if (const auto* put = lt::alert_cast<lt::dht_put_alert>(a)) {
      if (put->salt != kDhtSalt) return;
      PublicKey pk;
      std::transform(put->public_key.begin(), put->public_key.end(), pk.bytes.begin(),
                     [](char c) { return static_cast<std::uint8_t>(c); });
      events.on_put(pk, put->seq, put->num_success);
    } else if (const auto* mi = lt::alert_cast<lt::dht_mutable_item_alert>(a)) {
      if (mi->salt != kDhtSalt) return;
      PublicKey pk;
      std::transform(mi->key.begin(), mi->key.end(), pk.bytes.begin(),
                     [](char c) { return static_cast<std::uint8_t>(c); });
      // A lookup reports each newer item as it arrives (a traversal can take
      // seconds when some nodes are gone), then a final answer; nothing found
      // is an empty final item. Each is checked again here.
      if (mi->item.type() == lt::entry::undefined_t) {
        if (mi->authoritative) events.on_pointer(pk, std::optional<SignedPointer>());
        return;
      }
      events.on_pointer(pk, read_channel_pointer(a));
    }
  }

  boost::asio::io_context& io;
  Events& events;
  lt::session session;
  boost::asio::steady_timer timer;
  std::vector<lt::tcp::endpoint> peers;
  std::map<TorrentKey, Entry> torrents;
  // TZ_DEBUG_ALERTS=1: every libtorrent alert on stderr (debugging only).
  const bool debug_alerts = std::getenv("TZ_DEBUG_ALERTS") != nullptr;
  int peers_idx = -1;
  SwarmStats stats;
  std::vector<std::pair<std::string, int>> dht_seeds;  // private DHT: bootstrap nodes (see seed_dht)
  unsigned empty_ticks = 0;
};

Session::Session(boost::asio::io_context& io, const SwarmOptions& options, Events& events,
                 std::vector<std::string> peers)
    : m_impl(std::make_shared<Impl>(io, options, events, std::move(peers))) {
  m_impl->start();
}

Session::~Session() {
  m_impl->timer.cancel();
  m_impl->session.set_alert_notify([] {});
}

SwarmStats Session::stats() const {
  SwarmStats s = m_impl->stats;
  if (s.listen_port == 0) s.listen_port = static_cast<std::uint32_t>(m_impl->session.listen_port());
  return s;
}

Result<TorrentKey> Session::add_seed(const AddSeed& a) {
  lt::error_code ec;
  auto ti = std::make_shared<lt::torrent_info>(
      lt::span<const char>(reinterpret_cast<const char*>(a.torrent.data()), static_cast<std::ptrdiff_t>(a.torrent.size())),
      ec, lt::from_span);
  if (ec || !ti->info_hashes().has_v1()) return errc::torrent_mismatch;
  const TorrentKey k = key_of(ti->info_hashes());
  if (m_impl->find(k) != nullptr) return k;
  lt::add_torrent_params p;
  p.ti = std::move(ti);
  p.save_path = a.save_path.string();
  if (a.verified) p.flags |= lt::torrent_flags::seed_mode;
  p.flags |= lt::torrent_flags::need_save_resume;  // nothing on disk yet (see save_resume_all)
  p.flags &= ~lt::torrent_flags::auto_managed;
  p.flags &= ~lt::torrent_flags::paused;
  m_impl->torrents[k] = Impl::Entry{};
  m_impl->session.async_add_torrent(std::move(p));
  return k;
}

Result<TorrentKey> Session::add_resumed(const std::vector<char>& resume, const std::filesystem::path& save_path,
                                        bool complete) {
  lt::error_code ec;
  lt::add_torrent_params p = lt::read_resume_data(resume, ec);
  if (ec || !p.info_hashes.has_v1() || !p.ti) return errc::torrent_mismatch;
  if (complete && !(p.flags & lt::torrent_flags::seed_mode)) {
    const int n = p.ti->num_pieces();
    if (p.have_pieces.size() < n) return errc::file_missing;
    for (lt::piece_index_t i{0}; i < lt::piece_index_t{n}; ++i) {
      if (!p.have_pieces[i]) return errc::file_missing;
    }
  }
  const TorrentKey k = key_of(p.info_hashes);
  if (m_impl->find(k) != nullptr) return k;
  p.save_path = save_path.string();
  p.flags &= ~lt::torrent_flags::auto_managed;
  p.flags &= ~lt::torrent_flags::paused;
  // Whatever state it was saved in, nothing is downloaded until the node has
  // looked at it again (on_metadata, then set_wanted_files).
  p.flags |= lt::torrent_flags::upload_mode;
  Impl::Entry e;
  e.from_link = true;
  m_impl->torrents[k] = std::move(e);
  m_impl->session.async_add_torrent(std::move(p));
  return k;
}

void Session::add_by_link(const AddByLink& a) {
  if (m_impl->find(a.info_hash_v1) != nullptr) return;
  lt::add_torrent_params p;
  p.info_hashes.v1 = to_lt(a.info_hash_v1);
  if (a.info_hash_v2) p.info_hashes.v2 = to_lt(*a.info_hash_v2);
  p.save_path = a.save_path.string();
  p.flags &= ~lt::torrent_flags::auto_managed;
  p.flags &= ~lt::torrent_flags::paused;
  p.flags |= lt::torrent_flags::upload_mode;
  p.flags |= lt::torrent_flags::need_save_resume;
  Impl::Entry e;
  e.from_link = true;
  m_impl->torrents[a.info_hash_v1] = std::move(e);
  m_impl->session.async_add_torrent(std::move(p));
}

void Session::set_wanted_files(const TorrentKey& key, const std::vector<bool>& wanted) {
  Impl::Entry* e = m_impl->find(key);
  if (e == nullptr || !e->handle.is_valid()) return;
  const auto ti = e->handle.torrent_file();
  if (!ti) return;
  std::vector<lt::download_priority_t> prios(static_cast<std::size_t>(ti->num_files()), lt::dont_download);
  for (std::size_t i = 0; i < e->files.size() && i < wanted.size(); ++i) {
    if (wanted[i]) prios[static_cast<std::size_t>(static_cast<int>(e->files[i]))] = lt::default_priority;
  }
  e->handle.prioritize_files(prios);
  e->priorities = std::move(prios);
  ++e->priorities_pending;
  // Torrents added by link or from resume data wait in upload mode for their
  // first choice of files (see Entry::priorities_pending).
  if (e->from_link && !e->chosen) {
    e->chosen = true;
    e->release_upload_mode = true;
  } else {
    m_impl->dial(e->handle);
  }
}

void Session::retry(const TorrentKey& key) {
  Impl::Entry* e = m_impl->find(key);
  if (e == nullptr || !e->handle.is_valid()) return;
  e->handle.clear_error();
  if (e->release_upload_mode) {
    // The error may have been the choice of files itself: choose again.
    e->handle.prioritize_files(e->priorities);
    ++e->priorities_pending;
  }
  e->handle.resume();
  if (!e->release_upload_mode) m_impl->dial(e->handle);
}

void Session::remove(const TorrentKey& key, bool delete_files) {
  Impl::Entry* e = m_impl->find(key);
  if (e == nullptr) return;
  if (e->handle.is_valid()) {
    m_impl->session.remove_torrent(e->handle, delete_files ? lt::session::delete_files : lt::remove_flags_t{});
  }
  m_impl->torrents.erase(key);
}

bool Session::has(const TorrentKey& key) const { return m_impl->find(key) != nullptr; }

std::optional<TorrentProgress> Session::progress(const TorrentKey& key) const {
  const Impl::Entry* e = m_impl->find(key);
  if (e == nullptr) return std::nullopt;
  return e->progress;
}

bool Session::file_complete(const TorrentKey& key, std::size_t index) const {
  const Impl::Entry* e = m_impl->find(key);
  if (e == nullptr || !e->handle.is_valid() || index >= e->files.size()) return false;
  const auto ti = e->handle.torrent_file();
  if (!ti) return false;
  const std::vector<std::int64_t> done = e->handle.file_progress(lt::torrent_handle::piece_granularity);
  const auto fi = static_cast<std::size_t>(static_cast<int>(e->files[index]));
  return fi < done.size() && done[fi] == ti->files().file_size(e->files[index]);
}

std::uint64_t Session::verified_bytes(const TorrentKey& key, std::size_t index, std::uint64_t offset,
                                      std::uint64_t max) const {
  const Impl::Entry* e = m_impl->find(key);
  if (e == nullptr || !e->handle.is_valid() || index >= e->files.size() || max == 0) return 0;
  const auto ti = e->handle.torrent_file();
  if (!ti) return 0;
  const lt::file_storage& fs = ti->files();
  const lt::file_index_t f = e->files[index];
  const auto file_size = static_cast<std::uint64_t>(fs.file_size(f));
  if (offset >= file_size) return 0;
  max = std::min(max, file_size - offset);
  const lt::torrent_status st = e->handle.status(lt::torrent_handle::query_pieces);
  // A file's bytes are consecutive in the torrent, so walking its pieces from
  // the one holding `offset` counts the verified bytes that follow it.
  const lt::peer_request at = fs.map_file(f, static_cast<std::int64_t>(offset), 0);
  std::uint64_t n = 0;
  auto skip = static_cast<std::uint64_t>(at.start);
  for (lt::piece_index_t p = at.piece; n < max && p < fs.end_piece(); ++p) {
    if (static_cast<int>(p) >= st.pieces.size() || !st.pieces.get_bit(p)) break;
    n += static_cast<std::uint64_t>(fs.piece_size(p)) - skip;
    skip = 0;
  }
  return std::min(n, max);
}

void Session::want_soon(const TorrentKey& key, std::size_t index, std::uint64_t offset, std::uint64_t length) {
  const Impl::Entry* e = m_impl->find(key);
  if (e == nullptr || !e->handle.is_valid() || index >= e->files.size() || length == 0) return;
  const auto ti = e->handle.torrent_file();
  if (!ti) return;
  const lt::file_storage& fs = ti->files();
  const lt::file_index_t f = e->files[index];
  const auto file_size = static_cast<std::uint64_t>(fs.file_size(f));
  if (offset >= file_size) return;
  length = std::min(length, file_size - offset);
  const lt::piece_index_t first = fs.map_file(f, static_cast<std::int64_t>(offset), 0).piece;
  const lt::piece_index_t last = fs.map_file(f, static_cast<std::int64_t>(offset + length - 1), 0).piece;
  const lt::torrent_status st = e->handle.status(lt::torrent_handle::query_pieces);
  int n = 0;
  for (lt::piece_index_t p = first; p <= last && n < kMaxUrgentPieces; ++p, ++n) {
    if (static_cast<int>(p) < st.pieces.size() && st.pieces.get_bit(p)) continue;
    // Time-critical pieces are requested before all others, from the fastest
    // peers; the deadline orders them.
    e->handle.set_piece_deadline(p, 100 * (n + 1));
  }
}

void Session::save_resume(const TorrentKey& key) {
  Impl::Entry* e = m_impl->find(key);
  if (e == nullptr) return;
  // A torrent just added (a bundle just published) has no handle until
  // libtorrent's add_torrent_alert: save it then.
  if (!e->handle.is_valid()) {
    e->resume_wanted = true;
    return;
  }
  e->handle.save_resume_data(lt::torrent_handle::save_info_dict);
}

std::size_t Session::save_resume_all() {
  std::size_t n = 0;
  for (auto& [k, e] : m_impl->torrents) {
    if (!e.handle.is_valid() || !e.handle.torrent_file()) continue;
    // Only what changed since its last save: rewriting (and fsyncing) the
    // resume file of every seeded bundle made stopping a node with 1000
    // bundles take 8.5 s. An unchanged torrent answers with an empty save.
    e.handle.save_resume_data(lt::torrent_handle::save_info_dict | lt::torrent_handle::only_if_modified);
    ++n;
  }
  return n;
}

void Session::put_pointer(const SignedPointer& p) { put_channel_pointer(m_impl->session, p); }

void Session::get_pointer(const PublicKey& publisher) { get_channel_pointer(m_impl->session, publisher); }

void Session::redial_peers() {
  std::vector<TorrentKey> stalled_keys;
  for (auto& [k, e] : m_impl->torrents) {
    if (!e.handle.is_valid() || e.progress.seeding) continue;
    // libtorrent stops dialling an address after 3 failed attempts and waits
    // a minute or more between attempts: a mirror that was down when the
    // download started would never be tried again. A torrent without any
    // peer forgets those failures (and its bans: a hostile peer found again
    // is banned again) and starts over.
    if (e.progress.peers == 0) e.handle.clear_peers();
    m_impl->dial(e.handle);
    const TorrentProgress& p = e.progress;
    const bool stalled = p.has_metadata && p.downloading && !p.finished && p.total > 0 && p.done >= p.total;
    e.stalled_polls = stalled ? e.stalled_polls + 1 : 0;
    if (e.stalled_polls >= 2) {
      e.stalled_polls = 0;
      e.handle.force_recheck();
      stalled_keys.push_back(k);
    }
    // libtorrent looks a torrent up on the DHT every 15 minutes; a torrent
    // that is still fetching asks again at every poll, so it finds the
    // mirrors that appeared (or learns that the first peers it found left).
    e.handle.force_dht_announce();
  }
  for (const auto& k : stalled_keys) m_impl->events.on_stalled(k);
}

}  // namespace tz::swarm
