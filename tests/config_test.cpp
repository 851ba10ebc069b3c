#include "config/config.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <variant>

namespace tz::config {
namespace {

const Environment kEnv{"/home/ada", ""};

Settings base() { return defaults(kEnv); }

// The settings, or fails the test with the error's message.
Settings ok(const SettingsOrError& r) {
  if (const auto* e = std::get_if<ConfigError>(&r)) {
    ADD_FAILURE() << "unexpected error: key=" << e->key << " message=" << e->message;
    return {};
  }
  return std::get<Settings>(r);
}

// The error, or fails the test.
ConfigError err(const SettingsOrError& r) {
  if (const auto* e = std::get_if<ConfigError>(&r)) return *e;
  ADD_FAILURE() << "expected an error, got settings";
  return {};
}

ConfigError toml_err(std::string_view text) { return err(apply_toml(base(), text, kEnv)); }

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- parse_endpoint --------------------------------------------------------

TEST(ParseEndpoint, AcceptsIpv4NameAndBracketedIpv6) {
  EXPECT_EQ(parse_endpoint("192.0.2.1:6881"), (Endpoint{"192.0.2.1", 6881}));
  EXPECT_EQ(parse_endpoint("router.example.org:25401"), (Endpoint{"router.example.org", 25401}));
  EXPECT_EQ(parse_endpoint("localhost:1"), (Endpoint{"localhost", 1}));
  EXPECT_EQ(parse_endpoint("my_host-2.lan:65535"), (Endpoint{"my_host-2.lan", 65535}));
  EXPECT_EQ(parse_endpoint("[::1]:6881"), (Endpoint{"::1", 6881}));
  EXPECT_EQ(parse_endpoint("[2001:db8::7]:80"), (Endpoint{"2001:db8::7", 80}));
  EXPECT_EQ(parse_endpoint("[::ffff:192.0.2.1]:80"), (Endpoint{"::ffff:192.0.2.1", 80}));
}

TEST(ParseEndpoint, RoundTripsThroughToString) {
  for (const char* text : {"192.0.2.1:6881", "[::1]:6881", "[2001:db8::7]:80", "host.example:9050"}) {
    const auto e = parse_endpoint(text);
    ASSERT_TRUE(e) << text;
    EXPECT_EQ(to_string(*e), text);
    EXPECT_EQ(parse_endpoint(to_string(*e)), e);
  }
}

TEST(ParseEndpoint, RefusesMissingPort) {
  std::string why;
  EXPECT_FALSE(parse_endpoint("192.0.2.1", &why));
  EXPECT_EQ(why, "no port");
  EXPECT_FALSE(parse_endpoint("192.0.2.1:", &why));
  EXPECT_EQ(why, "no port");
  EXPECT_FALSE(parse_endpoint("[::1]", &why));
  EXPECT_EQ(why, "no port");
  EXPECT_FALSE(parse_endpoint("[::1]6881", &why));
  EXPECT_EQ(why, "no port");
}

TEST(ParseEndpoint, RefusesBadPorts) {
  for (const char* text : {"h:0", "h:70000", "h:65536", "h:abc", "h:-1", "h:+80", "h:80x", "h:123456",
                           "[::1]:0", "[::1]:99999"}) {
    std::string why;
    EXPECT_FALSE(parse_endpoint(text, &why)) << text;
    EXPECT_EQ(why, "port must be a number 1..65535") << text;
  }
}

TEST(ParseEndpoint, RefusesEmptyHost) {
  std::string why;
  EXPECT_FALSE(parse_endpoint(":6881", &why));
  EXPECT_EQ(why, "empty host");
  EXPECT_FALSE(parse_endpoint("[]:6881", &why));
  EXPECT_EQ(why, "empty host");
  EXPECT_FALSE(parse_endpoint("", &why));
}

TEST(ParseEndpoint, RefusesSpacesAndControlCharacters) {
  std::string why;
  EXPECT_FALSE(parse_endpoint("my host:6881", &why));
  EXPECT_EQ(why, "space");
  EXPECT_FALSE(parse_endpoint(" host:6881", &why));
  EXPECT_FALSE(parse_endpoint("host:6881 ", &why));
  EXPECT_FALSE(parse_endpoint(std::string_view("host\0x:6881", 11), &why));
  EXPECT_EQ(why, "control character");
  EXPECT_FALSE(parse_endpoint("host\n:6881", &why));
  EXPECT_FALSE(parse_endpoint("h\x1b[2J:6881", &why));
}

TEST(ParseEndpoint, RefusesUnbracketedAndInvalidIpv6) {
  std::string why;
  EXPECT_FALSE(parse_endpoint("::1:6881", &why));
  EXPECT_TRUE(contains(why, "brackets")) << why;
  EXPECT_FALSE(parse_endpoint("[::g]:6881", &why));
  EXPECT_FALSE(parse_endpoint("[192.0.2.1]:6881", &why));
  EXPECT_FALSE(parse_endpoint("[fe80::1%eth0]:6881", &why));
  EXPECT_FALSE(parse_endpoint("[::1:6881", &why));
}

TEST(ParseEndpoint, RefusesMalformedNames) {
  for (const char* text : {"a..b:1", ".a:1", "a.:1", "-a:1", "a-:1", "a/b:1", "a@b:1", "h\xc3\xa9:1",
                           // Numbers that inet_aton would read, but that are not dotted quads.
                           "127.1:80", "999.1.1.1:80", "0x7f.0.0.1:80", "2130706433:80", "1.2.3.4.5:80"}) {
    EXPECT_FALSE(parse_endpoint(text)) << text;
  }
  EXPECT_FALSE(parse_endpoint(std::string(64, 'a') + ".example:1"));
  EXPECT_TRUE(parse_endpoint(std::string(63, 'a') + ".example:1"));
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefghi.";
  EXPECT_FALSE(parse_endpoint(long_name + "x:1"));
}

TEST(ParseEndpoint, RefusesOversizedText) {
  std::string why;
  EXPECT_FALSE(parse_endpoint(std::string(2000, 'a') + ":1", &why));
  EXPECT_TRUE(contains(why, "1024")) << why;
}

TEST(ParseLogLevel, KnowsTheFourLevelsInLowerCase) {
  EXPECT_EQ(parse_log_level("error"), LogLevel::error);
  EXPECT_EQ(parse_log_level("warn"), LogLevel::warn);
  EXPECT_EQ(parse_log_level("info"), LogLevel::info);
  EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
  EXPECT_FALSE(parse_log_level("INFO"));
  EXPECT_FALSE(parse_log_level("verbose"));
  EXPECT_FALSE(parse_log_level(""));
  for (auto l : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug}) {
    EXPECT_EQ(parse_log_level(to_string(l)), l);
  }
}

// ---- defaults --------------------------------------------------------------

TEST(Defaults, DataDirFromXdgDataHomeThenHome) {
  EXPECT_EQ(defaults(Environment{"/home/ada", "/data/xdg"}).data_dir,
            std::filesystem::path("/data/xdg/tamizdat/node"));
  EXPECT_EQ(defaults(Environment{"/home/ada", ""}).data_dir,
            std::filesystem::path("/home/ada/.local/share/tamizdat/node"));
  // A relative XDG_DATA_HOME is invalid by the XDG rules and ignored.
  EXPECT_EQ(defaults(Environment{"/home/ada", "rel/xdg"}).data_dir,
            std::filesystem::path("/home/ada/.local/share/tamizdat/node"));
  EXPECT_TRUE(defaults(Environment{"", ""}).data_dir.empty());
  EXPECT_TRUE(defaults(Environment{"relative", ""}).data_dir.empty());
}

TEST(Defaults, NetworkDefaults) {
  const Settings s = base();
  EXPECT_EQ(s.listen, (Endpoint{"0.0.0.0", 6881}));
  EXPECT_TRUE(s.bootstrap.empty());
  EXPECT_TRUE(s.peers.empty());
  EXPECT_TRUE(s.public_dht);
  EXPECT_EQ(s.log_level, LogLevel::info);
  EXPECT_FALSE(s.lan);
  EXPECT_FALSE(s.force_encryption);
  EXPECT_FALSE(s.socks5_proxy);
  EXPECT_EQ(s.poll_interval, std::chrono::seconds(300));
  EXPECT_EQ(s.max_upload_rate_kib, 0u);  // unlimited
  EXPECT_EQ(s.max_download_rate_kib, 0u);
  EXPECT_EQ(s.gateway, (Endpoint{"127.0.0.1", 8733}));
  EXPECT_FALSE(validate(s));
}

// ---- apply_toml: valid -------------------------------------------------------

constexpr const char* kFullFile = R"(# every setting
data_dir = "/srv/tamizdat"
listen = "[::]:7000"
bootstrap = ["dht.example.org:6881", "192.0.2.7:6881"]
peers = ["[2001:db8::1]:6881"]
public_dht = false
log_level = "debug"
lan = true
force_encryption = true
socks5_proxy = "127.0.0.1:9050"
poll_interval = 60
max_upload_rate = 512
max_download_rate = 4096
gateway = "127.0.0.1:8080"
)";

