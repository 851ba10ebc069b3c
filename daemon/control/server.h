// The daemon's control socket: a Unix stream socket, mode 0600, speaking the
// framed protobuf protocol of docs/protocol.md ("Control socket"). Each
// connection is a coroutine on the daemon's io_context: it reads frames
// (each at most kMaxRequestBytes, checked at the header), parses each as a
// Request, hands it to the Handler, waits (without blocking the io thread)
// for the Handler's reply and writes that Response. Requests on one
// connection are answered one at a time, in order. A malformed request gets an
// error response; an oversized one gets an error response and the connection
// is closed; neither affects other connections. At most `max_connections` are
// served at once (more are closed at once). A connection is closed after
// `idle_timeout` without a request, but never while its reply is still being
// worked on (publishing may take an hour). Use on the io thread only.
#pragma once

#include "control/framing.h"
#include "core/result.h"
#include "tamizdat/v1/control.pb.h"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>

namespace tz::control {

// Delivers the response to one request. Call it on the io thread, exactly
// once; a second call is ignored. It may be called inside the Handler or any
// time later (typically after work on a thread pool has been posted back to
// the io thread). Calling it after the connection or the server has gone
// (closed by the peer, by stop(), or the Server destroyed) does nothing: it
// holds only a weak reference to the connection.
using Reply = std::function<void(tamizdat::v1::Response)>;

// Answers one request by calling `reply`. Called on the io thread; must
// return quickly and move long work elsewhere. `request` is valid only until
// it returns; copy what later work needs. If it throws before replying, the
// client gets "internal_error".
using Handler = std::function<void(const tamizdat::v1::Request&, Reply)>;

struct ServerLimits {
  std::size_t max_connections = 16;
  std::chrono::seconds idle_timeout{30};
};

class Server {
 public:
  Server(boost::asio::io_context& io, std::filesystem::path socket_path, Handler handler, ServerLimits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the socket (replacing a stale one left by a crash), sets mode 0600
  // and starts accepting. Fails with the system error.
  [[nodiscard]] Result<void> start();
  // Stops accepting, closes every connection (dropping replies still being
  // worked on; their Reply calls then do nothing) and removes the socket file.
  void stop();

  // Connections refused or closed for bad input since start, by reason.
  [[nodiscard]] std::size_t rejected() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};


}  // namespace tz::control
