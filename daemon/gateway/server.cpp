#include "gateway/server.h"

#include "core/hex.h"
#include "gateway/pages.h"
#include "gateway/request.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <sodium.h>

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>
#include <utility>

namespace tz::gateway {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::empty_body>;

// How often deadlines are checked, and how often a request waiting for
// pieces looks again.
constexpr auto kSweep = std::chrono::milliseconds(100);
constexpr auto kPieceLook = std::chrono::milliseconds(50);
// The most bytes handed to one sendfile call.
constexpr std::size_t kSendChunk = 4u << 20;
// How far ahead of a reader's position missing pieces are asked for.
constexpr std::uint64_t kReadAhead = 8u << 20;

// Content origins: the publisher's scripts, styles, images, media, fonts and
// fetches may come from its own origin only. No other site is ever contacted
// (a reader's browser must not tell anyone what it reads), nothing is posted,
// and the page cannot be framed by another origin. The sandbox keeps the
// origin (so the bundle's own files load) but forbids forms, popups, top-level
// navigation of other windows and plugins.
constexpr std::string_view kContentPolicy =
    "sandbox allow-scripts allow-same-origin allow-downloads; default-src 'self'; "
    "script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'none'; frame-ancestors 'self'";
// The gateway's own pages: no script at all, its one inline style sheet, and
// the field's form posts back to the home origin only.
constexpr std::string_view kHomePolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";

enum class Policy { home, content };

struct Conn {
  explicit Conn(tcp::socket s) : sock(std::move(s)) {}
  tcp::socket sock;
  Clock::time_point deadline = Clock::time_point::max();
  bool sending = false;  // a response is being written (a timeout then counts as a slow client)
  bool first = true;     // no request answered yet
};

// A closed file descriptor on every path out.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A media type from a signed manifest, as a header value; one with bytes a
// header cannot hold becomes application/octet-stream (validate_manifest
// already refuses those, this is a second guard at the output).
std::string header_safe_media_type(const std::string& t) {
  const bool ok = !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
  return ok ? t : "application/octet-stream";
}

// The sentence the home page shows for /open's outcome ("" for anything else).
std::string notice_text(std::string_view word) {
  if (word == "followed") return "Followed. The channel is below; its bundles appear as they are fetched.";
  if (word == "fetching") return "Fetching the bundle; it appears below once its publisher's signature is checked.";
  if (word == "invalid") return "That is not a publisher ID or a link Tamizdat can open.";
  if (word == "empty") return "Type a publisher ID or a link.";
  return {};
}

template <class Message>
void set_common_headers(Message& m, Policy policy) {
  m.set(http::field::server, "tamizdat");
  m.set("X-Content-Type-Options", "nosniff");
  m.set("Referrer-Policy", "no-referrer");
  m.set(http::field::cache_control, "no-store");
  m.set("Cross-Origin-Opener-Policy", "same-origin");
  m.set("Cross-Origin-Resource-Policy", "same-origin");
  if (policy == Policy::home) {
    m.set("Content-Security-Policy", std::string(kHomePolicy));
    m.set("X-Frame-Options", "DENY");
  } else {
    m.set("Content-Security-Policy", std::string(kContentPolicy));
    m.set("X-Frame-Options", "SAMEORIGIN");
  }
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& i, Library& l, ServerOptions o, GatewayLog lg)
      : io(i), lib(l), opts(std::move(o)), log(std::move(lg)), acceptor(i), sweeper(i) {
    std::array<std::uint8_t, 16> t{};
    randombytes_buf(t.data(), t.size());
    ctx.token = to_hex(t);
  }

  asio::io_context& io;
  Library& lib;
  ServerOptions opts;
  GatewayLog log;
  tcp::acceptor acceptor;
  asio::steady_timer sweeper;
  std::set<std::shared_ptr<Conn>> conns;
  PageContext ctx;
  std::map<std::string, std::uint64_t> rejected;
  bool stopped = false;

  void reject(const std::string& reason, const std::string& detail) {
    ++rejected[reason];
    log(3, "gateway: refused (" + reason + "): " + detail);
  }

