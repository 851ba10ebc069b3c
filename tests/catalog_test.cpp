#include "catalog/catalog.h"
#include "test_util.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

namespace tz::catalog {
namespace {

namespace fs = std::filesystem;

VerifiedHead make_head(const SecretKey& key, std::uint64_t seq, std::size_t bundles = 1) {
  HeadData h;
  h.publisher = key.public_key();
  h.seq = seq;
  h.created = 1700000000;
  for (std::size_t i = 0; i < bundles; ++i) {
    HeadEntry e;
    e.bundle_id.fill(static_cast<std::uint8_t>(i + 1));
    e.title = "b";
    e.size = 10;
    h.bundles.push_back(e);
  }
  return verify_head(sign_head(h, key).value()).value();
}

BundleRow row(std::uint8_t n, const PublicKey& pub, std::int64_t added) {
  BundleRow r;
  r.id.fill(n);
  r.info_hash_v1.fill(static_cast<std::uint8_t>(n + 1));
  r.publisher = pub;
  r.title = "Bundle " + std::to_string(n);
  r.size = 1000 + n;
  r.path = "/data/bundles/" + std::to_string(n);
  r.added_at = added;
  return r;
}

class CatalogTest : public ::testing::Test {
 protected:
  fs::path db() const { return m_tmp / "catalog.db"; }
  Catalog open() {
    auto c = Catalog::open(db());
    EXPECT_TRUE(c) << c.error().message();
    return std::move(c).value();
  }
  test::TempDir m_tmp;
  SecretKey m_key = test::fixed_key();
};

TEST_F(CatalogTest, CreatesSchemaWithPrivateMode) {
  Catalog c = open();
  EXPECT_EQ(c.schema_version().value(), kSchemaVersion);
  struct stat st {};
  ASSERT_EQ(::stat(db().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CatalogTest, FollowAndUnfollowPersistAcrossReopen) {
  const PublicKey a = m_key.public_key(), b = test::fixed_key(3).public_key();
  {
    Catalog c = open();
    ASSERT_TRUE(c.follow(a, 10));
    ASSERT_TRUE(c.follow(b, 20));
    ASSERT_TRUE(c.follow(a, 30));  // idempotent
  }
  Catalog c = open();
  EXPECT_EQ(c.followed().value(), (std::vector<PublicKey>{a, b}));
  EXPECT_TRUE(c.is_followed(a).value());
  EXPECT_TRUE(c.unfollow(a).value());
  EXPECT_FALSE(c.unfollow(a).value());
  EXPECT_FALSE(c.is_followed(a).value());
}

TEST_F(CatalogTest, HeadsKeepSignedBytesAndRefuseLowerSeq) {
  Catalog c = open();
  const std::vector<std::uint8_t> sig(64, 7);
  const auto h2 = make_head(m_key, 2);
  ASSERT_TRUE(c.store_head(h2, sig, 100));
  auto held = c.head(m_key.public_key()).value();
  ASSERT_TRUE(held);
  EXPECT_EQ(held->seq, 2u);
  EXPECT_EQ(held->envelope, h2.envelope());
  EXPECT_EQ(held->dht_signature, sig);
  // What comes back verifies again as the same head.
  EXPECT_EQ(verify_head(held->envelope).value().data(), h2.data());

  EXPECT_EQ(c.store_head(make_head(m_key, 1), sig, 101).error(), catalog_errc::lower_seq);
  ASSERT_TRUE(c.store_head(make_head(m_key, 3), {}, 102));
  EXPECT_EQ(c.head(m_key.public_key()).value()->seq, 3u);
  EXPECT_TRUE(c.head(m_key.public_key()).value()->dht_signature.empty());
  EXPECT_FALSE(c.head(test::fixed_key(5).public_key()).value());
}

TEST_F(CatalogTest, EquivocationEvidenceIsKept) {
  Catalog c = open();
  const auto a = make_head(m_key, 4, 1), b = make_head(m_key, 4, 2);
  ASSERT_TRUE(c.record_equivocation(m_key.public_key(), 4, a.envelope(), b.envelope(), 1));
  ASSERT_TRUE(c.record_equivocation(m_key.public_key(), 4, a.envelope(), b.envelope(), 2));  // same pair once
  EXPECT_EQ(c.equivocations(m_key.public_key()).value(), 1u);
}

TEST_F(CatalogTest, BundlesRoundTripAndChangeState) {
  Catalog c = open();
  const PublicKey a = m_key.public_key(), b = test::fixed_key(3).public_key();
  ASSERT_TRUE(c.upsert_bundle(row(1, a, 5)));
  ASSERT_TRUE(c.upsert_bundle(row(2, b, 6)));
  ASSERT_TRUE(c.upsert_bundle(row(3, a, 7)));
  EXPECT_EQ(c.bundle(row(1, a, 5).id).value(), row(1, a, 5));
  EXPECT_EQ(c.bundles().value().size(), 3u);
  const auto of_a = c.bundles(a).value();
  ASSERT_EQ(of_a.size(), 2u);
  EXPECT_EQ(of_a[0].id, row(1, a, 5).id);
  EXPECT_EQ(of_a[1].id, row(3, a, 7).id);

  ASSERT_TRUE(c.set_state(row(1, a, 5).id, BundleState::verified));
  EXPECT_EQ(c.bundle(row(1, a, 5).id).value()->state, BundleState::verified);
  Sha256 missing{};
  missing.fill(9);
  EXPECT_EQ(c.set_state(missing, BundleState::failed).error(), catalog_errc::not_found);
  EXPECT_FALSE(c.bundle(missing).value());

  BundleRow moved = row(2, b, 6);
  moved.path = "/elsewhere";
  ASSERT_TRUE(c.upsert_bundle(moved));
  EXPECT_EQ(c.bundle(moved.id).value()->path, "/elsewhere");
  EXPECT_EQ(c.bundles().value().size(), 3u);
}

TEST_F(CatalogTest, RejectionsAreCountedByReason) {
  Catalog c = open();
  ASSERT_TRUE(c.count_rejection("bad_signature"));
  ASSERT_TRUE(c.count_rejection("bad_signature", 2));
  ASSERT_TRUE(c.count_rejection("rollback"));
  const auto r = c.rejections().value();
  EXPECT_EQ(r.at("bad_signature"), 3u);
  EXPECT_EQ(r.at("rollback"), 1u);
}

TEST_F(CatalogTest, FailedTransactionChangesNothing) {
  Catalog c = open();
  auto r = c.transaction([&]() -> Result<void> {
    BOOST_OUTCOME_TRY(c.follow(m_key.public_key(), 1));
    BOOST_OUTCOME_TRY(c.upsert_bundle(row(1, m_key.public_key(), 1)));
    return catalog_errc::not_found;  // something later fails
  });
  EXPECT_FALSE(r);
  EXPECT_TRUE(c.followed().value().empty());
  EXPECT_TRUE(c.bundles().value().empty());
  ASSERT_TRUE(c.transaction([&]() -> Result<void> { return c.follow(m_key.public_key(), 1); }));
  EXPECT_EQ(c.followed().value().size(), 1u);
}

TEST_F(CatalogTest, CorruptFileIsRefusedAndLeftAlone) {
  test::write_file(db(), std::string(8192, 'x'));
  auto c = Catalog::open(db());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().category(), sqlite_category());
  EXPECT_EQ(test::read_bytes(db()), std::vector<std::uint8_t>(8192, 'x'));
}

TEST_F(CatalogTest, NewerSchemaIsRefused) {
  { Catalog c = open(); }
  // Pretend a newer Tamizdat wrote it (with another SQLite client).
  std::string cmd = "/usr/bin/python3 -c \"import sqlite3; c=sqlite3.connect('" + db().string() +
                    "'); c.execute('PRAGMA user_version = 99'); c.commit()\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto c = Catalog::open(db());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), catalog_errc::newer_schema);
}

TEST_F(CatalogTest, SurvivesManyReopens) {
  for (int i = 0; i < 20; ++i) {
    Catalog c = open();
    ASSERT_TRUE(c.upsert_bundle(row(static_cast<std::uint8_t>(i), m_key.public_key(), i)));
  }
  EXPECT_EQ(open().bundles().value().size(), 20u);
}

TEST_F(CatalogTest, FailureReasonAndOwnershipAreKept) {
  Catalog c = open();
  BundleRow mine = row(1, m_key.public_key(), 1);
  mine.own = true;
  ASSERT_TRUE(c.upsert_bundle(mine));
  ASSERT_TRUE(c.upsert_bundle(row(2, m_key.public_key(), 2)));
  ASSERT_TRUE(c.set_state(row(2, m_key.public_key(), 2).id, BundleState::failed, "oversized"));
  const auto all = c.bundles().value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].own);
  EXPECT_EQ(all[0].error, "");
  EXPECT_FALSE(all[1].own);
  EXPECT_EQ(all[1].state, BundleState::failed);
  EXPECT_EQ(all[1].error, "oversized");
  // Back to downloading clears the reason (an empty reason is not NULL).
  ASSERT_TRUE(c.set_state(all[1].id, BundleState::downloading));
  EXPECT_EQ(c.bundle(all[1].id).value()->error, "");
}

TEST_F(CatalogTest, OwnChannelsAndAllHeads) {
  Catalog c = open();
  EXPECT_TRUE(c.own_channels().value().empty());
  ASSERT_TRUE(c.mark_own_channel(m_key.public_key(), 5));
  ASSERT_TRUE(c.mark_own_channel(m_key.public_key(), 6));  // idempotent
  EXPECT_EQ(c.own_channels().value(), std::vector<PublicKey>{m_key.public_key()});
  const SecretKey other = SecretKey::generate().value();
  ASSERT_TRUE(c.store_head(make_head(m_key, 3), std::vector<std::uint8_t>(64, 7), 10));
  ASSERT_TRUE(c.store_head(make_head(other, 1), {}, 11));
  const auto heads = c.heads().value();
  ASSERT_EQ(heads.size(), 2u);
  for (const auto& h : heads) {
    EXPECT_TRUE(verify_head(h.envelope, &h.publisher)) << "stored heads verify again";
    EXPECT_EQ(h.dht_signature.size(), h.publisher == m_key.public_key() ? 64u : 0u);
  }
}

TEST_F(CatalogTest, MigratesASchemaOneDatabase) {
  // A catalogue written by the first release (schema 1), made with another
  // SQLite client: it opens, keeps its rows and gains the new columns.
  test::write_file(m_tmp / "v1.sql",
                   "CREATE TABLE publishers (key BLOB PRIMARY KEY, followed_at INTEGER NOT NULL) WITHOUT ROWID;\n"
                   "CREATE TABLE heads (publisher BLOB PRIMARY KEY, seq INTEGER NOT NULL, envelope BLOB NOT NULL,"
                   " dht_signature BLOB NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID;\n"
                   "CREATE TABLE equivocations (publisher BLOB NOT NULL, seq INTEGER NOT NULL, held BLOB NOT NULL,"
                   " other BLOB NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY (publisher, seq, other)) WITHOUT ROWID;\n"
                   "CREATE TABLE bundles (id BLOB PRIMARY KEY, info_hash_v1 BLOB NOT NULL, publisher BLOB NOT NULL,"
                   " title TEXT NOT NULL, state TEXT NOT NULL, size INTEGER NOT NULL, path TEXT NOT NULL,"
                   " added_at INTEGER NOT NULL);\n"
                   "CREATE TABLE rejections (reason TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;\n"
                   "INSERT INTO bundles VALUES (zeroblob(32), zeroblob(20), zeroblob(32), 'old', 'verified', 5, '/x', 1);\n"
                   "PRAGMA user_version = 1;\n");
  const std::string cmd = "/usr/bin/python3 -c \"import sqlite3; c=sqlite3.connect('" + db().string() +
                          "'); c.executescript(open('" + (m_tmp / "v1.sql").string() + "').read()); c.commit()\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Catalog c = open();
  EXPECT_EQ(c.schema_version().value(), kSchemaVersion);
  const auto all = c.bundles().value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].title, "old");
  EXPECT_EQ(all[0].state, BundleState::verified);
  EXPECT_FALSE(all[0].own);
  EXPECT_EQ(all[0].error, "");
  EXPECT_TRUE(c.own_channels().value().empty());
  EXPECT_TRUE(c.denylist().value().empty());
  EXPECT_FALSE(all[0].pinned);
  EXPECT_TRUE(c.policies().value().empty());
  // Schema 5: not known yet, and the node may fill it in.
  EXPECT_EQ(all[0].media, "");
  ASSERT_TRUE(c.set_media(all[0].id, kMediaKept));
  EXPECT_EQ(c.bundle(all[0].id).value()->media, "kept");
}

