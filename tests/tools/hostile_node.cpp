// A hostile node for the multi-node tests: a libtorrent session on loopback
// that takes part in the test's private DHT and seeds torrents, but answers
// DHT lookups for one channel with whatever item a test tells it to (an old
// one, an equivocating one, one with a bad signature), whatever honest nodes
// put there. It forges channel heads with any key it is given.
//
// Usage: hostile_node --port PORT --dir DIR --commands FILE [--bootstrap HOST:PORT]...
//
// Listens on 127.0.0.1:PORT (BitTorrent and DHT), keeps its files below DIR,
// and prints JSON lines on stdout: {"ready":true} once listening, one answer
// per command, {"answered":SEQ} each time it serves its forged item and
// {"dropped_put":SEQ} each time it drops a put for that channel.
// The test appends commands to FILE, one a line, numbered from 1 in order:
//
//   head KEY SEQ [BUNDLE[:DELTA]]...
//       Signs a head at SEQ with the key file KEY (unprotected) listing the
//       bundle folders given, each with its true size plus DELTA bytes, and
//       seeds it and them. It becomes the current head.
//   envelope FILE
//       Seeds the head envelope in FILE (e.g. a genuine one copied from a
//       publisher); it becomes the current head.
//   answer KEY SEQ [bad-signature]
//       From now on answers every DHT get for KEY's channel with a pointer
//       to the current head at SEQ, signed with KEY (one bit flipped with
//       bad-signature), and drops every put for it.
//
// Each command answers {"cmd":N,"ok":true,"info_hash":HEX,"seq":SEQ} (the
// current head's v1 info-hash and seq) or {"cmd":N,"ok":false,"error":TEXT}.
// Runs until killed. Test-only: never built into the daemon.
#include "bundle/bundle.h"
#include "bundle/head_torrent.h"
#include "core/channel.h"
#include "core/dht_item.h"
#include "core/files.h"
#include "core/hex.h"
#include "core/keyfile.h"
#include "swarm/settings.h"

#include <libtorrent/alert_types.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/kademlia/dht_storage.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_info.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// stdout is written from the main thread and from libtorrent's network thread
// (the DHT storage): one line at a time.
std::mutex g_out;

void emit(const json& j) {
  const std::lock_guard<std::mutex> lock(g_out);
  std::cout << j.dump() << std::endl;
}

void note(const std::string& line) {
  const std::lock_guard<std::mutex> lock(g_out);
  std::cerr << line << std::endl;
}

// The item served for one channel, shared by the main thread (which sets it)
// and the DHT storage on libtorrent's network thread (which serves it).
class Forgery {
 public:
  struct Item {
    lt::sha1_hash target;
    std::int64_t seq = 0;
    lt::entry value;
    std::string signature;   // 64 bytes
    std::string public_key;  // 32 bytes
  };

  void set(Item item) {
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_item = std::move(item);
  }
  std::optional<Item> get(const lt::sha1_hash& target) const {
    const std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_item || m_item->target != target) return std::nullopt;
    return m_item;
  }

 private:
  mutable std::mutex m_mutex;
  std::optional<Item> m_item;
};

