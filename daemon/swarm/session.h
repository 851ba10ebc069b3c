// The daemon's one libtorrent session. libtorrent runs its own threads; its
// alerts are handed to the daemon's io_context (set_alert_notify posts a
// drain there), so everything the rest of the daemon sees happens on the io
// thread, without locks. Construct, use and destroy on the io thread.
#pragma once

#include "swarm/settings.h"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>

namespace tz::swarm {

struct SwarmStats {
  std::uint32_t dht_nodes = 0;    // nodes in the DHT routing table
  std::uint32_t listen_port = 0;  // 0 until listening
  std::uint32_t peers = 0;        // connected peers, all torrents
};

class Session {
 public:
  // Starts libtorrent with `options`. Refreshes its statistics every second.
  Session(boost::asio::io_context& io, const SwarmOptions& options);
  // Stops libtorrent (bounded by libtorrent's own shutdown timeouts).
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The latest statistics (at most about a second old).
  [[nodiscard]] SwarmStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};

}  // namespace tz::swarm