  // --- connections ------------------------------------------------------

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      boost::system::error_code ec;
      tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped) co_return;
      if (ec) {
        // Out of descriptors and the like: wait a little rather than spin.
        log(1, "gateway: accept failed: " + ec.message());
        asio::steady_timer t(io, std::chrono::milliseconds(100));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (conns.size() >= opts.max_connections) {
        reject("too_many_connections", "at the limit of " + std::to_string(opts.max_connections));
        sock.close(ec);
        continue;
      }
      auto conn = std::make_shared<Conn>(std::move(sock));
      conns.insert(conn);
      asio::co_spawn(io, serve(conn), asio::detached);
    }
  }

  // Closes every connection past its deadline; the operation it was waiting
  // on then fails and its coroutine ends.
  void sweep() {
    sweeper.expires_after(kSweep);
    sweeper.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (ec || !self || self->stopped) return;
      const auto now = Clock::now();
      for (const auto& c : self->conns) {
        if (c->deadline > now || !c->sock.is_open()) continue;
        if (c->first || c->sending) self->reject("timeout", c->sending ? "client took no data" : "request head too slow");
        boost::system::error_code ignored;
        c->sock.close(ignored);
      }
      self->sweep();
    });
  }

  asio::awaitable<void> serve(std::shared_ptr<Conn> conn) {
    auto self = shared_from_this();
    boost::beast::flat_buffer buf;
    try {
      while (!stopped) {
        conn->sending = false;
        conn->deadline = Clock::now() + (conn->first ? opts.head_timeout : opts.idle_timeout);
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
        boost::system::error_code ec;
        co_await http::async_read_header(conn->sock, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (stopped || !conn->sock.is_open()) break;
        conn->sending = true;
        conn->deadline = Clock::now() + opts.send_timeout;
        bool keep = false;
        if (ec == http::error::header_limit) {
          reject("header_too_large", "request head over " + std::to_string(opts.max_header_bytes) + " bytes");
          co_await send_error(*conn, nullptr, http::status::request_header_fields_too_large,
                              "The request's header is too large.");
        } else if (ec == http::error::end_of_stream || ec == asio::error::eof ||
                   ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
          break;
        } else if (ec) {
          reject("bad_request", ec.message());
          co_await send_error(*conn, nullptr, http::status::bad_request, "The request is malformed.");
        } else {
          keep = co_await handle(*conn, parser);
        }
        conn->first = false;
        if (!keep || stopped) break;
      }
    } catch (const std::exception& e) {
      log(0, std::string("gateway: internal error: ") + e.what());
    }
    boost::system::error_code ignored;
    conn->sock.shutdown(tcp::socket::shutdown_both, ignored);
    conn->sock.close(ignored);
    conns.erase(conn);
  }

  // --- responses --------------------------------------------------------

  // Writes a whole response with `body` (or only its head, for HEAD).
  // Returns whether the connection may be kept.
  asio::awaitable<bool> send(Conn& c, const Request* req, http::status status, Policy policy,
                             std::string_view content_type, std::string body,
                             const std::vector<std::pair<std::string, std::string>>& extra, bool keep) {
    const unsigned version = req != nullptr ? req->version() : 11;
    keep = keep && req != nullptr && req->keep_alive();
    boost::system::error_code ec;
    if (req != nullptr && req->method() == http::verb::head) {
      http::response<http::empty_body> res{status, version};
      set_common_headers(res, policy);
      res.set(http::field::content_type, std::string(content_type));
      for (const auto& [k, v] : extra) res.set(k, v);
      res.content_length(body.size());
      res.keep_alive(keep);
      http::response_serializer<http::empty_body> sr{res};
      co_await http::async_write_header(c.sock, sr, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      http::response<http::string_body> res{status, version};
      set_common_headers(res, policy);
      res.set(http::field::content_type, std::string(content_type));
      for (const auto& [k, v] : extra) res.set(k, v);
      res.body() = std::move(body);
      res.keep_alive(keep);
      res.prepare_payload();
      co_await http::async_write(c.sock, res, asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return keep && !ec;
  }

  asio::awaitable<bool> send_error(Conn& c, const Request* req, http::status status, std::string_view detail,
                                   std::vector<std::pair<std::string, std::string>> extra = {}, bool keep = false) {
    const auto code = static_cast<unsigned>(status);
    const auto reason = http::obsolete_reason(status);
    std::string page = error_page(code, std::string(reason.data(), reason.size()), detail, ctx);
    co_return co_await send(c, req, status, Policy::home, "text/html; charset=utf-8", std::move(page), extra, keep);
  }

  asio::awaitable<bool> redirect(Conn& c, const Request& req, http::status status, std::string location) {
    std::vector<std::pair<std::string, std::string>> headers{{"Location", std::move(location)}};
    co_return co_await send(c, &req, status, Policy::home, "text/plain; charset=utf-8", {}, headers, true);
  }

  // --- requests ---------------------------------------------------------

  asio::awaitable<bool> handle(Conn& c, http::request_parser<http::empty_body>& parser) {
    const Request& req = parser.get();
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      reject("bad_method", std::string(req.method_string().substr(0, 40)));
      std::vector<std::pair<std::string, std::string>> allow{{"Allow", "GET, HEAD"}};
      co_return co_await send_error(c, &req, http::status::method_not_allowed,
                                    "This gateway only reads: GET and HEAD.", allow);
    }
    // Nothing here reads a body; one sent anyway would be read as the next request.
    if (parser.chunked() || parser.content_length().value_or(0) > 0) {
      reject("bad_request", "request with a body");
      co_return co_await send_error(c, &req, http::status::bad_request, "A GET request has no body.");
    }
    if (req.count(http::field::host) != 1) {
      reject("bad_host", "Host fields: " + std::to_string(req.count(http::field::host)));
      co_return co_await send_error(c, &req, http::status::bad_request, "The request needs exactly one Host.");
    }
    const std::string_view host(req[http::field::host].data(), req[http::field::host].size());
    const auto origin = parse_host(host, port());
    if (!origin) {
      reject("bad_host", "Host " + std::string(host.substr(0, 80)));
      co_return co_await send_error(c, &req, http::status::misdirected_request,
                                    "This gateway answers only for localhost names.");
    }
    const std::string_view target(req.target().data(), req.target().size());
    if (origin.value().is_home()) co_return co_await home(c, req, target);
    co_return co_await content(c, req, *origin.value().publisher, target);
  }

  asio::awaitable<bool> target_error(Conn& c, const Request& req, const boost::system::error_code& ec,
                                     const std::string& why) {
    reject(std::string(error_name(ec)), why.empty() ? ec.message() : why);
    if (ec == errc::oversized) {
      co_return co_await send_error(c, &req, http::status::uri_too_long, "The address is too long.");
    }
    if (ec == errc::bad_target) {
      co_return co_await send_error(c, &req, http::status::bad_request, "The address is malformed.");
    }
    co_return co_await send_error(c, &req, http::status::not_found, "There is nothing at this address.", {}, true);
  }

  asio::awaitable<bool> home(Conn& c, const Request& req, std::string_view target) {
    const auto page = parse_home_target(target);
    if (!page) co_return co_await target_error(c, req, page.error(), {});
    switch (page.value()) {
      case HomePage::index: {
        auto channels = lib.channels();
        if (!channels) {
          log(0, "gateway: reading the catalogue: " + channels.error().message());
          co_return co_await send_error(c, &req, http::status::internal_server_error,
                                        "The node could not read its catalogue.");
        }
        const std::string notice = notice_text(query_param(target, "n").value_or(""));
        co_return co_await send(c, &req, http::status::ok, Policy::home, "text/html; charset=utf-8",
                                home_page(channels.value(), lib.node_status(), ctx, notice), {},
                                true);
      }
      case HomePage::status:
        co_return co_await send(c, &req, http::status::ok, Policy::home, "text/html; charset=utf-8",
                                status_page(lib.node_status(), ctx), {}, true);
      case HomePage::open:
        co_return co_await open(c, req, target);
    }
    co_return false;
  }

  // The home page's field. It changes what the node does, so it must carry
  // the token only the home page holds: another site (or a publisher's
  // page) can make the browser load /open, but cannot read the token.
  asio::awaitable<bool> open(Conn& c, const Request& req, std::string_view target) {
    const auto token = query_param(target, "t");
    if (!token || token->size() != ctx.token.size() ||
        sodium_memcmp(token->data(), ctx.token.data(), ctx.token.size()) != 0) {
      reject("bad_token", "open without the home page's token");
      co_return co_await send_error(c, &req, http::status::forbidden,
                                    "Use the field on the Tamizdat home page to follow or open.", {}, true);
    }
    const auto q = query_param(target, "q");
    // The home page says what happened through one of a few fixed words:
    // any site can link to "/?n=...", so no text of its choosing may appear.
    std::string outcome;
    std::string anchor;
    if (!q) {
      outcome = "empty";
    } else if (auto opened = lib.open(*q); !opened) {
      outcome = "invalid";
      log(3, "gateway: open: " + error_name(opened.error()));
    } else if (opened.value().kind == Opened::Kind::channel) {
      outcome = "followed";
      anchor = "#" + channel_anchor(*opened.value().publisher);
    } else if (opened.value().publisher && opened.value().bundle_id) {
      // Its own address: a page that looks again until the bundle can be read.
      co_return co_await redirect(c, req, http::status::see_other,
                                  bundle_url(*opened.value().publisher, *opened.value().bundle_id, port()));
    } else {
      outcome = "fetching";
      if (opened.value().bundle_id) anchor = "#" + bundle_anchor(*opened.value().bundle_id);
    }
    co_return co_await redirect(c, req, http::status::see_other, "/?n=" + outcome + anchor);
  }

  asio::awaitable<bool> content(Conn& c, const Request& req, const PublicKey& publisher, std::string_view target) {
    const std::string_view path = target.substr(0, target.find_first_of("?#"));
    if (path == "/") {
      // The bare origin: the channel on the home page.
      co_return co_await redirect(c, req, http::status::see_other,
                                  "http://" + home_host(port()) + "/#" + channel_anchor(publisher));
    }
    std::string why;
    const auto ct = parse_content_target(target, &why);
    if (!ct) co_return co_await target_error(c, req, ct.error(), why);
    const auto bundle = lib.bundle(publisher, ct.value().bundle_id);
    if (!bundle) co_return co_await not_served(c, req, publisher, ct.value().bundle_id);
    if (ct.value().needs_slash) {
      co_return co_await redirect(c, req, http::status::moved_permanently, "/" + to_hex(bundle->id) + "/");
    }
    const ManifestData& m = bundle->manifest->data();
    const std::optional<SafeRelPath>& file_path = ct.value().path ? ct.value().path : m.entry;
    if (!file_path) {
      co_return co_await send(c, &req, http::status::ok, Policy::content, "text/html; charset=utf-8",
                              file_list_page(*bundle), bundle_headers(*bundle), true);
    }
    const auto it = std::lower_bound(m.files.begin(), m.files.end(), file_path->str(),
                                     [](const ManifestFile& f, const std::string& p) { return f.path.str() < p; });
    if (it == m.files.end() || it->path.str() != file_path->str()) {
      co_return co_await send_error(c, &req, http::status::not_found, "This bundle has no such file.", {}, true);
    }
    co_return co_await serve_file(c, req, bundle, static_cast<std::size_t>(it - m.files.begin()));
  }

  // A bundle the node does not serve: being fetched (503, and the page looks
  // again by itself), failed, or unknown (404).
  asio::awaitable<bool> not_served(Conn& c, const Request& req, const PublicKey& publisher, const Sha256& id) {
    const auto known = lib.find(publisher, id);
    if (known && known->state == "downloading") {
      std::string page = fetching_page(*known, ctx);
      std::vector<std::pair<std::string, std::string>> headers{{"Retry-After", "5"}};
      co_return co_await send(c, &req, http::status::service_unavailable, Policy::home, "text/html; charset=utf-8",
                              std::move(page), headers, true);
    }
    if (known && known->state == "failed") {
      co_return co_await send_error(c, &req, http::status::not_found,
                                    "This bundle was refused or given up: " + known->error + ".", {}, true);
    }
    co_return co_await send_error(c, &req, http::status::not_found,
                                  "This node holds no such bundle of this publisher.", {}, true);
  }

  // What vouches for a bundle's bytes, and what its signed manifest says of
  // its media (read from the verified manifest, so it is there while the
  // bundle downloads too), for scripts that fetch from the gateway.
  std::vector<std::pair<std::string, std::string>> bundle_headers(const ServedBundle& b) const {
    return {{"Tamizdat-Publisher", encode_publisher_id(b.publisher)},
            {"Tamizdat-Bundle", to_hex(b.id)},
            {"Tamizdat-Verified", b.complete ? "bundle" : "pieces"},
            {"Tamizdat-Media", std::string(media_status(b.manifest->data()))}};
  }

  // Waits until at least one byte at `offset` has passed its hash check,
  // asking for it first; false when piece_wait passes first or the server stops.
  asio::awaitable<std::uint64_t> wait_readable(const ServedBundle& b, std::size_t file, std::uint64_t offset,
                                               std::uint64_t left) {
    const auto give_up = Clock::now() + opts.piece_wait;
    std::uint64_t n = lib.readable(b, file, offset, left);
    while (n == 0 && !stopped && Clock::now() < give_up) {
      lib.want(b, file, offset, std::min(left, kReadAhead));
      asio::steady_timer t(io, kPieceLook);
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped) co_return 0;
      n = lib.readable(b, file, offset, left);
    }
    co_return n;
  }

  asio::awaitable<bool> serve_file(Conn& c, const Request& req, std::shared_ptr<const ServedBundle> b,
                                   std::size_t index) {
    const ManifestFile& f = b->manifest->data().files[index];
    auto headers = bundle_headers(*b);
    const std::string etag =
        "\"" + (f.pieces_root ? to_hex(*f.pieces_root) : std::string("empty")) + "\"";
    headers.emplace_back("ETag", etag);
    headers.emplace_back("Accept-Ranges", "bytes");
    // If-Range with another validator asks for the whole file (RFC 9110 §13.1.5).
    const auto range_field = req[http::field::range];
    const bool range_applies =
        req.count(http::field::if_range) == 0 || req[http::field::if_range] == boost::beast::string_view(etag);
    const RangeDecision d =
        range_applies ? parse_range(std::string_view(range_field.data(), range_field.size()), f.size) : RangeDecision{};
    if (d.kind == RangeDecision::Kind::unsatisfiable) {
      headers.emplace_back("Content-Range", content_range_unsatisfiable(f.size));
      co_return co_await send(c, &req, http::status::range_not_satisfiable, Policy::content, "text/plain; charset=utf-8",
                              {}, headers, true);
    }
    const bool partial = d.kind == RangeDecision::Kind::partial;
    const std::uint64_t first = partial ? d.range.first : 0;
    const std::uint64_t length = partial ? d.range.length() : f.size;
    if (partial) headers.emplace_back("Content-Range", content_range(d.range, f.size));

    if (!b->complete && length > 0) {
      c.deadline = Clock::time_point::max();  // the wait is bounded by piece_wait
      const std::uint64_t n = co_await wait_readable(*b, index, first, length);
      if (stopped) co_return false;
      c.deadline = Clock::now() + opts.send_timeout;
      if (n == 0) {
        std::vector<std::pair<std::string, std::string>> retry{{"Retry-After", "10"}};
        co_return co_await send_error(c, &req, http::status::service_unavailable,
                                      "This part of the bundle has not been downloaded yet. Try again soon.", retry,
                                      true);
      }
    }
    const std::filesystem::path file = b->folder / f.path.str();
    Fd fd(length > 0 ? ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1);
    if (length > 0) {
      struct stat st {};
      const bool ok = fd.fd >= 0 && ::fstat(fd.fd, &st) == 0 && S_ISREG(st.st_mode) &&
                      (!b->complete || static_cast<std::uint64_t>(st.st_size) == f.size);
      if (!ok) {
        log(1, "gateway: " + file.string() + " is missing or changed on disk; not serving it");
        co_return co_await send_error(c, &req, http::status::internal_server_error,
                                      "This file is missing or was changed on disk since it was verified.");
      }
    }

    http::response<http::empty_body> res{partial ? http::status::partial_content : http::status::ok, req.version()};
    set_common_headers(res, Policy::content);
    res.set(http::field::content_type, header_safe_media_type(f.media_type));
    for (const auto& [k, v] : headers) res.set(k, v);
    res.content_length(length);
    res.keep_alive(req.keep_alive());
    boost::system::error_code ec;
    http::response_serializer<http::empty_body> sr{res};
    co_await http::async_write_header(c.sock, sr, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    if (req.method() == http::verb::head || length == 0) co_return req.keep_alive();
    co_return co_await send_body(c, *b, index, fd.fd, first, length) && req.keep_alive();
  }

  // Sends bytes [first, first + length) of the file, only as far as they are
  // verified, waiting (bounded) for the rest.
  asio::awaitable<bool> send_body(Conn& c, const ServedBundle& b, std::size_t index, int fd, std::uint64_t first,
                                  std::uint64_t length) {
    boost::system::error_code ec;
    c.sock.native_non_blocking(true, ec);
    if (ec) co_return false;
    std::uint64_t pos = first;
    std::uint64_t left = length;
    while (left > 0) {
      std::uint64_t n = left;
      if (!b.complete) {
        c.deadline = Clock::time_point::max();
        n = co_await wait_readable(b, index, pos, left);
        if (stopped || n == 0) co_return false;  // the status is sent: all that is left is to stop
        if (n < left) lib.want(b, index, pos + n, std::min(left - n, kReadAhead));
      }
      c.deadline = Clock::now() + opts.send_timeout;
      auto off = static_cast<off_t>(pos);
      const std::uint64_t end = pos + n;
      while (static_cast<std::uint64_t>(off) < end) {
        const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(end - static_cast<std::uint64_t>(off), kSendChunk));
        const ssize_t r = ::sendfile(c.sock.native_handle(), fd, &off, chunk);
        if (r > 0) {
          c.deadline = Clock::now() + opts.send_timeout;
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          co_await c.sock.async_wait(tcp::socket::wait_write, asio::redirect_error(asio::use_awaitable, ec));
          if (ec || stopped) co_return false;
          continue;
        }
        // 0: the file ended early (shortened on disk); or a socket error.
        co_return false;
      }
      pos = end;
      left -= n;
    }
    co_return true;
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return ctx.port; }
};

Server::Server(asio::io_context& io, Library& library, ServerOptions options, GatewayLog log)
    : m_impl(std::make_shared<Impl>(io, library, std::move(options), std::move(log))) {}

Server::~Server() { stop(); }

Result<void> Server::start() {
  Impl& i = *m_impl;
  boost::system::error_code ec;
  i.acceptor.open(i.opts.listen.protocol(), ec);
  if (!ec) i.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(i.opts.listen, ec);
  if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    i.acceptor.close(ignored);
    return ec;
  }
  i.ctx.port = i.acceptor.local_endpoint().port();
  asio::co_spawn(i.io, i.accept_loop(), asio::detached);
  i.sweep();
  return success();
}

void Server::stop() {
  Impl& i = *m_impl;
  if (i.stopped) return;
  i.stopped = true;
  boost::system::error_code ignored;
  i.acceptor.close(ignored);
  i.sweeper.cancel();
  for (const auto& c : i.conns) c->sock.close(ignored);
}

std::uint16_t Server::port() const noexcept { return m_impl->port(); }

std::map<std::string, std::uint64_t> Server::rejections() const { return m_impl->rejected; }

}  // namespace tz::gateway
