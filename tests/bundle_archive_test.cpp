#include "bundle/archive.h"
#include "test_util.h"

#include "core/files.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>

namespace tz::bundle {
namespace {

namespace fs = std::filesystem;

// Writes tar archives with whatever entries a test wants, hostile ones included.
class TarBuilder {
 public:
  TarBuilder() : m_a(archive_write_new()) {
    archive_write_set_format_pax_restricted(m_a);
    archive_write_open_memory(m_a, m_buf.data(), m_buf.size(), &m_used);
  }
  ~TarBuilder() { archive_write_free(m_a); }
  TarBuilder& file(const std::string& name, const std::string& data, std::int64_t declared = -1) {
    return entry(name, AE_IFREG, data, declared);
  }
  TarBuilder& entry(const std::string& name, unsigned type, const std::string& data = {}, std::int64_t declared = -1,
                    const std::string& link = {}) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, declared >= 0 ? declared : static_cast<la_int64_t>(data.size()));
    if (!link.empty() && type == AE_IFLNK) archive_entry_set_symlink(e, link.c_str());
    if (!link.empty() && type == AE_IFREG) archive_entry_set_hardlink(e, link.c_str());
    archive_write_header(m_a, e);
    if (!data.empty()) archive_write_data(m_a, data.data(), data.size());
    archive_write_finish_entry(m_a);
    archive_entry_free(e);
    return *this;
  }
  std::vector<std::uint8_t> bytes() {
    archive_write_close(m_a);
    return {m_buf.begin(), m_buf.begin() + static_cast<std::ptrdiff_t>(m_used)};
  }

 private:
  std::vector<std::uint8_t> m_buf = std::vector<std::uint8_t>(8u << 20);
  std::size_t m_used = 0;
  archive* m_a;
};

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(src() / "index.html", "<p>hello</p>");
    test::write_file(src() / "img/a.jpg", test::random_bytes(40'000, 3));
    auto b = create_bundle(src(), m_key, {.title = "T"}, &m_diag);
    ASSERT_TRUE(b);
    m_id = bundle_id(b.value());
    m_torrent.assign(b.value().torrent.bytes.begin(), b.value().torrent.bytes.end());
    auto env = test::read_bytes(src() / ".tamizdat/manifest");
    m_manifest.assign(env.begin(), env.end());
  }
  fs::path src() const { return m_tmp / "src"; }
  fs::path dest() const { return m_tmp / "out" / "dest"; }
  std::string file(const char* rel) const {
    auto b = test::read_bytes(src() / rel);
    return {b.begin(), b.end()};
  }
  // A correct archive's first two entries.
  TarBuilder& head(TarBuilder& t) {
    return t.file(m_id + ".torrent", m_torrent).file(m_id + "/.tamizdat/manifest", m_manifest);
  }
  // Imports and expects failure with `want`, and nothing left in out/.
  void expect_refused(std::vector<std::uint8_t> tar, errc want, std::optional<PublicKey> pub = std::nullopt) {
    fs::create_directories(dest().parent_path());
    auto r = import_bundle_from_memory(tar, dest(), {pub, 0}, &m_diag);
    ASSERT_FALSE(r) << "import accepted a bad archive";
    EXPECT_EQ(r.error(), want) << r.error().message() << " / " << m_diag.file << " / " << m_diag.detail;
    EXPECT_TRUE(test::list_tree(dest().parent_path()).empty()) << "left something behind";
  }

  test::TempDir m_tmp;
  SecretKey m_key = test::fixed_key();
  Diag m_diag;
  std::string m_id, m_torrent, m_manifest;
};

TEST_F(ArchiveTest, ExportThenImport) {
  const fs::path tar = m_tmp / "b.tar";
  auto e = export_bundle(src(), tar, {}, &m_diag);
  ASSERT_TRUE(e);
  fs::create_directories(dest().parent_path());
  auto i = import_bundle(tar, dest(), {m_key.public_key(), 0}, &m_diag);
  ASSERT_TRUE(i) << i.error().message() << " " << m_diag.file;
  EXPECT_EQ(bundle_id(i.value()), m_id);
  EXPECT_EQ(test::read_bytes(dest() / "img/a.jpg"), test::read_bytes(src() / "img/a.jpg"));
  EXPECT_EQ(test::list_tree(dest().parent_path()),
            (std::vector<std::string>{"dest", "dest/.tamizdat", "dest/.tamizdat/manifest", "dest/img", "dest/img/a.jpg",
                                      "dest/index.html"}));
  EXPECT_TRUE(verify_bundle(dest(), {}, &m_diag));
}