// libtorrent's own storage, except for the forged channel: gets are answered
// with the forged item and puts are dropped, so honest nodes' newer items
// never replace it. libtorrent checks the signature of a put before it
// reaches the storage, but never that of what the storage answers.
class HostileStorage final : public lt::dht::dht_storage_interface {
 public:
  HostileStorage(std::unique_ptr<lt::dht::dht_storage_interface> inner, std::shared_ptr<const Forgery> forgery)
      : m_inner(std::move(inner)), m_forgery(std::move(forgery)) {}

#if TORRENT_ABI_VERSION == 1
  std::size_t num_torrents() const override { return m_inner->num_torrents(); }
  std::size_t num_peers() const override { return m_inner->num_peers(); }
#endif
  void update_node_ids(const std::vector<lt::dht::node_id>& ids) override { m_inner->update_node_ids(ids); }
  bool get_peers(const lt::sha1_hash& info_hash, bool noseed, bool scrape, const lt::address& requester,
                 lt::entry& peers) const override {
    return m_inner->get_peers(info_hash, noseed, scrape, requester, peers);
  }
  void announce_peer(const lt::sha1_hash& info_hash, const lt::tcp::endpoint& endp, lt::string_view name,
                     bool seed) override {
    m_inner->announce_peer(info_hash, endp, name, seed);
  }
  bool get_immutable_item(const lt::sha1_hash& target, lt::entry& item) const override {
    return m_inner->get_immutable_item(target, item);
  }
  void put_immutable_item(const lt::sha1_hash& target, lt::span<const char> buf, const lt::address& addr) override {
    m_inner->put_immutable_item(target, buf, addr);
  }
  bool get_mutable_item_seq(const lt::sha1_hash& target, lt::dht::sequence_number& seq) const override {
    if (const auto f = m_forgery->get(target)) {
      seq = lt::dht::sequence_number(f->seq);
      return true;
    }
    return m_inner->get_mutable_item_seq(target, seq);
  }
  bool get_mutable_item(const lt::sha1_hash& target, lt::dht::sequence_number seq, bool force_fill,
                        lt::entry& item) const override {
    const auto f = m_forgery->get(target);
    if (!f) return m_inner->get_mutable_item(target, seq, force_fill, item);
    // The fields and rule of libtorrent's default storage: the value only
    // when asked for it, or when the asker holds an older one.
    item["seq"] = f->seq;
    if (force_fill || (0 <= seq.value && seq.value < f->seq)) {
      item["v"] = f->value;
      item["sig"] = f->signature;
      item["k"] = f->public_key;
    }
    emit({{"answered", f->seq}});
    return true;
  }
  void put_mutable_item(const lt::sha1_hash& target, lt::span<const char> buf, const lt::dht::signature& sig,
                        lt::dht::sequence_number seq, const lt::dht::public_key& pk, lt::span<const char> salt,
                        const lt::address& addr) override {
    if (m_forgery->get(target)) {
      emit({{"dropped_put", seq.value}});
      return;
    }
    m_inner->put_mutable_item(target, buf, sig, seq, pk, salt, addr);
  }
  int get_infohashes_sample(lt::entry& item) override { return m_inner->get_infohashes_sample(item); }
  void tick() override { m_inner->tick(); }
  lt::dht::dht_storage_counters counters() const override { return m_inner->counters(); }

 private:
  std::unique_ptr<lt::dht::dht_storage_interface> m_inner;
  std::shared_ptr<const Forgery> m_forgery;
};

struct Head {
  tz::InfoHashV1 info_hash{};
  std::uint64_t seq = 0;
};

class HostileNode {
 public:
  HostileNode(lt::session& session, fs::path dir, std::shared_ptr<Forgery> forgery)
      : m_session(session), m_dir(std::move(dir)), m_forgery(std::move(forgery)) {}

  // Runs one command line; returns its answer.
  json run(const std::string& line) {
    std::istringstream in(line);
    std::string verb;
    in >> verb;
    std::vector<std::string> args;
    for (std::string a; in >> a;) args.push_back(a);
    const auto bad_command = boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    auto result = [&]() -> tz::Result<void> {
      try {
        if (verb == "head" && args.size() >= 2) return head(args);
        if (verb == "envelope" && args.size() == 1) return envelope(args[0]);
        if (verb == "answer" && (args.size() == 2 || (args.size() == 3 && args[2] == "bad-signature"))) {
          return answer(args[0], std::stoll(args[1]), args.size() == 3);
        }
      } catch (const std::exception& e) {  // a number that does not parse, a folder that cannot be copied
        note(std::string("command failed: ") + e.what());
      }
      return bad_command;
    }();
    if (!result) return {{"ok", false}, {"error", tz::error_name(result.error()) + ": " + line}};
    json j = {{"ok", true}};
    if (m_head) {
      j["info_hash"] = tz::to_hex(m_head->info_hash);
      j["seq"] = m_head->seq;
    }
    return j;
  }

