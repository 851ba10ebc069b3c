// The libtorrent settings every Tamizdat session runs with: hardened first,
// then tuned for throughput. Internal to tz::swarm (it names libtorrent
// types); other modules pass a SwarmOptions. Each choice and its reason is
// listed in docs/threat-model.md ("Swarm settings"); the tuning figures come
// from scripts/bench, not from folklore. Pure; safe from any thread.
#pragma once

#include <libtorrent/settings_pack.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tz::swarm {

struct SwarmOptions {
  // "IP:PORT" to listen on for BitTorrent (TCP and uTP) and the DHT.
  std::string listen = "0.0.0.0:6881";
  // DHT bootstrap nodes, "host:port". With `public_dht` the well-known
  // public routers are added.
  std::vector<std::string> bootstrap;
  bool public_dht = true;
  // A DHT made only of the given bootstrap nodes (tests, LANs cut off from
  // the internet): relaxes libtorrent's rules against private and loopback
  // addresses, which only make sense on the public DHT.
  bool private_dht = false;
  // Local Service Discovery: off by default, as it tells everyone on the LAN
  // which bundles this node holds.
  bool lan = false;
  // Refuse peers that do not speak protocol encryption.
  bool force_encryption = false;
  // SOCKS5 proxy ("host:port"), e.g. Tor; peer connections and host names go
  // through it.
  std::optional<std::string> socks5_proxy;
  // Session-wide bandwidth caps in KiB per second, 0 for unlimited: an
  // operator capping their link or monthly quota. A non-zero cap also holds
  // for peers on the LAN and loopback, which libtorrent otherwise exempts.
  std::uint32_t upload_rate_kib = 0, download_rate_kib = 0;
};

// Builds the settings pack for `o`.
[[nodiscard]] lt::settings_pack make_settings(const SwarmOptions& o);

// "host:port" or "[ipv6]:port" as (host without brackets, port 1..65535);
// nullopt for anything else. The config layer has checked such strings
// already; this only takes them apart.
[[nodiscard]] std::optional<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view s);

// On a private DHT, the bootstrap nodes as (host, port) for
// lt::session::add_dht_node; empty otherwise. They are not given to
// libtorrent as "routers" (make_settings leaves them out): libtorrent never
// puts a router in its routing table, and when every node is every other
// node's router the tables stay empty (status showed 0 DHT nodes and every
// lookup leaned on the routers alone).
[[nodiscard]] std::vector<std::pair<std::string, int>> private_dht_nodes(const SwarmOptions& o);

// The public DHT routers used when public_dht is true.
inline constexpr const char* kPublicRouters =
    "router.bittorrent.com:6881,dht.transmissionbt.com:6881,router.utorrent.com:6881,dht.libtorrent.org:25401";

}  // namespace tz::swarm
