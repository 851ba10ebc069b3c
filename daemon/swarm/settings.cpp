#include "swarm/settings.h"

#include <libtorrent/alert.hpp>
#include <libtorrent/session.hpp>

#include <algorithm>
#include <charconv>
#include <climits>

namespace tz::swarm {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += ',';
    s += x;
  }
  return s;
}

// libtorrent takes bytes per second in an int; 4 GiB/s (4194304 KiB) is
// 2^32 bytes, past INT_MAX, so larger caps become INT_MAX (about 2 GiB/s).
int bytes_per_second(std::uint32_t kib) {
  return static_cast<int>(std::min<std::uint64_t>(std::uint64_t{kib} * 1024, INT_MAX));
}

}  // namespace

lt::settings_pack make_settings(const SwarmOptions& o) {
  // Start from libtorrent's seeding profile: larger buffers and caches.
  lt::settings_pack p = lt::high_performance_seed();
  using sp = lt::settings_pack;

  p.set_str(sp::listen_interfaces, o.listen);
  // Peer fingerprint and user agent stay libtorrent's own: a Tamizdat node
  // looks like any other libtorrent-based client (qBittorrent, Deluge) to a
  // network observer, instead of announcing what it is.

  // --- hardening ---
  p.set_bool(sp::ssrf_mitigation, true);              // no peer may make us fetch local URLs
  p.set_bool(sp::no_connect_privileged_ports, true);  // no dialling below 1024 on a peer's say-so
  p.set_bool(sp::validate_https_trackers, true);
  p.set_int(sp::max_metadata_size, 32 * 1024 * 1024);  // bounded torrent metadata from peers
  p.set_bool(sp::enable_lsd, o.lan);
  p.set_bool(sp::enable_upnp, false);    // do not tell the router (or the LAN) we run a BitTorrent node
  p.set_bool(sp::enable_natpmp, false);
  p.set_int(sp::out_enc_policy, o.force_encryption ? sp::pe_forced : sp::pe_enabled);
  p.set_int(sp::in_enc_policy, o.force_encryption ? sp::pe_forced : sp::pe_enabled);
  p.set_int(sp::allowed_enc_level, o.force_encryption ? sp::pe_rc4 : sp::pe_both);
  if (o.socks5_proxy) {
    const auto colon = o.socks5_proxy->rfind(':');
    p.set_int(sp::proxy_type, sp::socks5);
    p.set_str(sp::proxy_hostname, o.socks5_proxy->substr(0, colon));
    p.set_int(sp::proxy_port, colon == std::string::npos ? 1080 : std::stoi(o.socks5_proxy->substr(colon + 1)));
    p.set_bool(sp::proxy_hostnames, true);
    p.set_bool(sp::proxy_peer_connections, true);
    p.set_bool(sp::proxy_tracker_connections, true);
  }

  // Torrents fetched by link wait in upload mode until the node has checked
  // their metadata (manifest first, sizes bounded). A peer in upload mode
  // looks like a seed, and libtorrent drops seed-to-seed connections by
  // default, which cut such torrents off before their metadata arrived.
  p.set_bool(sp::close_redundant_connections, false);

  // --- bandwidth caps (0: unlimited) ---
  p.set_int(sp::upload_rate_limit, bytes_per_second(o.upload_rate_kib));
  p.set_int(sp::download_rate_limit, bytes_per_second(o.download_rate_kib));
  if (o.upload_rate_kib != 0 || o.download_rate_kib != 0) {
    // By default libtorrent puts peers on private, link-local and loopback
    // addresses in a peer class without limits. An operator caps their link,
    // and the LAN shares it; the multi-node tests, all on loopback, slow a
    // transfer this way. The setting is deprecated in libtorrent 2.0 in
    // favour of session::set_peer_class_filter, which needs a live session;
    // Debian's build (ABI version 1) still applies it when the session starts.
    // LAN peers then also lose libtorrent's exemption from unchoke slots.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    p.set_bool(sp::ignore_limits_on_local_network, false);
#pragma GCC diagnostic pop
  }

  // --- DHT ---
  p.set_bool(sp::enable_dht, true);
  // On a private DHT the Session adds the bootstrap nodes as ordinary nodes
  // (Session::Impl::seed_dht says why); libtorrent's routers are public ones.
  std::vector<std::string> nodes;
  if (!o.private_dht) nodes = o.bootstrap;
  if (o.public_dht) nodes.emplace_back(kPublicRouters);
  p.set_str(sp::dht_bootstrap_nodes, join(nodes));
  if (o.private_dht) {
    p.set_bool(sp::dht_restrict_routing_ips, false);
    p.set_bool(sp::dht_restrict_search_ips, false);
    p.set_bool(sp::dht_enforce_node_id, false);
    p.set_bool(sp::dht_prefer_verified_node_ids, false);
    p.set_bool(sp::allow_multiple_connections_per_ip, true);
    // Every node of a loopback or NATed private DHT shares one address, and
    // libtorrent blocks an address sending more than 5 packets a second
    // (meant for one node): ten loopback nodes were all blocked.
    p.set_int(sp::dht_block_ratelimit, 1000);
    p.set_int(sp::dht_upload_rate_limit, 256 * 1024);
  }

  // --- throughput (measured; see docs/benchmarks.md and DESIGN) ---
  // Outgoing connections use TCP: libtorrent's uTP stalls on loopback and
  // LANs where the kernel caps UDP buffers. Incoming uTP is still accepted.
  p.set_bool(sp::enable_outgoing_utp, false);
  p.set_int(sp::send_buffer_watermark, 8 * 1024 * 1024);
  p.set_int(sp::send_buffer_low_watermark, 1024 * 1024);
  p.set_int(sp::send_buffer_watermark_factor, 200);
  p.set_int(sp::max_queued_disk_bytes, 16 * 1024 * 1024);
  p.set_int(sp::request_queue_time, 10);
  p.set_int(sp::max_out_request_queue, 2000);
  p.set_int(sp::aio_threads, 4);
  p.set_int(sp::hashing_threads, 2);

  p.set_int(sp::alert_mask, static_cast<int>(lt::alert_category::error | lt::alert_category::status |
                                             lt::alert_category::storage | lt::alert_category::dht |
                                             lt::alert_category::peer | lt::alert_category::port_mapping |
                                             lt::alert_category::file_progress));
  return p;
}

std::optional<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string_view digits = s.substr(colon + 1);
  int port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port <= 0 || port > 65535) return std::nullopt;
  return std::make_pair(std::string(host), static_cast<std::uint16_t>(port));
}

std::vector<std::pair<std::string, int>> private_dht_nodes(const SwarmOptions& o) {
  std::vector<std::pair<std::string, int>> nodes;
  if (!o.private_dht) return nodes;
  for (const auto& b : o.bootstrap) {
    if (auto hp = split_host_port(b)) nodes.emplace_back(std::move(hp->first), hp->second);
  }
  return nodes;
}

}  // namespace tz::swarm
