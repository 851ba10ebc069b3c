// Two libtorrent sessions with Tamizdat's settings, on loopback: a bundle
// published by one is fetched by the other from its magnet link alone, and
// the copy verifies as the same bundle. Bounded in time; no other address.
#include "bundle/bundle.h"
#include "swarm/settings.h"
#include "test_util.h"

#include <libtorrent/alert_types.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_info.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace tz::swarm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

lt::session_params loopback_params() {
  SwarmOptions o;
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
  EXPECT_EQ(q.get_str(sp::dht_bootstrap_nodes), "127.0.0.1:7000");
  EXPECT_EQ(q.get_int(sp::proxy_type), sp::socks5);
  EXPECT_EQ(q.get_int(sp::proxy_port), 9050);
  EXPECT_TRUE(q.get_bool(sp::proxy_peer_connections));
}

}  // namespace
}  // namespace tz::swarm
