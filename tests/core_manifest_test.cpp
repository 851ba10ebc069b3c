#include "core/hex.h"
#include "core/manifest.h"
#include "tamizdat/v1/manifest.pb.h"
#include "test_util.h"

#include <gtest/gtest.h>

namespace tz {
namespace {

SafeRelPath P(const char* s) { return SafeRelPath::parse(s).value(); }
Sha256 root(std::uint8_t b) {
  Sha256 r{};
  r.fill(b);
  return r;
}

ManifestData sample(const SecretKey& key) {
  ManifestData m;
  m.publisher = key.public_key();
  m.created = 1700000000;
  m.title = "Reporting from the border";
  m.language = "fa";
  m.entry = P("index.html");
  m.files = {{P("img/photo.jpg"), 1000, "image/jpeg", root(1)},
             {P("index.html"), 20, "text/html; charset=utf-8", root(2)},
             {P("notes.txt"), 0, "text/plain; charset=utf-8", std::nullopt}};
  return m;
}

// Signs a hand-built protobuf payload, to test what verify does with
// manifests sign_manifest would refuse to make.
std::vector<std::uint8_t> sign_raw(const tamizdat::v1::Manifest& pb, const SecretKey& key) {
  const std::string s = pb.SerializeAsString();
  return seal_envelope(EnvelopeKind::manifest, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}, key);
}

tamizdat::v1::Manifest raw_sample(const SecretKey& key) {
  tamizdat::v1::Manifest pb;
  pb.set_version(1);
  pb.set_publisher(key.public_key().bytes.data(), 32);
  pb.set_created(1);
  pb.set_title("t");
  auto* f = pb.add_files();
  f->set_path("a.txt");
  f->set_size(5);
  f->set_media_type("text/plain");
  f->set_pieces_root(std::string(32, 'r'));
  return pb;
}

TEST(Manifest, SignAndVerifyRoundTrip) {
  const SecretKey key = test::fixed_key();
  const ManifestData m = sample(key);
  auto env = sign_manifest(m, key);
  ASSERT_TRUE(env);
  const PublicKey pk = key.public_key();
  auto v = verify_manifest(env.value(), &pk);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value().data(), m);
  EXPECT_EQ(v.value().envelope(), env.value());
  EXPECT_EQ(v.value().total_size(), 1020u);
}

TEST(Manifest, OtherPublisherIsRejected) {
  const SecretKey key = test::fixed_key();
  auto env = sign_manifest(sample(key), key).value();
  const PublicKey other = test::fixed_key(3).public_key();
  EXPECT_EQ(verify_manifest(env, &other).error(), errc::wrong_publisher);
  // A manifest naming one publisher but signed by another is refused too.
  auto pb = raw_sample(key);
  EXPECT_EQ(verify_manifest(sign_raw(pb, test::fixed_key(3))).error(), errc::wrong_publisher);
  // And sign_manifest will not sign for somebody else.
  EXPECT_EQ(sign_manifest(sample(key), test::fixed_key(3)).error(), errc::wrong_publisher);
}

TEST(Manifest, ReplayedOldManifestStillNamesItsOwnTime) {
  // Signatures do not expire: an old manifest verifies, and says how old it is.
  // Rollback protection belongs to channel heads (issue 4), not manifests.
  const SecretKey key = test::fixed_key();
  ManifestData old = sample(key);
  old.created = 1000;
  auto v = verify_manifest(sign_manifest(old, key).value());
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value().data().created, 1000);
}

TEST(Manifest, UnknownVersionIsRejected) {
  const SecretKey key = test::fixed_key();
  auto pb = raw_sample(key);
  pb.set_version(2);
  EXPECT_EQ(verify_manifest(sign_raw(pb, key)).error(), errc::unknown_version);
  pb.set_version(0);
  EXPECT_EQ(verify_manifest(sign_raw(pb, key)).error(), errc::unknown_version);
}

TEST(Manifest, SignedGarbageIsMalformed) {
  const SecretKey key = test::fixed_key();
  const std::vector<std::uint8_t> junk = {0xff, 0xff, 0xff, 0xff};
  Diag d;
  EXPECT_EQ(verify_manifest(seal_envelope(EnvelopeKind::manifest, junk, key), nullptr, &d).error(),
            errc::malformed_manifest);
  EXPECT_FALSE(d.detail.empty());
}

TEST(Manifest, UnsafePathsAreRejectedAndNamed) {
  const SecretKey key = test::fixed_key();
  for (const char* bad : {"../etc/passwd", "/abs", "a/../../b", "a\\b", "nul", "a\nb", "..", ".tamizdat/manifest",
                          ".tamizdat/x"}) {
    auto pb = raw_sample(key);
    pb.mutable_files(0)->set_path(bad);
    Diag d;
    auto r = verify_manifest(sign_raw(pb, key), nullptr, &d);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), errc::unsafe_path) << bad;
    EXPECT_EQ(d.file, bad);
  }
}

