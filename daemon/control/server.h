// The daemon's control socket: a Unix stream socket, mode 0600, speaking the
// framed protobuf protocol of docs/protocol.md ("Control socket"). Each
// connection is a coroutine on the daemon's io_context: it reads frames
// (each at most kMaxRequestBytes, checked at the header), parses each as a
// Request, asks the Handler, and writes the Response. A malformed request
// gets an error response; an oversized one gets an error response and the
// connection is closed; neither affects other connections. At most
// `max_connections` are served at once (more are closed at once) and an idle
// connection is closed after `idle_timeout`. Use on the io thread only.
#pragma once

#include "core/result.h"
#include "tamizdat/v1/control.pb.h"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>

namespace tz::control {

// Answers one request. Runs on the io thread; must not block for long.
using Handler = std::function<tamizdat::v1::Response(const tamizdat::v1::Request&)>;

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
  // Stops accepting, closes every connection and removes the socket file.
  void stop();

  // Connections refused or closed for bad input since start, by reason.
  [[nodiscard]] std::size_t rejected() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};

// Builds an error response.
[[nodiscard]] tamizdat::v1::Response error_response(std::string_view error, std::string_view message);

}  // namespace tz::control
