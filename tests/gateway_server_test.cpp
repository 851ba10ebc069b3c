// The reader gateway's HTTP server, in process, over a fake Library that
// serves real signed bundles from a temporary folder: headers, ranges,
// streaming of a bundle that is still downloading, and every kind of bad
// request. Clients are raw sockets on 127.0.0.1, so the bytes on the wire
// are what is checked.
#include "bundle/bundle.h"
#include "core/hex.h"
#include "gateway/pages.h"
#include "gateway/server.h"
#include "test_util.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace tz::gateway {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// --- a fake node --------------------------------------------------------

class FakeLibrary final : public Library {
 public:
  std::vector<ChannelSummary> chans;
  std::map<std::pair<PublicKey, Sha256>, std::shared_ptr<const ServedBundle>> bundles;
  // For incomplete bundles: bytes of each file verified so far, from its start.
  std::atomic<std::uint64_t> available{0};
  std::atomic<int> want_calls{0};
  std::mutex m;
  std::vector<std::string> opened;

  Result<std::vector<ChannelSummary>> channels() override { return chans; }
  NodeSummary node_status() override { return {3, 17, 1}; }
  std::shared_ptr<const ServedBundle> bundle(const PublicKey& p, const Sha256& id) override {
    const auto it = bundles.find({p, id});
    return it == bundles.end() ? nullptr : it->second;
  }
  std::map<std::pair<PublicKey, Sha256>, BundleSummary> pending;
  std::optional<BundleSummary> find(const PublicKey& p, const Sha256& id) override {
    const auto it = pending.find({p, id});
    if (it == pending.end()) return std::nullopt;
    return it->second;
  }
  std::uint64_t readable(const ServedBundle& b, std::size_t file, std::uint64_t offset, std::uint64_t max) override {
    const std::uint64_t size = b.manifest->data().files.at(file).size;
    const std::uint64_t end = b.complete ? size : std::min(size, available.load());
    return offset >= end ? 0 : std::min(max, end - offset);
  }
  void want(const ServedBundle&, std::size_t, std::uint64_t, std::uint64_t) override { ++want_calls; }
  Result<Opened> open(std::string_view text) override {
    std::lock_guard lock(m);
    opened.emplace_back(text);
    Opened o;
    o.publisher = test::fixed_key(9).public_key();
    if (text.starts_with("magnet:")) {
      o.kind = Opened::Kind::bundle;
      o.bundle_id = Sha256{};
    }
    return o;
  }
};

// --- raw HTTP client ----------------------------------------------------

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool closed = false;  // the server closed the connection after it
};

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads one response (head, then Content-Length bytes unless `head_only`)
// from `fd`, keeping what follows in `rest`.
Reply read_reply(int fd, std::string& rest, bool head_only = false) {
  Reply r;
  std::string& data = rest;
  char buf[65536];
  auto fill = [&]() {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      return false;
    }
    data.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t end;
  while ((end = data.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return r;
  }
  const std::string head = data.substr(0, end);
  data.erase(0, end + 4);
  r.status = std::stoi(head.substr(9, 3));
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    const std::size_t next = head.find("\r\n", pos + 2);
    const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    pos = next;
  }
  if (head_only) return r;
  const std::size_t want = r.headers.contains("content-length") ? std::stoull(r.headers["content-length"]) : 0;
  while (data.size() < want) {
    if (!fill()) return r;
  }
  r.body = data.substr(0, want);
  data.erase(0, want);
  return r;
}

// One request on a new connection; `Connection: close` unless the request has its own.
Reply ask(std::uint16_t port, const std::string& request) {
  const int fd = connect_to(port);
  if (fd < 0) return {};
  send_all(fd, request);
  std::string rest;
  Reply r = read_reply(fd, rest, request.starts_with("HEAD "));
  ::close(fd);
  return r;
}

std::string get(const std::string& host, const std::string& target, const std::string& extra = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "Connection: close\r\n\r\n";
}

