// The control server on its own: an io_context on a background thread, a
// handler the test controls, and the real client. Covers the asynchronous
// Reply (immediate, late, after the idle timeout, twice, after stop), the
// limits (malformed, oversized, idle, connection count) and in-order answers.
#include "control/client.h"
#include "control/framing.h"
#include "control/server.h"
#include "test_util.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <thread>
#include <vector>

namespace tz {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tamizdat::v1::Request;
using tamizdat::v1::Response;

Request status_request() {
  Request r;
  r.mutable_status();
  return r;
}

Request follow_request(const std::string& id) {
  Request r;
  r.mutable_follow()->set_publisher_id(id);
  return r;
}

Response ok_response(std::uint32_t followed = 0) {
  Response r;
  r.set_ok(true);
  r.mutable_status()->set_followed(followed);
  return r;
}

// Runs a Server with `handler` on its own io thread. Everything that touches
// the server runs on that thread (on_io), as the daemon does it.
class Harness {
 public:
  Harness(control::Handler handler, control::ServerLimits limits = {})
      : m_work(asio::make_work_guard(m_io)),
        m_server(std::make_unique<control::Server>(m_io, m_tmp / "control.sock", std::move(handler), limits)) {
    m_thread = std::thread([this] { m_io.run(); });
    EXPECT_TRUE(on_io([this] { return static_cast<bool>(m_server->start()); }));
  }
  ~Harness() {
    on_io([this] {
      m_server.reset();
      m_kept.clear();
      return 0;
    });
    m_work.reset();
    m_io.stop();
    m_thread.join();
  }

  template <class F>
  auto on_io(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(m_io, [&task] { task(); });
    return fut.get();
  }

  asio::io_context& io() { return m_io; }
  // Keeps `p` (a timer of the test's) until the harness stops, then destroys
  // it on the io thread before the io_context goes. Call on the io thread.
  void keep(std::shared_ptr<void> p) { m_kept.push_back(std::move(p)); }
  fs::path socket() const { return m_tmp / "control.sock"; }
  void stop() {
    on_io([this] {
      m_server->stop();
      return 0;
    });
  }
  std::size_t rejected() {
    return on_io([this] { return m_server->rejected(); });
  }

