#include "catalog/catalog.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

namespace tz::catalog {
namespace {

// Each migration takes the schema from version (index) to (index + 1).
constexpr const char* kMigrations[] = {
    R"sql(
    CREATE TABLE publishers (
      key BLOB PRIMARY KEY CHECK (length(key) = 32),
      followed_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE heads (
      publisher BLOB PRIMARY KEY CHECK (length(publisher) = 32),
      seq INTEGER NOT NULL CHECK (seq >= 1),
      envelope BLOB NOT NULL,
      dht_signature BLOB NOT NULL CHECK (length(dht_signature) IN (0, 64)),
      received_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE equivocations (
      publisher BLOB NOT NULL,
      seq INTEGER NOT NULL,
      held BLOB NOT NULL,
      other BLOB NOT NULL,
      seen_at INTEGER NOT NULL,
      PRIMARY KEY (publisher, seq, other)
    ) WITHOUT ROWID;
    CREATE TABLE bundles (
      id BLOB PRIMARY KEY CHECK (length(id) = 32),
      info_hash_v1 BLOB NOT NULL CHECK (length(info_hash_v1) = 20),
      publisher BLOB NOT NULL CHECK (length(publisher) = 32),
      title TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('downloading', 'verified', 'failed')),
      size INTEGER NOT NULL,
      path TEXT NOT NULL,
      added_at INTEGER NOT NULL
    );
    CREATE INDEX bundles_by_publisher ON bundles (publisher, added_at);
    CREATE TABLE rejections (
      reason TEXT PRIMARY KEY,
      count INTEGER NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // 2: the network. Why a bundle failed; which bundles and channels are
    // this node's own publications.
    R"sql(
    ALTER TABLE bundles ADD COLUMN error TEXT NOT NULL DEFAULT '';
    ALTER TABLE bundles ADD COLUMN own INTEGER NOT NULL DEFAULT 0 CHECK (own IN (0, 1));
    CREATE TABLE own_channels (
      publisher BLOB PRIMARY KEY CHECK (length(publisher) = 32),
      since INTEGER NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // 3: the operator's denylist: publishers and bundles never fetched nor served.
    R"sql(
    CREATE TABLE denied (
      kind TEXT NOT NULL CHECK (kind IN ('publisher', 'bundle')),
      id BLOB NOT NULL CHECK (length(id) = 32),
      reason TEXT NOT NULL,
      since INTEGER NOT NULL,
      PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    )sql",
    // 4: the storage policy. Pinned bundles; per followed publisher a quota
    // and keep rule (NULL: the config's default).
    R"sql(
    ALTER TABLE bundles ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1));
    ALTER TABLE publishers ADD COLUMN quota INTEGER CHECK (quota >= 0);
    ALTER TABLE publishers ADD COLUMN keep_newest INTEGER CHECK (keep_newest >= 0);
    ALTER TABLE publishers ADD COLUMN keep_days INTEGER CHECK (keep_days >= 0);
    )sql",
    // 5: source safety. What the gateway tells readers about a bundle's
    // media ('' until the node has read its manifest; see BundleRow::media).
    R"sql(
    ALTER TABLE bundles ADD COLUMN media TEXT NOT NULL DEFAULT ''
      CHECK (media IN ('', 'scrubbed', 'checked', 'kept', 'unstated'));
    )sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

// boost::system::error_category has a protected non-virtual destructor by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class CatalogCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "catalog"; }
  std::string message(int v) const override {
    switch (static_cast<catalog_errc>(v)) {
      case catalog_errc::newer_schema:
        return "the catalogue was written by a newer Tamizdat; refusing to change it";
      case catalog_errc::not_found:
        return "no such entry in the catalogue";
      case catalog_errc::lower_seq:
        return "refusing to replace a channel head with an older one";
    }
    return "unknown catalogue error";
  }
};

class SqliteCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int v) const override { return sqlite3_errstr(v); }
};
#pragma GCC diagnostic pop

boost::system::error_code sql_error(int rc) { return {rc, sqlite_category()}; }