// True when the server closes `fd` (EOF) within `limit`.
bool closed_within(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  const auto until = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  while (std::chrono::steady_clock::now() < until) {
    if (::poll(&p, 1, 50) > 0) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
    }
  }
  return false;
}

// --- fixture ------------------------------------------------------------

class GatewayServer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // as tamizdatd does (see gateway/server.h)
    ASSERT_TRUE(crypto_init());
    m_tmp = m_dir.path();
    // A file beside the bundles that no request may ever reach.
    test::write_file(m_tmp / "secret.txt", "SECRET-OUTSIDE-THE-BUNDLE");
    m_video = test::random_bytes(3u << 20, 7);
    const fs::path a = m_tmp / "a";
    test::write_file(a / "index.html", "<!doctype html><title>A</title><h1>Headline A</h1><img src=\"img/p.png\">");
    test::write_file(a / "img/p.png", "not really a png");
    test::write_file(a / "media/clip.webm", m_video);
    test::write_file(a / "a b.txt", "spaced");
    m_a = serve(a, test::fixed_key(1), "Article A", true);
    const fs::path b = m_tmp / "b";
    test::write_file(b / "notes.txt", "B's notes");
    test::write_file(b / "R&D #1.txt", "odd name");
    // Signed after a check that removed metadata from one of its files.
    m_b = serve(b, test::fixed_key(2), "Files of B", true, MetadataStatement::checked, {{"notes.txt", std::nullopt}});
    // The same content as A, still downloading (another publisher, so another origin).
    const fs::path p = m_tmp / "p";
    fs::create_directories(p);
    fs::copy(a, p, fs::copy_options::recursive);
    fs::remove_all(p / ".tamizdat");
    m_partial = serve(p, test::fixed_key(3), "Partial", false);

    ChannelSummary ch;
    ch.publisher = m_a->publisher;
    ch.followed = true;
    ch.head_seq = 4;
    BundleSummary verified{m_a->id, "<script>alert(1)</script> & co", 1764547200, 3u << 20, 3u << 20, "verified", {},
                           "checked"};
    BundleSummary loading{m_b->id, "Still coming", 0, 100, 50, "downloading", {}, "kept"};
    ch.bundles = {verified, loading};
    m_lib.chans = {ch};

    ServerOptions o;
    o.listen = {boost::asio::ip::make_address_v4("127.0.0.1"), 0};
    o.head_timeout = 700ms;
    o.idle_timeout = 2000ms;
    o.piece_wait = 1500ms;
    m_server = std::make_unique<Server>(m_io, m_lib, o, [](int, const std::string&) {});
    ASSERT_TRUE(m_server->start());
    m_port = m_server->port();
    m_thread = std::thread([this] { m_io.run(); });
  }

  void TearDown() override {
    if (m_server) boost::asio::post(m_io, [this] { m_server->stop(); });
    m_work.reset();
    if (m_thread.joinable()) m_thread.join();
    m_server.reset();
  }

  std::shared_ptr<const ServedBundle> serve(const fs::path& dir, const SecretKey& key, const std::string& title,
                                            bool complete, MetadataStatement metadata = MetadataStatement::unstated,
                                            std::map<std::string, std::optional<ProvenanceSeal>> scrubbed = {}) {
    bundle::CreateOptions opts;
    opts.title = title;
    opts.metadata = metadata;
    opts.scrubbed = std::move(scrubbed);
    auto vb = bundle::create_bundle(dir, key, opts);
    EXPECT_TRUE(vb) << vb.error().message();
    auto s = std::make_shared<ServedBundle>();
    s->publisher = key.public_key();
    s->id = vb.value().torrent.info_hash_v2;
    s->manifest = std::make_shared<const VerifiedManifest>(vb.value().manifest);
    s->folder = dir;
    s->complete = complete;
    m_lib.bundles[{s->publisher, s->id}] = s;
    return s;
  }

  std::string host(const ServedBundle& b) const { return content_host(b.publisher, m_port); }
  std::string home() const { return "localhost:" + std::to_string(m_port); }
  static std::string path(const ServedBundle& b, const std::string& rest = {}) { return "/" + to_hex(b.id) + "/" + rest; }
  std::map<std::string, std::uint64_t> rejections() {
    std::promise<std::map<std::string, std::uint64_t>> p;
    boost::asio::post(m_io, [&] { p.set_value(m_server->rejections()); });
    return p.get_future().get();
  }

  test::TempDir m_dir;
  fs::path m_tmp;
  std::string m_video;
  FakeLibrary m_lib;
  std::shared_ptr<const ServedBundle> m_a, m_b, m_partial;
  boost::asio::io_context m_io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> m_work{m_io.get_executor()};
  std::unique_ptr<Server> m_server;
  std::uint16_t m_port = 0;
  std::thread m_thread;
};

