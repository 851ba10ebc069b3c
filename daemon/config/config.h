// The settings of `tamizdatd`: one Settings value built in three steps by the
// caller, later steps winning: defaults() (from the environment), then a TOML
// file (load_file / apply_toml), then each command-line flag (apply_flag).
// The file and the flags name the same settings (TOML `data_dir` is flag
// `--data-dir`); docs/operator-guide.md ("Configuration") lists them all.
//
// A config file and flags are input from outside: every key is known, every
// value has the expected type and is in range, every size is bounded before
// use. The first problem stops start-up with a ConfigError naming the key or
// flag and the bad value; nothing is half-applied (the functions return a new
// Settings or an error, never both).
//
// Pure: no global state. Only current_environment() and defaults() without an
// argument read the process environment; load_file reads one file. Safe from
// any thread. Exceptions from the TOML parser are caught inside.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tz::config {

// Limits on what a config file or flag may hold.
inline constexpr std::size_t kMaxConfigBytes = 1024 * 1024;  // whole TOML file
inline constexpr std::size_t kMaxListEntries = 64;           // bootstrap, peers
inline constexpr std::size_t kMaxStringBytes = 1024;         // any string value
// Below a minute only makes sense on a private DHT (tests, a LAN); the
// operator guide says so.
inline constexpr std::chrono::seconds kMinPollInterval{1};
inline constexpr std::chrono::seconds kMaxPollInterval{24 * 60 * 60};
// Largest max_upload_rate / max_download_rate, in KiB/s (4 GiB/s): beyond
// any link a volunteer runs, so a larger number is a typo.
inline constexpr std::uint32_t kMaxRateKib = 4 * 1024 * 1024;
// max_followed: how many publishers one node may follow (each costs a DHT
// lookup per poll and its bundles' disk), 1..kMaxFollowedLimit.
inline constexpr std::uint32_t kDefaultMaxFollowed = 1000;
inline constexpr std::uint32_t kMaxFollowedLimit = 100000;

// Storage policy: the largest quota (1 EiB: more is a typo) and keep rule.
inline constexpr std::uint64_t kMaxQuotaBytes = std::uint64_t{1} << 60;
inline constexpr std::uint32_t kMaxKeepNewest = 1000000;
inline constexpr std::uint32_t kMaxKeepDays = 36500;

inline constexpr std::uint16_t kDefaultListenPort = 6881;
inline constexpr std::uint16_t kDefaultGatewayPort = 8733;

// A network endpoint. `host` is an IPv4 literal ("192.0.2.1"), an IPv6
// literal without brackets ("::1"), or a DNS name ("router.example.org");
// parse_endpoint is the checked way to make one from text.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;

  bool operator==(const Endpoint&) const = default;
};

enum class LogLevel { error, warn, info, debug };

struct Settings {
  // The node's folder (keys, catalogue, bundles). Absolute, except when a
  // relative `--data-dir` was given: that is relative to the working folder
  // the daemon starts in. Empty when the environment gave no default (no
  // HOME): validate() then refuses the settings.
  std::filesystem::path data_dir;
  // BitTorrent (TCP, uTP) and DHT listen address; an IP literal, not a name.
  Endpoint listen{"0.0.0.0", kDefaultListenPort};
  // DHT bootstrap nodes, added to the public routers unless `public_dht` is
  // false. At most kMaxListEntries.
  std::vector<Endpoint> bootstrap;
  // Peers to connect to directly. At most kMaxListEntries.
  std::vector<Endpoint> peers;
  // False: no public bootstrap routers (a private or LAN DHT).
  bool public_dht = true;
  LogLevel log_level = LogLevel::info;
  // Local Service Discovery. Off by default: it tells everyone on the LAN
  // which bundles this node holds.
  bool lan = false;
  // Refuse peer connections that do not use protocol encryption.
  bool force_encryption = false;
  // SOCKS5 proxy for peer connections and name lookups (Tor: 127.0.0.1:9050).
  std::optional<Endpoint> socks5_proxy;
  // How often followed channels are polled; kMinPollInterval..kMaxPollInterval.
  std::chrono::seconds poll_interval{300};
  // Bandwidth caps in KiB per second (1 KiB = 1024 bytes), 0..kMaxRateKib;
  // 0 means unlimited. They hold for every peer, also on the LAN and
  // loopback: a volunteer caps their own link or monthly quota.
  std::uint32_t max_upload_rate_kib = 0;
  std::uint32_t max_download_rate_kib = 0;
  // HTTP gateway listen address (an IP literal), or nullopt when disabled.
  std::optional<Endpoint> gateway{Endpoint{"127.0.0.1", kDefaultGatewayPort}};
  // Most publishers followed at once; `follow` beyond it is refused.
  std::uint32_t max_followed = kDefaultMaxFollowed;
  // Lets `gateway` be an address that is not loopback (a container's 0.0.0.0
  // behind a port mapping). Off: validate() refuses such an address.
  bool gateway_allow_remote = false;
  // Storage policy (docs/operator-guide.md, "Storage policy"); 0 means no
  // limit. The node's disk quota for bundles, in bytes; and for each
  // followed publisher, unless `tamizdat policy` set its own: a quota in
  // bytes, the newest N bundles to keep, and how many days to keep them.
  std::uint64_t quota = 0;
  std::uint64_t publisher_quota = 0;
  std::uint32_t keep_newest = 0;
  std::uint32_t keep_days = 0;

