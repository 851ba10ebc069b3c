#include "config/config.h"

#include "core/files.h"
#include "core/result.h"

#include <boost/asio/ip/address.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace tz::config {
namespace {

namespace fs = std::filesystem;

// Longest piece of outside input quoted in a message.
constexpr std::size_t kShownBytes = 80;

// `s` with anything but printable ASCII escaped (\xNN), so a message cannot
// carry terminal control sequences or invalid UTF-8, cut at `max` bytes.
std::string printable(std::string_view s, bool quote, std::size_t max = kShownBytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  if (quote) out += '"';
  const std::size_t n = std::min(s.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\' || (quote && c == '"')) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  if (s.size() > n) out += "...";
  if (quote) out += '"';
  return out;
}

std::string quoted(std::string_view s) { return printable(s, true); }

// `shown` names the value in the message when it is more precise than `key`
// ("bootstrap[2]").
ConfigError make_error(std::string_view key, std::uint32_t line, const std::string& what,
                       std::string_view shown = {}) {
  ConfigError e;
  e.key = std::string(key.substr(0, kMaxStringBytes));
  e.line = line;
  if (line != 0) e.message = "line " + std::to_string(line) + ": ";
  if (shown.empty()) shown = key;
  if (!shown.empty()) e.message += printable(shown, false) + ": ";
  e.message += what;
  return e;
}

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7F;
  });
}