TEST_F(CatalogTest, MigratesASchemaFourDatabaseKeepingItsBundles) {
  // The release before source safety: its bundles read back unchanged, with
  // no media status, and keep their pins.
  BundleRow b = row(4, m_key.public_key(), 9);
  b.state = BundleState::verified;
  b.own = true;
  {
    Catalog c = open();
    ASSERT_TRUE(c.upsert_bundle(b));
    ASSERT_TRUE(c.set_pinned(b.id, true));
  }
  // Back to schema 4 as that release left it, with another SQLite client.
  const std::string cmd = "/usr/bin/python3 -c \"import sqlite3; c=sqlite3.connect('" + db().string() +
                          "'); c.execute('ALTER TABLE bundles DROP COLUMN media'); "
                          "c.execute('PRAGMA user_version = 4'); c.commit()\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Catalog c = open();
  EXPECT_EQ(c.schema_version().value(), kSchemaVersion);
  b.pinned = true;
  EXPECT_EQ(c.bundle(b.id).value(), b);
  EXPECT_EQ(c.bundle(b.id).value()->media, "");
}

TEST_F(CatalogTest, MediaStatusIsKeptOnceKnown) {
  Catalog c = open();
  const PublicKey pub = m_key.public_key();
  BundleRow b = row(1, pub, 1);
  ASSERT_TRUE(c.upsert_bundle(b));
  EXPECT_EQ(c.bundle(b.id).value()->media, "");
  ASSERT_TRUE(c.set_media(b.id, kMediaScrubbed));
  EXPECT_EQ(c.bundle(b.id).value()->media, "scrubbed");
  // A later upsert that does not know it (a head listing the bundle again,
  // a state change written back) keeps it...
  b.state = BundleState::failed;
  b.error = "storage_failed";
  ASSERT_TRUE(c.upsert_bundle(b));
  EXPECT_EQ(c.bundle(b.id).value()->media, "scrubbed");
  EXPECT_EQ(c.bundle(b.id).value()->state, BundleState::failed);
  // ...one that knows it writes it (published: upserted with its status).
  BundleRow own = row(2, pub, 2);
  own.media = std::string(kMediaChecked);
  ASSERT_TRUE(c.upsert_bundle(own));
  EXPECT_EQ(c.bundle(own.id).value(), own);
  own.media = std::string(kMediaUnstated);
  ASSERT_TRUE(c.upsert_bundle(own));
  EXPECT_EQ(c.bundle(own.id).value()->media, "unstated");
  // Every query of bundles reads it.
  const auto all = c.bundles().value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].media, "scrubbed");
  EXPECT_EQ(all[1].media, "unstated");
  EXPECT_EQ(c.bundles(pub).value().at(0).media, "scrubbed");
  // Survives a reopen.
  Catalog again = open();
  EXPECT_EQ(again.bundle(b.id).value()->media, "scrubbed");
}

