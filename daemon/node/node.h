// The daemon's behaviour: answering the control socket (status, follow,
// publish, fetch, share, listing), and the life of channels and bundles on
// the network. Everything here runs on the io thread; verifying and copying
// bundles (which read every byte) run on a small worker pool and post their
// results back.
//
// Channels: every poll interval the node looks up the DHT pointer of each
// followed (and own) channel. A pointer newer than the held head names a
// head torrent, which is fetched, verified (signature, publisher, seq equal
// to the pointer's, torrent equal to the canonical one) and judged by the
// mirror rules (core/channel.h). An accepted head is stored, seeded, and its
// signed pointer re-put, now and every republish interval, so a channel
// stays findable while its publisher is offline.
//
// Bundles listed by an accepted head are fetched manifest first: their
// metadata must hash to the bundle ID the head names and be no larger than
// the head says; then only the manifest is downloaded and verified against
// the publisher and the torrent's own file list; then the rest; then the
// whole folder is verified again from disk before it is marked verified.
// Any failure removes the data, marks the bundle failed and counts the reason.
//
// The node is also the reader gateway's Library: it serves a bundle once its
// manifest is verified, only on its signer's origin, and for a bundle still
// downloading only the bytes libtorrent has checked.
#pragma once

#include "catalog/catalog.h"
#include "control/server.h"
#include "gateway/library.h"
#include "node/storage_plan.h"
#include "swarm/links.h"
#include "swarm/session.h"
#include "tamizdat/v1/control.pb.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace tz::node {

// Larger quotas are typos (and SQLite keeps signed 64-bit integers).
inline constexpr std::uint64_t kMaxQuota = std::uint64_t{1} << 60;

// A bundle ID as the control requests give it: 64 hex digits; nullopt otherwise.
[[nodiscard]] std::optional<Sha256> parse_bundle_id(std::string_view text);

// A bundle stopped by this many disk errors is given up (failed, storage_failed).
inline constexpr int kMaxStorageErrors = 3;

struct NodeOptions {
  std::filesystem::path data_dir;
  std::chrono::seconds poll_interval{60};
  std::chrono::seconds republish_interval{600};
  std::chrono::seconds resume_interval{30};
  unsigned worker_threads = 2;
  // Most publishers followed at once (config max_followed).
  std::uint32_t max_followed = 1000;
  // The reader gateway's home page URL, for status; empty when it is off.
  std::string gateway_url;
  // Storage policy (node/storage_plan.h): the node's disk quota in bytes (0:
  // none), and each followed publisher's limits unless set with `policy`.
  std::uint64_t quota = 0;
  storage::Limits publisher_defaults;
};

// Lines for the daemon's log: level (0 error, 1 warn, 2 info, 3 debug) and text.
using LogFn = std::function<void(int level, const std::string& line)>;

class Node final : public swarm::Events, public gateway::Library {
 public:
  Node(boost::asio::io_context& io, catalog::Catalog& catalog, NodeOptions options,
       std::function<std::int64_t()> clock, LogFn log);
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Gives the node its swarm (which takes the node as its Events), then
  // brings back what the catalogue holds: seeds, downloads, DHT pointers.
  void start(swarm::Session& swarm);
  // Tells status where the reader gateway listens (after it started).
  void set_gateway_url(std::string url) { m_options.gateway_url = std::move(url); }
  // Saves resume data of every torrent, then calls `done` (within `limit`).
  void shutdown(std::chrono::milliseconds limit, std::function<void()> done);

  // Answers one control request; `reply` is called once, maybe later.
  void handle(const tamizdat::v1::Request& request, control::Reply reply);

  // swarm::Events
  void on_metadata(const swarm::TorrentKey& key, const swarm::TorrentMeta& meta) override;
  void on_file_complete(const swarm::TorrentKey& key, std::size_t index) override;
  void on_finished(const swarm::TorrentKey& key, bool seeding) override;
  void on_torrent_error(const swarm::TorrentKey& key, const std::string& message) override;
  void on_hash_failed(const swarm::TorrentKey& key) override;
  void on_peer_banned(const swarm::TorrentKey& key) override;
  void on_pointer(const PublicKey& publisher, const Result<std::optional<swarm::SignedPointer>>& item) override;
  void on_resume_data(const swarm::TorrentKey& key, std::vector<char> data) override;
  void on_put(const PublicKey& publisher, std::int64_t seq, int stored) override;
  void on_dht_ready() override;
  void on_stalled(const swarm::TorrentKey& key) override;