bool is_ipv4_literal(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6_literal(const std::string& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// A label that a resolver might read as a number ("127", "0x7f"): such a last
// label makes the whole host an IPv4 literal or nothing, so "127.1" or
// "0x7f.1" cannot slip through as a name that inet_aton would resolve.
bool is_numeric_label(std::string_view label) {
  if (!label.empty() && std::all_of(label.begin(), label.end(), is_digit)) return true;
  if (label.size() >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
    return std::all_of(label.begin() + 2, label.end(), [](char c) {
      return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
  }
  return false;
}

// Checks a host that is not in brackets; returns an empty string or a phrase.
std::string check_host(std::string_view host) {
  if (host.empty()) return "empty host";
  if (host.find(':') != std::string_view::npos) {
    return "IPv6 addresses must be written in brackets, as [::1]:6881";
  }
  if (host.size() > 253) return "host name longer than 253 bytes";
  std::string_view last;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = host.find('.', start);
    const std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return "empty label in host name";
    if (label.size() > 63) return "host name label longer than 63 bytes";
    for (char c : label) {
      if (!is_alnum(c) && c != '-' && c != '_') {
        return "host holds a character other than letters, digits, '-', '_' and '.'";
      }
    }
    if (label.front() == '-' || label.back() == '-') return "host name label starts or ends with '-'";
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (is_numeric_label(last) && !is_ipv4_literal(std::string(host))) return "not a valid IPv4 address";
  return {};
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) return std::nullopt;
  unsigned v = 0;
  for (char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
  if (v < 1 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// Parses "HOST:PORT", or "IP:PORT" when `need_ip` (addresses to bind);
// on failure sets `why` to a phrase with the value.
std::optional<Endpoint> checked_endpoint(std::string_view text, bool need_ip, std::string& why) {
  const char* form = need_ip ? "IP:PORT" : "HOST:PORT";
  std::string reason;
  auto e = parse_endpoint(text, &reason);
  if (!e) {
    why = quoted(text) + " is not " + form + " (" + reason + ")";
    return std::nullopt;
  }
  if (need_ip && !is_ip_literal(e->host)) {
    why = quoted(text) + " is not " + form + " (the host must be an IP address, not a name)";
    return std::nullopt;
  }
  return e;
}

// Checks a data folder; `allow_relative` for the flag, whose relative paths
// the shell user means relative to the working folder.
std::optional<fs::path> checked_data_dir(std::string_view text, const Environment& env,
                                         bool allow_relative, std::string& why) {
  if (text.empty()) {
    why = "the data folder must not be empty";
    return std::nullopt;
  }
  if (text.size() > kMaxStringBytes) {
    why = "path of " + std::to_string(text.size()) + " bytes is longer than " +
          std::to_string(kMaxStringBytes);
    return std::nullopt;
  }
  if (has_control_char(text)) {
    why = quoted(text) + " holds a control character";
    return std::nullopt;
  }
  if (text.starts_with("~/")) {
    if (env.home.empty() || env.home.front() != '/') {
      why = quoted(text) + " starts with ~/ but HOME is not set to an absolute path";
      return std::nullopt;
    }
    return fs::path(env.home) / fs::path(text.substr(2));
  }
  if (text.front() != '/' && !allow_relative) {
    why = quoted(text) + " must be an absolute path or start with ~/";
    return std::nullopt;
  }
  return fs::path(text);
}

std::optional<std::chrono::seconds> checked_poll_interval(std::int64_t v, std::string_view shown,
                                                          std::string& why) {
  if (v < kMinPollInterval.count() || v > kMaxPollInterval.count()) {
    why = std::string(shown) + " seconds is out of range " + std::to_string(kMinPollInterval.count()) +
          ".." + std::to_string(kMaxPollInterval.count());
    return std::nullopt;
  }
  return std::chrono::seconds(v);
}

// `shown` is the value as written, which for a flag may not fit an integer.
std::optional<std::uint32_t> checked_rate_kib(std::int64_t v, std::string_view shown, std::string& why) {
  if (v < 0 || v > kMaxRateKib) {
    why = std::string(shown) + " KiB/s is out of range 0.." + std::to_string(kMaxRateKib) + " (0: unlimited)";
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(v);
}

std::optional<std::uint32_t> checked_max_followed(std::int64_t v, std::string_view shown, std::string& why) {
  if (v < 1 || v > kMaxFollowedLimit) {
    why = std::string(shown) + " publishers is out of range 1.." + std::to_string(kMaxFollowedLimit);
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(v);
}

std::optional<std::uint32_t> checked_keep(std::int64_t v, std::uint32_t max, std::string_view unit,
                                          std::string_view shown, std::string& why) {
  if (v < 0 || v > max) {
    why = std::string(shown) + " " + std::string(unit) + " is out of range 0.." + std::to_string(max) + " (0: no limit)";
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(v);
}

std::optional<LogLevel> checked_log_level(std::string_view text, std::string& why) {
  auto level = parse_log_level(text);
  if (!level) why = quoted(text) + " is not a log level (error, warn, info or debug)";
  return level;
}

// ---- TOML ----------------------------------------------------------------

// A problem found in one value: what is wrong and where (0: the key's line).
struct Problem {
  std::string what;
  std::uint32_t line = 0;
  std::string shown;  // "bootstrap[2]" for an array entry, else empty
};
using Check = std::optional<Problem>;

std::uint32_t line_of(const toml::node& n) { return n.source().begin.line; }

std::string type_phrase(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer (" + std::to_string(n.as_integer()->get()) + ")";
    case toml::node_type::floating_point: {
      std::array<char, 32> buf{};
      std::snprintf(buf.data(), buf.size(), "%g", n.as_floating_point()->get());
      return std::string("a floating-point number (") + buf.data() + ")";
    }
    case toml::node_type::boolean:
      return std::string("a boolean (") + (n.as_boolean()->get() ? "true" : "false") + ")";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

Problem wrong_type(const toml::node& n, std::string_view expected) {
  return {"expected " + std::string(expected) + ", found " + type_phrase(n), line_of(n)};
}

// The string in `n`, bounded, or a problem.
std::optional<std::string_view> string_of(const toml::node& n, std::string_view expected,
                                          Check& problem) {
  const auto* s = n.as_string();
  if (s == nullptr) {
    problem = wrong_type(n, expected);
    return std::nullopt;
  }
  const std::string& v = s->get();
  if (v.size() > kMaxStringBytes) {
    problem = Problem{"string of " + std::to_string(v.size()) + " bytes is longer than " +
                          std::to_string(kMaxStringBytes),
                      line_of(n)};
    return std::nullopt;
  }
  return std::string_view(v);
}

Check set_bool(bool& field, const toml::node& n) {
  const auto* b = n.as_boolean();
  if (b == nullptr) return wrong_type(n, "a boolean (true or false)");
  field = b->get();
  return std::nullopt;
}

Check set_endpoint(Endpoint& field, const toml::node& n, bool need_ip) {
  Check problem;
  const auto text = string_of(n, need_ip ? "a string \"IP:PORT\"" : "a string \"HOST:PORT\"", problem);
  if (!text) return problem;
  std::string why;
  auto e = checked_endpoint(*text, need_ip, why);
  if (!e) return Problem{why, line_of(n)};
  field = std::move(*e);
  return std::nullopt;
}

Check set_endpoint_list(std::vector<Endpoint>& field, std::string_view key, const toml::node& n) {
  const auto* arr = n.as_array();
  if (arr == nullptr) return wrong_type(n, "an array of \"HOST:PORT\" strings");
  if (arr->size() > kMaxListEntries) {
    return Problem{std::to_string(arr->size()) + " entries, at most " +
                       std::to_string(kMaxListEntries) + " allowed",
                   line_of(n)};
  }
  std::vector<Endpoint> out;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& item = *arr->get(i);
    Endpoint e;
    if (auto p = set_endpoint(e, item, false)) {
      p->shown = std::string(key) + "[" + std::to_string(i) + "]";
      return p;
    }
    out.push_back(std::move(e));
  }
  field = std::move(out);
  return std::nullopt;
}

Check set_rate(std::uint32_t& field, const toml::node& n) {
  const auto* i = n.as_integer();
  if (i == nullptr) return wrong_type(n, "an integer number of KiB per second");
  std::string why;
  auto v = checked_rate_kib(i->get(), std::to_string(i->get()), why);
  if (!v) return Problem{why, line_of(n)};
  field = *v;
  return std::nullopt;
}

using TomlSetter = Check (*)(Settings&, const toml::node&, const Environment&);

struct TomlKey {
  std::string_view name;
  TomlSetter set;
};

// A size: an integer number of bytes, or a string parse_size reads.
Check set_size(std::uint64_t& field, const toml::node& n) {
  std::string why;
  std::optional<std::uint64_t> v;
  if (const auto* i = n.as_integer()) {
    if (i->get() < 0) return Problem{std::to_string(i->get()) + " bytes is negative", line_of(n)};
    v = parse_size(std::to_string(i->get()), &why);
  } else if (const auto* t = n.as_string()) {
    v = parse_size(t->get(), &why);
  } else {
    return wrong_type(n, "a size (bytes, or a string such as \"20 GiB\")");
  }
  if (!v) return Problem{why, line_of(n)};
  field = *v;
  return std::nullopt;
}

Check set_keep(std::uint32_t& field, const toml::node& n, std::uint32_t max, std::string_view unit) {
  const auto* i = n.as_integer();
  if (i == nullptr) return wrong_type(n, "an integer number of " + std::string(unit));
  std::string why;
  auto v = checked_keep(i->get(), max, unit, std::to_string(i->get()), why);
  if (!v) return Problem{why, line_of(n)};
  field = *v;
  return std::nullopt;
}

constexpr std::array<TomlKey, 19> kTomlKeys{{
    {"data_dir",
     [](Settings& s, const toml::node& n, const Environment& env) -> Check {
       Check problem;
       const auto text = string_of(n, "a string (absolute path or ~/...)", problem);
       if (!text) return problem;
       std::string why;
       auto dir = checked_data_dir(*text, env, false, why);
       if (!dir) return Problem{why, line_of(n)};
       s.data_dir = std::move(*dir);
       return std::nullopt;
     }},
    {"listen",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_endpoint(s.listen, n, true);
     }},
    {"bootstrap",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_endpoint_list(s.bootstrap, "bootstrap", n);
     }},
    {"peers",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_endpoint_list(s.peers, "peers", n);
     }},
    {"public_dht",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_bool(s.public_dht, n);
     }},
    {"log_level",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       Check problem;
       const auto text = string_of(n, "a string (error, warn, info or debug)", problem);
       if (!text) return problem;
       std::string why;
       auto level = checked_log_level(*text, why);
       if (!level) return Problem{why, line_of(n)};
       s.log_level = *level;
       return std::nullopt;
     }},
    {"lan",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_bool(s.lan, n);
     }},
    {"force_encryption",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_bool(s.force_encryption, n);
     }},
    {"socks5_proxy",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       Endpoint e;
       if (auto p = set_endpoint(e, n, false)) return p;
       s.socks5_proxy = std::move(e);
       return std::nullopt;
     }},
    {"poll_interval",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       const auto* i = n.as_integer();
       if (i == nullptr) return wrong_type(n, "an integer number of seconds");
       std::string why;
       auto v = checked_poll_interval(i->get(), std::to_string(i->get()), why);
       if (!v) return Problem{why, line_of(n)};
       s.poll_interval = *v;
       return std::nullopt;
     }},
    {"max_upload_rate",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_rate(s.max_upload_rate_kib, n);
     }},
    {"max_download_rate",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_rate(s.max_download_rate_kib, n);
     }},
    {"gateway",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       if (const auto* b = n.as_boolean()) {
         if (b->get()) {
           return Problem{"expected a string \"IP:PORT\" or false, found true", line_of(n)};
         }
         s.gateway.reset();
         return std::nullopt;
       }
       if (n.as_string() == nullptr) return wrong_type(n, "a string \"IP:PORT\" or false");
       Endpoint e;
       if (auto p = set_endpoint(e, n, true)) return p;
       s.gateway = std::move(e);
       return std::nullopt;
     }},
    {"gateway_allow_remote",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_bool(s.gateway_allow_remote, n);
     }},
    {"max_followed",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       const auto* i = n.as_integer();
       if (i == nullptr) return wrong_type(n, "an integer number of publishers");
       std::string why;
       auto v = checked_max_followed(i->get(), std::to_string(i->get()), why);
       if (!v) return Problem{why, line_of(n)};
       s.max_followed = *v;
       return std::nullopt;
     }},
    {"quota", [](Settings& s, const toml::node& n, const Environment&) -> Check { return set_size(s.quota, n); }},
    {"publisher_quota",
     [](Settings& s, const toml::node& n, const Environment&) -> Check { return set_size(s.publisher_quota, n); }},
    {"keep_newest",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_keep(s.keep_newest, n, kMaxKeepNewest, "bundles");
     }},
    {"keep_days",
     [](Settings& s, const toml::node& n, const Environment&) -> Check {
       return set_keep(s.keep_days, n, kMaxKeepDays, "days");
     }},
}};