TEST(Manifest, StructuralRulesAreEnforced) {
  const SecretKey key = test::fixed_key();
  struct Case {
    const char* what;
    std::function<void(tamizdat::v1::Manifest&)> edit;
    errc want;
  };
  const std::vector<Case> cases = {
      {"no files", [](auto& pb) { pb.clear_files(); }, errc::empty_bundle},
      {"unsorted",
       [](auto& pb) {
         auto* f = pb.add_files();
         *f = pb.files(0);
         f->set_path("0.txt");
       },
       errc::malformed_manifest},
      {"duplicate", [](auto& pb) { *pb.add_files() = pb.files(0); }, errc::malformed_manifest},
      {"case collision",
       [](auto& pb) {
         auto* f = pb.add_files();
         *f = pb.files(0);
         pb.mutable_files(0)->set_path("A.txt");  // "A.txt" sorts before "a.txt"
       },
       errc::unsafe_path},
      {"file and folder",
       [](auto& pb) {
         auto* f = pb.add_files();
         *f = pb.files(0);
         f->set_path("a.txt/inner");
       },
       errc::malformed_manifest},
      {"file and folder, apart in sorted order",
       [](auto& pb) {
         // "a.txt" < "a.txt-b" < "a.txt/x": the conflict is not adjacent.
         for (const char* p : {"a.txt-b", "a.txt/x"}) {
           auto* f = pb.add_files();
           *f = pb.files(0);
           f->set_path(p);
         }
       },
       errc::malformed_manifest},
      {"short root", [](auto& pb) { pb.mutable_files(0)->set_pieces_root("abc"); }, errc::malformed_manifest},
      {"missing root", [](auto& pb) { pb.mutable_files(0)->clear_pieces_root(); }, errc::malformed_manifest},
      {"root on empty file", [](auto& pb) { pb.mutable_files(0)->set_size(0); }, errc::malformed_manifest},
      {"header injection",
       [](auto& pb) { pb.mutable_files(0)->set_media_type("text/html\r\nX: y"); },
       errc::malformed_manifest},
      {"huge file", [](auto& pb) { pb.mutable_files(0)->set_size(kMaxFileSize + 1); }, errc::oversized},
      {"entry not listed", [](auto& pb) { pb.set_entry("index.html"); }, errc::malformed_manifest},
      {"entry unsafe", [](auto& pb) { pb.set_entry("../x"); }, errc::unsafe_path},
      {"bad title", [](auto& pb) { pb.set_title("\xff\xfe"); }, errc::malformed_manifest},
      {"long title", [](auto& pb) { pb.set_title(std::string(kMaxTitleBytes + 1, 'a')); }, errc::malformed_manifest},
      {"bad language", [](auto& pb) { pb.set_language("en; rm -rf"); }, errc::malformed_manifest},
      {"short publisher", [](auto& pb) { pb.set_publisher("abc"); }, errc::malformed_manifest},
  };
  for (const auto& c : cases) {
    auto pb = raw_sample(key);
    c.edit(pb);
    auto r = verify_manifest(sign_raw(pb, key));
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error(), c.want) << c.what << ": " << r.error().message();
  }
}

TEST(Manifest, TooManyFilesIsRejected) {
  const SecretKey key = test::fixed_key();
  auto pb = raw_sample(key);
  pb.clear_files();
  for (std::size_t i = 0; i <= kMaxManifestFiles; ++i) {
    auto* f = pb.add_files();
    char name[16];
    std::snprintf(name, sizeof name, "f%07zu", i);
    f->set_path(name);
    f->set_size(0);
    f->set_media_type("text/plain");
  }
  EXPECT_EQ(verify_manifest(sign_raw(pb, key)).error(), errc::too_many_files);
}

TEST(Manifest, OversizedEnvelopeIsRejectedUnread) {
  std::vector<std::uint8_t> big(kMaxManifestBytes + 1, 0);
  EXPECT_EQ(verify_manifest(big).error(), errc::oversized);
}

TEST(Manifest, UnknownFieldsInSignedPayloadAreIgnored) {
  // Forward compatibility within version 1: a later minor addition is signed
  // and carried, and an older reader keeps working.
  const SecretKey key = test::fixed_key();
  auto pb = raw_sample(key);
  std::string s = pb.SerializeAsString();
  s += std::string("\xf8\x01\x05", 3);  // field 31, varint 5
  auto env = seal_envelope(EnvelopeKind::manifest, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}, key);
  EXPECT_TRUE(verify_manifest(env));
}

