// tamizdatd: builds the daemon's modules from its settings, runs them on one
// io_context thread, and stops them in reverse order on SIGINT or SIGTERM.
// Wiring only; behaviour lives in the modules.
#include "catalog/catalog.h"
#include "config/config.h"
#include "control/server.h"
#include "gateway/pages.h"
#include "gateway/server.h"
#include "node/node.h"
#include "swarm/session.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <chrono>
#include <memory>

#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kExitConfig = 2;
constexpr int kExitFailed = 1;

const char* const kUsage =
    "usage: tamizdatd [--data-dir DIR] [--config FILE] [--listen IP:PORT] [--bootstrap HOST:PORT]...\n"
    "                 [--peer HOST:PORT]... [--no-public-dht] [--log-level error|warn|info|debug]\n"
    "                 [--lan] [--force-encryption] [--socks5 HOST:PORT] [--poll-interval SECONDS]\n"
    "                 [--max-upload-rate KIB] [--max-download-rate KIB]\n"
    "                 [--gateway IP:PORT | --no-gateway] [--gateway-allow-remote] [--max-followed N]\n"
    "Settings: flags win over the config file (TOML, same names with '_'); see docs/operator-guide.md.\n";

bool is_switch(std::string_view flag) {
  return flag == "--no-public-dht" || flag == "--no-gateway" || flag == "--gateway-allow-remote" || flag == "--lan" ||
         flag == "--force-encryption";
}

struct Flag {
  std::string name, value;
};

// Splits argv into flags ("--x v" and "--x=v" forms). Returns nullopt and
// prints why on a malformed command line.
std::optional<std::vector<Flag>> split_flags(int argc, char** argv) {
  std::vector<Flag> out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!arg.starts_with("--")) {
      std::cerr << "tamizdatd: unexpected argument '" << arg << "'\n" << kUsage;
      return std::nullopt;
    }
    Flag f;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      f = {arg.substr(0, eq), arg.substr(eq + 1)};
    } else if (is_switch(arg) || arg == "--help" || arg == "--version") {
      f = {arg, {}};
    } else if (i + 1 < argc) {
      f = {arg, argv[++i]};
    } else {
      std::cerr << "tamizdatd: " << arg << " needs a value\n" << kUsage;
      return std::nullopt;
    }
    out.push_back(std::move(f));
  }
  return out;
}

// The level set by --log-level / log_level; lines above it are not written.
tz::config::LogLevel g_log_level = tz::config::LogLevel::info;

void log(tz::config::LogLevel level, const std::string& line) {
  if (level > g_log_level) return;
  // UTC with milliseconds: lines from several nodes can be merged and sorted.
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::cerr << stamp << " tamizdatd: " << tz::config::to_string(level) << ": " << line << std::endl;
}