const TomlKey* find_toml_key(std::string_view name) {
  for (const auto& k : kTomlKeys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// Which TOML key each flag sets, for "did you mean" hints both ways.
constexpr std::array<std::pair<std::string_view, std::string_view>, 20> kFlagKeys{{
    {"--data-dir", "data_dir"},
    {"--listen", "listen"},
    {"--bootstrap", "bootstrap"},
    {"--peer", "peers"},
    {"--no-public-dht", "public_dht"},
    {"--log-level", "log_level"},
    {"--lan", "lan"},
    {"--force-encryption", "force_encryption"},
    {"--socks5", "socks5_proxy"},
    {"--poll-interval", "poll_interval"},
    {"--max-upload-rate", "max_upload_rate"},
    {"--max-download-rate", "max_download_rate"},
    {"--gateway", "gateway"},
    {"--no-gateway", "gateway"},
    {"--gateway-allow-remote", "gateway_allow_remote"},
    {"--max-followed", "max_followed"},
    {"--quota", "quota"},
    {"--publisher-quota", "publisher_quota"},
    {"--keep-newest", "keep_newest"},
    {"--keep-days", "keep_days"},
}};

std::string replaced(std::string_view s, char from, char to) {
  std::string out(s.substr(0, kMaxStringBytes));
  std::replace(out.begin(), out.end(), from, to);
  return out;
}

// "unknown key", with a hint when `name` is a flag's spelling of a key
// ("data-dir", "peer", "--socks5").
std::string unknown_key_message(std::string_view name) {
  std::string msg = "unknown key";
  std::string_view bare = name;
  if (bare.starts_with("--")) bare.remove_prefix(2);
  const std::string underscored = replaced(bare, '-', '_');
  if (find_toml_key(underscored) != nullptr) return msg + " (did you mean " + underscored + "?)";
  const std::string as_flag = "--" + replaced(bare, '_', '-');
  for (const auto& [flag, key] : kFlagKeys) {
    if (flag == as_flag) return msg + " (did you mean " + std::string(key) + "?)";
  }
  return msg;
}

// "unknown option", with a hint when `flag` is a key's spelling of a flag
// ("--peers", "--socks5-proxy", "--data_dir").
std::string unknown_flag_message(std::string_view flag) {
  std::string msg = "unknown option";
  if (!flag.starts_with("--")) return msg + " (options start with --)";
  const std::string dashed = replaced(flag, '_', '-');
  for (const auto& [f, key] : kFlagKeys) {
    if (f == dashed) return msg + " (did you mean " + std::string(f) + "?)";
  }
  const std::string as_key = replaced(flag.substr(2), '-', '_');
  for (const auto& [f, key] : kFlagKeys) {
    if (key == as_key) return msg + " (did you mean " + std::string(f) + "?)";
  }
  return msg;
}

std::optional<ConfigError> apply_table(Settings& s, const toml::table& doc, const Environment& env) {
  // Report the first problem in file order, not in the table's key order.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [k, v] : doc) entries.emplace_back(&k, &v);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& ra = a.first->source().begin;
    const auto& rb = b.first->source().begin;
    return std::pair(ra.line, ra.column) < std::pair(rb.line, rb.column);
  });
  for (const auto& [k, v] : entries) {
    const std::string_view name = k->str();
    const TomlKey* key = find_toml_key(name);
    if (key == nullptr) return make_error(name, k->source().begin.line, unknown_key_message(name));
    if (auto p = key->set(s, *v, env)) {
      return make_error(name, p->line != 0 ? p->line : k->source().begin.line, p->what, p->shown);
    }
  }
  return std::nullopt;
}