  // gateway::Library (node/gateway_source.cpp)
  Result<std::vector<gateway::ChannelSummary>> channels() override;
  gateway::NodeSummary node_status() override;
  std::shared_ptr<const gateway::ServedBundle> bundle(const PublicKey& publisher, const Sha256& id) override;
  std::optional<gateway::BundleSummary> find(const PublicKey& publisher, const Sha256& id) override;
  std::uint64_t readable(const gateway::ServedBundle& b, std::size_t file, std::uint64_t offset,
                         std::uint64_t max) override;
  void want(const gateway::ServedBundle& b, std::size_t file, std::uint64_t offset, std::uint64_t length) override;
  Result<gateway::Opened> open(std::string_view text) override;

 private:
  enum class Stage { metadata, manifest, content, verifying, seeding };
  struct BundleFetch {
    Sha256 id{};
    std::optional<PublicKey> publisher;  // unknown for a bare magnet until its manifest verifies
    std::uint64_t max_size = 0;
    Stage stage = Stage::metadata;
    std::filesystem::path save_path;  // the bundle folder is save_path / meta.name
    swarm::TorrentMeta meta;
    std::size_t manifest_index = 0;
    int storage_errors = 0;       // libtorrent stopped it on a disk error this many times
    bool awaiting_retry = false;  // stopped on one; retried at the next poll
    int overdue_polls = 0;        // polls in a row that found it ready for its next stage (reconcile)
    std::shared_ptr<const VerifiedManifest> manifest;  // once verified (stage content on)
  };
  struct HeadFetch {
    PublicKey publisher;
    swarm::SignedPointer pointer;
    std::string name;  // the head torrent's folder, once its metadata is known
  };

  // control
  tamizdat::v1::Response status();
  tamizdat::v1::Response follow(const std::string& id, bool on);
  // Following with a storage policy (FollowRequest's optional fields).
  tamizdat::v1::Response follow(const tamizdat::v1::FollowRequest& req);
  Result<void> start_following(const PublicKey& publisher,
                               const std::optional<catalog::PublisherPolicy>& policy = std::nullopt);
  tamizdat::v1::Response list(const std::string& id);
  tamizdat::v1::Response get_head(const std::string& id);
  tamizdat::v1::Response share(const std::string& id);
  tamizdat::v1::Response fetch(const std::string& link);
  // Records a bundle link in the catalogue and starts fetching it, unless it
  // is held already (a failed one is tried again). The link has a bundle ID.
  Result<void> fetch_bundle(const swarm::BundleLink& link);
  void publish(const tamizdat::v1::PublishRequest& req, control::Reply reply);
  tamizdat::v1::Response failure(const boost::system::error_code& ec, std::string_view what);
  tamizdat::v1::Response refuse(const boost::system::error_code& ec, std::string_view what);

  // channels
  void poll();
  void republish();
  void save_progress();
  void fetch_head(const PublicKey& publisher, const swarm::SignedPointer& pointer);
  void head_arrived(const swarm::TorrentKey& key);
  // Counts and logs a refused head, removes its torrent and data, and never
  // fetches that torrent again (until a restart).
  void refuse_head(const swarm::TorrentKey& key, const HeadFetch& f, const boost::system::error_code& ec,
                   const std::string& why);
  Result<void> seed_head(const VerifiedHead& head);
  void put_pointer(const PublicKey& publisher);
  void schedule_bundles(const VerifiedHead& head);

  // bundles
  void start_bundle(const Sha256& id, const InfoHashV1& v1, std::optional<PublicKey> publisher, std::uint64_t max_size);
  void bundle_metadata(const swarm::TorrentKey& key, BundleFetch& b, const swarm::TorrentMeta& meta);
  void check_manifest(const swarm::TorrentKey& key, BundleFetch& b);
  void verify_downloaded(const swarm::TorrentKey& key, BundleFetch& b);
  // Removes a bundle's torrent and data and marks it failed with `ec`;
  // counted as rejected input unless it is the node's own failure.
  void fail_bundle(const swarm::TorrentKey& key, const boost::system::error_code& ec, const std::string& detail,
                   bool rejected_input = true);
  // Removes a bundle's torrent, its data and its resume file, and forgets it.
  void discard_torrent(const swarm::TorrentKey& key);
  void restore_bundle(const catalog::BundleRow& row);
  // Verifies a stored head again, seeds it and takes its pointer to re-put.
  void restore_head(const catalog::HeadRow& row);
  // Records the media status of verified `rows` that lack one (recorded
  // before schema 5): reads and verifies each one's manifest on the pool,
  // then writes what it found on the io thread.
  void fill_media(std::vector<catalog::BundleRow> rows);