TEST_F(ArchiveTest, ExportIsDeterministic) {
  ASSERT_TRUE(export_bundle(src(), m_tmp / "1.tar", {}, &m_diag));
  ASSERT_TRUE(export_bundle(src(), m_tmp / "2.tar", {}, &m_diag));
  EXPECT_EQ(test::read_bytes(m_tmp / "1.tar"), test::read_bytes(m_tmp / "2.tar"));
}

TEST_F(ArchiveTest, ExportRefusesABrokenBundle) {
  test::write_file(src() / "index.html", "<p>changed</p>");
  auto e = export_bundle(src(), m_tmp / "b.tar", {}, &m_diag);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(), errc::file_changed);
  EXPECT_FALSE(fs::exists(m_tmp / "b.tar"));
}

TEST_F(ArchiveTest, HandMadeArchiveWithFolderEntriesImports) {
  TarBuilder t;
  t.entry(m_id + "/", AE_IFDIR);
  head(t).entry(m_id + "/img/", AE_IFDIR).file(m_id + "/img/a.jpg", file("img/a.jpg")).file(m_id + "/index.html",
                                                                                           file("index.html"));
  fs::create_directories(dest().parent_path());
  // The torrent must come first; folder entries before it are not allowed.
  auto r = import_bundle_from_memory(t.bytes(), dest(), {}, &m_diag);
  EXPECT_FALSE(r);
  TarBuilder ok;
  head(ok).entry(m_id + "/img/", AE_IFDIR).file(m_id + "/img/a.jpg", file("img/a.jpg")).file(m_id + "/index.html",
                                                                                           file("index.html"));
  auto r2 = import_bundle_from_memory(ok.bytes(), dest(), {}, &m_diag);
  EXPECT_TRUE(r2) << r2.error().message() << " " << m_diag.file << " " << m_diag.detail;
}

TEST_F(ArchiveTest, DestinationMustNotExist) {
  ASSERT_TRUE(export_bundle(src(), m_tmp / "b.tar", {}, &m_diag));
  fs::create_directories(dest());
  auto r = import_bundle(m_tmp / "b.tar", dest(), {}, &m_diag);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::destination_exists);
  EXPECT_TRUE(fs::is_empty(dest()));
}