// --- content ------------------------------------------------------------

TEST_F(GatewayServer, ServesTheEntryPointWithItsSecurityHeaders) {
  const Reply r = ask(m_port, get(host(*m_a), path(*m_a)));
  ASSERT_EQ(r.status, 200);
  const auto index = test::read_bytes(m_tmp / "a/index.html");
  EXPECT_EQ(r.body, std::string(index.begin(), index.end()));
  EXPECT_EQ(r.headers.at("content-type"), "text/html; charset=utf-8");
  const std::string& csp = r.headers.at("content-security-policy");
  EXPECT_NE(csp.find("sandbox allow-scripts allow-same-origin"), std::string::npos) << csp;
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("form-action 'none'"), std::string::npos) << csp;
  EXPECT_EQ(r.headers.at("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.headers.at("cross-origin-resource-policy"), "same-origin");
  EXPECT_EQ(r.headers.at("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.headers.at("tamizdat-publisher"), encode_publisher_id(m_a->publisher));
  EXPECT_EQ(r.headers.at("tamizdat-bundle"), to_hex(m_a->id));
  EXPECT_EQ(r.headers.at("tamizdat-verified"), "bundle");
}

TEST_F(GatewayServer, ServesFilesWithTheManifestsMediaTypeAndEncodedNames) {
  const Reply r = ask(m_port, get(host(*m_a), path(*m_a, "media/clip.webm")));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "video/webm");
  EXPECT_EQ(r.headers.at("accept-ranges"), "bytes");
  EXPECT_EQ(r.body, m_video);
  const Reply spaced = ask(m_port, get(host(*m_a), path(*m_a, "a%20b.txt")));
  ASSERT_EQ(spaced.status, 200);
  EXPECT_EQ(spaced.body, "spaced");
}

TEST_F(GatewayServer, AnswersRangesAndHead) {
  const std::string target = path(*m_a, "media/clip.webm");
  Reply r = ask(m_port, get(host(*m_a), target, "Range: bytes=100-199\r\n"));
  ASSERT_EQ(r.status, 206);
  EXPECT_EQ(r.headers.at("content-range"), "bytes 100-199/" + std::to_string(m_video.size()));
  EXPECT_EQ(r.body, m_video.substr(100, 100));
  r = ask(m_port, get(host(*m_a), target, "Range: bytes=-10\r\n"));
  ASSERT_EQ(r.status, 206);
  EXPECT_EQ(r.body, m_video.substr(m_video.size() - 10));
  r = ask(m_port, get(host(*m_a), target, "Range: bytes=3000000-\r\n"));
  ASSERT_EQ(r.status, 206);
  EXPECT_EQ(r.body, m_video.substr(3000000));
  r = ask(m_port, get(host(*m_a), target, "Range: bytes=99999999-\r\n"));
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.headers.at("content-range"), "bytes */" + std::to_string(m_video.size()));
  // If-Range with a validator that is not the file's: the whole file.
  r = ask(m_port, get(host(*m_a), target, "Range: bytes=0-0\r\nIf-Range: \"other\"\r\n"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), m_video.size());
  r = ask(m_port, "HEAD " + target + " HTTP/1.1\r\nHost: " + host(*m_a) + "\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-length"), std::to_string(m_video.size()));
}