// One prepared statement, finalised on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { m_rc = sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr); }
  ~Stmt() { sqlite3_finalize(m_stmt); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  [[nodiscard]] bool ok() const { return m_rc == SQLITE_OK; }
  [[nodiscard]] int rc() const { return m_rc; }
  Stmt& bind(int i, std::span<const std::uint8_t> blob) {
    // A null pointer would bind SQL NULL; an empty blob is a zero-length blob.
    keep(blob.empty() ? sqlite3_bind_zeroblob(m_stmt, i, 0)
                      : sqlite3_bind_blob(m_stmt, i, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind(int i, std::string_view text) {
    // A null pointer would bind SQL NULL; an empty view is the empty string.
    keep(sqlite3_bind_text(m_stmt, i, text.data() != nullptr ? text.data() : "", static_cast<int>(text.size()),
                           SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    keep(sqlite3_bind_int64(m_stmt, i, v));
    return *this;
  }
  Stmt& bind_null(int i) {
    keep(sqlite3_bind_null(m_stmt, i));
    return *this;
  }
  // Steps once: SQLITE_ROW or SQLITE_DONE on success.
  [[nodiscard]] Result<bool> step() {
    if (m_rc != SQLITE_OK) return sql_error(m_rc);
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sql_error(rc);
  }
  [[nodiscard]] Result<void> run() {
    BOOST_OUTCOME_TRY(row, step());
    (void)row;
    return success();
  }
  [[nodiscard]] std::vector<std::uint8_t> blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, col));
    if (p == nullptr) return {};
    return {p, p + sqlite3_column_bytes(m_stmt, col)};
  }
  [[nodiscard]] std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
    return p != nullptr ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col))) : std::string();
  }
  [[nodiscard]] std::int64_t i64(int col) const { return sqlite3_column_int64(m_stmt, col); }
  [[nodiscard]] bool is_null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }

 private:
  void keep(int rc) {
    if (m_rc == SQLITE_OK) m_rc = rc;
  }
  sqlite3_stmt* m_stmt = nullptr;
  int m_rc = SQLITE_OK;
};

Result<void> exec(sqlite3* db, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sql_error(rc);
  return success();
}

template <std::size_t N>
bool to_array(const std::vector<std::uint8_t>& v, std::array<std::uint8_t, N>& out) {
  if (v.size() != N) return false;
  std::memcpy(out.data(), v.data(), N);
  return true;
}

std::optional<BundleState> parse_state(std::string_view s) {
  if (s == "downloading") return BundleState::downloading;
  if (s == "verified") return BundleState::verified;
  if (s == "failed") return BundleState::failed;
  return std::nullopt;
}

// The public keys in the first column of every row `sql` returns.
Result<std::vector<PublicKey>> read_keys(sqlite3* db, const char* sql) {
  Stmt s(db, sql);
  std::vector<PublicKey> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    PublicKey k;
    if (!to_array(s.blob(0), k.bytes)) return sql_error(SQLITE_CORRUPT);
    out.push_back(k);
  }
  return out;
}

// A heads row from the columns publisher, seq, envelope, dht_signature, received_at.
Result<HeadRow> read_head(const Stmt& s) {
  HeadRow h;
  if (!to_array(s.blob(0), h.publisher.bytes)) return sql_error(SQLITE_CORRUPT);
  h.seq = static_cast<std::uint64_t>(s.i64(1));
  h.envelope = s.blob(2);
  h.dht_signature = s.blob(3);
  h.received_at = s.i64(4);
  return h;
}

// A bundles row from the columns id, info_hash_v1, publisher, title, state,
// size, path, added_at, error, own, pinned, media: every SELECT of bundles
// lists them in this order.
Result<BundleRow> read_bundle(const Stmt& s) {
  BundleRow r;
  auto state = parse_state(s.text(4));
  if (!to_array(s.blob(0), r.id) || !to_array(s.blob(1), r.info_hash_v1) || !to_array(s.blob(2), r.publisher.bytes) ||
      !state) {
    return sql_error(SQLITE_CORRUPT);
  }
  r.title = s.text(3);
  r.state = *state;
  r.size = static_cast<std::uint64_t>(s.i64(5));
  r.path = s.text(6);
  r.added_at = s.i64(7);
  r.error = s.text(8);
  r.own = s.i64(9) != 0;
  r.pinned = s.i64(10) != 0;
  r.media = s.text(11);
  return r;
}

}  // namespace

const boost::system::error_category& catalog_category() noexcept {
  static const CatalogCategory c;
  return c;
}
const boost::system::error_category& sqlite_category() noexcept {
  static const SqliteCategory c;
  return c;
}

std::string_view state_name(BundleState s) {
  switch (s) {
    case BundleState::downloading:
      return "downloading";
    case BundleState::verified:
      return "verified";
    case BundleState::failed:
      return "failed";
  }
  return "failed";
}