  // Announces every torrent again: libtorrent otherwise waits 15 minutes,
  // and the DHT may have had no nodes when a torrent was added.
  void announce() {
    for (const auto& h : m_session.get_torrents()) h.force_dht_announce();
  }

 private:
  static tz::Result<tz::SecretKey> read_key(const fs::path& path) {
    BOOST_OUTCOME_TRY(file, tz::load_key_file(path));
    return tz::open_key_file(file, {});
  }

  tz::Result<void> seed(std::span<const std::uint8_t> torrent, const fs::path& save_path) {
    lt::error_code ec;
    lt::add_torrent_params atp;
    atp.ti = std::make_shared<lt::torrent_info>(
        lt::span<const char>(reinterpret_cast<const char*>(torrent.data()), static_cast<std::ptrdiff_t>(torrent.size())),
        ec, lt::from_span);
    if (ec) return ec;
    atp.save_path = save_path.string();
    // Made here from files on disk: no need to hash them again first.
    atp.flags |= lt::torrent_flags::seed_mode;
    m_session.add_torrent(std::move(atp), ec);
    if (ec) return ec;
    return tz::success();
  }

  tz::Result<void> seed_head(const std::vector<std::uint8_t>& envelope, std::uint64_t seq) {
    BOOST_OUTCOME_TRY(t, tz::bundle::build_head_torrent(envelope));
    const fs::path save = m_dir / "heads";
    const fs::path file = save / t.name / std::string(tz::bundle::kHeadFileName);
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(envelope.data()), static_cast<std::streamsize>(envelope.size()));
    BOOST_OUTCOME_TRY(seed(t.bytes, save));
    m_head = Head{t.info_hash_v1, seq};
    return tz::success();
  }

  // head KEY SEQ [BUNDLE[:DELTA]]...
  tz::Result<void> head(const std::vector<std::string>& args) {
    BOOST_OUTCOME_TRY(key, read_key(args[0]));
    tz::HeadData h;
    h.publisher = key.public_key();
    h.seq = std::stoull(args[1]);
    h.created = static_cast<std::int64_t>(std::time(nullptr));
    for (std::size_t i = 2; i < args.size(); ++i) {
      const auto colon = args[i].rfind(':');
      const fs::path dir = args[i].substr(0, colon);
      const std::int64_t delta = colon == std::string::npos ? 0 : std::stoll(args[i].substr(colon + 1));
      BOOST_OUTCOME_TRY(b, tz::bundle::verify_bundle(dir, {}));
      // Seeded from a copy named as the torrent's top-level folder.
      const fs::path save = m_dir / "bundles";
      if (!fs::exists(save / b.torrent.name)) {
        fs::create_directories(save);
        fs::copy(dir, save / b.torrent.name, fs::copy_options::recursive);
      }
      BOOST_OUTCOME_TRY(seed(b.torrent.bytes, save));
      tz::HeadEntry e;
      e.bundle_id = b.torrent.info_hash_v2;
      e.info_hash_v1 = b.torrent.info_hash_v1;
      e.title = b.manifest.data().title;
      e.size = static_cast<std::uint64_t>(
          static_cast<std::int64_t>(b.manifest.total_size() + b.manifest.envelope().size()) + delta);
      e.created = b.manifest.data().created;
      h.bundles.push_back(std::move(e));
    }
    BOOST_OUTCOME_TRY(envelope, tz::sign_head(h, key));
    return seed_head(envelope, h.seq);
  }

  // envelope FILE
  tz::Result<void> envelope(const fs::path& file) {
    BOOST_OUTCOME_TRY(bytes, tz::read_file_bounded(file, tz::kMaxHeadBytes));
    BOOST_OUTCOME_TRY(h, tz::verify_head(bytes));
    return seed_head(bytes, h.data().seq);
  }

  // answer KEY SEQ [bad-signature]
  tz::Result<void> answer(const fs::path& key_file, std::int64_t seq, bool bad_signature) {
    if (!m_head) return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    BOOST_OUTCOME_TRY(key, read_key(key_file));
    const std::string value = tz::encode_channel_pointer(m_head->info_hash);
    tz::Signature sig = tz::sign_channel_pointer(key, value, seq);
    if (bad_signature) sig[0] ^= 0x01;
    Forgery::Item item;
    const auto& pk = key.public_key().bytes;
    item.public_key.assign(pk.begin(), pk.end());
    // BEP 44's target, SHA-1 of key and salt (libtorrent does not export its
    // item_target_id).
    lt::hasher target(item.public_key);
    target.update(tz::kDhtSalt);
    item.target = target.final();
    item.seq = seq;
    item.value["ih"] = std::string(m_head->info_hash.begin(), m_head->info_hash.end());
    item.signature.assign(sig.begin(), sig.end());
    m_forgery->set(std::move(item));
    return tz::success();
  }

  lt::session& m_session;
  fs::path m_dir;
  std::shared_ptr<Forgery> m_forgery;
  std::optional<Head> m_head;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  fs::path dir, commands;
  std::vector<std::string> bootstrap;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--port") port = std::stoi(value);
    else if (flag == "--dir") dir = value;
    else if (flag == "--commands") commands = value;
    else if (flag == "--bootstrap") bootstrap.push_back(value);
  }
  if (port == 0 || dir.empty() || commands.empty()) {
    std::cerr << "usage: hostile_node --port PORT --dir DIR --commands FILE [--bootstrap HOST:PORT]...\n";
    return 2;
  }
  fs::create_directories(dir);

  tz::swarm::SwarmOptions o;
  o.listen = "127.0.0.1:" + std::to_string(port);
  o.bootstrap = bootstrap;
  o.public_dht = false;
  o.private_dht = true;
  auto forgery = std::make_shared<Forgery>();
  lt::session_params params(tz::swarm::make_settings(o));
  params.dht_storage_constructor = [forgery](const lt::settings_interface& s) {
    return std::make_unique<HostileStorage>(lt::dht::dht_default_storage_constructor(s), forgery);
  };
  lt::session session(std::move(params));
  // As Session does: private DHT bootstrap nodes are ordinary DHT nodes.
  for (const auto& n : tz::swarm::private_dht_nodes(o)) session.add_dht_node(n);
  HostileNode node(session, dir, forgery);

  // The DHT shares the uTP socket: both listening means ready.
  bool tcp = false, utp = false, ready = false;
  std::streamoff consumed = 0;
  int number = 0;
  auto last_announce = std::chrono::steady_clock::now();
  for (;;) {
    session.wait_for_alert(std::chrono::milliseconds(100));
    std::vector<lt::alert*> alerts;
    session.pop_alerts(&alerts);
    for (const lt::alert* a : alerts) {
      if (const auto* l = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
        (l->socket_type == lt::socket_type_t::utp ? utp : tcp) = true;
      } else if (lt::alert_cast<lt::listen_failed_alert>(a) != nullptr) {
        note(a->message());
        return 1;
      }
      if (a->category() & (lt::alert_category::error | lt::alert_category::peer)) {
        note(a->message());
      }
    }
    if (!ready && tcp && utp) {
      ready = true;
      emit({{"ready", true}});
    }
    // New complete lines of the command file, in order.
    std::ifstream in(commands, std::ios::binary);
    if (in && in.seekg(consumed)) {
      for (std::string line; std::getline(in, line);) {
        if (in.eof()) break;  // no newline yet: the test is still writing it
        consumed += static_cast<std::streamoff>(line.size()) + 1;
        json r = node.run(line);
        r["cmd"] = ++number;
        emit(r);
      }
    }
    if (std::chrono::steady_clock::now() - last_announce > std::chrono::seconds(2)) {
      last_announce = std::chrono::steady_clock::now();
      node.announce();
    }
  }
}