TEST(ApplyToml, ReadsAFullValidFile) {
  const Settings s = ok(apply_toml(base(), kFullFile, kEnv));
  EXPECT_EQ(s.data_dir, std::filesystem::path("/srv/tamizdat"));
  EXPECT_EQ(s.listen, (Endpoint{"::", 7000}));
  ASSERT_EQ(s.bootstrap.size(), 2u);
  EXPECT_EQ(s.bootstrap[0], (Endpoint{"dht.example.org", 6881}));
  EXPECT_EQ(s.bootstrap[1], (Endpoint{"192.0.2.7", 6881}));
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0], (Endpoint{"2001:db8::1", 6881}));
  EXPECT_FALSE(s.public_dht);
  EXPECT_EQ(s.log_level, LogLevel::debug);
  EXPECT_TRUE(s.lan);
  EXPECT_TRUE(s.force_encryption);
  EXPECT_EQ(s.socks5_proxy, (Endpoint{"127.0.0.1", 9050}));
  EXPECT_EQ(s.poll_interval, std::chrono::seconds(60));
  EXPECT_EQ(s.max_upload_rate_kib, 512u);
  EXPECT_EQ(s.max_download_rate_kib, 4096u);
  EXPECT_EQ(s.gateway, (Endpoint{"127.0.0.1", 8080}));
  EXPECT_FALSE(validate(s));
}

TEST(ApplyToml, EmptyTextKeepsTheBase) {
  EXPECT_EQ(ok(apply_toml(base(), "", kEnv)), base());
  EXPECT_EQ(ok(apply_toml(base(), "# only a comment\n\n", kEnv)), base());
}

TEST(ApplyToml, AbsentKeysKeepTheBaseAndArraysReplaceIt) {
  Settings b = base();
  b.bootstrap = {Endpoint{"old.example", 1}};
  b.lan = true;
  const Settings s = ok(apply_toml(b, "bootstrap = [\"new.example:2\"]\nlog_level = \"warn\"\n", kEnv));
  ASSERT_EQ(s.bootstrap.size(), 1u);
  EXPECT_EQ(s.bootstrap[0], (Endpoint{"new.example", 2}));
  EXPECT_TRUE(s.lan);
  EXPECT_EQ(s.log_level, LogLevel::warn);
  EXPECT_TRUE(ok(apply_toml(b, "bootstrap = []", kEnv)).bootstrap.empty());
}

TEST(ApplyToml, GatewayFalseDisablesIt) {
  EXPECT_FALSE(ok(apply_toml(base(), "gateway = false", kEnv)).gateway);
}

TEST(ApplyToml, RatesAreWholeKibFromZeroToFourGib) {
  for (const char* key : {"max_upload_rate", "max_download_rate"}) {
    for (std::uint32_t v : {0u, 1024u, 4194304u}) {
      const Settings s = ok(apply_toml(base(), std::string(key) + " = " + std::to_string(v), kEnv));
      const bool upload = std::string_view(key) == "max_upload_rate";
      EXPECT_EQ(upload ? s.max_upload_rate_kib : s.max_download_rate_kib, v) << key << " " << v;
      EXPECT_EQ(upload ? s.max_download_rate_kib : s.max_upload_rate_kib, 0u) << key << " " << v;
    }
  }
}

TEST(ApplyToml, DataDirTildeExpandsFromHome) {
  EXPECT_EQ(ok(apply_toml(base(), "data_dir = \"~/mirror\"", kEnv)).data_dir,
            std::filesystem::path("/home/ada/mirror"));
}