// ---- Flags ----------------------------------------------------------------

// Returns a phrase when the flag's value is bad.
using FlagSetter = std::optional<std::string> (*)(Settings&, std::string_view, const Environment&);

struct Flag {
  std::string_view name;
  bool is_switch;
  FlagSetter set;
};

std::optional<std::string> append_endpoint(std::vector<Endpoint>& list, std::string_view value) {
  if (list.size() >= kMaxListEntries) {
    return "more than " + std::to_string(kMaxListEntries) + " entries";
  }
  std::string why;
  auto e = checked_endpoint(value, false, why);
  if (!e) return why;
  list.push_back(std::move(*e));
  return std::nullopt;
}

std::optional<std::string> set_flag_endpoint(Endpoint& field, std::string_view value, bool need_ip) {
  std::string why;
  auto e = checked_endpoint(value, need_ip, why);
  if (!e) return why;
  field = std::move(*e);
  return std::nullopt;
}

// The decimal number a flag value spells, counting no further than one past
// `max` (so no length of digits overflows and leading zeros still read as
// zeros); nullopt unless it is all digits.
std::optional<std::int64_t> flag_number(std::string_view value, std::int64_t max) {
  if (value.empty() || !std::all_of(value.begin(), value.end(), is_digit)) return std::nullopt;
  std::int64_t n = 0;
  for (char c : value) n = std::min<std::int64_t>(n * 10 + (c - '0'), max + 1);
  return n;
}

