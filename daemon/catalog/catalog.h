// The catalogue: the daemon's durable state in one SQLite database in the data
// dir. It records which publishers are followed, the newest accepted channel
// head of each (its signed bytes and the DHT item's signature, so a restarted
// node can keep re-putting it), equivocation evidence, every bundle the node
// holds with its state, and counters of rejected input by reason.
//
// The catalogue stores what the node decided; it does not decide. It never
// marks anything verified by itself, and callers re-verify signed bytes they
// load from it. It is the only code that talks SQL (scripts/check_includes.sh).
//
// Schema: versioned with PRAGMA user_version and migrated forward on open; a
// database from a newer Tamizdat is refused, never rewritten. Journal: WAL,
// synchronous=FULL, so a committed change survives a power cut.
// Threads: a Catalog is used from one thread at a time (the daemon's io
// thread); it holds one connection. Blocking, but each call is short.
#pragma once

#include "core/channel.h"
#include "core/dht_item.h"
#include "core/ids.h"
#include "core/manifest.h"
#include "core/result.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct sqlite3;

namespace tz::catalog {

inline constexpr int kSchemaVersion = 5;

enum class catalog_errc {
  newer_schema = 1,  // the database was written by a newer Tamizdat
  not_found,         // the row a change refers to does not exist
  lower_seq,         // refusing to replace a head with one of a lower seq
};
const boost::system::error_category& catalog_category() noexcept;
inline boost::system::error_code make_error_code(catalog_errc e) noexcept {
  return {static_cast<int>(e), catalog_category()};
}
// SQLite result codes, as errors (message from sqlite3_errstr).
const boost::system::error_category& sqlite_category() noexcept;

enum class BundleState { downloading, verified, failed };
[[nodiscard]] std::string_view state_name(BundleState s);

struct HeadRow {
  PublicKey publisher;
  std::uint64_t seq = 0;
  std::vector<std::uint8_t> envelope;       // as verified; re-verify after loading
  std::vector<std::uint8_t> dht_signature;  // 64 bytes, or empty if not known yet
  std::int64_t received_at = 0;
};

struct BundleRow {
  Sha256 id{};
  InfoHashV1 info_hash_v1{};
  PublicKey publisher;
  std::string title;
  BundleState state = BundleState::downloading;
  std::uint64_t size = 0;
  std::string path;  // folder holding the bundle
  std::int64_t added_at = 0;
  std::string error;  // why it failed (an error name), when failed
  bool own = false;   // published by this node
  // Kept whatever the storage policy says (`tamizdat pin`). Read here; only
  // set_pinned changes it (upsert_bundle leaves it as it is).
  bool pinned = false;
  // The bundle's media status (core/manifest.h media_status: "scrubbed",
  // "checked", "kept", "unstated"), recorded when it is verified; "" while
  // not known. It follows from the signed manifest, so it never changes once
  // known: upsert_bundle with "" keeps what the row holds.
  std::string media;
  bool operator==(const BundleRow&) const = default;
};

// The storage policy of one followed publisher, as the operator set it;
// an unset field takes the config's default. 0 means no limit.
struct PublisherPolicy {
  std::optional<std::uint64_t> quota;       // bytes
  std::optional<std::uint32_t> keep_newest;  // bundles
  std::optional<std::uint32_t> keep_days;    // days
  bool operator==(const PublisherPolicy&) const = default;
};

// The operator's denylist: a publisher (its key) or a bundle (its ID).
enum class DenyKind { publisher, bundle };
[[nodiscard]] std::string_view deny_kind_name(DenyKind k);
struct DeniedRow {
  DenyKind kind = DenyKind::bundle;
  Sha256 id{};  // the publisher's key bytes, or the bundle ID
  std::string reason;
  std::int64_t since = 0;
  bool operator==(const DeniedRow&) const = default;
};

class Catalog {
 public:
  // Opens (creating if needed) the database at `file`, with mode 0600.
  // Fails with sqlite_category errors (e.g. SQLITE_NOTADB for a corrupt or
  // foreign file) or catalog_errc::newer_schema.
  [[nodiscard]] static Result<Catalog> open(const std::filesystem::path& file);
  ~Catalog();
  Catalog(Catalog&& o) noexcept;
  Catalog& operator=(Catalog&& o) noexcept;
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  [[nodiscard]] Result<int> schema_version();