Result<Catalog> Catalog::open(const std::filesystem::path& file) {
  sqlite3* raw = nullptr;
  const mode_t old_mask = ::umask(0077);  // the database is created 0600
  const int rc = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  ::umask(old_mask);
  Catalog c(raw);  // owns `raw` even when opening failed
  if (rc != SQLITE_OK) return sql_error(rc);
  sqlite3_extended_result_codes(raw, 0);
  sqlite3_busy_timeout(raw, 5000);
  BOOST_OUTCOME_TRY(exec(raw, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"));
  // Reading the version is the first access: a corrupt or foreign file fails here.
  BOOST_OUTCOME_TRY(version, c.schema_version());
  if (version > kSchemaVersion) return catalog_errc::newer_schema;
  BOOST_OUTCOME_TRY(exec(raw, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"));
  for (int v = version; v < kSchemaVersion; ++v) {
    const int target = v + 1;
    BOOST_OUTCOME_TRY(c.transaction([&]() -> Result<void> {
      BOOST_OUTCOME_TRY(exec(raw, kMigrations[v]));
      return exec(raw, ("PRAGMA user_version = " + std::to_string(target)).c_str());
    }));
  }
  return c;
}

Catalog::~Catalog() {
  if (m_db != nullptr) sqlite3_close_v2(m_db);
}
Catalog::Catalog(Catalog&& o) noexcept : m_db(std::exchange(o.m_db, nullptr)) {}
Catalog& Catalog::operator=(Catalog&& o) noexcept {
  if (this != &o) {
    if (m_db != nullptr) sqlite3_close_v2(m_db);
    m_db = std::exchange(o.m_db, nullptr);
  }
  return *this;
}

Result<int> Catalog::schema_version() {
  Stmt s(m_db, "PRAGMA user_version");
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return sql_error(SQLITE_CORRUPT);
  return static_cast<int>(s.i64(0));
}

Result<void> Catalog::transaction(const std::function<Result<void>()>& body) {
  BOOST_OUTCOME_TRY(exec(m_db, "BEGIN IMMEDIATE"));
  auto r = body();
  if (!r) {
    (void)exec(m_db, "ROLLBACK");
    return r;
  }
  if (auto c = exec(m_db, "COMMIT"); !c) {
    (void)exec(m_db, "ROLLBACK");
    return c;
  }
  return success();
}

Result<void> Catalog::follow(const PublicKey& publisher, std::int64_t now) {
  return Stmt(m_db, "INSERT OR IGNORE INTO publishers (key, followed_at) VALUES (?, ?)")
      .bind(1, publisher.bytes)
      .bind(2, now)
      .run();
}

Result<bool> Catalog::unfollow(const PublicKey& publisher) {
  BOOST_OUTCOME_TRY(Stmt(m_db, "DELETE FROM publishers WHERE key = ?").bind(1, publisher.bytes).run());
  return sqlite3_changes(m_db) > 0;
}

Result<bool> Catalog::is_followed(const PublicKey& publisher) {
  Stmt s(m_db, "SELECT 1 FROM publishers WHERE key = ?");
  s.bind(1, publisher.bytes);
  return s.step();
}

Result<std::vector<PublicKey>> Catalog::followed() {
  return read_keys(m_db, "SELECT key FROM publishers ORDER BY followed_at, key");
}

Result<void> Catalog::store_head(const VerifiedHead& head, std::span<const std::uint8_t> dht_signature,
                                 std::int64_t now) {
  const HeadData& h = head.data();
  BOOST_OUTCOME_TRY(held, this->head(h.publisher));
  if (held && held->seq > h.seq) return catalog_errc::lower_seq;
  return Stmt(m_db,
              "INSERT OR REPLACE INTO heads (publisher, seq, envelope, dht_signature, received_at) "
              "VALUES (?, ?, ?, ?, ?)")
      .bind(1, h.publisher.bytes)
      .bind(2, static_cast<std::int64_t>(h.seq))
      .bind(3, head.envelope())
      .bind(4, dht_signature)
      .bind(5, now)
      .run();
}

Result<std::optional<HeadRow>> Catalog::head(const PublicKey& publisher) {
  Stmt s(m_db, "SELECT publisher, seq, envelope, dht_signature, received_at FROM heads WHERE publisher = ?");
  s.bind(1, publisher.bytes);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<HeadRow>();
  BOOST_OUTCOME_TRY(h, read_head(s));
  return std::optional<HeadRow>(std::move(h));
}

Result<void> Catalog::record_equivocation(const PublicKey& publisher, std::uint64_t seq,
                                          std::span<const std::uint8_t> held, std::span<const std::uint8_t> other,
                                          std::int64_t now) {
  return Stmt(m_db,
              "INSERT OR IGNORE INTO equivocations (publisher, seq, held, other, seen_at) VALUES (?, ?, ?, ?, ?)")
      .bind(1, publisher.bytes)
      .bind(2, static_cast<std::int64_t>(seq))
      .bind(3, held)
      .bind(4, other)
      .bind(5, now)
      .run();
}

Result<std::uint64_t> Catalog::equivocations(const PublicKey& publisher) {
  Stmt s(m_db, "SELECT count(*) FROM equivocations WHERE publisher = ?");
  s.bind(1, publisher.bytes);
  BOOST_OUTCOME_TRY(row, s.step());
  (void)row;
  return static_cast<std::uint64_t>(s.i64(0));
}

Result<void> Catalog::upsert_bundle(const BundleRow& r) {
  // Callers that read a row, change it and write it back, and those that
  // build a new row without reading (a link, a head entry), both pass
  // media "" when they do not know it: that must not forget a known one.
  return Stmt(m_db,
              "INSERT INTO bundles (id, info_hash_v1, publisher, title, state, size, path, added_at, error, own, "
              "media) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (id) DO UPDATE SET info_hash_v1 = excluded.info_hash_v1, "
              "publisher = excluded.publisher, title = excluded.title, state = excluded.state, "
              "size = excluded.size, path = excluded.path, added_at = excluded.added_at, error = excluded.error, "
              "own = excluded.own, media = CASE excluded.media WHEN '' THEN bundles.media ELSE excluded.media END")
      .bind(1, r.id)
      .bind(2, r.info_hash_v1)
      .bind(3, r.publisher.bytes)
      .bind(4, r.title)
      .bind(5, state_name(r.state))
      .bind(6, static_cast<std::int64_t>(r.size))
      .bind(7, r.path)
      .bind(8, r.added_at)
      .bind(9, r.error)
      .bind(10, static_cast<std::int64_t>(r.own ? 1 : 0))
      .bind(11, r.media)
      .run();
}

Result<void> Catalog::set_state(const Sha256& id, BundleState state, std::string_view error) {
  BOOST_OUTCOME_TRY(Stmt(m_db, "UPDATE bundles SET state = ?, error = ? WHERE id = ?")
                        .bind(1, state_name(state))
                        .bind(2, error)
                        .bind(3, id)
                        .run());
  if (sqlite3_changes(m_db) == 0) return catalog_errc::not_found;
  return success();
}

Result<void> Catalog::set_media(const Sha256& id, std::string_view media) {
  // The CHECK allows '' for rows not known yet; a setter is never asked to forget.
  if (media.empty()) return sql_error(SQLITE_CONSTRAINT);
  BOOST_OUTCOME_TRY(Stmt(m_db, "UPDATE bundles SET media = ? WHERE id = ?").bind(1, media).bind(2, id).run());
  if (sqlite3_changes(m_db) == 0) return catalog_errc::not_found;
  return success();
}

Result<std::optional<BundleRow>> Catalog::bundle(const Sha256& id) {
  Stmt s(m_db,
         "SELECT id, info_hash_v1, publisher, title, state, size, path, added_at, error, own, pinned, media "
         "FROM bundles WHERE id = ?");
  s.bind(1, id);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<BundleRow>();
  BOOST_OUTCOME_TRY(r, read_bundle(s));
  return std::optional<BundleRow>(std::move(r));
}

Result<std::vector<BundleRow>> Catalog::bundles(const std::optional<PublicKey>& publisher) {
  Stmt s(m_db, publisher ? "SELECT id, info_hash_v1, publisher, title, state, size, path, added_at, error, own, "
                           "pinned, media FROM bundles WHERE publisher = ? ORDER BY added_at, rowid"
                         : "SELECT id, info_hash_v1, publisher, title, state, size, path, added_at, error, own, "
                           "pinned, media FROM bundles ORDER BY added_at, rowid");
  if (publisher) s.bind(1, publisher->bytes);
  std::vector<BundleRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    BOOST_OUTCOME_TRY(r, read_bundle(s));
    out.push_back(std::move(r));
  }
  return out;
}

Result<void> Catalog::set_pinned(const Sha256& id, bool pinned) {
  BOOST_OUTCOME_TRY(Stmt(m_db, "UPDATE bundles SET pinned = ? WHERE id = ?")
                        .bind(1, static_cast<std::int64_t>(pinned ? 1 : 0))
                        .bind(2, id)
                        .run());
  if (sqlite3_changes(m_db) == 0) return catalog_errc::not_found;
  return success();
}

Result<void> Catalog::set_policy(const PublicKey& publisher, const PublisherPolicy& p) {
  Stmt s(m_db, "UPDATE publishers SET quota = ?, keep_newest = ?, keep_days = ? WHERE key = ?");
  int i = 1;
  for (const auto& v : {p.quota, std::optional<std::uint64_t>(p.keep_newest), std::optional<std::uint64_t>(p.keep_days)}) {
    if (v) {
      s.bind(i, static_cast<std::int64_t>(std::min<std::uint64_t>(*v, INT64_MAX)));
    } else {
      s.bind_null(i);
    }
    ++i;
  }
  BOOST_OUTCOME_TRY(s.bind(4, publisher.bytes).run());
  if (sqlite3_changes(m_db) == 0) return catalog_errc::not_found;
  return success();
}

Result<std::map<PublicKey, PublisherPolicy>> Catalog::policies() {
  Stmt s(m_db, "SELECT key, quota, keep_newest, keep_days FROM publishers");
  std::map<PublicKey, PublisherPolicy> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    PublicKey k;
    if (!to_array(s.blob(0), k.bytes)) return sql_error(SQLITE_CORRUPT);
    PublisherPolicy p;
    if (!s.is_null(1)) p.quota = static_cast<std::uint64_t>(s.i64(1));
    if (!s.is_null(2)) p.keep_newest = static_cast<std::uint32_t>(std::min<std::int64_t>(s.i64(2), UINT32_MAX));
    if (!s.is_null(3)) p.keep_days = static_cast<std::uint32_t>(std::min<std::int64_t>(s.i64(3), UINT32_MAX));
    out[k] = p;
  }
  return out;
}

Result<void> Catalog::mark_own_channel(const PublicKey& publisher, std::int64_t now) {
  return Stmt(m_db, "INSERT OR IGNORE INTO own_channels (publisher, since) VALUES (?, ?)")
      .bind(1, publisher.bytes)
      .bind(2, now)
      .run();
}

std::string_view deny_kind_name(DenyKind k) { return k == DenyKind::publisher ? "publisher" : "bundle"; }

Result<void> Catalog::deny(DenyKind kind, const Sha256& id, std::string_view reason, std::int64_t now) {
  return Stmt(m_db,
              "INSERT INTO denied (kind, id, reason, since) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (kind, id) DO UPDATE SET reason = excluded.reason")
      .bind(1, deny_kind_name(kind))
      .bind(2, id)
      .bind(3, reason)
      .bind(4, now)
      .run();
}

Result<bool> Catalog::undeny(DenyKind kind, const Sha256& id) {
  BOOST_OUTCOME_TRY(Stmt(m_db, "DELETE FROM denied WHERE kind = ? AND id = ?").bind(1, deny_kind_name(kind)).bind(2, id).run());
  return sqlite3_changes(m_db) > 0;
}

Result<bool> Catalog::is_denied(DenyKind kind, const Sha256& id) {
  Stmt s(m_db, "SELECT 1 FROM denied WHERE kind = ? AND id = ?");
  s.bind(1, deny_kind_name(kind)).bind(2, id);
  return s.step();
}

Result<std::vector<DeniedRow>> Catalog::denylist() {
  Stmt s(m_db, "SELECT kind, id, reason, since FROM denied ORDER BY since, kind, id");
  std::vector<DeniedRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    DeniedRow d;
    d.kind = s.text(0) == "publisher" ? DenyKind::publisher : DenyKind::bundle;
    if (!to_array(s.blob(1), d.id)) return sql_error(SQLITE_CORRUPT);
    d.reason = s.text(2);
    d.since = s.i64(3);
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<PublicKey>> Catalog::own_channels() {
  return read_keys(m_db, "SELECT publisher FROM own_channels ORDER BY since, publisher");
}

Result<std::vector<HeadRow>> Catalog::heads() {
  Stmt s(m_db, "SELECT publisher, seq, envelope, dht_signature, received_at FROM heads ORDER BY publisher");
  std::vector<HeadRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    BOOST_OUTCOME_TRY(h, read_head(s));
    out.push_back(std::move(h));
  }
  return out;
}

Result<void> Catalog::count_rejection(std::string_view reason, std::uint64_t n) {
  return Stmt(m_db,
              "INSERT INTO rejections (reason, count) VALUES (?, ?) "
              "ON CONFLICT (reason) DO UPDATE SET count = count + excluded.count")
      .bind(1, reason)
      .bind(2, static_cast<std::int64_t>(n))
      .run();
}

Result<std::map<std::string, std::uint64_t>> Catalog::rejections() {
  Stmt s(m_db, "SELECT reason, count FROM rejections ORDER BY reason");
  std::map<std::string, std::uint64_t> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    out[s.text(0)] = static_cast<std::uint64_t>(s.i64(1));
  }
  return out;
}

}  // namespace tz::catalog