TEST(Manifest, MetadataStatementScrubMarksAndProvenanceRoundTrip) {
  const SecretKey key = test::fixed_key();
  ManifestData m = sample(key);
  m.metadata = MetadataStatement::checked;
  m.files[0].scrubbed = true;
  ProvenanceSeal seal;
  seal.salt.fill(7);
  seal.commitment.fill(9);
  m.files[0].provenance = seal;
  auto env = sign_manifest(m, key);
  ASSERT_TRUE(env);
  auto v = verify_manifest(env.value());
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value().data(), m);
  EXPECT_EQ(v.value().data().metadata, MetadataStatement::checked);

  // An unmarked manifest encodes exactly as before the fields existed, so
  // bundle IDs of old bundles do not move.
  const ManifestData plain = sample(key);
  auto plain_env = sign_manifest(plain, key);
  ASSERT_TRUE(plain_env);
  tamizdat::v1::Manifest pb;
  auto opened = open_envelope(plain_env.value(), EnvelopeKind::manifest, kMaxManifestBytes, nullptr);
  ASSERT_TRUE(opened);
  ASSERT_TRUE(pb.ParseFromArray(opened.value().payload().data(), static_cast<int>(opened.value().payload().size())));
  EXPECT_FALSE(pb.files(0).has_provenance());
  pb.clear_metadata();
  EXPECT_EQ(pb.SerializeAsString().size(), opened.value().payload().size());
}

TEST(Manifest, BadProvenanceAndUnknownStatementsAreHandled) {
  const SecretKey key = test::fixed_key();
  // Provenance on a file not marked scrubbed: sign refuses, verify rejects.
  ManifestData m = sample(key);
  m.files[0].provenance = ProvenanceSeal{};
  Diag d;
  EXPECT_EQ(sign_manifest(m, key, &d).error(), errc::malformed_manifest);
  EXPECT_EQ(d.file, "img/photo.jpg");
  auto pb = raw_sample(key);
  pb.mutable_files(0)->mutable_provenance()->set_salt(std::string(16, 's'));
  pb.mutable_files(0)->mutable_provenance()->set_commitment(std::string(32, 'c'));
  EXPECT_EQ(verify_manifest(sign_raw(pb, key)).error(), errc::malformed_manifest);
  // Wrong lengths.
  pb.mutable_files(0)->set_scrubbed(true);
  EXPECT_TRUE(verify_manifest(sign_raw(pb, key)));
  pb.mutable_files(0)->mutable_provenance()->set_salt(std::string(15, 's'));
  EXPECT_EQ(verify_manifest(sign_raw(pb, key)).error(), errc::malformed_manifest);
  pb.mutable_files(0)->mutable_provenance()->set_salt(std::string(16, 's'));
  pb.mutable_files(0)->mutable_provenance()->set_commitment(std::string(33, 'c'));
  EXPECT_EQ(verify_manifest(sign_raw(pb, key)).error(), errc::malformed_manifest);
  // A statement a later version defines reads as unstated.
  auto later = raw_sample(key);
  later.set_metadata(static_cast<tamizdat::v1::MetadataStatement>(7));
  auto v = verify_manifest(sign_raw(later, key));
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value().data().metadata, MetadataStatement::unstated);
}

TEST(Manifest, MediaStatusFollowsTheStatementAndScrubMarks) {
  const SecretKey key = test::fixed_key();
  ManifestData m = sample(key);
  EXPECT_EQ(media_status(m), "unstated");
  m.metadata = MetadataStatement::kept;
  EXPECT_EQ(media_status(m), "kept");
  m.metadata = MetadataStatement::checked;
  EXPECT_EQ(media_status(m), "checked");
  // One scrubbed file among clean ones is enough.
  m.files[2].scrubbed = true;
  EXPECT_EQ(media_status(m), "scrubbed");
  // Scrub marks without `checked` say nothing about the other files.
  m.metadata = MetadataStatement::kept;
  EXPECT_EQ(media_status(m), "kept");
  m.metadata = MetadataStatement::unstated;
  EXPECT_EQ(media_status(m), "unstated");

  // What verify gives back from signed bytes, a statement from a later
  // version included, reads the same way.
  m.metadata = MetadataStatement::checked;
  auto env = sign_manifest(m, key);
  ASSERT_TRUE(env);
  EXPECT_EQ(media_status(verify_manifest(env.value()).value().data()), kMediaScrubbed);
  auto later = raw_sample(key);
  later.mutable_files(0)->set_scrubbed(true);
  later.set_metadata(static_cast<tamizdat::v1::MetadataStatement>(7));
  EXPECT_EQ(media_status(verify_manifest(sign_raw(later, key)).value().data()), kMediaUnstated);
}

}  // namespace
}  // namespace tz