TEST_F(CatalogTest, MediaStatusRefusesUnknownNamesAndBundles) {
  Catalog c = open();
  const BundleRow b = row(1, m_key.public_key(), 1);
  ASSERT_TRUE(c.upsert_bundle(b));
  Sha256 missing{};
  missing.fill(9);
  EXPECT_EQ(c.set_media(missing, kMediaKept).error(), catalog_errc::not_found);
  for (const std::string_view bad : {"", "Scrubbed", "clean", "kept "}) {
    const auto r = c.set_media(b.id, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().category(), sqlite_category()) << bad;
  }
  BundleRow junk = row(2, m_key.public_key(), 2);
  junk.media = "<b>scrubbed</b>";
  EXPECT_FALSE(c.upsert_bundle(junk));
  EXPECT_FALSE(c.bundle(junk.id).value());
  EXPECT_EQ(c.bundle(b.id).value()->media, "");
}

TEST_F(CatalogTest, TheDenylistPersistsAndKeepsKindsApart) {
  const PublicKey pub = m_key.public_key();
  Sha256 bundle{};
  bundle[0] = 7;
  {
    Catalog c = open();
    ASSERT_TRUE(c.deny(DenyKind::publisher, pub.bytes, "impersonates a newsroom", 10));
    ASSERT_TRUE(c.deny(DenyKind::bundle, bundle, "", 20));
    ASSERT_TRUE(c.deny(DenyKind::bundle, bundle, "illegal here", 30));  // replaces the reason
  }
  Catalog c = open();
  const auto all = c.denylist().value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (DeniedRow{DenyKind::publisher, pub.bytes, "impersonates a newsroom", 10}));
  EXPECT_EQ(all[1], (DeniedRow{DenyKind::bundle, bundle, "illegal here", 20}));
  EXPECT_TRUE(c.is_denied(DenyKind::publisher, pub.bytes).value());
  // The same 32 bytes as the other kind are not denied.
  EXPECT_FALSE(c.is_denied(DenyKind::bundle, pub.bytes).value());
  EXPECT_TRUE(c.undeny(DenyKind::publisher, pub.bytes).value());
  EXPECT_FALSE(c.undeny(DenyKind::publisher, pub.bytes).value());
  EXPECT_FALSE(c.is_denied(DenyKind::publisher, pub.bytes).value());
  EXPECT_EQ(c.denylist().value().size(), 1u);
}