std::optional<std::string> set_flag_rate(std::uint32_t& field, std::string_view value) {
  const auto n = flag_number(value, kMaxRateKib);
  if (!n) return quoted(value) + " is not a whole number of KiB per second";
  std::string why;
  auto rate = checked_rate_kib(*n, printable(value, false), why);
  if (!rate) return why;
  field = *rate;
  return std::nullopt;
}

std::optional<std::string> set_flag_size(std::uint64_t& field, std::string_view value) {
  std::string why;
  auto v = parse_size(value, &why);
  if (!v) return why;
  field = *v;
  return std::nullopt;
}

std::optional<std::string> set_flag_keep(std::uint32_t& field, std::string_view value, std::uint32_t max,
                                         std::string_view unit) {
  const auto n = flag_number(value, max);
  if (!n) return quoted(value) + " is not a whole number of " + std::string(unit);
  std::string why;
  auto v = checked_keep(*n, max, unit, printable(value, false), why);
  if (!v) return why;
  field = *v;
  return std::nullopt;
}

constexpr std::array<Flag, 20> kFlags{{
    {"--data-dir", false,
     [](Settings& s, std::string_view v, const Environment& env) -> std::optional<std::string> {
       std::string why;
       auto dir = checked_data_dir(v, env, true, why);
       if (!dir) return why;
       s.data_dir = std::move(*dir);
       return std::nullopt;
     }},
    {"--listen", false,
     [](Settings& s, std::string_view v, const Environment&) { return set_flag_endpoint(s.listen, v, true); }},
    {"--bootstrap", false,
     [](Settings& s, std::string_view v, const Environment&) { return append_endpoint(s.bootstrap, v); }},
    {"--peer", false,
     [](Settings& s, std::string_view v, const Environment&) { return append_endpoint(s.peers, v); }},
    {"--no-public-dht", true,
     [](Settings& s, std::string_view, const Environment&) -> std::optional<std::string> {
       s.public_dht = false;
       return std::nullopt;
     }},
    {"--log-level", false,
     [](Settings& s, std::string_view v, const Environment&) -> std::optional<std::string> {
       std::string why;
       auto level = checked_log_level(v, why);
       if (!level) return why;
       s.log_level = *level;
       return std::nullopt;
     }},
    {"--lan", true,
     [](Settings& s, std::string_view, const Environment&) -> std::optional<std::string> {
       s.lan = true;
       return std::nullopt;
     }},
    {"--force-encryption", true,
     [](Settings& s, std::string_view, const Environment&) -> std::optional<std::string> {
       s.force_encryption = true;
       return std::nullopt;
     }},
    {"--socks5", false,
     [](Settings& s, std::string_view v, const Environment&) -> std::optional<std::string> {
       Endpoint e;
       if (auto why = set_flag_endpoint(e, v, false)) return why;
       s.socks5_proxy = std::move(e);
       return std::nullopt;
     }},
    {"--poll-interval", false,
     [](Settings& s, std::string_view v, const Environment&) -> std::optional<std::string> {
       if (v.empty() || !std::all_of(v.begin(), v.end(), is_digit)) {
         return quoted(v) + " is not a whole number of seconds";
       }
       // More than 10 digits is out of range whatever they say; stop before overflow.
       std::int64_t n = 0;
       for (char c : v.substr(0, 11)) n = n * 10 + (c - '0');
       std::string why;
       auto interval = checked_poll_interval(n, printable(v, false), why);
       if (!interval) return why;
       s.poll_interval = *interval;
       return std::nullopt;
     }},
    {"--max-upload-rate", false,
     [](Settings& s, std::string_view v, const Environment&) { return set_flag_rate(s.max_upload_rate_kib, v); }},
    {"--max-download-rate", false,
     [](Settings& s, std::string_view v, const Environment&) { return set_flag_rate(s.max_download_rate_kib, v); }},
    {"--gateway", false,
     [](Settings& s, std::string_view v, const Environment&) -> std::optional<std::string> {
       Endpoint e;
       if (auto why = set_flag_endpoint(e, v, true)) return why;
       s.gateway = std::move(e);
       return std::nullopt;
     }},
    {"--no-gateway", true,
     [](Settings& s, std::string_view, const Environment&) -> std::optional<std::string> {
       s.gateway.reset();
       return std::nullopt;
     }},
    {"--gateway-allow-remote", true,
     [](Settings& s, std::string_view, const Environment&) -> std::optional<std::string> {
       s.gateway_allow_remote = true;
       return std::nullopt;
     }},
    {"--max-followed", false,
     [](Settings& s, std::string_view v, const Environment&) -> std::optional<std::string> {
       const auto n = flag_number(v, kMaxFollowedLimit);
       if (!n) return quoted(v) + " is not a whole number";
       std::string why;
       auto m = checked_max_followed(*n, printable(v, false), why);
       if (!m) return why;
       s.max_followed = *m;
       return std::nullopt;
     }},
    {"--quota", false,
     [](Settings& s, std::string_view v, const Environment&) -> std::optional<std::string> {
       return set_flag_size(s.quota, v);
     }},
    {"--publisher-quota", false,
     [](Settings& s, std::string_view v, const Environment&) -> std::optional<std::string> {
       return set_flag_size(s.publisher_quota, v);
     }},
    {"--keep-newest", false,
     [](Settings& s, std::string_view v, const Environment&) -> std::optional<std::string> {
       return set_flag_keep(s.keep_newest, v, kMaxKeepNewest, "bundles");
     }},
    {"--keep-days", false,
     [](Settings& s, std::string_view v, const Environment&) -> std::optional<std::string> {
       return set_flag_keep(s.keep_days, v, kMaxKeepDays, "days");
     }},
}};