TEST_F(GatewayServer, ABundleWithoutEntryListsItsFilesEscaped) {
  const Reply r = ask(m_port, get(host(*m_b), path(*m_b)));
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("href=\"notes.txt\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("href=\"R%26D%20%231.txt\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(">R&amp;D #1.txt<"), std::string::npos) << r.body;
  const Reply odd = ask(m_port, get(host(*m_b), path(*m_b, "R%26D%20%231.txt")));
  EXPECT_EQ(odd.body, "odd name");
  EXPECT_NE(r.headers.at("content-security-policy").find("sandbox"), std::string::npos);
}

TEST_F(GatewayServer, EveryResponseFromABundleSaysWhatItsManifestSaysOfItsMedia) {
  // A: signed without a statement; B: checked, one file scrubbed.
  Reply r = ask(m_port, get(host(*m_a), path(*m_a)));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("tamizdat-media"), "unstated");
  r = ask(m_port, get(host(*m_a), path(*m_a, "media/clip.webm"), "Range: bytes=0-9\r\n"));
  ASSERT_EQ(r.status, 206);
  EXPECT_EQ(r.headers.at("tamizdat-media"), "unstated");
  r = ask(m_port,
          "HEAD " + path(*m_b, "notes.txt") + " HTTP/1.1\r\nHost: " + host(*m_b) + "\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("tamizdat-media"), "scrubbed");
  // Its file list says so too, and marks the scrubbed file only.
  r = ask(m_port, get(host(*m_b), path(*m_b)));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("tamizdat-media"), "scrubbed");
  EXPECT_NE(r.body.find("media scrubbed by the publisher"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(">notes.txt</a> <span class=\"muted\">9 B \u00b7 scrubbed</span>"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(">R&amp;D #1.txt</a> <span class=\"muted\">8 B</span>"), std::string::npos) << r.body;
  // A bundle still downloading: from its verified manifest.
  m_lib.available = 1u << 20;
  r = ask(m_port, get(host(*m_partial), path(*m_partial, "index.html")));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("tamizdat-verified"), "pieces");
  EXPECT_EQ(r.headers.at("tamizdat-media"), "unstated");
  // Kept on purpose, and checked with nothing to remove.
  test::write_file(m_tmp / "k/doc.txt", "as it was");
  const auto kept = serve(m_tmp / "k", test::fixed_key(4), "Kept", true, MetadataStatement::kept);
  EXPECT_EQ(ask(m_port, get(host(*kept), path(*kept, "doc.txt"))).headers.at("tamizdat-media"), "kept");
  test::write_file(m_tmp / "c/doc.txt", "clean");
  const auto checked = serve(m_tmp / "c", test::fixed_key(5), "Clean", true, MetadataStatement::checked);
  r = ask(m_port, get(host(*checked), path(*checked)));
  EXPECT_EQ(r.headers.at("tamizdat-media"), "checked");
  EXPECT_NE(r.body.find("checked: no identifying metadata"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("scrubbed"), std::string::npos) << r.body;
  // Not on the home origin's pages, nor on a refusal.
  EXPECT_FALSE(ask(m_port, get(home(), "/")).headers.contains("tamizdat-media"));
  EXPECT_FALSE(ask(m_port, get(host(*m_a), path(*m_a, "nope.html"))).headers.contains("tamizdat-media"));
}

TEST_F(GatewayServer, RedirectsTheBareBundleAndTheBareOrigin) {
  Reply r = ask(m_port, get(host(*m_a), "/" + to_hex(m_a->id)));
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.headers.at("location"), path(*m_a));
  r = ask(m_port, get(host(*m_a), "/"));
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.headers.at("location"), "http://" + home() + "/#" + channel_anchor(m_a->publisher));
}

