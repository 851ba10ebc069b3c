// Fuzz target for the settings of tamizdatd (config/config.h): the TOML
// config file (apply_toml) and command-line flag values (apply_flag).
//
// 1. The input as a TOML document, applied on the defaults of an environment
//    with HOME and of one without:
//    - no exception escapes; the result is Settings or a ConfigError;
//    - a ConfigError's message is non-empty, printable ASCII only (input bytes
//      are shown escaped) and shortened (at most 2048 bytes); its key is at
//      most kMaxStringBytes; when it has a line, the message starts with
//      "line N: " and N is a line of the document;
//    - Settings pass their invariants: bootstrap and peers hold at most
//      kMaxListEntries, every endpoint parses back from its text
//      (parse_endpoint(to_string(e)) == e), listen and gateway are IP
//      literals, poll_interval, the rates, max_followed, the quotas and the
//      keep rule are in range,
//      data_dir is the base's or absolute and free of control bytes;
//    - applying the document again to its own result changes nothing, and
//      the settings written out as TOML read back to the same settings.
// 2. When the input starts with "--": the input as a command line, words
//    split at NUL and taken in pairs (flag, value), applied one after the
//    other with apply_flag:
//    - no exception escapes; a ConfigError has the flag as its key, line 0,
//      and a printable, shortened message as above; an unknown flag, a
//      switch with a value and a flag without one are refused;
//    - Settings pass the invariants above (but data_dir may be relative); an
//      accepted --bootstrap or --peer appends exactly the endpoint its value
//      parses to, so no list grows past kMaxListEntries;
//    - a flag and the TOML key it names agree: on the same settings,
//      `key = <value>` (a string, an integer, a boolean, or a one-entry
//      array on an empty list) is accepted exactly when the flag is and
//      gives the same settings.
// A violated property traps.
#include "fuzz_util.h"

#include "config/config.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

const char* const tz::fuzz::kTarget = "config_fuzz";

namespace {

using tz::fuzz::check;
using tz::fuzz::violated;
namespace cfg = tz::config;

const cfg::Environment kHome{"/home/fuzz", ""};
const cfg::Environment kNoHome{"", ""};
constexpr std::size_t kMaxMessageBytes = 2048;

cfg::SettingsOrError toml_no_throw(const cfg::Settings& base, std::string_view text, const cfg::Environment& env) {
  try {
    return cfg::apply_toml(base, text, env);
  } catch (...) {
    violated("apply_toml let an exception escape");
  }
}

cfg::SettingsOrError flag_no_throw(const cfg::Settings& base, std::string_view flag, std::string_view value,
                                   const cfg::Environment& env) {
  try {
    return cfg::apply_flag(base, flag, value, env);
  } catch (...) {
    violated("apply_flag let an exception escape");
  }
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7F;
  });
}

bool is_printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x7F;
  });
}

// Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0u) != 0x80u) return false;
      cp = cp << 6 | (d & 0x3Fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

void check_message(const cfg::ConfigError& e) {
  check(!e.message.empty(), "ConfigError without a message");
  check(is_printable_ascii(e.message), "ConfigError message holds a control or non-ASCII byte");
  check(e.message.size() <= kMaxMessageBytes, "ConfigError message is not shortened");
  check(e.key.size() <= cfg::kMaxStringBytes, "ConfigError key is not bounded");
}

void check_toml_error(const cfg::ConfigError& e, std::string_view text) {
  check_message(e);
  if (e.line == 0) return;
  const std::string prefix = "line " + std::to_string(e.line) + ": ";
  check(e.message.compare(0, prefix.size(), prefix) == 0, "ConfigError line differs from its message");
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  check(e.line <= lines, "ConfigError names a line past the end of the document");
}

void check_endpoint(const cfg::Endpoint& e, bool need_ip, const char* what) {
  check(cfg::parse_endpoint(cfg::to_string(e)) == e, what);
  if (need_ip) check(cfg::is_ip_literal(e.host), what);
}

void check_settings(const cfg::Settings& s, const cfg::Settings& base, bool from_toml) {
  check(s.bootstrap.size() <= cfg::kMaxListEntries, "more than kMaxListEntries bootstrap entries");
  check(s.peers.size() <= cfg::kMaxListEntries, "more than kMaxListEntries peers");
  for (const auto& e : s.bootstrap) check_endpoint(e, false, "a bootstrap endpoint does not round-trip");
  for (const auto& e : s.peers) check_endpoint(e, false, "a peer endpoint does not round-trip");
  if (s.socks5_proxy) check_endpoint(*s.socks5_proxy, false, "the SOCKS5 endpoint does not round-trip");
  check_endpoint(s.listen, true, "listen is not an IP:PORT that round-trips");
  if (s.gateway) check_endpoint(*s.gateway, true, "gateway is not an IP:PORT that round-trips");
  check(s.poll_interval >= cfg::kMinPollInterval && s.poll_interval <= cfg::kMaxPollInterval,
        "poll_interval out of range");
  check(s.max_upload_rate_kib <= cfg::kMaxRateKib && s.max_download_rate_kib <= cfg::kMaxRateKib,
        "a rate out of range");
  check(s.max_followed >= 1 && s.max_followed <= cfg::kMaxFollowedLimit, "max_followed out of range");
  check(s.quota <= cfg::kMaxQuotaBytes && s.publisher_quota <= cfg::kMaxQuotaBytes, "a quota out of range");
  check(s.keep_newest <= cfg::kMaxKeepNewest && s.keep_days <= cfg::kMaxKeepDays, "a keep rule out of range");
  check(cfg::parse_log_level(cfg::to_string(s.log_level)) == s.log_level, "log_level is not a level");
  if (s.data_dir != base.data_dir) {
    check(!has_control(s.data_dir.native()), "data_dir holds a control byte");
    if (from_toml) check(s.data_dir.is_absolute(), "data_dir from TOML is not absolute");
  }
}

// A TOML basic string holding `s` (valid UTF-8 without control bytes).
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string toml_endpoints(const std::vector<cfg::Endpoint>& list) {
  std::string out = "[";
  for (const auto& e : list) out += toml_string(cfg::to_string(e)) + ", ";
  return out + "]";
}

// `s` written out as a TOML document, and the base it must be applied to.
std::pair<std::string, cfg::Settings> write_toml(const cfg::Settings& s) {
  cfg::Settings base = cfg::defaults(kHome);
  std::string t;
  const std::string dir = s.data_dir.native();
  if (s.data_dir.is_absolute() && is_utf8(dir) && !has_control(dir)) {
    t += "data_dir = " + toml_string(dir) + "\n";
  } else {
    base.data_dir = s.data_dir;
  }
  t += "listen = " + toml_string(cfg::to_string(s.listen)) + "\n";
  t += "bootstrap = " + toml_endpoints(s.bootstrap) + "\n";
  t += "peers = " + toml_endpoints(s.peers) + "\n";
  t += std::string("public_dht = ") + (s.public_dht ? "true" : "false") + "\n";
  t += "log_level = " + toml_string(cfg::to_string(s.log_level)) + "\n";
  t += std::string("lan = ") + (s.lan ? "true" : "false") + "\n";
  t += std::string("force_encryption = ") + (s.force_encryption ? "true" : "false") + "\n";
  if (s.socks5_proxy) t += "socks5_proxy = " + toml_string(cfg::to_string(*s.socks5_proxy)) + "\n";
  t += "poll_interval = " + std::to_string(s.poll_interval.count()) + "\n";
  t += "max_upload_rate = " + std::to_string(s.max_upload_rate_kib) + "\n";
  t += "max_download_rate = " + std::to_string(s.max_download_rate_kib) + "\n";
  t += "gateway = " + (s.gateway ? toml_string(cfg::to_string(*s.gateway)) : std::string("false")) + "\n";
  t += std::string("gateway_allow_remote = ") + (s.gateway_allow_remote ? "true" : "false") + "\n";
  t += "max_followed = " + std::to_string(s.max_followed) + "\n";
  t += "quota = " + std::to_string(s.quota) + "\n";
  t += "publisher_quota = " + toml_string(std::to_string(s.publisher_quota) + " B") + "\n";
  t += "keep_newest = " + std::to_string(s.keep_newest) + "\n";
  t += "keep_days = " + std::to_string(s.keep_days) + "\n";
  return {t, base};
}

void check_writes_back(const cfg::Settings& s) {
  const auto [text, base] = write_toml(s);
  const auto back = toml_no_throw(base, text, kHome);
  const auto* got = std::get_if<cfg::Settings>(&back);
  check(got != nullptr && *got == s, "settings written as TOML do not read back to themselves");
}

// 1. The input is a TOML document.
void fuzz_toml(std::string_view text) {
  for (const cfg::Environment* env : {&kHome, &kNoHome}) {
    const cfg::Settings base = cfg::defaults(*env);
    const auto r = toml_no_throw(base, text, *env);
    if (const auto* e = std::get_if<cfg::ConfigError>(&r)) {
      check_toml_error(*e, text);
      continue;
    }
    const cfg::Settings& s = std::get<cfg::Settings>(r);
    check_settings(s, base, true);
    const auto again = toml_no_throw(s, text, *env);
    const auto* same = std::get_if<cfg::Settings>(&again);
    check(same != nullptr && *same == s, "applying the document twice differs from once");
    check_writes_back(s);
  }
}

struct KnownFlag {
  std::string_view flag;
  std::string_view key;
  enum Kind { string, list, integer, path, switch_on, switch_off, size } kind;
};

// From config.h, independently of config.cpp.
constexpr std::array<KnownFlag, 20> kKnownFlags{{
    {"--data-dir", "data_dir", KnownFlag::path},
    {"--listen", "listen", KnownFlag::string},
    {"--gateway", "gateway", KnownFlag::string},
    {"--no-gateway", "gateway", KnownFlag::switch_off},
    {"--bootstrap", "bootstrap", KnownFlag::list},
    {"--peer", "peers", KnownFlag::list},
    {"--socks5", "socks5_proxy", KnownFlag::string},
    {"--log-level", "log_level", KnownFlag::string},
    {"--poll-interval", "poll_interval", KnownFlag::integer},
    {"--no-public-dht", "public_dht", KnownFlag::switch_off},
    {"--lan", "lan", KnownFlag::switch_on},
    {"--force-encryption", "force_encryption", KnownFlag::switch_on},
    {"--max-upload-rate", "max_upload_rate", KnownFlag::integer},
    {"--max-download-rate", "max_download_rate", KnownFlag::integer},
    {"--gateway-allow-remote", "gateway_allow_remote", KnownFlag::switch_on},
    {"--max-followed", "max_followed", KnownFlag::integer},
    {"--quota", "quota", KnownFlag::size},
    {"--publisher-quota", "publisher_quota", KnownFlag::size},
    {"--keep-newest", "keep_newest", KnownFlag::integer},
    {"--keep-days", "keep_days", KnownFlag::integer},
}};

const KnownFlag* find_flag(std::string_view flag) {
  for (const auto& f : kKnownFlags) {
    if (f.flag == flag) return &f;
  }
  return nullptr;
}

bool is_switch(const KnownFlag& f) { return f.kind == KnownFlag::switch_on || f.kind == KnownFlag::switch_off; }

// The TOML line that says what `flag value` says on `s`, when there is one.
std::optional<std::string> as_toml(const KnownFlag& f, std::string_view value, const cfg::Settings& s) {
  const std::string key(f.key);
  switch (f.kind) {
    case KnownFlag::switch_on:
    case KnownFlag::switch_off:
      if (!value.empty()) return std::nullopt;
      return key + " = " + (f.kind == KnownFlag::switch_on ? "true" : "false");
    case KnownFlag::string:
    case KnownFlag::size:  // "20 GiB" in a TOML string reads as the flag does
      if (!is_printable_ascii(value)) return std::nullopt;
      return key + " = " + toml_string(value);
    case KnownFlag::path:
      // The flag alone takes relative paths.
      if (!is_printable_ascii(value) || !(value.starts_with("/") || value.starts_with("~/"))) return std::nullopt;
      return key + " = " + toml_string(value);
    case KnownFlag::list: {
      // The flag appends, the key replaces: the same only on an empty list.
      const auto& list = f.key == "bootstrap" ? s.bootstrap : s.peers;
      if (!list.empty() || !is_printable_ascii(value)) return std::nullopt;
      return key + " = [" + toml_string(value) + "]";
    }
    case KnownFlag::integer:
      // A TOML integer has no leading zeros; keep it within 64 bits.
      if (value.empty() || value.size() > 18 || (value.size() > 1 && value[0] == '0') ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
      }
      return key + " = " + std::string(value);
  }
  return std::nullopt;
}

// 2. The input is a command line.
void fuzz_flags(std::string_view in) {
  std::vector<std::string_view> words;
  for (;;) {
    const std::size_t nul = in.find('\0');
    words.push_back(in.substr(0, nul));
    if (nul == std::string_view::npos) break;
    in.remove_prefix(nul + 1);
  }
  const cfg::Settings base = cfg::defaults(kHome);
  cfg::Settings s = base;
  for (std::size_t i = 0; i < words.size(); i += 2) {
    const std::string_view flag = words[i];
    const std::string_view value = i + 1 < words.size() ? words[i + 1] : std::string_view();
    const KnownFlag* known = find_flag(flag);
    const auto r = flag_no_throw(s, flag, value, kHome);

    if (known != nullptr) {
      if (const auto line = as_toml(*known, value, s)) {
        const auto t = toml_no_throw(s, *line, kHome);
        check(t.index() == r.index(), "a flag and its TOML key disagree on accepting a value");
        if (const auto* ts = std::get_if<cfg::Settings>(&t)) {
          check(*ts == std::get<cfg::Settings>(r), "a flag and its TOML key give different settings");
        }
      }
    }

    if (const auto* e = std::get_if<cfg::ConfigError>(&r)) {
      check_message(*e);
      check(e->key == flag.substr(0, cfg::kMaxStringBytes), "a flag's ConfigError does not name the flag");
      check(e->line == 0, "a flag's ConfigError has a line");
      continue;
    }
    const cfg::Settings& next = std::get<cfg::Settings>(r);
    check(known != nullptr, "an unknown flag was accepted");
    check(is_switch(*known) == value.empty(), "a switch took a value, or a flag went without one");
    check_settings(next, base, false);
    if (known->kind == KnownFlag::list) {
      const bool boot = known->key == "bootstrap";
      const auto& before = boot ? s.bootstrap : s.peers;
      const auto& after = boot ? next.bootstrap : next.peers;
      const auto parsed = cfg::parse_endpoint(value);
      check(parsed && after.size() == before.size() + 1 && std::equal(before.begin(), before.end(), after.begin()) &&
                after.back() == *parsed,
            "an accepted list flag did not append its endpoint");
    }
    s = next;
  }
  check_writes_back(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz_toml(in);
  if (in.starts_with("--")) fuzz_flags(in);
  return 0;
}
