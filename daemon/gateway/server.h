// The reader gateway: a read-only HTTP/1.1 server (Boost.Beast, one C++20
// coroutine per connection on the daemon's io_context) that lets a browser
// read what the node holds. Its pages live on the home origin
// (http://localhost:PORT/); each publisher's bundles on the publisher's own
// origin (http://<publisher-id>.localhost:PORT/<bundle-id>/<path>), so that
// one publisher's pages can read neither another's nor the gateway's.
//
// Every request is untrusted (any page the reader opens can make the browser
// send one): only GET and HEAD (else 405), exactly one Host that names one
// of the gateway's origins (else 400 or 421), targets and ranges parsed by
// gateway/request.h, request heads of at most max_header_bytes (else 431)
// arriving within head_timeout (else the connection is closed), at most
// max_connections at once. Content is only ever sent from bytes the node
// vouches for: a complete bundle verified from disk, or pieces that passed
// their hash check (a request for missing ones raises their priority and
// waits for them, up to piece_wait). Headers and their reasons:
// docs/threat-model.md ("The reader gateway"); byte formats: protocol.md §14.
// Use on the io thread only. The process must ignore SIGPIPE (tamizdatd
// does): files go out with sendfile(2), which cannot be told MSG_NOSIGNAL.
#pragma once

#include "core/result.h"
#include "gateway/library.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace tz::gateway {

inline constexpr std::uint16_t kDefaultPort = 8733;

struct ServerOptions {
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::make_address_v4("127.0.0.1"), kDefaultPort};
  // A request's head (request line and fields) must have arrived this long
  // after the connection was accepted; a slow client is cut off.
  std::chrono::milliseconds head_timeout{10'000};
  // A kept-alive connection waits this long for its next request.
  std::chrono::milliseconds idle_timeout{30'000};
  // A client that takes no byte of a response for this long is cut off.
  std::chrono::milliseconds send_timeout{60'000};
  // How long a request waits for pieces that have not passed their hash check
  // yet: before the response starts, 503 after it; once it started, the
  // connection is closed.
  std::chrono::milliseconds piece_wait{30'000};
  std::size_t max_connections = 512;
  // Request line plus header fields; larger heads get 431.
  std::size_t max_header_bytes = 16 * 1024;
};

// Lines for the daemon's log: level (0 error, 1 warn, 2 info, 3 debug) and text.
using GatewayLog = std::function<void(int level, const std::string& line)>;

class Server {
 public:
  // `library` must outlive the server.
  Server(boost::asio::io_context& io, Library& library, ServerOptions options, GatewayLog log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Fails with the system error (address in use...).
  [[nodiscard]] Result<void> start();
  // Stops accepting and closes every connection.
  void stop();
  // The port listened on (the one chosen by the system when options asked for 0).
  [[nodiscard]] std::uint16_t port() const noexcept;
  // Requests and connections refused since start, by reason ("bad_host",
  // "unsafe_path", "header_too_large", "timeout"...).
  [[nodiscard]] std::map<std::string, std::uint64_t> rejections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};

}  // namespace tz::gateway
