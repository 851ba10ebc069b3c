// The daemon's one libtorrent session. libtorrent runs its own threads; its
// alerts are handed to the daemon's io_context (set_alert_notify posts a
// drain there), so everything the rest of the daemon sees happens on the io
// thread, without locks. Construct, use and destroy on the io thread.
//
// The session speaks in Tamizdat's terms, so the node never names a
// libtorrent type: torrents are known by their v1 info-hash (every Tamizdat
// torrent is a hybrid and has one), and what happens to them arrives through
// the Events interface. Torrents fetched by link start in upload mode: they
// download nothing but metadata until the node has looked at the metadata
// and chosen which files to fetch (manifest first, sizes bounded).
#pragma once

#include "core/ids.h"
#include "core/manifest.h"
#include "core/result.h"
#include "swarm/pointer.h"
#include "swarm/settings.h"
#include "swarm/torrent.h"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tz::swarm {

struct SwarmStats {
  std::uint32_t dht_nodes = 0;    // nodes in the DHT routing table
  std::uint32_t listen_port = 0;  // 0 until listening
  std::uint32_t peers = 0;        // connected peers, all torrents
};

using TorrentKey = Sha1;  // a torrent's v1 info-hash

// The most pieces one Session::want_soon call marks urgent.
inline constexpr int kMaxUrgentPieces = 16;

struct MetaFile {
  std::string path;  // as in the torrent, top-level folder first ("name/dir/file")
  std::uint64_t size = 0;
  std::optional<Sha256> root;  // v2 pieces root; absent for empty files
};

// What a torrent's metadata says, pad files left out.
struct TorrentMeta {
  std::string name;
  std::vector<MetaFile> files;
  std::uint64_t total_size = 0;          // sum of file sizes, without padding
  std::optional<Sha256> info_hash_v2;    // absent for a v1-only torrent
};

struct TorrentProgress {
  std::uint64_t done = 0;   // bytes that passed their hash check (wanted files)
  std::uint64_t total = 0;  // bytes wanted
  std::uint32_t peers = 0;
  bool has_metadata = false;
  bool seeding = false;     // every piece is held
  bool finished = false;    // every wanted piece is held
  bool downloading = false; // libtorrent is fetching pieces (not checking, not in error)
};

// What the session tells the node. Called on the io thread.
class Events {
 public:
  virtual ~Events() = default;
  // A torrent's metadata is known (fetched from peers, or present when it was
  // added). It downloads nothing until set_wanted_files is called.
  virtual void on_metadata(const TorrentKey& key, const TorrentMeta& meta) = 0;
  // Every piece of the torrent's file `index` (into TorrentMeta::files) passed.
  virtual void on_file_complete(const TorrentKey& key, std::size_t index) = 0;
  // Every wanted piece has passed; `seeding` when that is all of them.
  virtual void on_finished(const TorrentKey& key, bool seeding) = 0;
  // A torrent could not be added, or stopped on a storage error.
  virtual void on_torrent_error(const TorrentKey& key, const std::string& message) = 0;
  // A piece failed its hash check (bad data from some peer).
  virtual void on_hash_failed(const TorrentKey& key) = 0;
  // A peer was banned for sending bad data.
  virtual void on_peer_banned(const TorrentKey& key) = 0;
  // The result of get_pointer: a verified pointer, or an item that failed
  // the checks (counted by the node), or nothing found.
  virtual void on_pointer(const PublicKey& publisher, const Result<std::optional<SignedPointer>>& item) = 0;
  // A put_pointer finished: how many DHT nodes stored the item.
  virtual void on_put(const PublicKey& publisher, std::int64_t seq, int stored) = 0;
  // The DHT's routing table went from empty to holding nodes (start-up, or
  // the network came back): a good moment to put and look up again.
  virtual void on_dht_ready() = 0;
  // A download that stalled with every wanted byte received but a piece never
  // passed is having its data checked again (see Session::redial_peers).
  virtual void on_stalled(const TorrentKey& key) = 0;
  // Resume data asked for by save_resume (bencoded, libtorrent's format).
  virtual void on_resume_data(const TorrentKey& key, std::vector<char> data) = 0;
};