 private:
  test::TempDir m_tmp;
  asio::io_context m_io;
  asio::executor_work_guard<asio::io_context::executor_type> m_work;
  std::unique_ptr<control::Server> m_server;
  std::vector<std::shared_ptr<void>> m_kept;
  std::thread m_thread;
};

// A raw client socket, for what control::call cannot do (pipelining, idling,
// oversized frames).
class RawClient {
 public:
  explicit RawClient(const fs::path& sock) {
    m_fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, sock.c_str(), sizeof(a.sun_path) - 1);
    m_connected = ::connect(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawClient() { ::close(m_fd); }
  bool connected() const { return m_connected; }
  void send(const std::vector<std::uint8_t>& bytes) {
    ASSERT_EQ(::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  void send(const Request& r) {
    const std::string b = r.SerializeAsString();
    send(control::frame({reinterpret_cast<const std::uint8_t*>(b.data()), b.size()}));
  }
  // The next response, or nullopt when the server closed the connection or
  // nothing came within `wait`.
  std::optional<Response> receive(std::chrono::milliseconds wait = 5000ms) {
    timeval tv{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::vector<std::uint8_t> buf(4096);
    for (;;) {
      if (auto msg = m_reader.next()) {
        Response r;
        if (!r.ParseFromArray(msg->data(), static_cast<int>(msg->size()))) return std::nullopt;
        return r;
      }
      const ssize_t n = ::recv(m_fd, buf.data(), buf.size(), 0);
      if (n <= 0) return std::nullopt;
      if (!m_reader.feed({buf.data(), static_cast<std::size_t>(n)})) return std::nullopt;
    }
  }
  // True when the server has closed the connection (EOF within `wait`).
  bool closed_by_server(std::chrono::milliseconds wait) {
    timeval tv{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c = 0;
    return ::recv(m_fd, &c, 1, 0) == 0;
  }

 private:
  int m_fd = -1;
  bool m_connected = false;
  control::FrameReader m_reader{control::kMaxResponseBytes};
};

TEST(ControlServer, ImmediateReply) {
  Harness h([](const Request& req, control::Reply reply) {
    reply(req.has_status() ? ok_response(7) : control::error_response("nope", "not status"));
  });
  auto r = control::call(h.socket(), status_request());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r.value().ok());
  EXPECT_EQ(r.value().status().followed(), 7u);
}

TEST(ControlServer, LateReplyFromAnotherThreadPostedBack) {
  // As the daemon does it: work on another thread, the result posted back to
  // the io thread, which calls the Reply.
  std::vector<std::thread> workers;
  asio::io_context* io = nullptr;
  Harness h([&](const Request&, control::Reply reply) {
    workers.emplace_back([io, reply = std::move(reply)]() mutable {
      std::this_thread::sleep_for(300ms);
      asio::post(*io, [reply = std::move(reply)] { reply(ok_response(3)); });
    });
  });
  io = &h.io();
  auto r = control::call(h.socket(), status_request());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value().status().followed(), 3u);
  h.on_io([&] {
    for (auto& w : workers) w.join();
    return 0;
  });
}

TEST(ControlServer, IoThreadStaysFreeWhileAReplyIsPending) {
  std::optional<control::Reply> held;
  Harness h([&](const Request& req, control::Reply reply) {
    if (req.has_follow()) {
      held = std::move(reply);  // answered later, by the test
    } else {
      reply(ok_response(1));
    }
  });
  auto slow = std::async(std::launch::async, [&] { return control::call(h.socket(), follow_request("x")); });
  // Wait until the handler has the slow request.
  for (int i = 0; i < 200 && !h.on_io([&] { return held.has_value(); }); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(h.on_io([&] { return held.has_value(); }));
  auto quick = control::call(h.socket(), status_request());
  ASSERT_TRUE(quick) << quick.error().message();
  EXPECT_EQ(quick.value().status().followed(), 1u);
  EXPECT_EQ(slow.wait_for(0ms), std::future_status::timeout);
  h.on_io([&] {
    (*held)(ok_response(2));
    return 0;
  });
  auto r = slow.get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value().status().followed(), 2u);
}

TEST(ControlServer, IdleTimeoutSparesAConnectionWaitingForItsReply) {
  control::ServerLimits limits;
  limits.idle_timeout = 1s;
  Harness h(
      [&](const Request&, control::Reply reply) {
        // Reply after more than two idle timeouts.
        auto later = std::make_shared<asio::steady_timer>(h.io(), 2500ms);
        later->async_wait([reply = std::move(reply)](const boost::system::error_code&) { reply(ok_response(9)); });
        h.keep(later);
      },
      limits);
  RawClient c(h.socket());
  ASSERT_TRUE(c.connected());
  c.send(status_request());
  auto r = c.receive(6000ms);
  ASSERT_TRUE(r) << "connection closed while its reply was pending";
  EXPECT_EQ(r->status().followed(), 9u);
  // The idle timeout applies again once answered.
  EXPECT_TRUE(c.closed_by_server(4000ms));
}

TEST(ControlServer, IdleConnectionIsClosed) {
  control::ServerLimits limits;
  limits.idle_timeout = 1s;
  Harness h([](const Request&, control::Reply reply) { reply(ok_response()); }, limits);
  RawClient c(h.socket());
  ASSERT_TRUE(c.connected());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_server(5000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
}

TEST(ControlServer, SecondReplyIsIgnored) {
  Harness h([](const Request&, control::Reply reply) {
    reply(ok_response(1));
    reply(ok_response(2));
  });
  RawClient c(h.socket());
  ASSERT_TRUE(c.connected());
  c.send(status_request());
  c.send(status_request());
  auto a = c.receive();
  auto b = c.receive();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->status().followed(), 1u);
  EXPECT_EQ(b->status().followed(), 1u);
  EXPECT_FALSE(c.receive(300ms)) << "a second reply was sent";
}

TEST(ControlServer, PipelinedRequestsAreAnsweredInOrder) {
  // Each request is answered later than the one after it would be, if the
  // server did not wait for one reply before asking about the next.
  int n = 0;
  Harness h([&](const Request&, control::Reply reply) {
    ++n;
    auto t = std::make_shared<asio::steady_timer>(h.io(), std::chrono::milliseconds(400 - 100 * n));
    t->async_wait([reply = std::move(reply), k = n](const boost::system::error_code&) {
      reply(ok_response(static_cast<std::uint32_t>(k)));
    });
    h.keep(t);
  });
  RawClient c(h.socket());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) c.send(status_request());
  for (std::uint32_t i = 1; i <= 3; ++i) {
    auto r = c.receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status().followed(), i);
  }
}

TEST(ControlServer, ThrowingHandlerGivesInternalError) {
  Harness h([](const Request&, control::Reply) -> void { throw std::runtime_error("boom"); });
  auto r = control::call(h.socket(), status_request());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r.value().ok());
  EXPECT_EQ(r.value().error(), "internal_error");
}

TEST(ControlServer, ReplyAfterStopIsHarmless) {
  std::optional<control::Reply> held;
  Harness h([&](const Request&, control::Reply reply) { held = std::move(reply); });
  RawClient c(h.socket());
  ASSERT_TRUE(c.connected());
  c.send(status_request());
  for (int i = 0; i < 200 && !h.on_io([&] { return held.has_value(); }); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(h.on_io([&] { return held.has_value(); }));
  h.stop();
  EXPECT_FALSE(c.receive(2000ms));  // closed, no answer
  EXPECT_FALSE(fs::exists(h.socket()));
  // Let the connection's coroutine finish, then reply late.
  std::this_thread::sleep_for(100ms);
  h.on_io([&] {
    (*held)(ok_response());
    return 0;
  });
}

TEST(ControlServer, ReplyAfterTheServerIsDestroyedIsHarmless) {
  std::optional<control::Reply> held;
  {
    Harness h([&](const Request&, control::Reply reply) { held = std::move(reply); });
    RawClient c(h.socket());
    ASSERT_TRUE(c.connected());
    c.send(status_request());
    for (int i = 0; i < 200 && !h.on_io([&] { return held.has_value(); }); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(h.on_io([&] { return held.has_value(); }));
  }
  // The io_context and the coroutine frames are gone; the Reply only holds
  // a weak reference.
  ASSERT_TRUE(held.has_value());
  (*held)(ok_response());
}

TEST(ControlServer, MalformedRequestKeepsTheConnectionUsable) {
  Harness h([](const Request&, control::Reply reply) { reply(ok_response(5)); });
  RawClient c(h.socket());
  ASSERT_TRUE(c.connected());
  c.send(control::frame({}));  // a Request with no body
  auto bad = c.receive();
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->ok());
  EXPECT_EQ(bad->error(), "malformed_request");
  c.send(status_request());
  auto good = c.receive();
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->ok());
  EXPECT_EQ(h.rejected(), 1u);
}

TEST(ControlServer, OversizedRequestIsRefusedAtTheHeader) {
  Harness h([](const Request&, control::Reply reply) { reply(ok_response()); });
  RawClient c(h.socket());
  ASSERT_TRUE(c.connected());
  c.send(std::vector<std::uint8_t>{0x00, 0x10, 0x00, 0x01});  // 1 MiB + 1, no body sent
  auto r = c.receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error(), "oversized");
  EXPECT_TRUE(c.closed_by_server(2000ms));
}