TEST(ApplyToml, AcceptsExactly64BootstrapEntries) {
  std::string text = "bootstrap = [";
  for (int i = 0; i < 64; ++i) text += "\"node" + std::to_string(i) + ".example:6881\",";
  text += "]";
  EXPECT_EQ(ok(apply_toml(base(), text, kEnv)).bootstrap.size(), 64u);
}

// ---- apply_toml: hostile ---------------------------------------------------

TEST(ApplyToml, UnknownKeyIsNamedWithItsLine) {
  const auto e = toml_err("lan = true\nlisten_port = 6881\n");
  EXPECT_EQ(e.key, "listen_port");
  EXPECT_EQ(e.line, 2u);
  EXPECT_TRUE(contains(e.message, "line 2: listen_port: unknown key")) << e.message;
}

TEST(ApplyToml, UnknownKeyWithAFlagSpellingSuggestsTheKey) {
  const auto e = toml_err("data-dir = \"/x\"");
  EXPECT_EQ(e.key, "data-dir");
  EXPECT_TRUE(contains(e.message, "did you mean data_dir?")) << e.message;
  EXPECT_TRUE(contains(toml_err("peer = []").message, "did you mean peers?"));
  EXPECT_TRUE(contains(toml_err("socks5 = \"h:1\"").message, "did you mean socks5_proxy?"));
  EXPECT_TRUE(contains(toml_err("no-public-dht = true").message, "did you mean public_dht?"));
  EXPECT_TRUE(contains(toml_err("max-upload-rate = 1").message, "did you mean max_upload_rate?"));
  EXPECT_FALSE(contains(toml_err("colour = 1").message, "did you mean"));
}

TEST(ApplyToml, WrongTypeForListen) {
  const auto e = toml_err("\nlisten = 5\n");
  EXPECT_EQ(e.key, "listen");
  EXPECT_EQ(e.line, 2u);
  EXPECT_TRUE(contains(e.message, "expected a string \"IP:PORT\", found an integer (5)")) << e.message;
}

TEST(ApplyToml, WrongTypesForOtherKeys) {
  EXPECT_EQ(toml_err("lan = \"yes\"").key, "lan");
  EXPECT_EQ(toml_err("public_dht = 1").key, "public_dht");
  EXPECT_EQ(toml_err("force_encryption = \"true\"").key, "force_encryption");
  EXPECT_EQ(toml_err("bootstrap = \"a.example:1\"").key, "bootstrap");
  EXPECT_EQ(toml_err("peers = [1]").key, "peers");
  EXPECT_EQ(toml_err("data_dir = 1979-05-27").key, "data_dir");
  EXPECT_EQ(toml_err("log_level = 3").key, "log_level");
  EXPECT_EQ(toml_err("socks5_proxy = true").key, "socks5_proxy");
  const auto e = toml_err("poll_interval = 60.5");
  EXPECT_EQ(e.key, "poll_interval");
  EXPECT_TRUE(contains(e.message, "found a floating-point number (60.5)")) << e.message;
}

TEST(ApplyToml, PortZeroIsRefused) {
  const auto e = toml_err("listen = \"0.0.0.0:0\"");
  EXPECT_EQ(e.key, "listen");
  EXPECT_TRUE(contains(e.message, "\"0.0.0.0:0\"")) << e.message;
  EXPECT_TRUE(contains(e.message, "1..65535")) << e.message;
}

TEST(ApplyToml, PortAbove65535IsRefused) {
  const auto e = toml_err("listen = \"0.0.0.0:70000\"");
  EXPECT_EQ(e.key, "listen");
  EXPECT_TRUE(contains(e.message, "\"0.0.0.0:70000\"")) << e.message;
}

TEST(ApplyToml, NonNumericPortIsRefused) {
  const auto e = toml_err("socks5_proxy = \"127.0.0.1:abc\"");
  EXPECT_EQ(e.key, "socks5_proxy");
  EXPECT_TRUE(contains(e.message, "\"127.0.0.1:abc\"")) << e.message;
}

TEST(ApplyToml, EndpointWithoutPortIsRefused) {
  const auto e = toml_err("bootstrap = [\"a.example:1\",\n  \"b.example\"]");
  EXPECT_EQ(e.key, "bootstrap");
  EXPECT_EQ(e.line, 2u);
  EXPECT_TRUE(contains(e.message, "line 2: bootstrap[1]: \"b.example\" is not HOST:PORT (no port)"))
      << e.message;
}

TEST(ApplyToml, EndpointWithEmptyHostIsRefused) {
  const auto e = toml_err("peers = [\":6881\"]");
  EXPECT_EQ(e.key, "peers");
  EXPECT_TRUE(contains(e.message, "empty host")) << e.message;
}

TEST(ApplyToml, EndpointWithSpacesIsRefused) {
  const auto e = toml_err("peers = [\"my peer:6881\"]");
  EXPECT_EQ(e.key, "peers");
  EXPECT_TRUE(contains(e.message, "\"my peer:6881\"")) << e.message;
}

TEST(ApplyToml, ListenAndGatewayMustBeIpLiterals) {
  EXPECT_EQ(toml_err("listen = \"localhost:6881\"").key, "listen");
  const auto e = toml_err("gateway = \"gw.example:80\"");
  EXPECT_EQ(e.key, "gateway");
  EXPECT_TRUE(contains(e.message, "IP address, not a name")) << e.message;
}

TEST(ApplyToml, GatewayTrueIsRefused) {
  const auto e = toml_err("gateway = true");
  EXPECT_EQ(e.key, "gateway");
  EXPECT_TRUE(contains(e.message, "found true")) << e.message;
}

TEST(ApplyToml, TooManyBootstrapEntries) {
  std::string text = "bootstrap = [";
  for (int i = 0; i < 65; ++i) text += "\"node" + std::to_string(i) + ".example:6881\",";
  text += "]";
  const auto e = toml_err(text);
  EXPECT_EQ(e.key, "bootstrap");
  EXPECT_TRUE(contains(e.message, "65 entries, at most 64")) << e.message;
}

