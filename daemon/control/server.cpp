#include "control/server.h"

#include "control/framing.h"
#include "core/proto_util.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/stat.h>

#include <array>
#include <optional>
#include <set>

namespace tz::control {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

// The reply slot of one request. The connection's coroutine waits on `timer`
// (which never expires by itself) until the Reply fills `response` and
// cancels it, or until stop() marks the slot abandoned and cancels it.
struct Pending {
  explicit Pending(asio::io_context& io) : timer(io, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  std::optional<tamizdat::v1::Response> response;
  bool abandoned = false;
};

struct Conn {
  explicit Conn(stream::socket s) : sock(std::move(s)) {}
  stream::socket sock;
  std::shared_ptr<Pending> pending;  // while a reply is awaited
};

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io_, std::filesystem::path p, Handler h, ServerLimits l)
      : io(io_), path(std::move(p)), handler(std::move(h)), limits(l), acceptor(io_) {}

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      boost::system::error_code ec;
      stream::socket sock = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        continue;
      }
      if (connections.size() >= limits.max_connections) {
        ++rejected;
        sock.close(ec);
        continue;
      }
      auto conn = std::make_shared<Conn>(std::move(sock));
      connections.insert(conn);
      asio::co_spawn(io, serve(conn), asio::detached);
    }
  }

  asio::awaitable<void> write_response(stream::socket& sock, const tamizdat::v1::Response& r,
                                       boost::system::error_code& ec) {
    const std::string bytes = r.SerializeAsString();
    const auto f = frame({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    co_await asio::async_write(sock, asio::buffer(f), asio::redirect_error(asio::use_awaitable, ec));
  }

  // Hands `req` to the handler and waits for its reply; nullopt when the
  // connection was closed by stop() first. The Reply holds only a weak
  // reference to the slot, so a late or second call is harmless.
  asio::awaitable<std::optional<tamizdat::v1::Response>> ask(Conn& conn, const tamizdat::v1::Request& req) {
    // stop() may have run between the read completing and this coroutine
    // resuming; then nobody would ever abandon the slot made below.
    if (!conn.sock.is_open()) co_return std::nullopt;
    auto pending = std::make_shared<Pending>(io);
    conn.pending = pending;
    Reply reply = [weak = std::weak_ptr<Pending>(pending)](tamizdat::v1::Response r) {
      const auto p = weak.lock();
      if (!p || p->response || p->abandoned) return;
      p->response = std::move(r);
      p->timer.cancel();
    };
    try {
      handler(req, std::move(reply));
    } catch (...) {
      if (!pending->response) pending->response = error_response("internal_error", "the daemon failed to handle the request");
    }
    while (!pending->response && !pending->abandoned) {
      boost::system::error_code ec;
      co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    conn.pending.reset();
    if (pending->abandoned) co_return std::nullopt;
    co_return std::move(pending->response);
  }

  asio::awaitable<void> serve(std::shared_ptr<Conn> conn) {
    auto self = shared_from_this();
    FrameReader reader(kMaxRequestBytes);
    std::array<std::uint8_t, 64 * 1024> buf{};
    asio::steady_timer idle(io);
    // The idle timer closes the socket; the pending read (or write) then fails.
    const auto arm = [&] {
      idle.expires_after(limits.idle_timeout);
      idle.async_wait([conn](const boost::system::error_code& e) {
        if (!e) {
          boost::system::error_code ignore;
          conn->sock.close(ignore);
        }
      });
    };
    for (;;) {
      arm();
      boost::system::error_code ec;
      const std::size_t n =
          co_await conn->sock.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      if (auto r = reader.feed({buf.data(), n}); !r) {
        ++rejected;
        co_await write_response(conn->sock, error_response("oversized", "request larger than 1 MiB"), ec);
        break;
      }
      bool failed = false;
      while (auto msg = reader.next()) {
        tamizdat::v1::Request req;
        std::optional<tamizdat::v1::Response> resp;
        if (!req.ParseFromArray(msg->data(), static_cast<int>(msg->size())) ||
            req.body_case() == tamizdat::v1::Request::BODY_NOT_SET) {
          ++rejected;
          resp = error_response("malformed_request", "not a control request");
        } else {
          // A slow reply is work, not idleness: no idle timeout while waiting.
          idle.cancel();
          resp = co_await ask(*conn, req);
          if (!resp || !conn->sock.is_open()) {
            failed = true;
            break;
          }
          arm();  // bounds the write to a peer that stopped reading
        }
        co_await write_response(conn->sock, *resp, ec);
        if (ec) {
          failed = true;
          break;
        }
      }
      if (failed) break;
    }
    idle.cancel();
    boost::system::error_code ignore;
    conn->sock.close(ignore);
    connections.erase(conn);
  }

  void close_all() {
    boost::system::error_code ec;
    for (const auto& c : connections) {
      c->sock.close(ec);
      if (c->pending) {
        c->pending->abandoned = true;
        c->pending->timer.cancel();
      }
    }
  }

  asio::io_context& io;
  std::filesystem::path path;
  Handler handler;
  ServerLimits limits;
  stream::acceptor acceptor;
  std::set<std::shared_ptr<Conn>> connections;
  std::size_t rejected = 0;
};

Server::Server(asio::io_context& io, std::filesystem::path socket_path, Handler handler, ServerLimits limits)
    : m_impl(std::make_shared<Impl>(io, std::move(socket_path), std::move(handler), limits)) {}

Server::~Server() { stop(); }

Result<void> Server::start() {
  // Requests are outside input too: libprotobuf must not write its own lines
  // (e.g. for invalid UTF-8 in a string) to the daemon's log for them.
  detail::quiet_protobuf_logs();
  boost::system::error_code ec;
  std::error_code fec;
  std::filesystem::remove(m_impl->path, fec);  // a socket left by a crash
  const mode_t old = ::umask(0077);
  m_impl->acceptor.open(stream(), ec);
  if (!ec) m_impl->acceptor.bind(stream::endpoint(m_impl->path.string()), ec);
  ::umask(old);
  if (!ec) m_impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  if (::chmod(m_impl->path.c_str(), 0600) != 0) return boost::system::error_code(errno, boost::system::generic_category());
  asio::co_spawn(m_impl->io, m_impl->accept_loop(), asio::detached);
  return success();
}

void Server::stop() {
  if (!m_impl->acceptor.is_open()) return;
  boost::system::error_code ec;
  m_impl->acceptor.close(ec);
  m_impl->close_all();
  std::error_code fec;
  std::filesystem::remove(m_impl->path, fec);
}

std::size_t Server::rejected() const noexcept { return m_impl->rejected; }

}  // namespace tz::control