TEST_F(CatalogTest, PinsAndPoliciesPersistAndUpsertKeepsThePin) {
  const PublicKey pub = m_key.public_key();
  BundleRow b;
  b.id[0] = 3;
  b.publisher = pub;
  b.title = "t";
  b.path = "/x";
  {
    Catalog c = open();
    ASSERT_TRUE(c.upsert_bundle(b));
    ASSERT_TRUE(c.set_pinned(b.id, true));
    // A later upsert (state changes, metadata) does not unpin it.
    b.state = BundleState::verified;
    ASSERT_TRUE(c.upsert_bundle(b));
    ASSERT_TRUE(c.follow(pub, 1));
    ASSERT_TRUE(c.set_policy(pub, {std::uint64_t{20} << 30, 5, std::nullopt}));
  }
  Catalog c = open();
  const auto row = c.bundle(b.id).value();
  ASSERT_TRUE(row);
  EXPECT_TRUE(row->pinned);
  EXPECT_EQ(row->state, BundleState::verified);
  const auto all = c.policies().value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.at(pub), (PublisherPolicy{std::uint64_t{20} << 30, 5, std::nullopt}));
  // Back to the defaults, then unpinned.
  ASSERT_TRUE(c.set_policy(pub, {}));
  EXPECT_EQ(c.policies().value().at(pub), PublisherPolicy{});
  ASSERT_TRUE(c.set_pinned(b.id, false));
  EXPECT_FALSE(c.bundle(b.id).value()->pinned);
  // Neither for what the catalogue does not hold.
  Sha256 other{};
  other[0] = 9;
  EXPECT_EQ(c.set_pinned(other, true).error(), catalog_errc::not_found);
  PublicKey stranger;
  stranger.bytes.fill(4);
  EXPECT_EQ(c.set_policy(stranger, {}).error(), catalog_errc::not_found);
  // Unfollowing forgets the policy; following again starts from the defaults.
  ASSERT_TRUE(c.set_policy(pub, {1, 1, 1}));
  ASSERT_TRUE(c.unfollow(pub).value());
  ASSERT_TRUE(c.follow(pub, 2));
  EXPECT_EQ(c.policies().value().at(pub), PublisherPolicy{});
}

}  // namespace
}  // namespace tz::catalog
