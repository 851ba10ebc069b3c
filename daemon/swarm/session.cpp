#include "swarm/session.h"

#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_stats.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>

namespace tz::swarm {

struct Session::Impl : std::enable_shared_from_this<Session::Impl> {
  Impl(boost::asio::io_context& io_, const SwarmOptions& o)
      : io(io_), session(lt::session_params(make_settings(o))), timer(io_) {
    dht_nodes_idx = lt::find_metric_idx("dht.dht_nodes");
    peers_idx = lt::find_metric_idx("peer.num_peers_connected");
  }

  void start() {
    // libtorrent calls this from its own thread: only post, never touch state.
    std::weak_ptr<Impl> weak = shared_from_this();
    session.set_alert_notify([weak, &ctx = io] {
      boost::asio::post(ctx, [weak] {
        if (auto self = weak.lock()) self->drain();
      });
    });
    tick();
  }

  void tick() {
    session.post_session_stats();
    timer.expires_after(std::chrono::seconds(1));
    std::weak_ptr<Impl> weak = shared_from_this();
    timer.async_wait([weak](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->tick();
    });
  }

  void drain() {
    std::vector<lt::alert*> alerts;
    session.pop_alerts(&alerts);
    for (lt::alert* a : alerts) {
      if (const auto* s = lt::alert_cast<lt::session_stats_alert>(a)) {
        const auto counters = s->counters();
        if (dht_nodes_idx >= 0) stats.dht_nodes = static_cast<std::uint32_t>(counters[dht_nodes_idx]);
        if (peers_idx >= 0) stats.peers = static_cast<std::uint32_t>(counters[peers_idx]);
        stats.listen_port = static_cast<std::uint32_t>(session.listen_port());
      }
    }
  }

  boost::asio::io_context& io;
  lt::session session;
  boost::asio::steady_timer timer;
  int dht_nodes_idx = -1;
  int peers_idx = -1;
  SwarmStats stats;
};

Session::Session(boost::asio::io_context& io, const SwarmOptions& options)
    : m_impl(std::make_shared<Impl>(io, options)) {
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

}  // namespace tz::swarm