TEST(ApplyToml, PollIntervalOutOfRange) {
  for (const char* text : {"poll_interval = 86401", "poll_interval = 0",
                           "poll_interval = -300", "poll_interval = 9223372036854775807"}) {
    const auto e = toml_err(text);
    EXPECT_EQ(e.key, "poll_interval") << text;
    EXPECT_TRUE(contains(e.message, "out of range 1..86400")) << e.message;
  }
  EXPECT_EQ(ok(apply_toml(base(), "poll_interval = 1", kEnv)).poll_interval, std::chrono::seconds(1));
  EXPECT_EQ(ok(apply_toml(base(), "poll_interval = 86400", kEnv)).poll_interval,
            std::chrono::seconds(86400));
}

TEST(ApplyToml, RatesOutOfRange) {
  for (const char* key : {"max_upload_rate", "max_download_rate"}) {
    for (const char* v : {"-1", "4194305", "9223372036854775807"}) {
      const auto e = toml_err(std::string("lan = true\n") + key + " = " + v);
      EXPECT_EQ(e.key, key) << v;
      EXPECT_EQ(e.line, 2u) << v;
      EXPECT_TRUE(contains(e.message, std::string("line 2: ") + key + ": " + v + " KiB/s is out of range 0..4194304"))
          << e.message;
    }
  }
}

TEST(ApplyToml, RatesOfTheWrongType) {
  for (const char* key : {"max_upload_rate", "max_download_rate"}) {
    const auto f = toml_err(std::string(key) + " = 1.5");
    EXPECT_EQ(f.key, key);
    EXPECT_TRUE(contains(f.message, "expected an integer number of KiB per second, found a floating-point number (1.5)"))
        << f.message;
    const auto s = toml_err(std::string(key) + " = \"100\"");
    EXPECT_EQ(s.key, key);
    EXPECT_TRUE(contains(s.message, "found a string")) << s.message;
    const auto b = toml_err(std::string(key) + " = true");
    EXPECT_EQ(b.key, key);
    EXPECT_TRUE(contains(b.message, "found a boolean (true)")) << b.message;
  }
}

TEST(ApplyToml, UnknownLogLevel) {
  const auto e = toml_err("log_level = \"verbose\"");
  EXPECT_EQ(e.key, "log_level");
  EXPECT_TRUE(contains(e.message, "\"verbose\" is not a log level")) << e.message;
}

TEST(ApplyToml, RelativeDataDirIsRefused) {
  for (const char* text : {"data_dir = \"node\"", "data_dir = \"./node\"", "data_dir = \"~ada/node\"",
                           "data_dir = \"\""}) {
    EXPECT_EQ(toml_err(text).key, "data_dir") << text;
  }
  EXPECT_TRUE(contains(toml_err("data_dir = \"node\"").message, "absolute path or start with ~/"));
}

TEST(ApplyToml, TildeDataDirWithoutHomeIsRefused) {
  const auto e = err(apply_toml(base(), "data_dir = \"~/node\"", Environment{}));
  EXPECT_EQ(e.key, "data_dir");
  EXPECT_TRUE(contains(e.message, "HOME")) << e.message;
}

TEST(ApplyToml, DataDirWithControlCharacterIsRefused) {
  EXPECT_EQ(toml_err("data_dir = \"/srv/a\\u0000b\"").key, "data_dir");
  EXPECT_EQ(toml_err("data_dir = \"/srv/a\\nb\"").key, "data_dir");
}

TEST(ApplyToml, MalformedTomlGivesTheLine) {
  const auto e = toml_err("lan = true\nlog_level = \"info\"\nlisten = \"0.0.0.0:1\n");
  EXPECT_TRUE(e.key.empty());
  EXPECT_EQ(e.line, 3u);
  EXPECT_TRUE(contains(e.message, "line 3: not valid TOML")) << e.message;
}