  bool operator==(const Settings&) const = default;
};

// Why a config file or a flag was refused.
struct ConfigError {
  // The TOML key ("listen") or flag ("--bootstrap") at fault; empty when the
  // problem is the file as a whole (missing, too large, not valid TOML).
  std::string key;
  // One sentence ready to print: the line (TOML, when known), the key and the
  // bad value, e.g. `line 3: listen: port 70000 is out of range 1..65535 in
  // "0.0.0.0:70000"`. Bytes from the input are shown escaped and shortened.
  std::string message;
  // 1-based line in the TOML text, or 0 (flags, or line not known).
  std::uint32_t line = 0;
};

// Settings, or the first problem found.
using SettingsOrError = std::variant<Settings, ConfigError>;

// What the settings take from the process environment. Empty means unset.
struct Environment {
  std::string home;           // $HOME, for the default data dir and "~/" paths
  std::string xdg_data_home;  // $XDG_DATA_HOME, for the default data dir
};

// Reads HOME and XDG_DATA_HOME. The only function here that reads global state
// (with defaults() without an argument).
[[nodiscard]] Environment current_environment();

// The default settings. data_dir is $XDG_DATA_HOME/tamizdat/node when that is
// an absolute path (the XDG rule: a relative one is ignored), else
// $HOME/.local/share/tamizdat/node when HOME is absolute, else empty.
[[nodiscard]] Settings defaults(const Environment& env);
// The same with current_environment().
[[nodiscard]] Settings defaults();

// Parses "host:port" or "[ipv6]:port". The port is decimal, 1..65535. The
// host is an IPv4 literal, a DNS name (letters, digits, '-', '_', dot-separated
// labels of 1..63 bytes, 253 bytes in all; a name of only digits and dots must
// be a valid IPv4 literal), or between brackets an IPv6 literal (no zone
// index). An unbracketed IPv6 literal is refused as ambiguous. Fails (nullopt)
// on anything else, including text over kMaxStringBytes; when `why` is given
// it gets a short phrase saying what was wrong ("no port", "empty host"...).
[[nodiscard]] std::optional<Endpoint> parse_endpoint(std::string_view text,
                                                     std::string* why = nullptr);

// True when `host` is an IPv4 or IPv6 literal (no brackets).
[[nodiscard]] bool is_ip_literal(std::string_view host);

// "host:port", with brackets around an IPv6 host ("[::1]:6881"); parses back
// with parse_endpoint.
[[nodiscard]] std::string to_string(const Endpoint& e);

// A size in bytes: a whole number with an optional unit, spaces allowed
// between ("500", "10GiB", "1.5 GB", "200M"). Units: B; KB MB GB TB (powers
// of 1000); KiB MiB GiB TiB and K M G T (powers of 1024); any case. At most
// kMaxQuotaBytes. Fails (nullopt) otherwise, with a short reason in `why`.
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text, std::string* why = nullptr);

// "error", "warn", "info" or "debug" (lower case only); nullopt otherwise.
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view text);
[[nodiscard]] std::string_view to_string(LogLevel level);