TEST_F(GatewayServer, UnknownBundlesFilesAndOtherPublishersBundlesAre404) {
  Sha256 other = m_a->id;
  other[0] ^= 1;
  EXPECT_EQ(ask(m_port, get(host(*m_a), "/" + to_hex(other) + "/")).status, 404);
  EXPECT_EQ(ask(m_port, get(host(*m_a), path(*m_a, "nope.html"))).status, 404);
  // B's bundle asked for on A's origin.
  EXPECT_EQ(ask(m_port, get(host(*m_a), path(*m_b, "notes.txt"))).status, 404);
  // The manifest is not content.
  EXPECT_EQ(ask(m_port, get(host(*m_a), path(*m_a, ".tamizdat/manifest"))).status, 404);
}

TEST_F(GatewayServer, ABundleStillBeingFetchedGetsAPageThatLooksAgain) {
  Sha256 id{};
  id[5] = 1;
  m_lib.pending[{m_a->publisher, id}] = BundleSummary{id, "Coming <soon>", 0, 2048, 1024, "downloading", {}};
  Reply r = ask(m_port, get(host(*m_a), "/" + to_hex(id) + "/"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.at("retry-after"), "5");
  EXPECT_NE(r.body.find("http-equiv=\"refresh\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("Coming &lt;soon&gt;"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("1.0 KiB of 2.0 KiB"), std::string::npos) << r.body;
  m_lib.pending[{m_a->publisher, id}].state = "failed";
  m_lib.pending[{m_a->publisher, id}].error = "bad_signature";
  r = ask(m_port, get(host(*m_a), "/" + to_hex(id) + "/x.html"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("bad_signature"), std::string::npos) << r.body;
}

TEST_F(GatewayServer, PathTricksNeverLeaveTheBundle) {
  const std::string base = "/" + to_hex(m_a->id) + "/";
  for (const std::string& t :
       {base + "../secret.txt", base + "../../secret.txt", base + "%2e%2e/secret.txt", base + "%2E%2E%2Fsecret.txt",
        base + "..%2Fsecret.txt", base + "..%5Csecret.txt", base + "..\\secret.txt", base + "img/%2e%2e/%2e%2e/secret.txt",
        base + "%252e%252e/secret.txt", base + "index.html%00.txt", base + "/etc/passwd", base + "img//p.png",
        std::string("/../") + "secret.txt", base + "./index.html", base + "img/../index.html"}) {
    const Reply r = ask(m_port, get(host(*m_a), t));
    EXPECT_TRUE(r.status == 404 || r.status == 400) << t << " -> " << r.status;
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << t;
  }
  // A raw NUL in the target never even parses.
  const Reply nul = ask(m_port, get(host(*m_a), base + std::string("index.html\0x", 12)));
  EXPECT_EQ(nul.status, 400);
  EXPECT_GE(rejections()["unsafe_path"], 8u);
}

// --- hosts, methods, sizes ---------------------------------------------

TEST_F(GatewayServer, TheHostHeaderIsChecked) {
  const std::string port = std::to_string(m_port);
  EXPECT_EQ(ask(m_port, get("evil.example:" + port, "/")).status, 421);
  EXPECT_EQ(ask(m_port, get("evil.example", "/")).status, 421);
  EXPECT_EQ(ask(m_port, get("localhost:1", "/")).status, 421);
  EXPECT_EQ(ask(m_port, get("127.0.0.2:" + port, "/")).status, 421);
  EXPECT_EQ(ask(m_port, get("x." + host(*m_a), path(*m_a))).status, 421);
  EXPECT_EQ(ask(m_port, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n").status, 400);
  EXPECT_EQ(ask(m_port, "GET / HTTP/1.0\r\n\r\n").status, 400);
  EXPECT_EQ(ask(m_port, "GET / HTTP/1.1\r\nHost: " + home() + "\r\nHost: " + home() + "\r\nConnection: close\r\n\r\n")
                .status,
            400);
  EXPECT_EQ(ask(m_port, get(home(), "/")).status, 200);
  EXPECT_EQ(ask(m_port, get("127.0.0.1:" + port, "/")).status, 200);
  EXPECT_GE(rejections()["bad_host"], 8u);
}

TEST_F(GatewayServer, OnlyGetAndHeadAreAllowed) {
  for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "BREW"}) {
    const Reply r = ask(m_port, std::string(m) + " / HTTP/1.1\r\nHost: " + home() +
                                         "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(r.status == 405 || r.status == 400) << m << " " << r.status;
    if (r.status == 405) {
      EXPECT_EQ(r.headers.at("allow"), "GET, HEAD") << m;
    }
  }
  EXPECT_EQ(ask(m_port, "POST / HTTP/1.1\r\nHost: " + home() + "\r\nContent-Length: 5\r\n\r\nhello").status, 405);
  // A GET with a body is refused too: the body would be read as the next request.
  EXPECT_EQ(ask(m_port, "GET / HTTP/1.1\r\nHost: " + home() + "\r\nContent-Length: 5\r\n\r\nhello").status, 400);
}

TEST_F(GatewayServer, OversizedRequestLinesAndHeadersAreRefused) {
  Reply r = ask(m_port, get(home(), "/", "X-Big: " + std::string(20000, 'a') + "\r\n"));
  EXPECT_EQ(r.status, 431);
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(ask(m_port, get(home(), "/", many)).status, 431);
  r = ask(m_port, get(host(*m_a), path(*m_a, std::string(9000, 'a'))));
  EXPECT_EQ(r.status, 414);
  r = ask(m_port, get(host(*m_a), path(*m_a, std::string(30000, 'a'))));
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(ask(m_port, "GARBAGE\r\n\r\n").status, 400);
  EXPECT_GE(rejections()["header_too_large"], 3u);
  // The server still answers.
  EXPECT_EQ(ask(m_port, get(home(), "/")).status, 200);
}

TEST_F(GatewayServer, ASlowClientIsCutOff) {
  const int fd = connect_to(m_port);
  ASSERT_GE(fd, 0);
  const std::string request = get(home(), "/");
  // One byte every 100 ms: the whole head would take seconds; head_timeout is 700 ms.
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (const char c : request) {
      if (stop) return;
      if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) return;
      std::this_thread::sleep_for(100ms);
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_within(fd, 3000ms));
  const auto took = std::chrono::steady_clock::now() - t0;
  stop = true;
  trickle.join();
  ::close(fd);
  EXPECT_LT(took, 2500ms);
  EXPECT_GE(rejections()["timeout"], 1u);
  // An idle connection that never sends is cut off as well.
  const int idle = connect_to(m_port);
  EXPECT_TRUE(closed_within(idle, 3000ms));
  ::close(idle);
}

TEST_F(GatewayServer, TwoHundredConcurrentClientsAreAllAnswered) {
  constexpr int kClients = 200;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) {
    const int fd = connect_to(m_port);
    ASSERT_GE(fd, 0) << i;
    fds.push_back(fd);
  }
  // Every client has asked before any is answered.
  for (int i = 0; i < kClients; ++i) {
    send_all(fds[static_cast<std::size_t>(i)],
             i % 2 == 0 ? get(host(*m_a), path(*m_a, "media/clip.webm")) : get(home(), "/"));
  }
  int ok = 0;
  for (int i = 0; i < kClients; ++i) {
    std::string rest;
    const Reply r = read_reply(fds[static_cast<std::size_t>(i)], rest);
    if (r.status == 200 && (i % 2 != 0 || r.body == m_video)) ++ok;
    ::close(fds[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(ok, kClients);
}

TEST(GatewayServerLimits, ConnectionsPastTheLimitAreClosedAndCounted) {
  std::signal(SIGPIPE, SIG_IGN);
  FakeLibrary lib;
  boost::asio::io_context io;
  ServerOptions o;
  o.listen = {boost::asio::ip::make_address_v4("127.0.0.1"), 0};
  o.max_connections = 3;
  Server server(io, lib, o, [](int, const std::string&) {});
  ASSERT_TRUE(server.start());
  auto guard = boost::asio::make_work_guard(io);
  std::thread t([&] { io.run(); });
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(connect_to(server.port()));
  std::this_thread::sleep_for(200ms);  // all three accepted
  const int extra = connect_to(server.port());
  EXPECT_TRUE(closed_within(extra, 2000ms));
  ::close(extra);
  // One held connection still gets answers.
  send_all(held[0], get("localhost:" + std::to_string(server.port()), "/"));
  std::string rest;
  EXPECT_EQ(read_reply(held[0], rest).status, 200);
  for (const int fd : held) ::close(fd);
  std::promise<std::map<std::string, std::uint64_t>> counts;
  boost::asio::post(io, [&] {
    counts.set_value(server.rejections());
    server.stop();
  });
  EXPECT_EQ(counts.get_future().get()["too_many_connections"], 1u);
  guard.reset();
  t.join();
}

TEST_F(GatewayServer, KeepAliveAnswersRequestsInTurn) {
  const int fd = connect_to(m_port);
  ASSERT_GE(fd, 0);
  const std::string h = "Host: " + host(*m_a) + "\r\n";
  // Pipelined: three requests at once, answered in order.
  send_all(fd, "GET " + path(*m_a, "a%20b.txt") + " HTTP/1.1\r\n" + h + "\r\n" + "GET " + path(*m_a, "img/p.png") +
                   " HTTP/1.1\r\n" + h + "\r\n" + "HEAD " + path(*m_a) + " HTTP/1.1\r\n" + h + "\r\n");
  std::string rest;
  Reply r = read_reply(fd, rest);
  EXPECT_EQ(r.body, "spaced");
  r = read_reply(fd, rest);
  EXPECT_EQ(r.body, "not really a png");
  r = read_reply(fd, rest, true);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.closed);
  ::close(fd);
}

// --- a bundle still downloading ----------------------------------------

TEST_F(GatewayServer, ADownloadingBundleIsServedOnlyFromVerifiedBytes) {
  const std::uint64_t piece = 512 * 1024;
  m_lib.available = piece;
  const int fd = connect_to(m_port);
  ASSERT_GE(fd, 0);
  send_all(fd, get(host(*m_partial), path(*m_partial, "media/clip.webm")));
  std::string rest;
  const Reply head = read_reply(fd, rest, true);
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.at("tamizdat-verified"), "pieces");
  EXPECT_EQ(head.headers.at("content-length"), std::to_string(m_video.size()));
  // Everything verified arrives; not one byte more.
  std::string body = rest;
  char buf[65536];
  const auto until = std::chrono::steady_clock::now() + 600ms;
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) body.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(body.size(), piece);
  EXPECT_GT(m_lib.want_calls.load(), 0);
  // The rest passes its check: it is sent.
  m_lib.available = m_video.size();
  while (body.size() < m_video.size()) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    body.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(body, m_video);
  ::close(fd);
}

TEST_F(GatewayServer, PiecesThatNeverComeGive503ThenACut) {
  m_lib.available = 0;
  const auto t0 = std::chrono::steady_clock::now();
  Reply r = ask(m_port, get(host(*m_partial), path(*m_partial, "media/clip.webm")));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.at("retry-after"), "10");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1400ms);  // piece_wait
  // Started, then stalled: the connection is closed once piece_wait passes.
  m_lib.available = 1000;
  const int fd = connect_to(m_port);
  send_all(fd, get(host(*m_partial), path(*m_partial, "media/clip.webm")));
  std::string rest;
  r = read_reply(fd, rest);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(rest.substr(0, 1000), m_video.substr(0, 1000));
  ::close(fd);
}

// --- the home origin -----------------------------------------------------

TEST_F(GatewayServer, TheHomePageListsChannelsEscapedWithAStatusLine) {
  const Reply r = ask(m_port, get(home(), "/"));
  ASSERT_EQ(r.status, 200);
  const std::string& csp = r.headers.at("content-security-policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("script-src"), std::string::npos) << csp;
  EXPECT_EQ(r.headers.at("x-frame-options"), "DENY");
  EXPECT_NE(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("<script"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("href=\"" + bundle_url(m_a->publisher, m_a->id, m_port) + "\""), std::string::npos) << r.body;
  // Only verified bundles are links.
  EXPECT_EQ(r.body.find(to_hex(m_b->id) + "/\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("downloading, 50%"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("3 peers \u00b7 17 DHT nodes \u00b7 1 transfer in progress"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("2025-12-01 00:00 UTC"), std::string::npos) << r.body;
  // What the node says of a held bundle's media; nothing for one still coming.
  EXPECT_NE(r.body.find("3.0 MiB \u00b7 verified \u00b7 checked: no identifying metadata</span>"), std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("published with its metadata"), std::string::npos) << r.body;
  EXPECT_EQ(ask(m_port, get(home(), "/status")).status, 200);
  EXPECT_EQ(ask(m_port, get(home(), "/favicon.ico")).status, 404);
}

TEST_F(GatewayServer, OpenNeedsTheTokenOnlyTheHomePageHolds) {
  const std::string id = encode_publisher_id(test::fixed_key(9).public_key());
  Reply r = ask(m_port, get(home(), "/open?q=" + id));
  EXPECT_EQ(r.status, 403);
  r = ask(m_port, get(home(), "/open?q=" + id + "&t=00000000000000000000000000000000"));
  EXPECT_EQ(r.status, 403);
  // The same request from a publisher's origin has no token either.
  r = ask(m_port, get(host(*m_a), "/open?q=" + id));
  EXPECT_NE(r.status, 303);
  EXPECT_TRUE(m_lib.opened.empty());
  const Reply page = ask(m_port, get(home(), "/"));
  const std::string marker = "name=\"t\" value=\"";
  const std::size_t at = page.body.find(marker);
  ASSERT_NE(at, std::string::npos);
  const std::string token = page.body.substr(at + marker.size(), 32);
  r = ask(m_port, get(home(), "/open?q=+" + id + "+&t=" + token));
  ASSERT_EQ(r.status, 303);
  EXPECT_EQ(r.headers.at("location"), "/?n=followed#ch-" + id);
  EXPECT_NE(ask(m_port, get(home(), "/?n=followed")).body.find("class=\"notice\">Followed."), std::string::npos);
  // No text of a linking site's choosing reaches the home page.
  const Reply phish = ask(m_port, get(home(), "/?n=Your+node+is+hacked&notice=Call+us"));
  EXPECT_EQ(phish.body.find("class=\"notice\""), std::string::npos) << phish.body;
  EXPECT_EQ(phish.body.find("hacked"), std::string::npos);
  ASSERT_EQ(m_lib.opened.size(), 1u);
  EXPECT_EQ(m_lib.opened[0], " " + id + " ");
  // A bundle link that names its publisher opens at the bundle's own address.
  r = ask(m_port, get(home(), "/open?q=magnet%3A%3Fxt%3Dx&t=" + token));
  ASSERT_EQ(r.status, 303);
  EXPECT_EQ(r.headers.at("location"), bundle_url(test::fixed_key(9).public_key(), Sha256{}, m_port));
}

}  // namespace
}  // namespace tz::gateway
