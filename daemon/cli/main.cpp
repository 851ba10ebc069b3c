// `tamizdat`: the command-line front door. Parses arguments, calls core and
// bundle (offline commands, and all signing: the secret key never leaves this
// process) or the running daemon over its control socket (status, follow, ls,
// publish, fetch, share), and prints a human summary or (with --json) one
// JSON object. Exit codes: 0 success, 1 the operation failed or input was
// refused, 2 usage error.
#include "bundle/archive.h"
#include "bundle/bundle.h"
#include "bundle/head_torrent.h"
#include "cli/passphrase.h"
#include "cli/source_safety.h"
#include "config/config.h"
#include "control/client.h"
#include "core/files.h"
#include "core/hex.h"
#include "core/ids.h"
#include "core/keyfile.h"
#include "core/keys.h"
#include "core/channel.h"
#include "core/dht_item.h"
#include "core/manifest.h"
#include "core/provenance.h"
#include "gateway/pages.h"
#include "swarm/links.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

namespace fs = std::filesystem;
using nlohmann::json;

namespace tz::cli {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

fs::path default_key_path() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/') {
    return fs::path(xdg) / "tamizdat" / "publisher.key";
  }
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : ".") / ".local" / "share" / "tamizdat" / "publisher.key";
}

std::string human_size(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// Prints a failure and returns the exit code for it.
int report(bool as_json, const std::string& what, const boost::system::error_code& ec, const Diag& diag = {}) {
  if (as_json) {
    json j = {{"ok", false}, {"error", error_name(ec)}, {"message", ec.message()}};
    if (!diag.file.empty()) j["file"] = diag.file;
    if (!diag.detail.empty()) j["detail"] = diag.detail;
    std::cout << j.dump() << std::endl;
  } else {
    std::string line = "tamizdat: " + what + ": " + ec.message();
    if (!diag.file.empty()) line += ": " + diag.file;
    if (!diag.detail.empty()) line += " (" + diag.detail + ")";
    std::cerr << line << std::endl;
  }
  return kExitFailed;
}

Result<std::optional<PublicKey>> parse_publisher(const std::string& text) {
  if (text.empty()) return std::optional<PublicKey>{};
  BOOST_OUTCOME_TRY(key, decode_publisher_id(text));
  return std::optional<PublicKey>(key);
}

// Unlocks the key file bytes `file` (read from `path`), asking for the
// passphrase if needed.
Result<SecretKey> unlock_key_file(const std::vector<std::uint8_t>& file, const fs::path& path,
                                  const std::string& passphrase_file) {
  BOOST_OUTCOME_TRY(info, inspect_key_file(file));
  Secret passphrase;
  if (info.protection == KeyProtection::argon2id) {
    if (!passphrase_file.empty()) {
      BOOST_OUTCOME_TRY(p, read_passphrase_file(passphrase_file));
      passphrase = std::move(p);
    } else {
      BOOST_OUTCOME_TRY(p, ask_passphrase("Passphrase for " + path.string() + ": ", false));
      passphrase = std::move(p);
    }
  } else {
    std::cerr << "tamizdat: warning: " << path.string()
              << " is not protected by a passphrase; anyone who reads it can sign as you" << std::endl;
  }
  return open_key_file(file, passphrase.bytes());
}

// A key file's bytes and the public key it names, read without unlocking it:
// commands check what they can before asking for the passphrase.
struct LockedKey {
  std::vector<std::uint8_t> file;
  PublicKey public_key;
};
Result<LockedKey> read_locked_key(const fs::path& path) {
  BOOST_OUTCOME_TRY(file, load_key_file(path));
  BOOST_OUTCOME_TRY(info, inspect_key_file(file));
  return LockedKey{std::move(file), info.public_key};
}

// Loads and unlocks the key at `path`, asking for the passphrase if needed.
Result<SecretKey> unlock_key(const fs::path& path, const std::string& passphrase_file) {
  BOOST_OUTCOME_TRY(file, load_key_file(path));
  return unlock_key_file(file, path, passphrase_file);
}

json bundle_json(const bundle::VerifiedBundle& b) {
  const auto& m = b.manifest.data();
  return {{"ok", true},
          {"bundle_id", bundle::bundle_id(b)},
          {"info_hash_v1", to_hex(b.torrent.info_hash_v1)},
          {"publisher_id", encode_publisher_id(m.publisher)},
          {"magnet", b.torrent.magnet},
          {"title", m.title},
          {"language", m.language},
          {"entry", m.entry ? m.entry->str() : ""},
          {"created", m.created},
          {"files", m.files.size()},
          {"size", b.manifest.total_size()},
          {"piece_size", b.torrent.piece_size}};
}

void print_bundle(const bundle::VerifiedBundle& b, const std::string& verb) {
  const auto& m = b.manifest.data();
  std::cout << verb << " \"" << m.title << "\": " << m.files.size() << (m.files.size() == 1 ? " file, " : " files, ")
            << human_size(b.manifest.total_size()) << "\n"
            << "  Publisher ID: " << encode_publisher_id(m.publisher) << "\n"
            << "  Bundle ID:    " << bundle::bundle_id(b) << "\n"
            << "  Magnet:       " << b.torrent.magnet << std::endl;
}

// True when `out` would be created inside the folder `dir` (an export or a
// torrent written into the bundle it describes breaks that bundle).
bool is_inside(const fs::path& out, const fs::path& dir) {
  std::error_code ec;
  const fs::path d = fs::weakly_canonical(dir, ec);
  const fs::path o = fs::weakly_canonical(fs::absolute(out), ec);
  if (ec) return false;
  auto [di, oi] = std::mismatch(d.begin(), d.end(), o.begin(), o.end());
  return di == d.end();
}

struct Args {
  bool json = false;
  std::string out;
  std::string dir;
  std::string file;
  std::string key;
  std::string passphrase_file;
  bool insecure = false;
  std::string publisher;
  std::optional<std::string> title, entry, lang;
  int threads = 0;
  std::string to;
  std::string data_dir;
  std::string id;
  std::string link;
  std::string original;  // provenance: the original file on disk
  std::string proof;     // provenance check: the proof file
  bool no_wait = false;
  bool no_browser = false;
  std::string reason;
  std::optional<double> timeout;  // seconds
  // Storage policy (follow, policy).
  std::optional<std::string> quota;
  std::optional<std::uint32_t> keep_newest, keep_days;
  bool reset = false;
  // Source safety (scrub, publish, bundle create).
  bool dry_run = false;
  bool scrub = false;
  bool keep_metadata = false;
  bool no_provenance = false;
  bool rename = false;
};

SafetyChoice safety_choice(const Args& a) { return {a.scrub, a.keep_metadata, a.rename, a.json}; }

// Fills what the metadata gate let through into the options of a signing:
// each scrubbed file with a sealed commitment to its original, unless the
// publisher said --no-provenance (docs/protocol.md, "Provenance").
void apply_gate(const GatePassed& g, const Args& a, const SecretKey& key, bundle::CreateOptions& opt) {
  opt.metadata = g.statement;
  for (const auto& [path, digest] : g.scrubbed) {
    opt.scrubbed[path] = a.no_provenance ? std::nullopt : std::optional(seal_original(key, digest));
  }
}

fs::path data_dir_of(const Args& a) {
  return a.data_dir.empty() ? tz::config::defaults().data_dir : fs::path(a.data_dir);
}

// Sends one request to the running daemon; prints a failure and returns
// nullopt when it cannot be reached or refuses the request.
std::optional<tamizdat::v1::Response> ask_daemon(const Args& a, const std::string& what,
                                                 const tamizdat::v1::Request& req,
                                                 std::chrono::seconds timeout = std::chrono::seconds(30)) {
  const fs::path sock = data_dir_of(a) / "control.sock";
  auto r = tz::control::call(sock, req, timeout);
  if (!r) {
    report(a.json, what, r.error(), {sock.string(), "is tamizdatd running with this --data-dir?"});
    return std::nullopt;
  }
  if (!r.value().ok()) {
    if (a.json) {
      std::cout << json{{"ok", false}, {"error", r.value().error()}, {"message", r.value().message()}}.dump()
                << std::endl;
    } else {
      std::cerr << "tamizdat: " << what << ": " << r.value().message() << " (" << r.value().error() << ")"
                << std::endl;
    }
    return std::nullopt;
  }
  return std::move(r).value();
}

// A publisher's storage as `status --json` and `policy --json` print it.
json storage_json(const tamizdat::v1::PublisherStorage& p) {
  return {{"publisher_id", p.publisher_id()}, {"used", p.used()},           {"quota", p.quota()},
          {"keep_newest", p.keep_newest()},   {"keep_days", p.keep_days()}, {"over_quota", p.over_quota()},
          {"followed", p.followed()}};
}

std::string storage_line(const tamizdat::v1::PublisherStorage& p) {
  std::string line = p.publisher_id() + "  " + human_size(p.used());
  if (p.quota() != 0) line += " of " + human_size(p.quota());
  if (p.followed()) {
    line += "; keeps " + (p.keep_newest() == 0 ? std::string("every bundle") : "the newest " + std::to_string(p.keep_newest())) +
            ", " + (p.keep_days() == 0 ? std::string("for ever") : "for " + std::to_string(p.keep_days()) + " days");
  }
  if (p.over_quota()) line += "  OVER QUOTA";
  return line;
}

// Fills a policy request from --quota, --keep-newest, --keep-days and
// --reset; false (after saying why) when --quota is not a size.
bool policy_request(const Args& a, tamizdat::v1::PolicyRequest& p) {
  p.set_publisher_id(a.id);
  if (a.quota) {
    std::string why;
    const auto q = tz::config::parse_size(*a.quota, &why);
    if (!q) {
      if (a.json) {
        std::cout << json{{"ok", false}, {"error", "usage"}, {"message", "--quota: " + why}}.dump() << std::endl;
      } else {
        std::cerr << "tamizdat: --quota: " << why << std::endl;
      }
      return false;
    }
    p.set_quota(*q);
  }
  if (a.keep_newest) p.set_keep_newest(*a.keep_newest);
  if (a.keep_days) p.set_keep_days(*a.keep_days);
  p.set_reset(a.reset);
  return true;
}

int cmd_status(const Args& a) {
  tamizdat::v1::Request req;
  req.mutable_status();
  auto r = ask_daemon(a, "status", req);
  if (!r) return kExitFailed;
  const auto& st = r->status();
  json rejected = json::object();
  std::uint64_t total_rejected = 0;
  for (const auto& [reason, n] : st.rejected()) {
    rejected[reason] = n;
    total_rejected += n;
  }
  if (a.json) {
    json storage = json::array();
    for (const auto& p : st.storage()) storage.push_back(storage_json(p));
    std::cout << json{{"ok", true},           {"dht_nodes", st.dht_nodes()}, {"listen_port", st.listen_port()},
                      {"peers", st.peers()},   {"followed", st.followed()},   {"bundles", st.bundles()},
                      {"rejected", rejected},  {"gateway", st.gateway()},     {"quota", st.quota()},
                      {"used", st.used()},     {"over_quota", st.over_quota()}, {"storage", storage}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "Storage: " << human_size(st.used()) << " held"
              << (st.quota() != 0 ? " of a quota of " + human_size(st.quota()) : std::string(" (no quota)"))
              << (st.over_quota() ? "; OVER QUOTA: no new bundles that do not fit" : "") << "\n";
    for (const auto& p : st.storage()) std::cout << "  " << storage_line(p) << "\n";
    std::cout << "Listening on port " << st.listen_port() << "; " << st.dht_nodes() << " DHT nodes, " << st.peers()
              << " peers\n"
              << st.followed() << " followed publishers, " << st.bundles() << " bundles, " << total_rejected
              << " inputs rejected\n"
              << (st.gateway().empty() ? std::string("Reader gateway off") : "Read in a browser: " + st.gateway())
              << std::endl;
  }
  return 0;
}

int cmd_follow(const Args& a, bool on) {
  tamizdat::v1::Request req;
  if (on) {
    auto* f = req.mutable_follow();
    f->set_publisher_id(a.id);
    tamizdat::v1::PolicyRequest p;
    if (!policy_request(a, p)) return kExitUsage;
    if (p.has_quota()) f->set_quota(p.quota());
    if (p.has_keep_newest()) f->set_keep_newest(p.keep_newest());
    if (p.has_keep_days()) f->set_keep_days(p.keep_days());
  } else {
    req.mutable_unfollow()->set_publisher_id(a.id);
  }
  auto r = ask_daemon(a, on ? "follow" : "unfollow", req);
  if (!r) return kExitFailed;
  if (a.json) {
    std::cout << json{{"ok", true}, {"publisher_id", a.id}}.dump() << std::endl;
  } else {
    std::cout << (on ? "Following " : "No longer following ") << a.id << std::endl;
  }
  return 0;
}

// `policy ID [--quota SIZE] [--keep-newest N] [--keep-days D] [--reset]`.
int cmd_policy(const Args& a) {
  tamizdat::v1::Request req;
  if (!policy_request(a, *req.mutable_policy())) return kExitUsage;
  auto r = ask_daemon(a, "policy", req);
  if (!r) return kExitFailed;
  const auto& st = r->policy().storage();
  if (a.json) {
    json j = storage_json(st);
    j["ok"] = true;
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << storage_line(st) << "\n"
              << "Applied at the daemon's next poll, or now with `tamizdat gc`." << std::endl;
  }
  return 0;
}

// `pin BUNDLE`, `unpin BUNDLE`.
int cmd_pin(const Args& a, bool on) {
  tamizdat::v1::Request req;
  req.mutable_pin()->set_bundle_id(a.id);
  req.mutable_pin()->set_remove(!on);
  auto r = ask_daemon(a, on ? "pin" : "unpin", req);
  if (!r) return kExitFailed;
  if (a.json) {
    std::cout << json{{"ok", true}, {"bundle_id", a.id}, {"pinned", on}}.dump() << std::endl;
  } else {
    std::cout << (on ? "Pinned " : "Unpinned ") << a.id
              << (on ? ": kept whatever the storage policy says"
                     : ": the storage policy decides again at the next poll, or now with `tamizdat gc`")
              << std::endl;
  }
  return 0;
}

// `gc`: applies the storage policy now and says what it freed.
int cmd_gc(const Args& a) {
  tamizdat::v1::Request req;
  req.mutable_gc();
  auto r = ask_daemon(a, "gc", req, std::chrono::seconds(120));
  if (!r) return kExitFailed;
  const auto& g = r->gc();
  if (a.json) {
    json list = json::array();
    for (const auto& c : g.collected()) {
      list.push_back({{"bundle_id", c.bundle_id()}, {"publisher_id", c.publisher_id()}, {"size", c.size()},
                      {"reason", c.reason()}});
    }
    std::cout << json{{"ok", true},         {"freed", g.freed()}, {"collected", list},
                      {"used", g.used()},   {"quota", g.quota()}, {"over_quota", g.over_quota()}}
                     .dump()
              << std::endl;
    return 0;
  }
  for (const auto& c : g.collected()) {
    std::cout << "collected " << c.bundle_id().substr(0, 16) << "  " << human_size(c.size()) << "  (" << c.reason()
              << ")\n";
  }
  std::cout << "Freed " << human_size(g.freed()) << " in " << g.collected_size() << " bundles; "
            << human_size(g.used()) << " held"
            << (g.quota() != 0 ? " of a quota of " + human_size(g.quota()) : std::string(" (no quota)"))
            << (g.over_quota() ? "; STILL OVER QUOTA: unpin bundles or raise the quota" : "") << std::endl;
  return 0;
}

// `deny ID [--reason TEXT]`, `undeny ID`, `denylist`: the operator's
// denylist. Prints the whole list afterwards.
int cmd_deny(const Args& a, int mode) {  // mode: 1 deny, -1 undeny, 0 list
  const std::string what = mode > 0 ? "deny" : mode < 0 ? "undeny" : "denylist";
  tamizdat::v1::Request req;
  if (mode == 0) {
    req.mutable_deny_list();
  } else {
    req.mutable_deny()->set_id(a.id);
    req.mutable_deny()->set_reason(a.reason);
    req.mutable_deny()->set_remove(mode < 0);
  }
  auto r = ask_daemon(a, what, req);
  if (!r) return kExitFailed;
  const auto& d = r->deny();
  if (a.json) {
    json entries = json::array();
    for (const auto& e : d.entries()) {
      entries.push_back({{"id", e.id()}, {"kind", e.kind()}, {"reason", e.reason()}, {"since", e.since()}});
    }
    json j = {{"ok", true}, {"entries", entries}};
    if (mode != 0) j["bundles"] = d.bundles();
    std::cout << j.dump() << std::endl;
    return 0;
  }
  if (mode > 0) std::cout << "Denied " << a.id << "; stopped and deleted " << d.bundles() << " bundles\n";
  if (mode < 0) std::cout << "Removed " << a.id << " from the denylist; fetching " << d.bundles() << " bundles again\n";
  if (d.entries().empty()) std::cout << "The denylist is empty\n";
  for (const auto& e : d.entries()) {
    std::cout << (e.kind() == "publisher" ? "publisher " : "bundle    ") << e.id();
    if (!e.reason().empty()) std::cout << "  " << e.reason();
    std::cout << "\n";
  }
  std::cout << std::flush;
  return 0;
}

// One bundle as `ls --json` and `fetch --json` print it.
json info_json(const tamizdat::v1::BundleInfo& b) {
  json j = {{"bundle_id", b.bundle_id()}, {"publisher_id", b.publisher_id()}, {"title", b.title()},
            {"state", b.state()},         {"path", b.path()},                 {"size", b.size()},
            {"downloaded", b.downloaded()}, {"own", b.own()}, {"pinned", b.pinned()}};
  if (!b.error().empty()) j["error"] = b.error();
  return j;
}

std::string percent(std::uint64_t done, std::uint64_t total) {
  if (total == 0) return "0%";
  return std::to_string(std::min<std::uint64_t>(100, done * 100 / total)) + "%";
}

// One line of `ls`: short ID, state (with progress or the reason it
// failed), size, title, and a mark on this node's own publications.
std::string info_line(const tamizdat::v1::BundleInfo& b) {
  std::string state = b.state();
  if (state == "downloading") state += " " + percent(b.downloaded(), b.size());
  if (state == "failed" && !b.error().empty()) state += " (" + b.error() + ")";
  std::string line = b.bundle_id().substr(0, 16) + "  " + state + "  " +
                     (b.size() == 0 && b.state() == "downloading" ? std::string("?") : human_size(b.size())) + "  " +
                     b.title();
  if (b.own()) line += "  [own]";
  if (b.pinned()) line += "  [pinned]";
  return line;
}

int cmd_ls(const Args& a) {
  tamizdat::v1::Request req;
  req.mutable_list()->set_publisher_id(a.id);
  auto r = ask_daemon(a, "ls", req);
  if (!r) return kExitFailed;
  if (a.json) {
    json list = json::array();
    for (const auto& b : r->list().bundles()) list.push_back(info_json(b));
    std::cout << list.dump() << std::endl;
  } else {
    if (r->list().bundles().empty()) std::cout << "No bundles." << std::endl;
    for (const auto& b : r->list().bundles()) std::cout << info_line(b) << std::endl;
  }
  return 0;
}

// Prints the daemon's answer to a publish: what was published, and where.
int print_published(const Args& a, const std::string& title, const std::string& bundle_id,
                    const std::string& publisher_id, std::uint64_t seq, const std::string& magnet, bool already) {
  if (a.json) {
    json j = {{"ok", true}, {"bundle_id", bundle_id}, {"publisher_id", publisher_id}, {"seq", seq}, {"magnet", magnet}};
    if (already) j["already_published"] = true;
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << (already ? "Already published \"" : "Published \"") << title << (already ? "\" at seq " : "\" as seq ")
              << seq << "\n"
              << "  Publisher ID: " << publisher_id << "\n"
              << "  Bundle ID:    " << bundle_id << "\n"
              << "  Magnet:       " << magnet << std::endl;
  }
  return 0;
}

// True when an option given on the command line disagrees with the signed
// manifest; fills `what` with the first one.
bool options_differ(const Args& a, const ManifestData& m, std::string& what) {
  if (a.title && *a.title != m.title) what = "title \"" + m.title + "\"";
  else if (a.lang && *a.lang != m.language) what = "language \"" + m.language + "\"";
  else if (a.entry && *a.entry != (m.entry ? m.entry->str() : std::string())) {
    what = "entry \"" + (m.entry ? m.entry->str() : std::string()) + "\"";
  }
  return !what.empty();
}

// `publish DIR`: sign the folder if it is not yet a bundle (or check it if
// it is), add it to the channel head the daemon holds, sign the new head and
// its DHT pointer, and hand all of it to the daemon, which checks it again,
// copies the bundle into its store and seeds it. The secret key stays here.
// Cheap refusals (key file, a manifest by another key, no daemon) come
// before hashing anything or asking for the passphrase.
int cmd_publish(const Args& a) {
  const std::string what = "publish";
  const fs::path key_path = a.key.empty() ? default_key_path() : fs::path(a.key);
  auto key_file = read_locked_key(key_path);
  if (!key_file) return report(a.json, what, key_file.error(), {key_path.string(), {}});
  const PublicKey pk = key_file.value().public_key;
  const std::string publisher_id = encode_publisher_id(pk);

  std::error_code fec;
  const fs::path dir = fs::canonical(a.dir, fec);
  if (fec) return report(a.json, what, to_boost(fec), {a.dir, {}});
  const fs::path manifest_path = dir / std::string(kManifestPath);
  bool signed_already = fs::exists(fs::symlink_status(manifest_path));
  MetadataStatement signed_statement = MetadataStatement::unstated;
  if (signed_already) {
    // Only the signature and fields here; the full check (every byte) follows.
    auto bytes = read_file_bounded(manifest_path, kMaxManifestBytes);
    if (!bytes) return report(a.json, what, bytes.error(), {std::string(kManifestPath), {}});
    Diag diag;
    auto m = verify_manifest(bytes.value(), &pk, &diag);
    if (!m) {
      if (diag.file.empty()) diag.file = std::string(kManifestPath);
      if (m.error() == errc::wrong_publisher) {
        diag.detail = "the bundle was signed by another key than " + key_path.string();
      }
      return report(a.json, what, m.error(), diag);
    }
    signed_statement = m.value().data().metadata;
    std::string differs;
    if (options_differ(a, m.value().data(), differs)) {
      const std::string msg = dir.string() + " is already signed with " + differs +
                              "; run `tamizdat bundle create` on it to sign it again, then publish";
      if (a.json) {
        std::cout << json{{"ok", false}, {"error", "manifest_differs"}, {"message", msg}}.dump() << std::endl;
      } else {
        std::cerr << "tamizdat: publish: " << msg << std::endl;
      }
      return kExitFailed;
    }
  }

  // The head the daemon holds for this channel (none for a first publish).
  tamizdat::v1::Request get;
  get.mutable_get_head()->set_publisher_id(publisher_id);
  auto got = ask_daemon(a, what, get);
  if (!got) return kExitFailed;
  std::optional<VerifiedHead> old;
  if (!got->get_head().envelope().empty()) {
    const std::string& e = got->get_head().envelope();
    Diag diag;
    auto h = verify_head({reinterpret_cast<const std::uint8_t*>(e.data()), e.size()}, &pk, &diag);
    if (!h) {
      diag.detail = "the channel head the daemon holds does not verify" +
                    (diag.detail.empty() ? std::string() : ": " + diag.detail);
      return report(a.json, what, h.error(), diag);
    }
    old = std::move(h).value();
  }

  std::optional<SecretKey> key;
  const auto unlock = [&]() -> Result<void> {
    if (key) return success();
    BOOST_OUTCOME_TRY(k, unlock_key_file(key_file.value().file, key_path, a.passphrase_file));
    key.emplace(std::move(k));
    return success();
  };
  // Source safety before any passphrase: a folder still holding GPS
  // positions, serial numbers or authors is refused unless the publisher
  // chose --scrub or --keep-metadata. A bundle signed with its metadata
  // kept on purpose says so in its manifest.
  std::optional<GatePassed> gate;
  if (signed_already && signed_statement == MetadataStatement::kept) {
    if (!a.json) {
      std::cerr << "tamizdat: warning: this bundle was signed with its files' metadata kept (--keep-metadata)"
                << std::endl;
    }
  } else {
    gate = metadata_gate(dir, safety_choice(a), what);
    if (!gate) return kExitFailed;
    // Scrubbed files no longer match the old signature: sign again.
    if (!gate->scrubbed.empty() || gate->renamed) signed_already = false;
  }

  Diag diag;
  Result<bundle::VerifiedBundle> b = make_error_code(errc::no_manifest);
  if (signed_already) {
    b = bundle::verify_bundle(dir, {pk, a.threads}, &diag);
  } else {
    if (auto u = unlock(); !u) return report(a.json, what, u.error(), {key_path.string(), {}});
    bundle::CreateOptions opt;
    opt.title = a.title;
    opt.entry = a.entry;
    opt.language = a.lang;
    opt.threads = a.threads;
    if (gate) apply_gate(*gate, a, *key, opt);
    b = bundle::create_bundle(dir, *key, opt, &diag);
  }
  if (!b) return report(a.json, what, b.error(), diag);
  const auto& m = b.value().manifest;
  const auto& t = b.value().torrent;
  const std::string bundle_id = bundle::bundle_id(b.value());
  const std::string magnet = swarm::make_bundle_link(t.info_hash_v1, t.info_hash_v2, m.data().title, pk);

  if (old) {
    for (const auto& e : old->data().bundles) {
      if (e.bundle_id == t.info_hash_v2) {
        return print_published(a, m.data().title, bundle_id, publisher_id, old->data().seq, magnet, true);
      }
    }
  }

  HeadData head;
  head.publisher = pk;
  head.seq = old ? old->data().seq + 1 : 1;
  head.created = static_cast<std::int64_t>(std::time(nullptr));
  head.expires = 0;
  if (old) head.bundles = old->data().bundles;
  HeadEntry entry;
  entry.bundle_id = t.info_hash_v2;
  entry.info_hash_v1 = t.info_hash_v1;
  entry.title = m.data().title;
  // The torrent's content: the files and the manifest (docs/protocol.md §9).
  entry.size = m.total_size() + m.envelope().size();
  entry.created = m.data().created;
  head.bundles.push_back(std::move(entry));

  if (auto u = unlock(); !u) return report(a.json, what, u.error(), {key_path.string(), {}});
  Diag head_diag;
  auto envelope = sign_head(head, *key, &head_diag);
  if (!envelope) return report(a.json, what, envelope.error(), head_diag);
  auto head_torrent = bundle::build_head_torrent(envelope.value());
  if (!head_torrent) return report(a.json, what, head_torrent.error());
  const std::string pointer = encode_channel_pointer(head_torrent.value().info_hash_v1);
  const Signature dht_sig = sign_channel_pointer(*key, pointer, static_cast<std::int64_t>(head.seq));
  key.reset();  // nothing below signs

  tamizdat::v1::Request req;
  auto* p = req.mutable_publish();
  p->set_bundle_dir(dir.string());
  p->set_head_envelope(envelope.value().data(), envelope.value().size());
  p->set_dht_signature(dht_sig.data(), dht_sig.size());
  if (!a.json && ::isatty(2) != 0) {
    std::cerr << "Handing " << human_size(m.total_size()) << " to the daemon, which checks and copies it..."
              << std::endl;
  }
  auto r = ask_daemon(a, what, req, std::chrono::hours(1));
  if (!r) return kExitFailed;
  const auto& pr = r->publish();
  return print_published(a, m.data().title, pr.bundle_id().empty() ? bundle_id : pr.bundle_id(),
                         pr.publisher_id().empty() ? publisher_id : pr.publisher_id(),
                         pr.seq() != 0 ? pr.seq() : head.seq, pr.magnet().empty() ? magnet : pr.magnet(), false);
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

bool is_terminal(const std::string& state) { return state == "verified" || state == "failed"; }

// Draws the one-line progress of a fetch on stderr (a terminal only).
void draw_progress(const std::vector<tamizdat::v1::BundleInfo>& bundles, std::size_t total, bool waiting_for_head) {
  std::uint64_t done = 0, size = 0;
  std::size_t finished = 0;
  for (const auto& b : bundles) {
    done += b.state() == "verified" ? b.size() : b.downloaded();
    size += b.size();
    if (is_terminal(b.state())) ++finished;
  }
  std::string line;
  if (waiting_for_head) {
    line = "waiting for the channel head...";
  } else {
    constexpr int kWidth = 30;
    const int filled = size == 0 ? 0 : static_cast<int>(std::min<std::uint64_t>(kWidth, done * kWidth / size));
    line = "[" + std::string(static_cast<std::size_t>(filled), '#') + std::string(kWidth - filled, '.') + "] " +
           percent(done, size) + "  " + human_size(done) + " / " + (size == 0 ? std::string("?") : human_size(size)) +
           "  " + std::to_string(finished) + "/" + std::to_string(std::max(total, bundles.size())) + " bundles";
  }
  std::cerr << "\r" << line << "\033[K" << std::flush;
}

// Opens `url` in the desktop's browser with xdg-open, without waiting for it.
// Only when there is a desktop (DISPLAY or WAYLAND_DISPLAY) and a terminal.
bool open_in_browser(const std::string& url) {
  if (std::getenv("DISPLAY") == nullptr && std::getenv("WAYLAND_DISPLAY") == nullptr) return false;
  if (::isatty(1) == 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "xdg-open", &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return false;
  int status = 0;
  // xdg-open hands the URL to the browser and returns.
  return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// `open LINK`: where the reader gateway shows it. A publisher ID is followed
// (its channel is then on the home page); a bundle link is fetched unless
// held, and opens on its publisher's origin when the link names the
// publisher. Prints the URL and, on a desktop, opens it.
int cmd_open(const Args& a) {
  const std::string what = "open";
  tamizdat::v1::Request st;
  st.mutable_status();
  auto s = ask_daemon(a, what, st);
  if (!s) return kExitFailed;
  std::string home = s->status().gateway();
  if (home.empty()) {
    return report(a.json, what, errc::gateway_off, {"", "start tamizdatd without --no-gateway"});
  }
  tamizdat::v1::Request req;
  req.mutable_fetch()->set_link(a.link);
  auto r = ask_daemon(a, what, req);
  if (!r) return kExitFailed;
  std::string url;
  json j = {{"ok", true}};
  if (!r->fetch().publisher_id().empty()) {
    auto key = decode_publisher_id(r->fetch().publisher_id());
    if (!key) return report(a.json, what, key.error());
    url = home + "#" + gateway::channel_anchor(key.value());
    j["publisher_id"] = r->fetch().publisher_id();
  } else {
    const auto link = swarm::parse_bundle_link(a.link);
    if (!link || !link.value().bundle_id) return report(a.json, what, errc::bad_link);
    // "http://localhost:PORT/" -> the port the gateway listens on.
    const std::size_t colon = home.rfind(':');
    const int port = colon == std::string::npos ? 80 : std::atoi(home.c_str() + colon + 1);
    url = link.value().publisher
              ? gateway::bundle_url(*link.value().publisher, *link.value().bundle_id, static_cast<std::uint16_t>(port))
              : home + "#" + gateway::bundle_anchor(*link.value().bundle_id);
    j["bundle_id"] = r->fetch().bundle_id();
  }
  j["url"] = url;
  if (a.json) {
    std::cout << j.dump() << std::endl;
    return 0;
  }
  std::cout << url << std::endl;
  if (!a.no_browser) open_in_browser(url);
  return 0;
}

// `fetch LINK`: ask the daemon to fetch a channel (a publisher ID, followed
// from now on) or one bundle (a magnet link), then, unless --no-wait, poll
// until everything it names is verified or failed.
int cmd_fetch(const Args& a) {
  const std::string what = "fetch";
  tamizdat::v1::Request req;
  req.mutable_fetch()->set_link(a.link);
  auto r = ask_daemon(a, what, req);
  if (!r) return kExitFailed;
  const std::string publisher_id = r->fetch().publisher_id();
  const std::string bundle_id = r->fetch().bundle_id();
  const bool channel = !publisher_id.empty();
  if (a.no_wait) {
    if (a.json) {
      json j = {{"ok", true}};
      if (channel) j["publisher_id"] = publisher_id;
      else j["bundle_id"] = bundle_id;
      std::cout << j.dump() << std::endl;
    } else {
      std::cout << (channel ? "Fetching channel " + publisher_id : "Fetching bundle " + bundle_id)
                << "; see `tamizdat ls` for progress" << std::endl;
    }
    return 0;
  }

  const bool progress = !a.json && ::isatty(2) != 0;
  const auto start = std::chrono::steady_clock::now();
  std::vector<tamizdat::v1::BundleInfo> bundles;
  std::uint64_t head_seq = 0;
  std::size_t head_bundles = 0;
  bool done = false;
  bool timed_out = false;
  for (;;) {
    tamizdat::v1::Request list;
    list.mutable_list()->set_publisher_id(publisher_id);
    auto l = ask_daemon(a, what, list);
    if (!l) {
      if (progress) std::cerr << std::endl;
      return kExitFailed;
    }
    bundles.clear();
    for (const auto& b : l->list().bundles()) {
      if (channel || b.bundle_id() == bundle_id) bundles.push_back(b);
    }
    head_seq = l->list().head_seq();
    head_bundles = l->list().head_bundles();
    const bool all_terminal =
        std::all_of(bundles.begin(), bundles.end(), [](const auto& b) { return is_terminal(b.state()); });
    done = channel ? head_seq > 0 && bundles.size() >= head_bundles && all_terminal
                   : !bundles.empty() && all_terminal;
    if (progress) draw_progress(bundles, channel ? head_bundles : 1, channel && head_seq == 0);
    if (done) break;
    if (a.timeout &&
        std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(*a.timeout)) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (progress) std::cerr << std::endl;

  // A channel's bundles the node's storage policy leaves out (keep rules,
  // quotas) are the operator's choice, not failures; a single bundle asked
  // for that does not fit is.
  std::size_t verified = 0, failed = 0, left_out = 0;
  for (const auto& b : bundles) {
    if (b.state() == "verified") ++verified;
    if (b.state() != "failed") continue;
    if (channel && (b.error() == "over_quota" || b.error() == "not_kept")) {
      ++left_out;
    } else {
      ++failed;
    }
  }
  const bool ok = done && failed == 0;
  const std::size_t total = channel ? std::max<std::size_t>(head_bundles, bundles.size()) : 1;
  if (a.json) {
    json list = json::array();
    for (const auto& b : bundles) list.push_back(info_json(b));
    json j = {{"ok", ok}, {"bundles", list}};
    if (channel) {
      j["publisher_id"] = publisher_id;
      j["head_seq"] = head_seq;
      j["left_out"] = left_out;
    } else {
      j["bundle_id"] = bundle_id;
    }
    if (timed_out) {
      j["error"] = "timed_out";
      j["message"] = "gave up waiting after " + seconds_text(*a.timeout);
    } else if (failed != 0) {
      j["error"] = "failed";
      j["message"] = std::to_string(failed) + " bundle(s) failed";
    }
    std::cout << j.dump() << std::endl;
  } else {
    for (const auto& b : bundles) std::cout << info_line(b) << std::endl;
    if (timed_out) {
      std::cerr << "tamizdat: fetch: timed out after " << seconds_text(*a.timeout) << ": " << verified << " of " << total
                << " bundles verified"
                << (channel && head_seq == 0 ? " (no channel head found yet)" : "") << std::endl;
    } else if (failed != 0) {
      std::cerr << "tamizdat: fetch: " << failed << " of " << total << " bundles failed verification" << std::endl;
      for (const auto& b : bundles) {
        if (b.state() == "failed") std::cerr << "  " << b.bundle_id() << ": " << b.error() << std::endl;
      }
    } else if (channel) {
      std::cout << "Channel " << publisher_id << " at seq " << head_seq << ": " << verified
                << (verified == 1 ? " bundle" : " bundles") << " verified"
                << (left_out > 0 ? ", " + std::to_string(left_out) + " left out by the storage policy (tamizdat status)"
                                 : std::string())
                << std::endl;
    } else {
      std::cout << "Bundle " << bundle_id << " verified" << std::endl;
    }
  }
  return ok ? 0 : kExitFailed;
}

// `share [ID]`: the links to hand readers.
int cmd_share(const Args& a) {
  tamizdat::v1::Request req;
  req.mutable_share()->set_id(a.id);
  auto r = ask_daemon(a, "share", req);
  if (!r) return kExitFailed;
  const auto& links = r->share().links();
  if (links.empty()) {
    const std::string msg = "nothing to share: this node has published no channel (publish something first)";
    if (a.json) {
      std::cout << json{{"ok", false}, {"error", "nothing_to_share"}, {"message", msg}}.dump() << std::endl;
    } else {
      std::cerr << "tamizdat: share: " << msg << std::endl;
    }
    return kExitFailed;
  }
  if (a.json) {
    json list = json::array();
    for (const auto& l : links) list.push_back(l);
    std::cout << json{{"ok", true}, {"links", list}}.dump() << std::endl;
  } else {
    for (const auto& l : links) std::cout << l << std::endl;
  }
  return 0;
}

int cmd_key_generate(const Args& a) {
  const fs::path path = a.out.empty() ? default_key_path() : fs::path(a.out);
  if (fs::exists(fs::symlink_status(path))) return report(a.json, "key generate", errc::key_exists, {path.string(), {}});
  Secret passphrase;
  if (!a.insecure) {
    auto p = a.passphrase_file.empty() ? ask_passphrase("New passphrase for " + path.string() + ": ", true)
                                        : read_passphrase_file(a.passphrase_file);
    if (!p) return report(a.json, "key generate", p.error());
    passphrase = std::move(p).value();
  }
  auto key = SecretKey::generate();
  if (!key) return report(a.json, "key generate", key.error());
  auto sealed = seal_key_file(key.value(), passphrase.bytes(), default_kdf_limits());
  if (!sealed) return report(a.json, "key generate", sealed.error());
  if (auto r = save_key_file(path, sealed.value()); !r) {
    return report(a.json, "key generate", r.error(), {path.string(), {}});
  }
  const std::string id = encode_publisher_id(key.value().public_key());
  if (a.json) {
    std::cout << json{{"ok", true}, {"publisher_id", id}, {"key_file", path.string()}, {"protected", !a.insecure}}.dump()
              << std::endl;
  } else {
    std::cout << "Publisher ID: " << id << "\nKey file:     " << path.string()
              << (a.insecure ? " (NOT protected by a passphrase)" : " (protected by a passphrase)") << std::endl;
  }
  return 0;
}

int cmd_key_show(const Args& a) {
  const fs::path path = a.file.empty() ? default_key_path() : fs::path(a.file);
  auto file = load_key_file(path);
  if (!file) return report(a.json, "key show", file.error(), {path.string(), {}});
  auto info = inspect_key_file(file.value());
  if (!info) return report(a.json, "key show", info.error(), {path.string(), {}});
  const std::string id = encode_publisher_id(info.value().public_key);
  const bool prot = info.value().protection == KeyProtection::argon2id;
  if (a.json) {
    std::cout << json{{"ok", true},
                      {"publisher_id", id},
                      {"public_key", to_hex(info.value().public_key.bytes)},
                      {"protected", prot}}
                     .dump()
              << std::endl;
  } else {
    std::cout << id << std::endl;
    if (!prot) std::cerr << "tamizdat: warning: this key file is not protected by a passphrase" << std::endl;
  }
  return 0;
}

int cmd_bundle_create(const Args& a) {
  const fs::path key_path = a.key.empty() ? default_key_path() : fs::path(a.key);
  const auto gate = metadata_gate(a.dir, safety_choice(a), "bundle create");
  if (!gate) return kExitFailed;
  auto key = unlock_key(key_path, a.passphrase_file);
  if (!key) return report(a.json, "bundle create", key.error(), {key_path.string(), {}});
  bundle::CreateOptions opt;
  opt.title = a.title;
  opt.entry = a.entry;
  opt.language = a.lang;
  opt.threads = a.threads;
  apply_gate(*gate, a, key.value(), opt);
  Diag diag;
  auto b = bundle::create_bundle(a.dir, key.value(), opt, &diag);
  if (!b) return report(a.json, "bundle create", b.error(), diag);
  if (a.json) {
    json j = bundle_json(b.value());
    j["manifest_reused"] = b.value().reused_manifest;
    std::cout << j.dump() << std::endl;
  } else {
    print_bundle(b.value(), b.value().reused_manifest ? "Unchanged bundle" : "Signed bundle");
  }
  return 0;
}

int cmd_bundle_verify(const Args& a) {
  auto pub = parse_publisher(a.publisher);
  if (!pub) return report(a.json, "bundle verify", pub.error(), {a.publisher, "--publisher"});
  Diag diag;
  auto b = bundle::verify_bundle(a.dir, {pub.value(), a.threads}, &diag);
  if (!b) return report(a.json, "NOT verified", b.error(), diag);
  if (a.json) {
    std::cout << bundle_json(b.value()).dump() << std::endl;
  } else {
    print_bundle(b.value(), pub.value() ? "Verified (publisher as expected)" : "Verified");
    if (!pub.value()) {
      std::cout << "  Note: no --publisher given; check the publisher ID above against one you trust." << std::endl;
    }
  }
  return 0;
}

int cmd_bundle_torrent(const Args& a) {
  if (is_inside(a.out, a.dir)) return report(a.json, "bundle torrent", errc::output_inside_bundle, {a.out, {}});
  auto pub = parse_publisher(a.publisher);
  if (!pub) return report(a.json, "bundle torrent", pub.error(), {a.publisher, "--publisher"});
  Diag diag;
  auto b = bundle::verify_bundle(a.dir, {pub.value(), a.threads}, &diag);
  if (!b) return report(a.json, "bundle torrent", b.error(), diag);
  if (auto r = write_file_atomic(a.out, b.value().torrent.bytes, 0644, Replace::allow); !r) {
    return report(a.json, "bundle torrent", r.error(), {a.out, {}});
  }
  if (a.json) {
    json j = bundle_json(b.value());
    j["torrent"] = a.out;
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << "Wrote " << a.out << " (bundle " << bundle::bundle_id(b.value()) << ")" << std::endl;
  }
  return 0;
}

int cmd_export(const Args& a) {
  if (is_inside(a.out, a.dir)) return report(a.json, "export", errc::output_inside_bundle, {a.out, {}});
  auto pub = parse_publisher(a.publisher);
  if (!pub) return report(a.json, "export", pub.error(), {a.publisher, "--publisher"});
  Diag diag;
  auto b = bundle::export_bundle(a.dir, a.out, {pub.value(), a.threads}, &diag);
  if (!b) return report(a.json, "export", b.error(), diag);
  if (a.json) {
    json j = bundle_json(b.value());
    j["archive"] = a.out;
    std::cout << j.dump() << std::endl;
  } else {
    print_bundle(b.value(), "Exported");
    std::cout << "  Archive:      " << a.out << std::endl;
  }
  return 0;
}

int cmd_import(const Args& a) {
  auto pub = parse_publisher(a.publisher);
  if (!pub) return report(a.json, "import", pub.error(), {a.publisher, "--publisher"});
  Diag diag;
  auto b = bundle::import_bundle(a.file, a.to, {pub.value(), a.threads}, &diag);
  if (!b) return report(a.json, "import refused", b.error(), diag);
  if (a.json) {
    json j = bundle_json(b.value());
    j["path"] = fs::absolute(a.to).string();
    std::cout << j.dump() << std::endl;
  } else {
    print_bundle(b.value(), "Imported and verified");
    std::cout << "  Folder:       " << a.to << std::endl;
  }
  return 0;
}

// The sealed file `text` names in the verified bundle `b`. Fails with
// errc::unsafe_path for a path no bundle can hold, and errc::bad_proof when
// the bundle has no such file or the file carries no seal; `diag` says which.
Result<const ManifestFile*> sealed_file(const bundle::VerifiedBundle& b, const std::string& text, Diag& diag) {
  std::string why;
  auto path = SafeRelPath::parse(text, &why);
  if (!path) return fail(errc::unsafe_path, &diag, text, why);
  for (const ManifestFile& f : b.manifest.data().files) {
    if (f.path != path.value()) continue;
    if (!f.provenance) {
      return fail(errc::bad_proof, &diag, text,
                  f.scrubbed ? "the file was scrubbed but its original was not sealed"
                             : "the file was not scrubbed, so there is no original sealed for it");
    }
    return &f;
  }
  return fail(errc::bad_proof, &diag, text, "the bundle has no such file");
}

// `provenance prove DIR FILE ORIGINAL`: reveal the proof key of one sealed
// file, after checking that it opens that file's seal with ORIGINAL. Cheap
// refusals (key file, a bundle by another key, no seal, an unreadable
// original) come before asking for the passphrase.
int cmd_provenance_prove(const Args& a) {
  const std::string what = "provenance prove";
  if (!a.out.empty() && is_inside(a.out, a.dir)) {
    return report(a.json, what, errc::output_inside_bundle, {a.out, {}});
  }
  const fs::path key_path = a.key.empty() ? default_key_path() : fs::path(a.key);
  auto key_file = read_locked_key(key_path);
  if (!key_file) return report(a.json, what, key_file.error(), {key_path.string(), {}});
  const PublicKey pk = key_file.value().public_key;

  Diag diag;
  auto b = bundle::verify_bundle(a.dir, {pk, a.threads}, &diag);
  if (!b) {
    if (b.error() == errc::wrong_publisher) {
      diag.detail = "the bundle was signed by another key than " + key_path.string() +
                    "; only its publisher can prove where its files came from";
    }
    return report(a.json, what, b.error(), diag);
  }
  auto file = sealed_file(b.value(), a.file, diag);
  if (!file) return report(a.json, what, file.error(), diag);
  const ManifestFile& f = *file.value();
  auto digest = sha256_of_file(a.original);
  if (!digest) return report(a.json, what, digest.error(), {a.original, {}});

  auto key = unlock_key_file(key_file.value().file, key_path, a.passphrase_file);
  if (!key) return report(a.json, what, key.error(), {key_path.string(), {}});
  const FileProofKey k = proof_key(key.value(), f.provenance->salt);
  if (!opens(k, digest.value(), *f.provenance)) {
    return report(a.json, what, errc::bad_proof,
                  {f.path.str(), a.original + " is not the original this file was sealed with; no proof written"});
  }
  std::string proof = encode_proof(b.value().torrent.info_hash_v2, f.path, k);
  const auto wipe = [&] { sodium_memzero(proof.data(), proof.size()); };
  const std::string bundle_id = bundle::bundle_id(b.value());
  const std::string publisher_id = encode_publisher_id(pk);
  if (!a.out.empty()) {
    // 0600: the proof links this original to the bundle until its publisher
    // chooses to show it.
    auto w = write_file_atomic(a.out, {reinterpret_cast<const std::uint8_t*>(proof.data()), proof.size()}, 0600,
                               Replace::allow);
    if (!w) {
      wipe();
      return report(a.json, what, w.error(), {a.out, {}});
    }
  }
  const std::string scope =
      "The proof reveals which original this one file came from, and nothing about the other files of the bundle.\n"
      "Whoever holds it and the original can show that link; keep it private until you mean to.";
  if (a.json) {
    json j = {{"ok", true}, {"bundle_id", bundle_id}, {"publisher_id", publisher_id}, {"path", f.path.str()}};
    if (a.out.empty()) {
      j["proof"] = proof;
    } else {
      j["proof_file"] = a.out;
    }
    std::string text = j.dump();
    std::cout << text << std::endl;
    sodium_memzero(text.data(), text.size());
    if (a.out.empty()) {
      auto& copy = j["proof"].get_ref<std::string&>();
      sodium_memzero(copy.data(), copy.size());
    }
  } else if (a.out.empty()) {
    // stdout carries the proof alone, so `> FILE` makes a proof file.
    std::cout << proof << std::flush;
    std::cerr << "Proof that " << a.original << " is the original of \"" << f.path.str() << "\" in bundle "
              << bundle_id << ".\n" << scope << std::endl;
  } else {
    std::cout << "Wrote " << a.out << ": proof that " << a.original << " is the original of \"" << f.path.str()
              << "\"\n"
              << "  Publisher ID: " << publisher_id << "\n"
              << "  Bundle ID:    " << bundle_id << "\n"
              << scope << "\n"
              << "Check it with: tamizdat provenance check " << a.dir << " " << a.out << " " << a.original
              << std::endl;
  }
  wipe();
  return 0;
}

// `provenance check DIR PROOF ORIGINAL`: whether ORIGINAL is the original
// of the proof's file in the bundle DIR, as its publisher sealed it.
int cmd_provenance_check(const Args& a) {
  const std::string what = "provenance check";
  auto pub = parse_publisher(a.publisher);
  if (!pub) return report(a.json, what, pub.error(), {a.publisher, "--publisher"});
  auto bytes = read_file_bounded(a.proof, kMaxProofBytes);
  if (!bytes) {
    return report(a.json, what, bytes.error(),
                  {a.proof, bytes.error() == errc::oversized
                                ? "a proof is at most " + std::to_string(kMaxProofBytes) + " bytes"
                                : std::string()});
  }
  Diag diag;
  auto proof = parse_proof(bytes.value(), &diag);
  sodium_memzero(bytes.value().data(), bytes.value().size());
  if (!proof) return report(a.json, what, proof.error(), {a.proof, diag.detail});
  auto b = bundle::verify_bundle(a.dir, {pub.value(), a.threads}, &diag);
  if (!b) return report(a.json, what, b.error(), diag);
  const std::string bundle_id = bundle::bundle_id(b.value());
  const std::string publisher_id = encode_publisher_id(b.value().manifest.data().publisher);
  if (proof.value().bundle_id != b.value().torrent.info_hash_v2) {
    return report(a.json, "provenance NOT confirmed", errc::bad_proof,
                  {a.proof, "the proof is for bundle " + to_hex(proof.value().bundle_id) + ", the folder holds bundle " +
                                bundle_id});
  }
  auto file = sealed_file(b.value(), proof.value().path.str(), diag);
  if (!file) return report(a.json, "provenance NOT confirmed", file.error(), diag);
  const ManifestFile& f = *file.value();
  auto digest = sha256_of_file(a.original);
  if (!digest) return report(a.json, what, digest.error(), {a.original, {}});
  if (!opens(proof.value().file_key, digest.value(), *f.provenance)) {
    return report(a.json, "provenance NOT confirmed", errc::bad_proof,
                  {f.path.str(), a.original + " is not the original of this file, or the proof's key is not this "
                                              "file's"});
  }
  if (a.json) {
    std::cout << json{{"ok", true},
                      {"bundle_id", bundle_id},
                      {"publisher_id", publisher_id},
                      {"title", b.value().manifest.data().title},
                      {"path", f.path.str()},
                      {"original", a.original}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "Confirmed: " << a.original << " is the original of \"" << f.path.str() << "\" in \""
              << b.value().manifest.data().title << "\"\n"
              << "  Publisher ID: " << publisher_id << "\n"
              << "  Bundle ID:    " << bundle_id << "\n"
              << "  Its publisher sealed this original, when signing, as the one this file was scrubbed from."
              << std::endl;
    if (!pub.value()) {
      std::cout << "  Note: no --publisher given; check the publisher ID above against one you trust." << std::endl;
    }
  }
  return 0;
}

int run(int argc, char** argv) {
  CLI::App app{"Tamizdat: sign, verify and carry censorship-resistant bundles"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tamizdat 0.1.0");
  Args a;
  const auto add_json = [&](CLI::App* c) { c->add_flag("--json", a.json, "Print one JSON object"); };
  const auto add_publisher = [&](CLI::App* c) {
    c->add_option("--publisher", a.publisher, "Require this publisher ID");
  };
  app.add_option("--data-dir", a.data_dir, "The daemon's data dir (default: $XDG_DATA_HOME/tamizdat/node)");
  const auto add_safety = [&](CLI::App* c) {
    auto* s = c->add_flag("--scrub", a.scrub, "Remove identifying metadata (GPS, serials, authors...) first");
    auto* k = c->add_flag("--keep-metadata", a.keep_metadata,
                          "Sign the files with their metadata as they are (when it is the evidence)");
    s->excludes(k);
    c->add_flag("--no-provenance", a.no_provenance,
                "Do not seal a commitment to each scrubbed file's original in the manifest");
    c->add_flag("--rename", a.rename,
                "First give files and folders named like IMG_20220105_1432.jpg neutral names (photo-01.jpg)");
  };
  const auto add_threads = [&](CLI::App* c) {
    c->add_option("--threads", a.threads, "Hashing threads (default: one per core)")->check(CLI::Range(1, 64));
  };

  auto* key = app.add_subcommand("key", "Make and inspect publisher keys");
  key->require_subcommand(1);
  auto* gen = key->add_subcommand("generate", "Make a new publisher key");
  gen->add_option("--out", a.out, "Key file (default: $XDG_DATA_HOME/tamizdat/publisher.key)");
  auto* pf = gen->add_option("--passphrase-file", a.passphrase_file, "Read the passphrase from this file's first line");
  gen->add_flag("--insecure-no-passphrase", a.insecure, "Store the key unprotected (tests and demos only)")
      ->excludes(pf);
  add_json(gen);
  auto* show = key->add_subcommand("show", "Print the publisher ID of a key file");
  show->add_option("file", a.file, "Key file (default: $XDG_DATA_HOME/tamizdat/publisher.key)");
  add_json(show);

  auto* bundle_cmd = app.add_subcommand("bundle", "Make and check signed bundles");
  bundle_cmd->require_subcommand(1);
  auto* create = bundle_cmd->add_subcommand("create", "Sign a folder as a bundle");
  create->add_option("dir", a.dir, "Folder to sign")->required()->check(CLI::ExistingDirectory);
  create->add_option("--key", a.key, "Key file (default: $XDG_DATA_HOME/tamizdat/publisher.key)");
  create->add_option("--passphrase-file", a.passphrase_file, "Read the passphrase from this file's first line");
  create->add_option("--title", a.title, "Title (default: the folder's name)");
  create->add_option("--entry", a.entry, "File a reader opens first (default: index.html)");
  create->add_option("--lang", a.lang, "Language tag, e.g. fa or ru");
  add_safety(create);
  add_threads(create);
  add_json(create);
  auto* torrent = bundle_cmd->add_subcommand("torrent", "Verify a bundle and write its torrent");
  torrent->add_option("dir", a.dir, "Bundle folder")->required()->check(CLI::ExistingDirectory);
  torrent->add_option("-o,--out", a.out, "Torrent file to write")->required();
  add_publisher(torrent);
  add_threads(torrent);
  add_json(torrent);
  auto* verify = bundle_cmd->add_subcommand("verify", "Check a bundle completely");
  verify->add_option("dir", a.dir, "Bundle folder")->required()->check(CLI::ExistingDirectory);
  add_publisher(verify);
  add_threads(verify);
  add_json(verify);

  auto* exp = app.add_subcommand("export", "Write a verified bundle to a tar archive");
  exp->add_option("dir", a.dir, "Bundle folder")->required()->check(CLI::ExistingDirectory);
  exp->add_option("-o,--out", a.out, "Archive to write (FILE.tar)")->required();
  add_publisher(exp);
  add_threads(exp);
  add_json(exp);
  auto* imp = app.add_subcommand("import", "Verify a tar archive and unpack its bundle");
  imp->add_option("archive", a.file, "Archive (FILE.tar)")->required()->check(CLI::ExistingFile);
  imp->add_option("--to", a.to, "Folder to create (must not exist)")->required();
  add_publisher(imp);
  add_threads(imp);
  add_json(imp);

  auto* prov = app.add_subcommand("provenance", "Prove which original a scrubbed file came from");
  prov->require_subcommand(1);
  auto* prove = prov->add_subcommand("prove", "Write a proof that ORIGINAL is the original of one scrubbed file");
  prove->add_option("dir", a.dir, "Bundle folder, signed by your key")->required()->check(CLI::ExistingDirectory);
  prove->add_option("file", a.file, "Path of the scrubbed file in the bundle")->required();
  prove->add_option("original", a.original, "The original file it was scrubbed from")->required()->check(CLI::ExistingFile);
  prove->add_option("-o,--out", a.out, "Proof file to write (default: print it)");
  prove->add_option("--key", a.key, "Key file (default: $XDG_DATA_HOME/tamizdat/publisher.key)");
  prove->add_option("--passphrase-file", a.passphrase_file, "Read the passphrase from this file's first line");
  add_threads(prove);
  add_json(prove);
  auto* check = prov->add_subcommand("check", "Check a proof: is ORIGINAL the original of that file in this bundle?");
  check->add_option("dir", a.dir, "Bundle folder")->required()->check(CLI::ExistingDirectory);
  check->add_option("proof", a.proof, "Proof file")->required()->check(CLI::ExistingFile);
  check->add_option("original", a.original, "The original file")->required()->check(CLI::ExistingFile);
  add_publisher(check);
  add_threads(check);
  add_json(check);

  auto* status = app.add_subcommand("status", "Show what the running daemon is doing");
  add_json(status);
  auto* follow = app.add_subcommand("follow", "Mirror everything a publisher publishes");
  follow->add_option("id", a.id, "Publisher ID")->required();
  add_json(follow);
  const auto add_policy = [&](CLI::App* c) {
    c->add_option("--quota", a.quota, "Disk quota for this publisher, e.g. 20GiB (0: no limit)");
    c->add_option("--keep-newest", a.keep_newest, "Keep only its newest N bundles (0: all)");
    c->add_option("--keep-days", a.keep_days, "Keep its bundles for D days (0: for ever)");
  };
  add_policy(follow);
  auto* policy = app.add_subcommand("policy", "Show or set a followed publisher's quota and keep rule");
  policy->add_option("id", a.id, "Publisher ID")->required();
  add_policy(policy);
  policy->add_flag("--reset", a.reset, "Back to the config's defaults first");
  add_json(policy);
  auto* pin = app.add_subcommand("pin", "Keep a bundle whatever the storage policy says");
  pin->add_option("bundle", a.id, "Bundle ID (64 hex digits)")->required();
  add_json(pin);
  auto* unpin = app.add_subcommand("unpin", "Let the storage policy decide about a bundle again");
  unpin->add_option("bundle", a.id, "Bundle ID (64 hex digits)")->required();
  add_json(unpin);
  auto* gc = app.add_subcommand("gc", "Apply the storage policy now and print what it freed");
  add_json(gc);
  auto* unfollow = app.add_subcommand("unfollow", "Stop following a publisher");
  unfollow->add_option("id", a.id, "Publisher ID")->required();
  add_json(unfollow);
  auto* deny = app.add_subcommand("deny", "Never fetch nor serve a publisher or bundle (deletes what is held)");
  deny->add_option("id", a.id, "Publisher ID or bundle ID")->required();
  deny->add_option("--reason", a.reason, "Why, for your own record (at most 200 bytes)");
  add_json(deny);
  auto* undeny = app.add_subcommand("undeny", "Take a publisher or bundle off the denylist");
  undeny->add_option("id", a.id, "Publisher ID or bundle ID")->required();
  add_json(undeny);
  auto* denylist = app.add_subcommand("denylist", "Show the denylist");
  add_json(denylist);
  auto* scrub_cmd = app.add_subcommand("scrub", "Find and remove identifying metadata in a folder's files");
  scrub_cmd->add_option("dir", a.dir, "Folder to scrub")->required()->check(CLI::ExistingDirectory);
  scrub_cmd->add_flag("--dry-run", a.dry_run, "Only list what would be removed; change nothing");
  scrub_cmd->add_flag("--rename", a.rename,
                      "Also give files and folders named like IMG_20220105_1432.jpg neutral names (photo-01.jpg)");
  add_json(scrub_cmd);
  auto* ls = app.add_subcommand("ls", "List the bundles the daemon holds");
  ls->add_option("id", a.id, "Only this publisher's bundles");
  add_json(ls);
  auto* publish = app.add_subcommand("publish", "Sign a folder (if needed) and publish it on your channel");
  publish->add_option("dir", a.dir, "Folder or bundle to publish")->required()->check(CLI::ExistingDirectory);
  publish->add_option("--key", a.key, "Key file (default: $XDG_DATA_HOME/tamizdat/publisher.key)");
  publish->add_option("--passphrase-file", a.passphrase_file, "Read the passphrase from this file's first line");
  publish->add_option("--title", a.title, "Title when signing (default: the folder's name)");
  publish->add_option("--entry", a.entry, "File a reader opens first when signing (default: index.html)");
  publish->add_option("--lang", a.lang, "Language tag when signing, e.g. fa or ru");
  add_safety(publish);
  add_threads(publish);
  add_json(publish);
  auto* fetch = app.add_subcommand("fetch", "Fetch a channel (publisher ID) or a bundle (magnet link)");
  fetch->add_option("link", a.link, "Publisher ID or magnet link")->required();
  fetch->add_flag("--no-wait", a.no_wait, "Start the fetch and return at once");
  fetch->add_option("--timeout", a.timeout, "Give up waiting after this many seconds")
      ->check(CLI::PositiveNumber);
  add_json(fetch);
  auto* open = app.add_subcommand("open", "Print (and on a desktop open) where a link reads in the browser");
  open->add_option("link", a.link, "Publisher ID or magnet link")->required();
  open->add_flag("--no-browser", a.no_browser, "Only print the address");
  add_json(open);
  auto* share = app.add_subcommand("share", "Print the links to hand readers");
  share->add_option("id", a.id, "Publisher ID or bundle ID (default: your own channels)");
  add_json(share);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (!crypto_init()) return report(a.json, "start", errc::crypto_failure);

  if (gen->parsed()) return cmd_key_generate(a);
  if (show->parsed()) return cmd_key_show(a);
  if (create->parsed()) return cmd_bundle_create(a);
  if (scrub_cmd->parsed()) return cmd_scrub(a.dir, a.dry_run, a.rename, a.json);
  if (verify->parsed()) return cmd_bundle_verify(a);
  if (torrent->parsed()) return cmd_bundle_torrent(a);
  if (exp->parsed()) return cmd_export(a);
  if (imp->parsed()) return cmd_import(a);
  if (prove->parsed()) return cmd_provenance_prove(a);
  if (check->parsed()) return cmd_provenance_check(a);
  if (status->parsed()) return cmd_status(a);
  if (follow->parsed()) return cmd_follow(a, true);
  if (unfollow->parsed()) return cmd_follow(a, false);
  if (policy->parsed()) return cmd_policy(a);
  if (pin->parsed()) return cmd_pin(a, true);
  if (unpin->parsed()) return cmd_pin(a, false);
  if (gc->parsed()) return cmd_gc(a);
  if (ls->parsed()) return cmd_ls(a);
  if (deny->parsed()) return cmd_deny(a, 1);
  if (undeny->parsed()) return cmd_deny(a, -1);
  if (denylist->parsed()) return cmd_deny(a, 0);
  if (publish->parsed()) return cmd_publish(a);
  if (fetch->parsed()) return cmd_fetch(a);
  if (open->parsed()) return cmd_open(a);
  if (share->parsed()) return cmd_share(a);
  return kExitUsage;
}

}  // namespace
}  // namespace tz::cli

int main(int argc, char** argv) {
  try {
    return tz::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tamizdat: internal error: " << e.what() << std::endl;
    return 1;
  }
}
