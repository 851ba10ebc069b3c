// Runs the real tamizdatd (loopback only, temporary data dir, no public DHT)
// and talks to it through the real tamizdat CLI and raw control-socket
// bytes. Every daemon started here is stopped, killed if need be.
#include "control/framing.h"
#include "core/ids.h"
#include "proc_util.h"
#include "test_util.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace tz {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using test::cli;
using test::Daemon;
using test::free_port;
using test::raw_exchange;
using test::Outcome;
using test::slurp;
using test::spawn;
using test::wait_exit;

class DaemonTest : public ::testing::Test {
 protected:
  fs::path dir() const { return m_tmp / "node"; }
  test::TempDir m_tmp;
  std::string m_id = encode_publisher_id(test::fixed_key().public_key());
};

TEST_F(DaemonTest, StatusFollowUnfollowAndCleanStop) {
  Daemon d(dir());
  ASSERT_TRUE(d.ready()) << d.log();
  Outcome st = cli(dir(), {"status", "--json"});
  ASSERT_EQ(st.code, 0) << st.out;
  for (const char* field : {"\"dht_nodes\"", "\"listen_port\"", "\"peers\"", "\"followed\":0", "\"bundles\":0",
                            "\"rejected\":{}"}) {
    EXPECT_NE(st.out.find(field), std::string::npos) << field << " in " << st.out;
  }
  EXPECT_EQ(cli(dir(), {"follow", m_id}).code, 0);
  EXPECT_NE(cli(dir(), {"status", "--json"}).out.find("\"followed\":1"), std::string::npos);

  // A mistyped ID is refused, named, and counted.
  std::string typo = m_id;
  typo[3] = typo[3] == 'a' ? 'b' : 'a';
  Outcome bad = cli(dir(), {"follow", typo, "--json"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("bad_publisher_id"), std::string::npos) << bad.out;
  EXPECT_NE(cli(dir(), {"status", "--json"}).out.find("\"bad_publisher_id\":1"), std::string::npos);

  EXPECT_EQ(cli(dir(), {"unfollow", m_id}).code, 0);
  EXPECT_EQ(cli(dir(), {"unfollow", m_id}).code, 1);
  EXPECT_EQ(cli(dir(), {"ls", "--json"}).out, "[]\n");

  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_FALSE(fs::exists(dir() / "control.sock"));
  EXPECT_NE(d.log().find("stopping on SIGTERM"), std::string::npos);
}

TEST_F(DaemonTest, StateSurvivesARestartAndSigint) {
  {
    Daemon d(dir());
    ASSERT_TRUE(d.ready()) << d.log();
    ASSERT_EQ(cli(dir(), {"follow", m_id}).code, 0);
    EXPECT_EQ(d.stop(SIGINT), 0);
  }
  Daemon d(dir());
  ASSERT_TRUE(d.ready()) << d.log();
  EXPECT_NE(cli(dir(), {"status", "--json"}).out.find("\"followed\":1"), std::string::npos);
}

// A published bundle's resume data is written at once, not at the next
// periodic save: a daemon killed right after publishing seeds it again at
// restart without hashing it. Stopping rewrites no resume file that did
// not change (with many bundles that took seconds).
TEST_F(DaemonTest, PublishSavesResumeDataAtOnceAndStoppingKeepsIt) {
  Daemon d(dir());
  ASSERT_TRUE(d.ready()) << d.log();
  const fs::path key = m_tmp / "p.key";
  ASSERT_EQ(cli(dir(), {"key", "generate", "--out", key.string(), "--insecure-no-passphrase"}).code, 0);
  test::write_file(m_tmp / "article" / "index.html", "<h1>Saved</h1>");
  Outcome p = cli(dir(), {"publish", (m_tmp / "article").string(), "--keep-metadata", "--key", key.string(), "--json"});
  ASSERT_EQ(p.code, 0) << p.out << d.log();
  const auto at = p.out.find("urn:btih:");
  ASSERT_NE(at, std::string::npos) << p.out;
  const fs::path resume = dir() / "resume" / (p.out.substr(at + 9, 40) + ".resume");
  // Well before the 30 s periodic save.
  bool saved = false;
  for (int i = 0; i < 50 && !saved; ++i) {
    saved = fs::exists(resume);
    if (!saved) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(saved) << resume << "\n" << d.log();
  const auto written = fs::last_write_time(resume);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
  EXPECT_EQ(fs::last_write_time(resume), written) << "an unchanged resume file was rewritten";
}

TEST_F(DaemonTest, ControlSocketIsPrivate) {
  Daemon d(dir());
  ASSERT_TRUE(d.ready());
  struct stat st {};
  ASSERT_EQ(::stat((dir() / "control.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(DaemonTest, GarbledAndOversizedRequestsHarmNothing) {
  Daemon d(dir());
  ASSERT_TRUE(d.ready()) << d.log();
  const fs::path sock = dir() / "control.sock";
  // A well-framed request whose body is not a Request.
  const std::vector<std::uint8_t> junk = {0xff, 0xff, 0xff, 0x07, 0x01};
  const std::string r1 = raw_exchange(sock, control::frame(junk));
  EXPECT_NE(r1.find("malformed_request"), std::string::npos);
  // An empty request.
  EXPECT_NE(raw_exchange(sock, control::frame({})).find("malformed_request"), std::string::npos);
  // A header declaring 2 GiB: refused before any body is read.
  const std::string r3 = raw_exchange(sock, {0x80, 0x00, 0x00, 0x00, 'x'});
  EXPECT_NE(r3.find("oversized"), std::string::npos);
  // The daemon still answers everyone else.
  Outcome st = cli(dir(), {"status", "--json"});
  EXPECT_EQ(st.code, 0) << st.out << d.log();
}

TEST_F(DaemonTest, ConfigFileErrorsStopStartUpNamingTheKey) {
  test::write_file(m_tmp / "bad.toml", "listen = \"127.0.0.1:6881\"\nfrobnicate = true\n");
  const pid_t pid = spawn({TZ_DAEMON, "--data-dir", dir().string(), "--config", (m_tmp / "bad.toml").string()},
                          m_tmp / "bad.log");
  EXPECT_EQ(wait_exit(pid, 10000ms), 2);
  EXPECT_NE(slurp(m_tmp / "bad.log").find("frobnicate"), std::string::npos) << slurp(m_tmp / "bad.log");
  EXPECT_FALSE(fs::exists(dir() / "control.sock"));
}

TEST_F(DaemonTest, FlagsWinOverTheConfigFile) {
  const int port = free_port();
  test::write_file(m_tmp / "node.toml", "listen = \"127.0.0.1:1\"\npublic_dht = false\ngateway = false\n");
  const pid_t pid = spawn({TZ_DAEMON, "--config", (m_tmp / "node.toml").string(), "--data-dir", dir().string(),
                           "--listen", "127.0.0.1:" + std::to_string(port)},
                          m_tmp / "flags.log");
  for (int i = 0; i < 200 && !fs::exists(dir() / "control.sock"); ++i) std::this_thread::sleep_for(25ms);
  Outcome st = cli(dir(), {"status", "--json"});
  EXPECT_NE(st.out.find("\"listen_port\":" + std::to_string(port)), std::string::npos) << st.out;
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 5000ms), 0);
}

// The gateway listens on loopback unless told otherwise twice, and a port
// already taken stops the start-up with a message saying what to do.
TEST_F(DaemonTest, GatewayAddressRules) {
  const int gport = free_port();
  const std::string listen = "127.0.0.1:" + std::to_string(free_port());
  pid_t pid = spawn({TZ_DAEMON, "--data-dir", dir().string(), "--listen", listen, "--gateway",
                     "0.0.0.0:" + std::to_string(gport)},
                    m_tmp / "remote.log");
  EXPECT_EQ(wait_exit(pid, 10000ms), 2);
  EXPECT_NE(slurp(m_tmp / "remote.log").find("gateway_allow_remote"), std::string::npos) << slurp(m_tmp / "remote.log");

  Daemon remote(dir(), {"--gateway", "0.0.0.0:" + std::to_string(gport), "--gateway-allow-remote"});
  ASSERT_TRUE(remote.ready()) << remote.log();
  EXPECT_NE(remote.log().find("warn: the reader gateway listens on 0.0.0.0:" + std::to_string(gport)),
            std::string::npos)
      << remote.log();
  EXPECT_EQ(test::http_get(gport, "localhost:" + std::to_string(gport), "/").status, 200);
  // Another daemon on the same gateway port does not start.
  pid = spawn({TZ_DAEMON, "--data-dir", (m_tmp / "second").string(), "--listen", "127.0.0.1:" + std::to_string(free_port()),
               "--gateway", "127.0.0.1:" + std::to_string(gport)},
              m_tmp / "second.log");
  EXPECT_EQ(wait_exit(pid, 10000ms), 1);
  EXPECT_NE(slurp(m_tmp / "second.log").find("cannot start the reader gateway on 127.0.0.1:" + std::to_string(gport)),
            std::string::npos)
      << slurp(m_tmp / "second.log");
  EXPECT_EQ(remote.stop(SIGTERM), 0);
}

// Readers close tabs in the middle of videos: the node must not notice.
TEST_F(DaemonTest, AClientHangingUpMidFileDoesNotStopTheNode) {
  const int gport = free_port();
  Daemon d(dir(), {"--gateway", "127.0.0.1:" + std::to_string(gport)});
  ASSERT_TRUE(d.ready()) << d.log();
  const fs::path key = m_tmp / "p.key";
  ASSERT_EQ(cli(dir(), {"key", "generate", "--out", key.string(), "--insecure-no-passphrase"}).code, 0);
  test::write_file(m_tmp / "film" / "clip.webm", test::random_bytes(32u << 20, 3));
  Outcome p = cli(dir(), {"publish", (m_tmp / "film").string(), "--keep-metadata", "--key", key.string(), "--json"});
  ASSERT_EQ(p.code, 0) << p.out << d.log();
  const auto at = p.out.find("\"bundle_id\":\"");
  ASSERT_NE(at, std::string::npos) << p.out;
  const std::string bid = p.out.substr(at + 13, 64);
  const std::string id = cli(dir(), {"key", "show", key.string()}).std_out.substr(0, 56);
  const std::string request = "GET /" + bid + "/clip.webm HTTP/1.1\r\nHost: " + id + ".localhost:" +
                              std::to_string(gport) + "\r\n\r\n";
  for (int i = 0; i < 10; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(gport));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
    char buf[4096];
    ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);
    // Unread data makes close() send a reset: the next sendfile hits EPIPE.
    ::close(fd);
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(test::http_get(gport, id + ".localhost:" + std::to_string(gport), "/" + bid + "/clip.webm",
                           "Range: bytes=0-9\r\n")
                .status,
            206)
      << d.log();
  EXPECT_EQ(cli(dir(), {"status"}).code, 0) << d.log();
  EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
}

// max_followed bounds how many publishers a node follows; following one
// already followed, and following again after an unfollow, still work.
TEST_F(DaemonTest, FollowingStopsAtMaxFollowed) {
  Daemon d(dir(), {"--max-followed", "2"});
  ASSERT_TRUE(d.ready()) << d.log();
  std::vector<std::string> ids;
  for (std::uint8_t i = 1; i <= 3; ++i) ids.push_back(encode_publisher_id(test::fixed_key(i).public_key()));
  EXPECT_EQ(cli(dir(), {"follow", ids[0]}).code, 0);
  EXPECT_EQ(cli(dir(), {"follow", ids[1]}).code, 0);
  Outcome third = cli(dir(), {"follow", ids[2], "--json"});
  EXPECT_EQ(third.code, 1);
  EXPECT_NE(third.out.find("\"too_many_followed\""), std::string::npos) << third.out;
  EXPECT_EQ(cli(dir(), {"follow", ids[0]}).code, 0);  // already followed: fine
  EXPECT_EQ(cli(dir(), {"unfollow", ids[1]}).code, 0);
  EXPECT_EQ(cli(dir(), {"follow", ids[2]}).code, 0);
  EXPECT_NE(cli(dir(), {"status", "--json"}).out.find("\"followed\":2"), std::string::npos);
  EXPECT_EQ(d.stop(SIGTERM), 0);
}

// A local client's bytes must not write to the daemon's log through
// libprotobuf (it prints its own lines for invalid UTF-8 in a string).
TEST_F(DaemonTest, InvalidUtf8InARequestLeavesNoLineInTheLog) {
  Daemon d(dir());
  ASSERT_TRUE(d.ready()) << d.log();
  // Request{follow: FollowRequest{publisher_id: "\xff\xfe"}}, written by hand.
  const std::vector<std::uint8_t> body = {0x12, 0x04, 0x0a, 0x02, 0xff, 0xfe};
  const std::string r = raw_exchange(dir() / "control.sock", control::frame(body));
  EXPECT_NE(r.find("malformed_request"), std::string::npos) << r;
  EXPECT_EQ(cli(dir(), {"status"}).code, 0);
  EXPECT_EQ(d.stop(SIGTERM), 0);
  EXPECT_EQ(d.log().find("UTF-8"), std::string::npos) << d.log();
  EXPECT_EQ(d.log().find("libprotobuf"), std::string::npos) << d.log();
}

TEST_F(DaemonTest, LogLevelFiltersLines) {
  Daemon d(dir(), {"--log-level", "warn"});
  ASSERT_TRUE(d.ready()) << d.log();
  EXPECT_EQ(d.stop(SIGTERM), 0);
  EXPECT_EQ(d.log().find("info:"), std::string::npos) << d.log();
}

TEST_F(DaemonTest, CliSaysWhenTheDaemonIsNotRunning) {
  fs::create_directories(dir());
  Outcome st = cli(dir(), {"status"});
  EXPECT_EQ(st.code, 1);
  EXPECT_NE(st.out.find("is tamizdatd running"), std::string::npos) << st.out;
}

}  // namespace
}  // namespace tz