  // Runs `body` in one transaction: committed if it succeeds, rolled back if
  // it fails (its error is returned). Calls do not nest.
  [[nodiscard]] Result<void> transaction(const std::function<Result<void>()>& body);

  // Publishers. follow is idempotent; unfollow returns whether it was followed.
  [[nodiscard]] Result<void> follow(const PublicKey& publisher, std::int64_t now);
  [[nodiscard]] Result<bool> unfollow(const PublicKey& publisher);
  [[nodiscard]] Result<bool> is_followed(const PublicKey& publisher);
  [[nodiscard]] Result<std::vector<PublicKey>> followed();

  // Channel heads: the newest accepted head of each publisher. The caller
  // applies the mirror rules (judge_head) before storing; as a last line of
  // defence this refuses a lower seq than the one held (catalog_errc::lower_seq).
  // `dht_signature` is 64 bytes, or empty when not known yet.
  [[nodiscard]] Result<void> store_head(const VerifiedHead& head, std::span<const std::uint8_t> dht_signature,
                                        std::int64_t now);
  [[nodiscard]] Result<std::optional<HeadRow>> head(const PublicKey& publisher);
  // Every head held, followed or own (for re-putting pointers at start-up).
  [[nodiscard]] Result<std::vector<HeadRow>> heads();
  // Equivocation evidence: two signed heads with one seq. Both are kept.
  [[nodiscard]] Result<void> record_equivocation(const PublicKey& publisher, std::uint64_t seq,
                                                 std::span<const std::uint8_t> held,
                                                 std::span<const std::uint8_t> other, std::int64_t now);
  [[nodiscard]] Result<std::uint64_t> equivocations(const PublicKey& publisher);

  // Bundles. upsert replaces every field of an existing row with the same ID,
  // except `pinned` (set_pinned's) and a known `media` when row.media is "".
  // Fails with SQLITE_CONSTRAINT for a media status that is not one of
  // core's names.
  [[nodiscard]] Result<void> upsert_bundle(const BundleRow& row);
  // Fails with catalog_errc::not_found when there is no such bundle.
  [[nodiscard]] Result<void> set_state(const Sha256& id, BundleState state, std::string_view error = {});
  // Records a bundle's media status (one of core's kMedia* names). Fails
  // with catalog_errc::not_found when there is no such bundle, and
  // SQLITE_CONSTRAINT for any other string ("" included).
  [[nodiscard]] Result<void> set_media(const Sha256& id, std::string_view media);
  [[nodiscard]] Result<std::optional<BundleRow>> bundle(const Sha256& id);
  // All bundles (of one publisher, if given), oldest first.
  [[nodiscard]] Result<std::vector<BundleRow>> bundles(const std::optional<PublicKey>& publisher = std::nullopt);

  // Storage policy. Both fail with catalog_errc::not_found when there is
  // no such bundle, or the publisher is not followed.
  [[nodiscard]] Result<void> set_pinned(const Sha256& id, bool pinned);
  [[nodiscard]] Result<void> set_policy(const PublicKey& publisher, const PublisherPolicy& policy);
  // The policy of every followed publisher.
  [[nodiscard]] Result<std::map<PublicKey, PublisherPolicy>> policies();

  // Channels this node has published to (`share` with no argument).
  [[nodiscard]] Result<void> mark_own_channel(const PublicKey& publisher, std::int64_t now);
  [[nodiscard]] Result<std::vector<PublicKey>> own_channels();

  // The denylist. deny is idempotent (a second call replaces the reason);
  // undeny returns whether the entry was there.
  [[nodiscard]] Result<void> deny(DenyKind kind, const Sha256& id, std::string_view reason, std::int64_t now);
  [[nodiscard]] Result<bool> undeny(DenyKind kind, const Sha256& id);
  [[nodiscard]] Result<bool> is_denied(DenyKind kind, const Sha256& id);
  [[nodiscard]] Result<std::vector<DeniedRow>> denylist();

  // Counters of rejected input, by reason (an error name such as "bad_signature").
  [[nodiscard]] Result<void> count_rejection(std::string_view reason, std::uint64_t n = 1);
  [[nodiscard]] Result<std::map<std::string, std::uint64_t>> rejections();

 private:
  explicit Catalog(sqlite3* db) : m_db(db) {}
  sqlite3* m_db = nullptr;
};

}  // namespace tz::catalog

namespace boost::system {
template <>
struct is_error_code_enum<tz::catalog::catalog_errc> : std::true_type {};
}  // namespace boost::system