struct AddSeed {
  std::vector<std::uint8_t> torrent;  // the .torrent file
  std::filesystem::path save_path;    // the torrent's top-level folder is inside it
  bool verified = false;              // data already checked: seed without re-hashing
};

struct AddByLink {
  TorrentKey info_hash_v1{};
  std::optional<Sha256> info_hash_v2;
  std::filesystem::path save_path;
};

class Session {
 public:
  // Starts libtorrent with `options`. `peers` ("host:port") are dialled for
  // every torrent that is downloading. Refreshes statistics every second.
  Session(boost::asio::io_context& io, const SwarmOptions& options, Events& events,
          std::vector<std::string> peers = {});
  // Stops libtorrent (bounded by libtorrent's own shutdown timeouts).
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The latest statistics (at most about a second old).
  [[nodiscard]] SwarmStats stats() const;

  // Adds a torrent whose data is on disk. Returns its key, or
  // errc::torrent_mismatch for bytes that are not a hybrid torrent.
  [[nodiscard]] Result<TorrentKey> add_seed(const AddSeed& a);
  // Adds a torrent from resume data saved earlier. Returns its key. With
  // `complete`, resume data that does not record every piece (saved while
  // the torrent was still downloading) is refused with errc::file_missing,
  // and nothing is added.
  [[nodiscard]] Result<TorrentKey> add_resumed(const std::vector<char>& resume, const std::filesystem::path& save_path,
                                               bool complete = false);
  // Starts fetching a torrent's metadata from peers (DHT, configured peers).
  void add_by_link(const AddByLink& a);
  // After on_metadata: downloads only the files marked true (by index into
  // TorrentMeta::files). The first call ends upload mode once libtorrent has
  // applied the choice.
  void set_wanted_files(const TorrentKey& key, const std::vector<bool>& wanted);
  // Clears a torrent's error (on_torrent_error) and lets it go on.
  void retry(const TorrentKey& key);
  // Removes a torrent; with `delete_files` its downloaded data goes too.
  void remove(const TorrentKey& key, bool delete_files);
  [[nodiscard]] bool has(const TorrentKey& key) const;
  [[nodiscard]] std::optional<TorrentProgress> progress(const TorrentKey& key) const;
  // True when every piece of file `index` (into TorrentMeta::files) passed.
  [[nodiscard]] bool file_complete(const TorrentKey& key, std::size_t index) const;
  // How many bytes of file `index`, from byte `offset` on, are held and have
  // passed their hash check, counting at most `max` (0 for an unknown torrent
  // or file, or an offset past the file's end). Asks libtorrent (one call).
  [[nodiscard]] std::uint64_t verified_bytes(const TorrentKey& key, std::size_t index, std::uint64_t offset,
                                             std::uint64_t max) const;
  // Asks for the pieces of file `index` holding bytes [offset, offset +
  // length) ahead of all others, the first soonest (a reader is waiting for
  // them). At most kMaxUrgentPieces pieces are asked for per call.
  void want_soon(const TorrentKey& key, std::size_t index, std::uint64_t offset, std::uint64_t length);

  // Asks for resume data of one torrent (on_resume_data follows, also for a
  // torrent still being added), or of all torrents with metadata that
  // changed since their last save (returns how many answers to expect; an
  // unchanged one answers with empty data).
  void save_resume(const TorrentKey& key);
  std::size_t save_resume_all();

  // DHT channel pointers (see swarm/dht.h).
  void put_pointer(const SignedPointer& p);
  void get_pointer(const PublicKey& publisher);
  // For every torrent still downloading: dials the configured peers again
  // and looks for peers on the DHT again; one with no peer at all first
  // forgets the peers it gave up on. A torrent found at two calls in a row
  // with every wanted byte received but not finished is checked again
  // (on_stalled): libtorrent 2.0.8 can lose track of a piece whose hash
  // check failed while its block was still being written, and never asks
  // for it again.
  void redial_peers();

 private:
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};

}  // namespace tz::swarm