TEST(ControlServer, ConnectionsPastTheLimitAreClosed) {
  control::ServerLimits limits;
  limits.max_connections = 2;
  std::vector<control::Reply> held;
  Harness h([&](const Request&, control::Reply reply) { held.push_back(std::move(reply)); }, limits);
  RawClient a(h.socket()), b(h.socket());
  ASSERT_TRUE(a.connected() && b.connected());
  // Both are accepted and waiting for replies.
  a.send(status_request());
  b.send(status_request());
  for (int i = 0; i < 200 && h.on_io([&] { return held.size(); }) < 2; ++i) std::this_thread::sleep_for(10ms);
  RawClient third(h.socket());
  EXPECT_TRUE(third.closed_by_server(2000ms));
  h.on_io([&] {
    for (auto& r : held) r(ok_response());
    return 0;
  });
  EXPECT_TRUE(a.receive());
  EXPECT_TRUE(b.receive());
  EXPECT_GE(h.rejected(), 1u);
}

TEST(ControlClient, TimeoutBoundsTheWholeExchange) {
  std::optional<control::Reply> held;
  Harness h([&](const Request&, control::Reply reply) { held = std::move(reply); });
  const auto start = std::chrono::steady_clock::now();
  auto r = control::call(h.socket(), status_request(), 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(boost::system::errc::timed_out));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(ControlClient, NoDaemonIsASystemError) {
  test::TempDir tmp;
  auto r = control::call(tmp / "control.sock", status_request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(boost::system::errc::no_such_file_or_directory));
}

}  // namespace
}  // namespace tz