bool is_wildcard(std::string_view host) { return host == "0.0.0.0" || host == "::"; }

}  // namespace

Environment current_environment() {
  Environment env;
  if (const char* home = std::getenv("HOME")) env.home = home;
  if (const char* data = std::getenv("XDG_DATA_HOME")) env.xdg_data_home = data;
  return env;
}

Settings defaults(const Environment& env) {
  Settings s;
  if (!env.xdg_data_home.empty() && env.xdg_data_home.front() == '/') {
    s.data_dir = fs::path(env.xdg_data_home) / "tamizdat" / "node";
  } else if (!env.home.empty() && env.home.front() == '/') {
    s.data_dir = fs::path(env.home) / ".local" / "share" / "tamizdat" / "node";
  }
  return s;
}

Settings defaults() { return defaults(current_environment()); }

std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* why) {
  const auto fail = [&](std::string_view reason) -> std::optional<Endpoint> {
    if (why != nullptr) *why = std::string(reason);
    return std::nullopt;
  };
  if (text.empty()) return fail("empty");
  if (text.size() > kMaxStringBytes) return fail("longer than 1024 bytes");
  if (has_control_char(text)) return fail("control character");
  if (text.find(' ') != std::string_view::npos) return fail("space");
  Endpoint e;
  std::string_view port;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return fail("no closing ']' after the IPv6 address");
    e.host = std::string(text.substr(1, close - 1));
    if (e.host.empty()) return fail("empty host");
    if (!is_ipv6_literal(e.host)) return fail("not a valid IPv6 address between brackets");
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return fail("no port");
    port = rest.substr(1);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("no port");
    const std::string_view host = text.substr(0, colon);
    const std::string reason = check_host(host);
    if (!reason.empty()) return fail(reason);
    e.host = std::string(host);
    port = text.substr(colon + 1);
  }
  if (port.empty()) return fail("no port");
  const auto p = parse_port(port);
  if (!p) return fail("port must be a number 1..65535");
  e.port = *p;
  return e;
}

bool is_ip_literal(std::string_view host) {
  const std::string h(host);
  return is_ipv4_literal(h) || is_ipv6_literal(h);
}

std::string to_string(const Endpoint& e) {
  if (e.host.find(':') != std::string::npos) return "[" + e.host + "]:" + std::to_string(e.port);
  return e.host + ":" + std::to_string(e.port);
}