// An import killed midway (SIGKILL, a power cut) leaves its hidden staging
// folder, possibly as large as the bundle. The next import into the same
// destination removes it, but not the folder of an import still running
// (which holds a lock on it) nor one of another destination.
TEST_F(ArchiveTest, ImportRemovesTheFolderAKilledImportLeft) {
  ASSERT_TRUE(export_bundle(src(), m_tmp / "b.tar", {}, &m_diag));
  const fs::path out = dest().parent_path();
  test::write_file(out / ".dest.import-Ab3xZ9" / "img" / "a.jpg", "half of a photo");
  test::write_file(out / ".dest.import-Live42" / "index.html", "an import still at work");
  test::write_file(out / ".dest.import-b.import-Qr7sT1" / "x", "another destination's");
  test::write_file(out / ".dest.import-short" / "x", "not a staging name");
  UniqueFd live(::open((out / ".dest.import-Live42").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_EQ(::flock(live.get(), LOCK_EX), 0);

  auto r = import_bundle(m_tmp / "b.tar", dest(), {}, &m_diag);
  ASSERT_TRUE(r) << r.error().message() << " " << m_diag.file;
  EXPECT_FALSE(fs::exists(out / ".dest.import-Ab3xZ9"));
  EXPECT_TRUE(fs::exists(out / ".dest.import-Live42" / "index.html"));
  EXPECT_TRUE(fs::exists(out / ".dest.import-b.import-Qr7sT1" / "x"));
  EXPECT_TRUE(fs::exists(out / ".dest.import-short" / "x"));
  EXPECT_TRUE(verify_bundle(dest(), {}, &m_diag));
}

TEST_F(ArchiveTest, PathTraversalIsRefused) {
  TarBuilder t;
  head(t).file(m_id + "/../../evil.sh", "echo pwned");
  expect_refused(t.bytes(), errc::unsafe_path);
  EXPECT_FALSE(fs::exists(m_tmp / "evil.sh"));
}

TEST_F(ArchiveTest, AbsolutePathIsRefused) {
  TarBuilder t;
  head(t).file("/tmp/evil.sh", "echo pwned");
  expect_refused(t.bytes(), errc::bad_archive);
}

TEST_F(ArchiveTest, SymlinkIsRefused) {
  TarBuilder t;
  head(t).entry(m_id + "/img", AE_IFLNK, {}, 0, "/etc");
  expect_refused(t.bytes(), errc::not_regular_file);
}

TEST_F(ArchiveTest, HardlinkIsRefused) {
  TarBuilder t;
  head(t).entry(m_id + "/index.html", AE_IFREG, {}, 0, "/etc/passwd");
  expect_refused(t.bytes(), errc::not_regular_file);
}

TEST_F(ArchiveTest, DeviceIsRefused) {
  TarBuilder t;
  head(t).entry(m_id + "/index.html", AE_IFCHR);
  expect_refused(t.bytes(), errc::not_regular_file);
}

TEST_F(ArchiveTest, OversizedEntryIsRefusedBeforeWriting) {
  // A 6 MiB "index.html" where the manifest signed 12 bytes: a tar bomb.
  TarBuilder t;
  head(t).file(m_id + "/index.html", std::string(6u << 20, 'A'));
  expect_refused(t.bytes(), errc::oversized);
}

TEST_F(ArchiveTest, UnlistedFileIsRefused) {
  TarBuilder t;
  head(t).file(m_id + "/img/a.jpg", file("img/a.jpg")).file(m_id + "/index.html", file("index.html"))
      .file(m_id + "/extra.js", "alert(1)");
  expect_refused(t.bytes(), errc::extra_file);
}

TEST_F(ArchiveTest, DuplicateEntryIsRefused) {
  TarBuilder t;
  head(t).file(m_id + "/index.html", file("index.html")).file(m_id + "/index.html", file("index.html"));
  expect_refused(t.bytes(), errc::bad_archive);
}

TEST_F(ArchiveTest, MissingFileIsRefused) {
  TarBuilder t;
  head(t).file(m_id + "/index.html", file("index.html"));
  expect_refused(t.bytes(), errc::file_missing);
}

TEST_F(ArchiveTest, ChangedContentIsRefused) {
  std::string jpg = file("img/a.jpg");
  jpg[1000] ^= 1;
  TarBuilder t;
  head(t).file(m_id + "/img/a.jpg", jpg).file(m_id + "/index.html", file("index.html"));
  expect_refused(t.bytes(), errc::file_changed);
}

TEST_F(ArchiveTest, ContentBeforeManifestIsRefused) {
  TarBuilder t;
  t.file(m_id + ".torrent", m_torrent).file(m_id + "/index.html", file("index.html"));
  expect_refused(t.bytes(), errc::bad_archive);
}

TEST_F(ArchiveTest, TamperedTorrentIsRefused) {
  std::string torrent = m_torrent;
  torrent[torrent.size() / 2] ^= 1;
  TarBuilder t;
  t.file(m_id + ".torrent", torrent).file(m_id + "/.tamizdat/manifest", m_manifest);
  t.file(m_id + "/img/a.jpg", file("img/a.jpg")).file(m_id + "/index.html", file("index.html"));
  expect_refused(t.bytes(), errc::torrent_mismatch);
}

TEST_F(ArchiveTest, ArchiveNamedAfterAnotherBundleIsRefused) {
  const std::string other(64, 'a');
  TarBuilder t;
  t.file(other + ".torrent", m_torrent).file(other + "/.tamizdat/manifest", m_manifest);
  t.file(other + "/img/a.jpg", file("img/a.jpg")).file(other + "/index.html", file("index.html"));
  expect_refused(t.bytes(), errc::bad_archive);
}

TEST_F(ArchiveTest, OtherPublisherIsRefused) {
  ASSERT_TRUE(export_bundle(src(), m_tmp / "b.tar", {}, &m_diag));
  expect_refused(test::read_bytes(m_tmp / "b.tar"), errc::wrong_publisher, test::fixed_key(8).public_key());
}

TEST_F(ArchiveTest, TruncatedArchiveIsRefused) {
  ASSERT_TRUE(export_bundle(src(), m_tmp / "b.tar", {}, &m_diag));
  auto bytes = test::read_bytes(m_tmp / "b.tar");
  for (std::size_t cut : {std::size_t{0}, std::size_t{100}, std::size_t{600}, bytes.size() / 2, bytes.size() - 1500}) {
    std::vector<std::uint8_t> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    fs::create_directories(dest().parent_path());
    auto r = import_bundle_from_memory(part, dest(), {}, &m_diag);
    EXPECT_FALSE(r) << "cut at " << cut;
    EXPECT_TRUE(test::list_tree(dest().parent_path()).empty()) << "cut at " << cut;
  }
}

TEST_F(ArchiveTest, NotATarIsRefused) {
  expect_refused(std::vector<std::uint8_t>(4096, 0x41), errc::bad_archive);
  // A gzip-compressed tar is not a plain tar.
  std::vector<std::uint8_t> gz = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3};
  gz.resize(600, 0);
  expect_refused(gz, errc::bad_archive);
}

}  // namespace
}  // namespace tz::bundle
