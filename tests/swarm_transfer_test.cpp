// Two libtorrent sessions with Tamizdat's settings, on loopback: a bundle
// published by one is fetched by the other from its magnet link alone, and
// the copy verifies as the same bundle; bandwidth caps slow that fetch
// even on loopback. Bounded in time; no other address.
#include "bundle/bundle.h"
#include "swarm/settings.h"
#include "test_util.h"

#include <libtorrent/alert_types.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_info.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <climits>

namespace tz::swarm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// `o` (bandwidth caps) on loopback, with peers given directly.
lt::session_params loopback_params(SwarmOptions o = {}) {
  o.listen = "127.0.0.1:0";
  o.public_dht = false;
  o.private_dht = true;
  lt::settings_pack p = make_settings(o);
  p.set_bool(lt::settings_pack::enable_dht, false);  // peers are given directly here
  return lt::session_params(p);
}

// Pops alerts until `pred` says done or `limit` passes; returns whether done.
template <class Pred>
bool wait_for(lt::session& s, std::chrono::seconds limit, Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    s.wait_for_alert(100ms);
    std::vector<lt::alert*> alerts;
    s.pop_alerts(&alerts);
    for (lt::alert* a : alerts) {
      if (pred(a)) return true;
    }
  }
  return false;
}

TEST(SwarmTransfer, BundleTravelsByMagnetAndVerifies) {
  test::TempDir tmp;
  const fs::path work = tmp / "work";
  test::write_file(work / "index.html", "<h1>Report</h1>");
  test::write_file(work / "media/clip.mp4", test::random_bytes(3'000'000, 11));
  test::write_file(work / "media/photo.jpg", test::random_bytes(200'000, 12));
  const SecretKey key = test::fixed_key();
  Diag diag;
  auto made = bundle::create_bundle(work, key, {.title = "Loopback"}, &diag);
  ASSERT_TRUE(made) << made.error().message();
  const std::string name = made.value().torrent.name;
  fs::create_directories(tmp / "seed");
  fs::rename(work, tmp / "seed" / name);

  lt::session seeder(loopback_params());
  lt::add_torrent_params seed_atp;
  const auto& bytes = made.value().torrent.bytes;
  seed_atp.ti = std::make_shared<lt::torrent_info>(
      lt::span<const char>(reinterpret_cast<const char*>(bytes.data()), static_cast<std::ptrdiff_t>(bytes.size())),
      lt::from_span);
  seed_atp.save_path = (tmp / "seed").string();
  lt::torrent_handle seed_handle = seeder.add_torrent(seed_atp);
  ASSERT_TRUE(wait_for(seeder, 30s, [](lt::alert* a) { return lt::alert_cast<lt::torrent_checked_alert>(a) != nullptr; }));
  ASSERT_TRUE(seed_handle.status().is_seeding) << "the seed did not find its own files valid";
  const int port = seeder.listen_port();
  ASSERT_GT(port, 0);

  lt::session reader(loopback_params());
  lt::add_torrent_params atp = lt::parse_magnet_uri(made.value().torrent.magnet);
  atp.save_path = (tmp / "reader").string();
  lt::torrent_handle h = reader.add_torrent(atp);
  h.connect_peer(lt::tcp::endpoint(lt::make_address("127.0.0.1"), static_cast<std::uint16_t>(port)));
  const bool finished = wait_for(reader, 60s, [](lt::alert* a) {
    return lt::alert_cast<lt::torrent_finished_alert>(a) != nullptr;
  });
  ASSERT_TRUE(finished) << "download did not finish in 60 s";
  // A piece can pass its hash check while libtorrent still holds it in its
  // write buffers: read the files only once they are flushed.
  h.flush_cache();
  ASSERT_TRUE(wait_for(reader, 30s, [](lt::alert* a) { return lt::alert_cast<lt::cache_flushed_alert>(a) != nullptr; }));

  // The reader's copy is the publisher's bundle, checked by our own verifier.
  auto copy = bundle::verify_bundle(tmp / "reader" / name, {key.public_key(), 0}, &diag);
  ASSERT_TRUE(copy) << copy.error().message() << " " << diag.file;
  EXPECT_EQ(bundle::bundle_id(copy.value()), bundle::bundle_id(made.value()));
  // And the torrent the reader got through the swarm is byte-identical.
  EXPECT_EQ(copy.value().torrent.bytes, bytes);
}

TEST(SwarmSettings, HardeningIsOnAndPrivacyDefaultsHold) {
  const lt::settings_pack p = make_settings({});
  using sp = lt::settings_pack;
  EXPECT_TRUE(p.get_bool(sp::ssrf_mitigation));
  EXPECT_TRUE(p.get_bool(sp::no_connect_privileged_ports));
  EXPECT_FALSE(p.get_bool(sp::enable_lsd));
  EXPECT_FALSE(p.get_bool(sp::enable_upnp));
  EXPECT_FALSE(p.get_bool(sp::enable_natpmp));
  EXPECT_EQ(p.get_int(sp::out_enc_policy), sp::pe_enabled);
  EXPECT_TRUE(p.get_bool(sp::dht_restrict_routing_ips));  // only relaxed for private DHTs
  EXPECT_NE(p.get_str(sp::dht_bootstrap_nodes).find("router.bittorrent.com"), std::string::npos);

  SwarmOptions o;
  o.lan = true;
  o.force_encryption = true;
  o.public_dht = false;
  o.private_dht = true;
  o.bootstrap = {"127.0.0.1:7000"};
  o.socks5_proxy = "127.0.0.1:9050";
  const lt::settings_pack q = make_settings(o);
  EXPECT_TRUE(q.get_bool(sp::enable_lsd));
  EXPECT_EQ(q.get_int(sp::out_enc_policy), sp::pe_forced);
  EXPECT_EQ(q.get_int(sp::in_enc_policy), sp::pe_forced);
  EXPECT_FALSE(q.get_bool(sp::dht_restrict_routing_ips));
  // Private DHT nodes are not libtorrent routers (routers never enter the
  // routing table); the Session adds them as ordinary nodes.
  EXPECT_EQ(q.get_str(sp::dht_bootstrap_nodes), "");
  const auto nodes = private_dht_nodes(o);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0], std::make_pair(std::string("127.0.0.1"), 7000));
  o.bootstrap = {"[::1]:7001", "no-port", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:12x"};
  EXPECT_EQ(private_dht_nodes(o), (std::vector<std::pair<std::string, int>>{{"::1", 7001}}));
  o.private_dht = false;
  EXPECT_TRUE(private_dht_nodes(o).empty());
  EXPECT_EQ(q.get_int(sp::proxy_type), sp::socks5);
  EXPECT_EQ(q.get_int(sp::proxy_port), 9050);
  EXPECT_TRUE(q.get_bool(sp::proxy_peer_connections));
}

// Seeds a fresh bundle of about `bytes` with `seed_caps`, fetches it by
// magnet over loopback with `reader_caps`, and returns how long the reader
// took from dialling the seed to holding every piece (or 0 s when it did not
// finish in 60 s).
std::chrono::milliseconds fetch_time(std::size_t bytes, const SwarmOptions& seed_caps,
                                     const SwarmOptions& reader_caps) {
  test::TempDir tmp;
  const fs::path work = tmp / "work";
  test::write_file(work / "media/clip.mp4", test::random_bytes(bytes, 21));
  Diag diag;
  auto made = bundle::create_bundle(work, test::fixed_key(), {.title = "Capped"}, &diag);
  EXPECT_TRUE(made) << made.error().message();
  if (!made) return {};
  const std::string name = made.value().torrent.name;
  fs::create_directories(tmp / "seed");
  fs::rename(work, tmp / "seed" / name);

  lt::session seeder(loopback_params(seed_caps));
  lt::add_torrent_params seed_atp;
  const auto& torrent = made.value().torrent.bytes;
  seed_atp.ti = std::make_shared<lt::torrent_info>(
      lt::span<const char>(reinterpret_cast<const char*>(torrent.data()), static_cast<std::ptrdiff_t>(torrent.size())),
      lt::from_span);
  seed_atp.save_path = (tmp / "seed").string();
  seeder.add_torrent(seed_atp);
  EXPECT_TRUE(wait_for(seeder, 30s, [](lt::alert* a) { return lt::alert_cast<lt::torrent_checked_alert>(a) != nullptr; }));

  lt::session reader(loopback_params(reader_caps));
  lt::add_torrent_params atp = lt::parse_magnet_uri(made.value().torrent.magnet);
  atp.save_path = (tmp / "reader").string();
  lt::torrent_handle h = reader.add_torrent(atp);
  const auto start = std::chrono::steady_clock::now();
  h.connect_peer(lt::tcp::endpoint(lt::make_address("127.0.0.1"), static_cast<std::uint16_t>(seeder.listen_port())));
  // The seeder's alerts are left in its queue: libtorrent bounds it.
  const bool finished = wait_for(reader, 60s, [](lt::alert* a) {
    return lt::alert_cast<lt::torrent_finished_alert>(a) != nullptr;
  });
  EXPECT_TRUE(finished) << "download did not finish in 60 s";
  if (!finished) return {};
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

TEST(SwarmSettings, RateCapsAreBytesPerSecondAndHoldOnTheLan) {
  using sp = lt::settings_pack;
  // Deprecated in libtorrent 2.0 (see settings.cpp), so looked up by name:
  // this fails, rather than the caps silently not holding on loopback, if a
  // libtorrent build drops the setting.
  const int ignore_local = lt::setting_by_name("ignore_limits_on_local_network");
  ASSERT_GE(ignore_local, 0) << "libtorrent no longer knows ignore_limits_on_local_network";

  const lt::settings_pack unlimited = make_settings({});
  EXPECT_EQ(unlimited.get_int(sp::upload_rate_limit), 0);
  EXPECT_EQ(unlimited.get_int(sp::download_rate_limit), 0);
  EXPECT_FALSE(unlimited.has_val(ignore_local));  // no cap: libtorrent's default stays

  SwarmOptions o;
  o.upload_rate_kib = 100;
  const lt::settings_pack up = make_settings(o);
  EXPECT_EQ(up.get_int(sp::upload_rate_limit), 102400);
  EXPECT_EQ(up.get_int(sp::download_rate_limit), 0);
  EXPECT_FALSE(up.get_bool(ignore_local));

  o = {};
  o.download_rate_kib = 100;
  const lt::settings_pack down = make_settings(o);
  EXPECT_EQ(down.get_int(sp::upload_rate_limit), 0);
  EXPECT_EQ(down.get_int(sp::download_rate_limit), 102400);
  EXPECT_FALSE(down.get_bool(ignore_local));

  // The config's largest cap, 4194304 KiB, is 2^32 bytes: past an int.
  o.upload_rate_kib = 4194304;
  o.download_rate_kib = 2097152;  // 2^31 bytes, one past INT_MAX
  const lt::settings_pack top = make_settings(o);
  EXPECT_EQ(top.get_int(sp::upload_rate_limit), INT_MAX);
  EXPECT_EQ(top.get_int(sp::download_rate_limit), INT_MAX);
  o.upload_rate_kib = 2097151;
  EXPECT_EQ(make_settings(o).get_int(sp::upload_rate_limit), 2097151 * 1024);
}

// The caps hold between two sessions on loopback, which libtorrent would
// otherwise exempt as a local network. 500 kB at 256 KiB/s needs at least
// 1.9 s (about 4 s with connecting and metadata); uncapped the whole fetch
// takes under a second here.
TEST(SwarmTransfer, UploadCapHoldsOnLoopback) {
  SwarmOptions seed_caps;
  seed_caps.upload_rate_kib = 256;
  const auto took = fetch_time(500'000, seed_caps, {});
  EXPECT_GE(took, 2000ms) << "500 kB at 256 KiB/s took " << took.count() << " ms";
}

TEST(SwarmTransfer, DownloadCapHoldsOnLoopback) {
  SwarmOptions reader_caps;
  reader_caps.download_rate_kib = 256;
  const auto took = fetch_time(500'000, {}, reader_caps);
  EXPECT_GE(took, 2000ms) << "500 kB at 256 KiB/s took " << took.count() << " ms";
}

}  // namespace
}  // namespace tz::swarm