std::optional<std::uint64_t> parse_size(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<std::uint64_t> {
    if (why != nullptr) *why = quoted(text) + " is not a size: " + reason;
    return std::nullopt;
  };
  if (text.size() > 64) return fail("too long");
  std::size_t i = 0;
  auto skip_spaces = [&] {
    while (i < text.size() && text[i] == ' ') ++i;
  };
  skip_spaces();
  const std::size_t whole_at = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  const std::string_view whole = text.substr(whole_at, i - whole_at);
  std::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    const std::size_t at = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    fraction = text.substr(at, i - at);
    if (fraction.empty()) return fail("no digits after the point");
  }
  if (whole.empty()) return fail("expected a number, such as \"20 GiB\"");
  if (whole.size() > 20 || fraction.size() > 6) return fail("too many digits");
  skip_spaces();
  std::string unit;
  while (i < text.size() && text[i] != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
  skip_spaces();
  if (i != text.size()) return fail("unexpected text after the unit");
  static const std::array<std::pair<std::string_view, std::uint64_t>, 14> kUnits{{
      {"", 1},
      {"b", 1},
      {"kb", 1000},
      {"mb", 1000ull * 1000},
      {"gb", 1000ull * 1000 * 1000},
      {"tb", 1000ull * 1000 * 1000 * 1000},
      {"k", 1ull << 10},
      {"m", 1ull << 20},
      {"g", 1ull << 30},
      {"t", 1ull << 40},
      {"kib", 1ull << 10},
      {"mib", 1ull << 20},
      {"gib", 1ull << 30},
      {"tib", 1ull << 40},
  }};
  std::optional<std::uint64_t> mult;
  for (const auto& [name, m] : kUnits) {
    if (name == unit) mult = m;
  }
  if (!mult) return fail("unknown unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
  if (!fraction.empty() && *mult == 1) return fail("a number of bytes is whole");
  // Exact in 64 bits: the whole part is checked against the limit before
  // it is multiplied, and a fraction of at most 6 digits times at most 2^40
  // stays below 2^60.
  std::uint64_t v = 0;
  for (const char c : whole) {
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > kMaxQuotaBytes) return fail("larger than 1 EiB");
  }
  if (v > kMaxQuotaBytes / *mult) return fail("larger than 1 EiB");
  v *= *mult;
  std::uint64_t f = 0;
  std::uint64_t scale = 1;
  for (const char c : fraction) {
    f = f * 10 + static_cast<std::uint64_t>(c - '0');
    scale *= 10;
  }
  v += f * *mult / scale;
  if (v > kMaxQuotaBytes) return fail("larger than 1 EiB");
  return v;
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "error") return LogLevel::error;
  if (text == "warn") return LogLevel::warn;
  if (text == "info") return LogLevel::info;
  if (text == "debug") return LogLevel::debug;
  return std::nullopt;
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return "error";
    case LogLevel::warn:
      return "warn";
    case LogLevel::info:
      return "info";
    case LogLevel::debug:
      return "debug";
  }
  return "info";
}