TEST(ApplyToml, DuplicateKeyIsMalformed) {
  const auto e = toml_err("lan = true\nlan = false\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_TRUE(contains(e.message, "not valid TOML")) << e.message;
}

TEST(ApplyToml, InvalidUtf8IsMalformed) {
  const auto e = toml_err("log_level = \"\xff\"\n");
  EXPECT_TRUE(contains(e.message, "not valid TOML")) << e.message;
}

TEST(ApplyToml, OversizedTextIsRefusedBeforeParsing) {
  std::string text(kMaxConfigBytes + 1, '#');
  const auto e = toml_err(text);
  EXPECT_TRUE(e.key.empty());
  EXPECT_TRUE(contains(e.message, "1048577 bytes")) << e.message;
}

TEST(ApplyToml, OversizedStringIsRefused) {
  const auto e = toml_err("data_dir = \"/" + std::string(1100, 'a') + "\"");
  EXPECT_EQ(e.key, "data_dir");
  EXPECT_TRUE(contains(e.message, "longer than 1024")) << e.message;
}

TEST(ApplyToml, NestedTableWhereAValueBelongs) {
  const auto e = toml_err("lan = true\n[listen]\nhost = \"0.0.0.0\"\nport = 6881\n");
  EXPECT_EQ(e.key, "listen");
  EXPECT_TRUE(contains(e.message, "found a table")) << e.message;
  EXPECT_EQ(toml_err("gateway = { host = \"127.0.0.1\", port = 80 }").key, "gateway");
  EXPECT_EQ(toml_err("[[peers]]\nhost = \"a\"\n").key, "peers");
}

TEST(ApplyToml, UnknownTablesAndDottedKeysAreUnknownKeys) {
  const auto e = toml_err("[network]\nlisten = \"0.0.0.0:6881\"\n");
  EXPECT_EQ(e.key, "network");
  EXPECT_EQ(e.line, 1u);
  EXPECT_TRUE(contains(e.message, "unknown key")) << e.message;
  EXPECT_EQ(toml_err("listen.port = 6881").key, "listen");
}

TEST(ApplyToml, ReportsTheFirstProblemInFileOrder) {
  // std::map order would give "aaa" first; the file has "zzz" first.
  const auto e = toml_err("zzz = 1\naaa = 2\n");
  EXPECT_EQ(e.key, "zzz");
  EXPECT_EQ(e.line, 1u);
}

TEST(ApplyToml, MessagesEscapeHostileBytes) {
  const auto e = toml_err("log_level = \"\\u001b[2Jevil\"");
  EXPECT_EQ(e.key, "log_level");
  EXPECT_FALSE(contains(e.message, "\x1b")) << e.message;
  EXPECT_TRUE(contains(e.message, "\\x1b[2Jevil")) << e.message;
  const auto k = toml_err("\"bad\\u0007key\" = 1");
  EXPECT_FALSE(contains(k.message, "\x07")) << k.message;
  const auto long_value = toml_err("log_level = \"" + std::string(500, 'x') + "\"");
  EXPECT_LT(long_value.message.size(), 200u) << long_value.message;
}

// ---- load_file -------------------------------------------------------------

TEST(LoadFile, ReadsAValidFile) {
  test::TempDir dir;
  test::write_file(dir / "tamizdatd.toml", kFullFile);
  const Settings s = ok(load_file(base(), dir / "tamizdatd.toml", kEnv));
  EXPECT_EQ(s, ok(apply_toml(base(), kFullFile, kEnv)));
}

TEST(LoadFile, MissingFileIsAnError) {
  test::TempDir dir;
  const auto e = err(load_file(base(), dir / "absent.toml", kEnv));
  EXPECT_TRUE(e.key.empty());
  EXPECT_TRUE(contains(e.message, "absent.toml: cannot read the config file")) << e.message;
}

TEST(LoadFile, OversizedFileIsRefused) {
  test::TempDir dir;
  test::write_file(dir / "big.toml", std::string(kMaxConfigBytes + 1, '#'));
  const auto e = err(load_file(base(), dir / "big.toml", kEnv));
  EXPECT_TRUE(e.key.empty());
  EXPECT_TRUE(contains(e.message, "larger than 1048576 bytes")) << e.message;
}

TEST(LoadFile, SymlinkAndFolderAreRefused) {
  test::TempDir dir;
  test::write_file(dir / "real.toml", "lan = true\n");
  std::filesystem::create_symlink(dir / "real.toml", dir / "link.toml");
  EXPECT_TRUE(contains(err(load_file(base(), dir / "link.toml", kEnv)).message, "not a regular file"));
  EXPECT_TRUE(std::holds_alternative<ConfigError>(load_file(base(), dir.path(), kEnv)));
}

TEST(LoadFile, ErrorsNameTheFileTheKeyAndTheLine) {
  test::TempDir dir;
  test::write_file(dir / "c.toml", "lan = true\nlisten = 5\n");
  const auto e = err(load_file(base(), dir / "c.toml", kEnv));
  EXPECT_EQ(e.key, "listen");
  EXPECT_EQ(e.line, 2u);
  EXPECT_TRUE(contains(e.message, "c.toml: line 2: listen: expected")) << e.message;
}

// ---- apply_flag ------------------------------------------------------------

// defaults -> file -> flags, the way tamizdatd merges them.
SettingsOrError merge(const std::string& toml,
                      const std::vector<std::pair<std::string, std::string>>& flags) {
  SettingsOrError r = apply_toml(base(), toml, kEnv);
  for (const auto& [flag, value] : flags) {
    if (std::holds_alternative<ConfigError>(r)) break;
    r = apply_flag(std::get<Settings>(std::move(r)), flag, value, kEnv);
  }
  return r;
}

TEST(ApplyFlag, FlagsOverrideTheFile) {
  const Settings s = ok(merge(kFullFile, {{"--data-dir", "/var/lib/tz"},
                                          {"--listen", "192.0.2.1:7001"},
                                          {"--log-level", "error"},
                                          {"--socks5", "[::1]:9150"},
                                          {"--poll-interval", "3600"},
                                          {"--max-upload-rate", "2048"},
                                          {"--max-download-rate", "0"},
                                          {"--gateway", "[::1]:8734"}}));
  EXPECT_EQ(s.data_dir, std::filesystem::path("/var/lib/tz"));
  EXPECT_EQ(s.listen, (Endpoint{"192.0.2.1", 7001}));
  EXPECT_EQ(s.log_level, LogLevel::error);
  EXPECT_EQ(s.socks5_proxy, (Endpoint{"::1", 9150}));
  EXPECT_EQ(s.poll_interval, std::chrono::seconds(3600));
  EXPECT_EQ(s.max_upload_rate_kib, 2048u);   // the file said 512
  EXPECT_EQ(s.max_download_rate_kib, 0u);    // the file said 4096; 0 lifts the cap
  EXPECT_EQ(s.gateway, (Endpoint{"::1", 8734}));
  // Untouched by flags: still the file's.
  EXPECT_FALSE(s.public_dht);
  EXPECT_TRUE(s.lan);
}

TEST(ApplyFlag, BootstrapAndPeerAppendToTheFile) {
  const Settings s = ok(merge(kFullFile, {{"--bootstrap", "c.example:1"}, {"--peer", "192.0.2.9:6881"},
                                          {"--peer", "[::1]:6882"}}));
  ASSERT_EQ(s.bootstrap.size(), 3u);
  EXPECT_EQ(s.bootstrap[2], (Endpoint{"c.example", 1}));
  ASSERT_EQ(s.peers.size(), 3u);
  EXPECT_EQ(s.peers[1], (Endpoint{"192.0.2.9", 6881}));
  EXPECT_EQ(s.peers[2], (Endpoint{"::1", 6882}));
}

TEST(ApplyFlag, SwitchesSetTheirSettings) {
  const Settings s = ok(merge("", {{"--no-public-dht", ""}, {"--lan", ""}, {"--force-encryption", ""},
                                   {"--no-gateway", ""}}));
  EXPECT_FALSE(s.public_dht);
  EXPECT_TRUE(s.lan);
  EXPECT_TRUE(s.force_encryption);
  EXPECT_FALSE(s.gateway);
  // --gateway after --no-gateway turns it back on.
  EXPECT_EQ(ok(apply_flag(s, "--gateway", "127.0.0.1:9000", kEnv)).gateway, (Endpoint{"127.0.0.1", 9000}));
}

TEST(ApplyFlag, DataDirMayBeRelativeOrTilde) {
  EXPECT_EQ(ok(apply_flag(base(), "--data-dir", "node", kEnv)).data_dir, std::filesystem::path("node"));
  EXPECT_EQ(ok(apply_flag(base(), "--data-dir", "~/n", kEnv)).data_dir,
            std::filesystem::path("/home/ada/n"));
  EXPECT_EQ(err(apply_flag(base(), "--data-dir", "~/n", Environment{})).key, "--data-dir");
}

TEST(ApplyFlag, UnknownFlagIsNamed) {
  const auto e = err(apply_flag(base(), "--listen-port", "6881", kEnv));
  EXPECT_EQ(e.key, "--listen-port");
  EXPECT_TRUE(contains(e.message, "--listen-port: unknown option")) << e.message;
  EXPECT_EQ(err(apply_flag(base(), "listen", "0.0.0.0:1", kEnv)).key, "listen");
  EXPECT_EQ(err(apply_flag(base(), "--config", "/etc/t.toml", kEnv)).key, "--config");
}

TEST(ApplyFlag, UnknownFlagWithAKeySpellingSuggestsTheFlag) {
  EXPECT_TRUE(contains(err(apply_flag(base(), "--peers", "h:1", kEnv)).message, "did you mean --peer?"));
  EXPECT_TRUE(contains(err(apply_flag(base(), "--data_dir", "/x", kEnv)).message,
                       "did you mean --data-dir?"));
  EXPECT_TRUE(contains(err(apply_flag(base(), "--socks5-proxy", "h:1", kEnv)).message,
                       "did you mean --socks5?"));
  EXPECT_TRUE(contains(err(apply_flag(base(), "listen", "0.0.0.0:1", kEnv)).message, "start with --"));
  EXPECT_TRUE(contains(err(apply_flag(base(), "--max_upload_rate", "1", kEnv)).message,
                       "did you mean --max-upload-rate?"));
  EXPECT_TRUE(contains(err(apply_flag(base(), "--download-rate", "1", kEnv)).message, "unknown option"));
}

TEST(ApplyFlag, SwitchWithValueAndFlagWithoutValueAreRefused) {
  EXPECT_EQ(err(apply_flag(base(), "--lan", "yes", kEnv)).key, "--lan");
  EXPECT_EQ(err(apply_flag(base(), "--listen", "", kEnv)).key, "--listen");
}

TEST(ApplyFlag, BadValuesNameTheFlag) {
  EXPECT_EQ(err(apply_flag(base(), "--listen", "0.0.0.0:0", kEnv)).key, "--listen");
  EXPECT_EQ(err(apply_flag(base(), "--listen", "localhost:6881", kEnv)).key, "--listen");
  EXPECT_EQ(err(apply_flag(base(), "--bootstrap", "no-port.example", kEnv)).key, "--bootstrap");
  EXPECT_EQ(err(apply_flag(base(), "--peer", "a b:1", kEnv)).key, "--peer");
  EXPECT_EQ(err(apply_flag(base(), "--socks5", "[::1]:70000", kEnv)).key, "--socks5");
  EXPECT_EQ(err(apply_flag(base(), "--gateway", "gw.example:80", kEnv)).key, "--gateway");
  const auto e = err(apply_flag(base(), "--log-level", "loud", kEnv));
  EXPECT_EQ(e.key, "--log-level");
  EXPECT_TRUE(contains(e.message, "\"loud\"")) << e.message;
}

TEST(ApplyFlag, PollIntervalMustBeWholeSecondsInRange) {
  for (const char* v : {"abc", "-5", "5m", "1.5", " 60"}) {
    const auto e = err(apply_flag(base(), "--poll-interval", v, kEnv));
    EXPECT_EQ(e.key, "--poll-interval") << v;
    EXPECT_TRUE(contains(e.message, "not a whole number")) << e.message;
  }
  for (const char* v : {"0", "86401", "99999999999999999999999999"}) {
    const auto e = err(apply_flag(base(), "--poll-interval", v, kEnv));
    EXPECT_EQ(e.key, "--poll-interval") << v;
    EXPECT_TRUE(contains(e.message, "out of range")) << e.message;
  }
}

TEST(ApplyFlag, RatesAcceptWholeKib) {
  const Settings s = ok(merge("", {{"--max-upload-rate", "2048"}, {"--max-download-rate", "4194304"}}));
  EXPECT_EQ(s.max_upload_rate_kib, 2048u);
  EXPECT_EQ(s.max_download_rate_kib, 4194304u);
  // Leading zeros are still the number they spell, however many there are.
  EXPECT_EQ(ok(apply_flag(base(), "--max-upload-rate", "0000000000000000000100", kEnv)).max_upload_rate_kib, 100u);
  EXPECT_EQ(ok(apply_flag(s, "--max-upload-rate", "0", kEnv)).max_upload_rate_kib, 0u);
}

TEST(ApplyFlag, RatesMustBeWholeKibInRange) {
  for (const char* flag : {"--max-upload-rate", "--max-download-rate"}) {
    const auto empty = err(apply_flag(base(), flag, "", kEnv));
    EXPECT_EQ(empty.key, flag);
    EXPECT_TRUE(contains(empty.message, "needs a value")) << empty.message;
    for (const char* v : {"-5", "abc", "1.5", "100k", " 100", "+1"}) {
      const auto e = err(apply_flag(base(), flag, v, kEnv));
      EXPECT_EQ(e.key, flag) << v;
      EXPECT_TRUE(contains(e.message, std::string(flag) + ": \"" + v + "\" is not a whole number of KiB"))
          << e.message;
    }
    for (const char* v : {"4194305", "99999999999999999999"}) {
      const auto e = err(apply_flag(base(), flag, v, kEnv));
      EXPECT_EQ(e.key, flag) << v;
      EXPECT_TRUE(contains(e.message, std::string(v) + " KiB/s is out of range 0..4194304")) << e.message;
    }
  }
}

TEST(ApplyFlag, BootstrapStopsAt64Entries) {
  SettingsOrError r = base();
  for (int i = 0; i < 64; ++i) {
    r = apply_flag(ok(r), "--bootstrap", "n" + std::to_string(i) + ".example:1", kEnv);
  }
  EXPECT_EQ(ok(r).bootstrap.size(), 64u);
  const auto e = err(apply_flag(ok(r), "--bootstrap", "one-more.example:1", kEnv));
  EXPECT_EQ(e.key, "--bootstrap");
  EXPECT_TRUE(contains(e.message, "more than 64")) << e.message;
}

// ---- validate --------------------------------------------------------------

TEST(Validate, RefusesAnEmptyDataDir) {
  const auto e = validate(defaults(Environment{}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, "data_dir");
}

TEST(Validate, RefusesAGatewayOnTheListenPort) {
  Settings s = base();
  s.gateway = Endpoint{"127.0.0.1", 6881};
  const auto e = validate(s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, "gateway");
  s.listen = Endpoint{"192.0.2.1", 6881};
  EXPECT_FALSE(validate(s));
  s.gateway.reset();
  EXPECT_FALSE(validate(s));
}

// toml++ 3.3.0 reaches undefined behaviour on some non-ASCII bare keys
// (config_fuzz): such bytes are refused before parsing, and only there.
TEST(ApplyToml, NonAsciiOutsideStringsIsRefusedBeforeParsing) {
  for (const auto& [text, line] : std::vector<std::pair<std::string, std::uint32_t>>{
           {"\xd1\x8b", 1},
           {"log_level = \"info\"\n\n\xc3\xa9 = 1\n", 3},
           {"a = \"x\"\nb = { \xd1\x8b = 1 }\n", 2},
           {"s = \"\"\"\n\xd1\x8b\n\"\"\"\n\xd1\x8b = 2\n", 4}}) {
    const auto r = apply_toml(base(), text, kEnv);
    ASSERT_TRUE(std::holds_alternative<ConfigError>(r)) << text;
    EXPECT_EQ(std::get<ConfigError>(r).line, line) << text;
    EXPECT_NE(std::get<ConfigError>(r).message.find("ASCII"), std::string::npos) << std::get<ConfigError>(r).message;
  }
  // In strings (all four kinds), escapes and comments it is text like any other.
  const auto ok = apply_toml(base(),
                             "# \xd8\xaa\xd9\x85\xdb\x8c\xd8\xb2\n"
                             "data_dir = \"/srv/\xd8\xaa\xd9\x85 \\\" x\"  # \xd8\xaa\n"
                             "log_level = 'info' # '\xd8\xaa\n",
                             kEnv);
  ASSERT_TRUE(std::holds_alternative<Settings>(ok)) << std::get<ConfigError>(ok).message;
  EXPECT_EQ(std::get<Settings>(ok).data_dir, "/srv/\xd8\xaa\xd9\x85 \" x");
  // A quoted non-ASCII key reaches the key check (and is unknown).
  const auto quoted_key = apply_toml(base(), "\"\xc3\xa9\" = 1\n", kEnv);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(quoted_key));
  EXPECT_EQ(std::get<ConfigError>(quoted_key).message.find("ASCII"), std::string::npos);
}

// toml++ 3.3.0 also reaches that undefined behaviour on non-ASCII in what
// looks like a string: in a bare value with a quote in it (config_fuzz,
// regressions/config_fuzz/toml-unreachable-non-ascii-quoted-in-bare-value),
// after a backslash, and on a line continued with a backslash (valid TOML).
// So the parser only ever gets ASCII: strings carry \u escapes, comments
// lose their non-ASCII.
TEST(ApplyToml, TheParserGetsAsciiOnlyWithTheSameMeaning) {
  const auto ascii = [](std::string_view text) {
    const auto r = ascii_toml(text);
    if (const auto* e = std::get_if<ConfigError>(&r)) {
      ADD_FAILURE() << text << ": " << e->message;
      return std::string();
    }
    const std::string& out = std::get<std::string>(r);
    for (const char c : out) EXPECT_LT(static_cast<unsigned char>(c), 0x80u) << out;
    return out;
  };
  // What the fuzzer found (shortened), and a number with a quoted part: not
  // valid TOML, refused by the parser, which is given ASCII text.
  EXPECT_EQ(ascii("\"\"= 1o{\"\xd0\xba\" = 0\n"), "\"\"= 1o{\"\\u043A\" = 0\n");
  EXPECT_EQ(ascii("log_level = 1.'\xd0\xba'\n"), "log_level = 1.\"\\u043A\"\n");
  for (const char* text : {"\"\"= 1o{\"\xd0\xba\" = 0\n", "log_level = 1.'\xd0\xba'\n"}) {
    EXPECT_TRUE(contains(toml_err(text).message, "not valid TOML")) << text;
  }
  // Strings of all four kinds and comments keep their meaning.
  EXPECT_EQ(ascii("# \xd8\xaa\xd0\xba\ndata_dir = \"/\xc3\xa9\\t\\\"\xf0\x9f\x93\xb0\" # \xd0\xba\n"),
            "# ??\ndata_dir = \"/\\u00E9\\t\\\"\\U0001F4F0\" # ?\n");
  EXPECT_EQ(ok(apply_toml(base(), "data_dir = \"\"\"/srv/a\\\n   \xd0\xba\"\"\"\n", kEnv)).data_dir,
            "/srv/a\xd0\xba");
  EXPECT_EQ(ok(apply_toml(base(), "data_dir = '/\xd0\xba \"x\" \\n'", kEnv)).data_dir, "/\xd0\xba \"x\" \\n");
  EXPECT_EQ(ok(apply_toml(base(), "data_dir = '''\n/\xd0\xba''x'''''\n", kEnv)).data_dir, "/\xd0\xba''x''");
  EXPECT_EQ(ok(apply_toml(base(), "data_dir = \"\"\"/\xd0\xba\"\"x\"\"\"\"\"\n", kEnv)).data_dir,
            "/\xd0\xba\"\"x\"\"");
  // ASCII text, literal strings included, is given as it is.
  const std::string plain = "log_level = 'info' # \"\nlisten = \"\"\"0.0.0.0:1\\\n\"\"\"\n";
  EXPECT_EQ(ascii(plain), plain);
  // Refused with the line: not UTF-8 (in a string, in comments), non-ASCII
  // after a backslash (never an escape), or outside strings once a string
  // closed by four quotes has ended.
  for (const auto& [text, line] : std::vector<std::pair<std::string, std::uint32_t>>{
           {"data_dir = \"/\xff\"\n", 1},
           {"# \xd0\xba\n# \xc0\xaf\n", 2},
           {"\n\n# \xed\xa0\x80\n", 3},
           {"data_dir = \"\"\"\n\\\xd0\xba\"\"\"\n", 2},
           {"a = {b = \"\"\"q\"\"\"\", \xd0\xba = 1}\n", 1}}) {
    const auto r = ascii_toml(text);
    ASSERT_TRUE(std::holds_alternative<ConfigError>(r)) << text;
    EXPECT_EQ(std::get<ConfigError>(r).line, line) << text;
    EXPECT_EQ(toml_err(text).message, std::get<ConfigError>(r).message);
  }
}

TEST(ApplyFlag, MaxFollowedIsAPositiveBoundedCount) {
  EXPECT_EQ(base().max_followed, kDefaultMaxFollowed);
  EXPECT_EQ(std::get<Settings>(apply_flag(base(), "--max-followed", "5", kEnv)).max_followed, 5u);
  EXPECT_EQ(std::get<Settings>(apply_toml(base(), "max_followed = 100000\n", kEnv)).max_followed, kMaxFollowedLimit);
  for (const char* bad : {"0", "100001", "-1", "x", "99999999999999999999999"}) {
    const auto r = apply_flag(base(), "--max-followed", bad, kEnv);
    ASSERT_TRUE(std::holds_alternative<ConfigError>(r)) << bad;
    EXPECT_EQ(std::get<ConfigError>(r).key, "--max-followed");
  }
  const auto t = apply_toml(base(), "max_followed = 0\n", kEnv);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(t));
  EXPECT_EQ(std::get<ConfigError>(t).key, "max_followed");
  EXPECT_EQ(std::get<ConfigError>(t).line, 1u);
}