  // denylist (node/denylist.cpp)
  tamizdat::v1::Response deny(const tamizdat::v1::DenyRequest& req);
  // The whole list; `bundles` is what the last change stopped or restarted.
  tamizdat::v1::Response deny_list(std::uint32_t bundles = 0);
  bool is_denied(const PublicKey& publisher);
  bool is_denied_bundle(const Sha256& id);
  void reconcile_bundles();

  // storage policy (node/storage.cpp)
  // Plans and carries out the storage policy. `fresh` are bundles a head
  // just listed, not yet in the catalogue: recorded as fetched or left out.
  // `unplaced` are downloading bundles whose size only now became known (a
  // link's): left out (failed) if they do not fit.
  storage::Plan enforce(const std::vector<catalog::BundleRow>& fresh = {}, const std::set<Sha256>& unplaced = {});
  storage::Limits limits_of(const catalog::PublisherPolicy& p) const;
  // Where each bundle stands in its channel's held head: rank and signing time.
  std::map<Sha256, std::pair<std::int64_t, std::int64_t>> head_positions();
  void collect_bundle(const catalog::BundleRow& row, storage::Why why);
  void sweep_orphans();
  tamizdat::v1::Response pin(const tamizdat::v1::PinRequest& req);
  tamizdat::v1::Response policy(const tamizdat::v1::PolicyRequest& req);
  tamizdat::v1::Response gc();
  void fill_storage(tamizdat::v1::StatusResponse& s);

  void count(const boost::system::error_code& ec);
  void count(std::string_view reason);
  void warn(const std::string& line) { m_log(1, line); }
  void info(const std::string& line) { m_log(2, line); }
  void every(boost::asio::steady_timer& t, std::chrono::seconds interval, void (Node::*fn)());
  std::filesystem::path resume_file(const swarm::TorrentKey& key) const;
  std::filesystem::path bundle_save_path(const Sha256& id) const;

  boost::asio::io_context& m_io;
  catalog::Catalog& m_catalog;
  NodeOptions m_options;
  std::function<std::int64_t()> m_clock;
  LogFn m_log;
  swarm::Session* m_swarm = nullptr;
  boost::asio::thread_pool m_workers;
  boost::asio::steady_timer m_poll_timer;
  boost::asio::steady_timer m_republish_timer;
  boost::asio::steady_timer m_resume_timer;
  boost::asio::steady_timer m_shutdown_timer;
  boost::asio::steady_timer m_retry_timer;

  std::map<swarm::TorrentKey, BundleFetch> m_bundles;       // every bundle torrent in the session
  std::map<swarm::TorrentKey, HeadFetch> m_head_fetches;    // head torrents being fetched
  std::map<PublicKey, swarm::TorrentKey> m_seeded_heads;    // the head torrent seeded per channel
  std::map<PublicKey, swarm::SignedPointer> m_pointers;     // the newest signed pointer held per channel
  std::set<PublicKey> m_unconfirmed;                        // pointers no DHT node has stored yet
  std::set<swarm::TorrentKey> m_judged;                     // head torrents refused: not fetched again
  std::size_t m_pending_resume = 0;
  std::function<void()> m_shutdown_done;
  // gateway (node/gateway_source.cpp): the torrent of a bundle by ID, and
  // which of its files a served bundle's manifest file is.
  const BundleFetch* find_fetch(const Sha256& id, swarm::TorrentKey* key) const;
  std::optional<std::size_t> torrent_file(const BundleFetch& b, const gateway::ServedBundle& served,
                                          std::size_t file) const;
  // Bundles being served, with their verified manifests (at most 256).
  std::map<Sha256, std::shared_ptr<const gateway::ServedBundle>> m_served;

  // Verified heads by publisher, for head_positions (re-verified when the seq changes).
  std::map<PublicKey, std::shared_ptr<const VerifiedHead>> m_head_cache;
  // Last over-quota state, so the log says when it changes rather than at every poll.
  bool m_over_quota = false;
  std::set<PublicKey> m_over;

  // Set to false on destruction: work posted back from the pool checks it.
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

}  // namespace tz::node