namespace {

// The length of the well-formed UTF-8 sequence at t[i] (a byte >= 0x80), with
// its code point in `cp`; 0 when it is cut short, overlong, a surrogate or
// past U+10FFFF.
std::size_t utf8_at(std::string_view t, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(t[k]); };
  const unsigned lead = byte(i);
  std::size_t n = 0;
  char32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2, cp = lead & 0x1Fu, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3, cp = lead & 0x0Fu, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4, cp = lead & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (t.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::variant<std::string, ConfigError> ascii_toml(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  std::uint32_t line = 1;
  const auto fail = [&line](std::string_view why) {
    return make_error({}, line, "not valid TOML: " + std::string(why));
  };
  constexpr std::string_view kNotUtf8 = "the text is not UTF-8";
  std::size_t i = 0;
  while (i < t.size()) {
    const char c = t[i];
    if (c == '#') {
      while (i < t.size() && t[i] != '\n') {
        char32_t cp = 0;
        std::size_t n = 1;
        if (static_cast<unsigned char>(t[i]) < 0x80) {
          out += t[i];
        } else if ((n = utf8_at(t, i, cp)) == 0) {
          return fail(kNotUtf8);
        } else {
          out += '?';
        }
        i += n;
      }
    } else if (c == '"' || c == '\'') {
      // Copied as a basic string with \u escapes; a literal string without
      // non-ASCII is copied as it is. In text that is not valid TOML this
      // reading may differ from the parser's, which still gets ASCII only.
      const bool literal = c == '\'';
      const bool multi = t.substr(i, 3) == std::string(3, c);
      const std::string delimiter(multi ? 3 : 1, '"');
      const std::size_t start = i;
      std::string s = delimiter;
      bool non_ascii = false;
      i += delimiter.size();
      while (i < t.size()) {
        const char d = t[i];
        if (d == '\n' && !multi) break;  // the parser says what is wrong
        if (d == c) {
          std::size_t run = 1;
          if (multi) {
            while (i + run < t.size() && t[i + run] == c) ++run;
            // As in TOML: up to two quotes next to the closing three are text.
            if (run < 3) {
              s.append(run, c);
              i += run;
              continue;
            }
            run = std::min<std::size_t>(run, 5);
            s.append(run - 3, c);
          }
          s += delimiter;
          i += run;
          break;
        }
        if (static_cast<unsigned char>(d) >= 0x80) {
          char32_t cp = 0;
          const std::size_t n = utf8_at(t, i, cp);
          if (n == 0) return fail(kNotUtf8);
          char escape[11];
          if (cp <= 0xFFFF) {
            std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(cp));
          } else {
            std::snprintf(escape, sizeof escape, "\\U%08X", static_cast<unsigned>(cp));
          }
          s += escape;
          non_ascii = true;
          i += n;
          continue;
        }
        if (d == '\n') ++line;
        if (literal && (d == '\\' || d == '"')) {
          s += '\\';
        } else if (!literal && d == '\\') {
          // A basic string's escape is kept as it is; the escaped byte is
          // copied too, so that a quote or backslash in it is not read again.
          s += d;
          if (++i == t.size()) break;
          const char e = t[i];
          if (static_cast<unsigned char>(e) >= 0x80) {
            return fail("a backslash in a string must be followed by an ASCII escape");
          }
          if (e == '\n') ++line;
          s += e;
          ++i;
          continue;
        }
        s += d;
        ++i;
      }
      if (literal && !non_ascii) {
        out += t.substr(start, i - start);
      } else {
        out += s;
      }
    } else {
      // TOML allows non-ASCII only in strings and comments.
      if (static_cast<unsigned char>(c) >= 0x80) {
        return fail("a key may hold only ASCII letters, digits, '-' and '_' unless quoted");
      }
      if (c == '\n') ++line;
      out += c;
      ++i;
    }
  }
  return out;
}

SettingsOrError apply_toml(Settings base, std::string_view toml_text, const Environment& env) {
  if (toml_text.size() > kMaxConfigBytes) {
    return make_error({}, 0,
                      "the config is " + std::to_string(toml_text.size()) + " bytes, more than the " +
                          std::to_string(kMaxConfigBytes) + " allowed");
  }
  auto ascii = ascii_toml(toml_text);
  if (auto* e = std::get_if<ConfigError>(&ascii)) return std::move(*e);
  toml_text = std::get<std::string>(ascii);
#if TOML_EXCEPTIONS
  toml::table doc;
  try {
    doc = toml::parse(toml_text);
  } catch (const toml::parse_error& err) {
    return make_error({}, err.source().begin.line,
                      "not valid TOML: " + printable(err.description(), false, 256));
  }
#else
  toml::parse_result parsed = toml::parse(toml_text);
  if (!parsed) {
    const auto& err = parsed.error();
    return make_error({}, err.source().begin.line,
                      "not valid TOML: " + printable(err.description(), false, 256));
  }
  const toml::table& doc = parsed.table();
#endif
  if (auto e = apply_table(base, doc, env)) return std::move(*e);
  return base;
}

SettingsOrError load_file(Settings base, const std::filesystem::path& file, const Environment& env) {
  const std::string name = printable(file.native(), false, kMaxStringBytes);
  auto bytes = read_file_bounded(file, kMaxConfigBytes);
  if (!bytes) {
    std::string why;
    if (bytes.error() == errc::oversized) {
      why = "larger than " + std::to_string(kMaxConfigBytes) + " bytes";
    } else if (bytes.error() == errc::not_regular_file) {
      why = "not a regular file (or a symbolic link)";
    } else {
      why = bytes.error().message();
    }
    return make_error({}, 0, name + ": cannot read the config file: " + why);
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.value().data()), bytes.value().size());
  auto result = apply_toml(std::move(base), text, env);
  if (auto* e = std::get_if<ConfigError>(&result)) e->message = name + ": " + e->message;
  return result;
}

SettingsOrError apply_flag(Settings base, std::string_view flag, std::string_view value,
                           const Environment& env) {
  const auto it = std::find_if(kFlags.begin(), kFlags.end(), [&](const Flag& f) { return f.name == flag; });
  if (it == kFlags.end()) return make_error(flag, 0, unknown_flag_message(flag));
  if (it->is_switch && !value.empty()) return make_error(flag, 0, "takes no value, got " + quoted(value));
  if (!it->is_switch && value.empty()) return make_error(flag, 0, "needs a value");
  if (auto why = it->set(base, value, env)) return make_error(flag, 0, *why);
  return base;
}

std::optional<ConfigError> validate(const Settings& s) {
  if (s.data_dir.empty()) {
    return make_error("data_dir", 0,
                      "no data folder: HOME is not set; give --data-dir or data_dir in the config file");
  }
  if (s.gateway && s.gateway->port == s.listen.port &&
      (s.gateway->host == s.listen.host || is_wildcard(s.gateway->host) || is_wildcard(s.listen.host))) {
    return make_error("gateway", 0,
                      to_string(*s.gateway) + " takes the port of listen " + to_string(s.listen));
  }
  if (s.gateway && !s.gateway_allow_remote && !is_loopback(s.gateway->host)) {
    return make_error("gateway", 0,
                      to_string(*s.gateway) +
                          " is not a loopback address: other machines could read through this gateway; "
                          "use 127.0.0.1, or set gateway_allow_remote (--gateway-allow-remote) if that is meant");
  }
  return std::nullopt;
}

bool is_loopback(std::string_view host) {
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && a.is_loopback();
}

}  // namespace tz::config