int run(int argc, char** argv) {
  namespace cfg = tz::config;
  auto flags = split_flags(argc, argv);
  if (!flags) return kExitConfig;
  for (const auto& f : *flags) {
    if (f.name == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (f.name == "--version") {
      std::cout << "tamizdatd 0.1.0\n";
      return 0;
    }
  }
  const cfg::Environment env = cfg::current_environment();
  cfg::SettingsOrError settings = cfg::defaults(env);
  for (const auto& f : *flags) {
    if (f.name == "--config") settings = cfg::load_file(std::get<cfg::Settings>(settings), f.value, env);
    if (auto* e = std::get_if<cfg::ConfigError>(&settings)) {
      std::cerr << "tamizdatd: config: " << e->message << "\n";
      return kExitConfig;
    }
  }
  for (const auto& f : *flags) {
    if (f.name == "--config") continue;
    settings = cfg::apply_flag(std::get<cfg::Settings>(settings), f.name, f.value, env);
    if (auto* e = std::get_if<cfg::ConfigError>(&settings)) {
      std::cerr << "tamizdatd: " << e->message << "\n" << kUsage;
      return kExitConfig;
    }
  }
  const cfg::Settings s = std::get<cfg::Settings>(settings);
  if (auto e = cfg::validate(s)) {
    std::cerr << "tamizdatd: config: " << e->message << "\n";
    return kExitConfig;
  }

  g_log_level = s.log_level;
  std::error_code fec;
  std::filesystem::create_directories(s.data_dir, fec);
  if (fec || ::chmod(s.data_dir.c_str(), 0700) != 0) {
    log(tz::config::LogLevel::error, "cannot use data dir " + s.data_dir.string() + ": " + (fec ? fec.message() : "chmod failed"));
    return kExitFailed;
  }
  auto catalog = tz::catalog::Catalog::open(s.data_dir / "catalog.db");
  if (!catalog) {
    log(tz::config::LogLevel::error, "cannot open the catalogue " + (s.data_dir / "catalog.db").string() + ": " + catalog.error().message());
    return kExitFailed;
  }

  boost::asio::io_context io;
  tz::swarm::SwarmOptions so;
  so.listen = cfg::to_string(s.listen);
  for (const auto& b : s.bootstrap) so.bootstrap.push_back(cfg::to_string(b));
  so.public_dht = s.public_dht;
  so.private_dht = !s.public_dht;
  so.lan = s.lan;
  so.force_encryption = s.force_encryption;
  so.upload_rate_kib = s.max_upload_rate_kib;
  so.download_rate_kib = s.max_download_rate_kib;
  if (s.socks5_proxy) so.socks5_proxy = cfg::to_string(*s.socks5_proxy);
  std::vector<std::string> peers;
  for (const auto& p : s.peers) peers.push_back(cfg::to_string(p));

  tz::node::NodeOptions no;
  no.data_dir = s.data_dir;
  no.poll_interval = s.poll_interval;
  no.max_followed = s.max_followed;
  no.quota = s.quota;
  no.publisher_defaults = {s.publisher_quota, s.keep_newest, s.keep_days};
  tz::node::Node node(
      io, catalog.value(), no, [] { return static_cast<std::int64_t>(std::time(nullptr)); },
      [](int level, const std::string& line) {
        log(static_cast<tz::config::LogLevel>(std::clamp(level, 0, 3)), line);
      });
  tz::swarm::Session swarm(io, so, node, peers);
  node.start(swarm);
  tz::control::Server control(io, s.data_dir / "control.sock",
                              [&node](const tamizdat::v1::Request& r, tz::control::Reply reply) {
                                node.handle(r, std::move(reply));
                              });
  if (auto r = control.start(); !r) {
    log(tz::config::LogLevel::error, "cannot listen on " + (s.data_dir / "control.sock").string() + ": " + r.error().message());
    return kExitFailed;
  }

  std::unique_ptr<tz::gateway::Server> gateway;
  if (s.gateway) {
    tz::gateway::ServerOptions go;
    go.listen = {boost::asio::ip::make_address(s.gateway->host), s.gateway->port};
    gateway = std::make_unique<tz::gateway::Server>(io, node, go, [](int level, const std::string& line) {
      log(static_cast<tz::config::LogLevel>(std::clamp(level, 0, 3)), line);
    });
    if (auto r = gateway->start(); !r) {
      log(tz::config::LogLevel::error, "cannot start the reader gateway on " + cfg::to_string(*s.gateway) + ": " +
                                           r.error().message() + " (choose another with --gateway IP:PORT, or --no-gateway)");
      return kExitFailed;
    }
    if (!cfg::is_loopback(s.gateway->host)) {
      log(tz::config::LogLevel::warn,
          "the reader gateway listens on " + cfg::to_string(*s.gateway) +
              ", which is not a loopback address: whoever can reach it can read what this node holds");
    }
    const std::string url = "http://" + tz::gateway::home_host(gateway->port()) + "/";
    node.set_gateway_url(url);
    log(tz::config::LogLevel::info, "reader gateway on " + cfg::to_string(*s.gateway) + ": open " + url);
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log(tz::config::LogLevel::info, std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
    if (gateway) gateway->stop();
    control.stop();
    // Resume data first (bounded), so a restart neither re-hashes nor
    // re-downloads; libtorrent's own shutdown follows when `swarm` goes.
    node.shutdown(std::chrono::milliseconds(3000), [&io] { io.stop(); });
  });
  log(tz::config::LogLevel::info, "running; data dir " + s.data_dir.string() + ", listening on " + so.listen);
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A reader who closes a tab while the gateway sends a file must not stop
  // the node: sendfile(2) has no MSG_NOSIGNAL, so the signal is ignored and
  // the write fails with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tamizdatd: internal error: " << e.what() << std::endl;
    return kExitFailed;
  }
}