// Applies the TOML document `toml_text` on top of `base` and returns the
// result; keys absent from the text keep their value from `base`, arrays
// (bootstrap, peers) replace the ones in `base`. Keys and types:
//   data_dir string (absolute, or "~/..." expanded with env.home),
//   listen, socks5_proxy string "HOST:PORT" (listen: IP literal),
//   bootstrap, peers array of "HOST:PORT" strings,
//   public_dht, lan, force_encryption boolean,
//   log_level string, poll_interval integer seconds,
//   max_upload_rate, max_download_rate integer KiB per second (0: unlimited),
//   gateway string "IP:PORT" or false, gateway_allow_remote boolean,
//   max_followed integer 1..kMaxFollowedLimit,
//   quota, publisher_quota integer bytes or string size (parse_size),
//   keep_newest integer 0..kMaxKeepNewest, keep_days integer 0..kMaxKeepDays.
// Fails with a ConfigError when the text is over kMaxConfigBytes or not valid
// TOML (key empty, message with the parser's line and reason), or for the
// first (in file order) unknown key, table where a value belongs, value of the
// wrong type, or bad value (key set, line from the document).
[[nodiscard]] SettingsOrError apply_toml(Settings base, std::string_view toml_text,
                                         const Environment& env);

// The text apply_toml gives the TOML parser: `toml_text` with the same
// meaning, in ASCII only. Each non-ASCII character in a string becomes a \u
// or \U escape (a literal string holding one is rewritten as a basic
// string); in a comment it becomes '?'. Why: toml++ 3.3.0 (Debian 12) reaches
// undefined behaviour (__builtin_unreachable) when it asks whether some
// non-ASCII characters are white space, which it does in bare keys and
// values, after a backslash and on a continued line of a string; it never
// does for ASCII (tests/fuzz/README.md, config_fuzz). Fails with a
// ConfigError (key empty, the line) when the text is not UTF-8, or has a
// non-ASCII character outside strings and comments (TOML allows none there)
// or right after a backslash in a basic string (never an escape). Pure.
[[nodiscard]] std::variant<std::string, ConfigError> ascii_toml(std::string_view toml_text);

// Reads `file` (at most kMaxConfigBytes, a regular file, no symlink as the
// last component) and applies it with apply_toml. Fails with a ConfigError
// (key empty) when the file is missing, unreadable, not a regular file or too
// large, or with apply_toml's error; each message starts with the file name.
// Blocking: call before the daemon's io thread starts.
[[nodiscard]] SettingsOrError load_file(Settings base, const std::filesystem::path& file,
                                        const Environment& env);

// Applies one command-line flag on top of `base`. `flag` includes the leading
// "--"; `value` is its argument, which must be empty for the switches.
//   --data-dir DIR        (absolute, "~/..." expanded with env.home, or relative)
//   --listen IP:PORT      --gateway IP:PORT     --no-gateway
//   --bootstrap HOST:PORT (appends)             --peer HOST:PORT (appends)
//   --socks5 HOST:PORT    --log-level LEVEL     --poll-interval SECONDS
//   --no-public-dht       --lan                 --force-encryption
//   --max-upload-rate KIB --max-download-rate KIB (KiB per second, 0: unlimited)
//   --gateway-allow-remote                      --max-followed N
//   --quota SIZE          --publisher-quota SIZE (parse_size; 0: none)
//   --keep-newest N       --keep-days DAYS (0: no limit)
// `--config FILE` is not a setting: the caller reads it to call load_file, and
// here it is an unknown flag. Fails with a ConfigError whose key is `flag` for
// an unknown flag, a switch given a value, a flag needing a value given none,
// a bad value, or a list grown past kMaxListEntries.
[[nodiscard]] SettingsOrError apply_flag(Settings base, std::string_view flag,
                                         std::string_view value, const Environment& env);

// Checks what only the merged settings can show: data_dir is set (key
// "data_dir"), and the gateway does not take the listen port on the same or a
// wildcard address, and is a loopback address unless gateway_allow_remote
// (key "gateway"). Returns the first problem, or nullopt.
[[nodiscard]] std::optional<ConfigError> validate(const Settings& s);

// True for an IP literal in 127.0.0.0/8 or ::1.
[[nodiscard]] bool is_loopback(std::string_view host);

}  // namespace tz::config