TEST(ParseSize, UnitsSpacesAndFractions) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("500"), 500u);
  EXPECT_EQ(parse_size("500 B"), 500u);
  EXPECT_EQ(parse_size("10GiB"), std::uint64_t{10} << 30);
  EXPECT_EQ(parse_size("10 gib"), std::uint64_t{10} << 30);
  EXPECT_EQ(parse_size("10G"), std::uint64_t{10} << 30);
  EXPECT_EQ(parse_size("10 GB"), 10'000'000'000u);
  EXPECT_EQ(parse_size("1.5 GB"), 1'500'000'000u);
  EXPECT_EQ(parse_size("1.5MiB"), 1'572'864u);
  EXPECT_EQ(parse_size(" 2 TiB "), std::uint64_t{2} << 40);
  EXPECT_EQ(parse_size("1 KB"), 1000u);
  EXPECT_EQ(parse_size("1 k"), 1024u);
  EXPECT_EQ(parse_size("1048576 TiB"), kMaxQuotaBytes);
  for (const char* bad : {"", " ", "GiB", "-1", "1.5", "1.", ".5 GB", "10 GiBs", "10 GiB x", "1e9", "0x10",
                          "1048577 TiB", "99999999999999999999", "1.1234567 GB", "1,5 GB", "10\tGB"}) {
    std::string why;
    EXPECT_FALSE(parse_size(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(ApplyToml, StoragePolicyKeys) {
  const auto ok = apply_toml(base(),
                             "quota = \"50 GiB\"\npublisher_quota = 1000000\nkeep_newest = 20\nkeep_days = 90\n", kEnv);
  ASSERT_TRUE(std::holds_alternative<Settings>(ok)) << std::get<ConfigError>(ok).message;
  const Settings& s = std::get<Settings>(ok);
  EXPECT_EQ(s.quota, std::uint64_t{50} << 30);
  EXPECT_EQ(s.publisher_quota, 1000000u);
  EXPECT_EQ(s.keep_newest, 20u);
  EXPECT_EQ(s.keep_days, 90u);
  // Defaults: no limits.
  EXPECT_EQ(base().quota, 0u);
  EXPECT_EQ(base().keep_newest, 0u);
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {"quota = -5\n", "quota"},
           {"quota = \"lots\"\n", "quota"},
           {"quota = 1.5\n", "quota"},
           {"publisher_quota = \"2 EiB\"\n", "publisher_quota"},
           {"keep_newest = -1\n", "keep_newest"},
           {"keep_newest = 1000001\n", "keep_newest"},
           {"keep_days = \"30\"\n", "keep_days"},
           {"keep_days = 36501\n", "keep_days"}}) {
    const auto r = apply_toml(base(), text, kEnv);
    ASSERT_TRUE(std::holds_alternative<ConfigError>(r)) << text;
    EXPECT_EQ(std::get<ConfigError>(r).key, key) << text;
    EXPECT_EQ(std::get<ConfigError>(r).line, 1u) << text;
  }
}

TEST(ApplyFlag, StoragePolicyFlags) {
  Settings s = base();
  s = std::get<Settings>(apply_flag(s, "--quota", "20GiB", kEnv));
  s = std::get<Settings>(apply_flag(s, "--publisher-quota", "3 GB", kEnv));
  s = std::get<Settings>(apply_flag(s, "--keep-newest", "7", kEnv));
  s = std::get<Settings>(apply_flag(s, "--keep-days", "0", kEnv));
  EXPECT_EQ(s.quota, std::uint64_t{20} << 30);
  EXPECT_EQ(s.publisher_quota, 3'000'000'000u);
  EXPECT_EQ(s.keep_newest, 7u);
  EXPECT_EQ(s.keep_days, 0u);
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--quota", "x"}, {"--quota", ""}, {"--keep-newest", "-3"}, {"--keep-days", "36501"}, {"--keep-days", "1d"}}) {
    const auto r = apply_flag(base(), flag, value, kEnv);
    ASSERT_TRUE(std::holds_alternative<ConfigError>(r)) << flag << " " << value;
    EXPECT_EQ(std::get<ConfigError>(r).key, flag);
  }
}

TEST(Validate, AGatewayOffLoopbackNeedsItsOwnSwitch) {
  for (const char* host : {"0.0.0.0", "192.0.2.7", "::", "2001:db8::1"}) {
    Settings s = base();
    s.gateway = Endpoint{host, 8733};
    const auto e = validate(s);
    ASSERT_TRUE(e) << host;
    EXPECT_EQ(e->key, "gateway");
    EXPECT_NE(e->message.find("gateway_allow_remote"), std::string::npos) << e->message;
    s.gateway_allow_remote = true;
    EXPECT_FALSE(validate(s)) << host;
  }
  for (const char* host : {"127.0.0.1", "127.8.9.10", "::1"}) {
    Settings s = base();
    s.gateway = Endpoint{host, 8733};
    EXPECT_FALSE(validate(s)) << host;
  }
  Settings s = base();
  s = std::get<Settings>(apply_flag(s, "--gateway-allow-remote", "", kEnv));
  EXPECT_TRUE(s.gateway_allow_remote);
  s = std::get<Settings>(apply_toml(base(), "gateway_allow_remote = true\n", kEnv));
  EXPECT_TRUE(s.gateway_allow_remote);
  EXPECT_TRUE(std::holds_alternative<ConfigError>(apply_toml(base(), "gateway_allow_remote = 1\n", kEnv)));
}

}  // namespace
}  // namespace tz::config
