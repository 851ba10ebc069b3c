// Runs the real `tamizdat` binary the way a publisher, a script or a reader
// would, and checks its output, JSON fields and exit codes.
#include "core/envelope.h"
#include "core/ids.h"
#include "tamizdat/v1/manifest.pb.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

extern char** environ;

namespace tz {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs tamizdat with `args`, stdin from /dev/null, no controlling terminal
// needed; returns exit code and output.
Outcome tamizdat(const std::vector<std::string>& args, const fs::path& work) {
  std::vector<std::string> all = {TZ_CLI};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const fs::path out = work / ".stdout", err = work / ".stderr";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A new session: no controlling terminal, as under CI or cron.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  Outcome r;
  if (posix_spawn(&pid, TZ_CLI, &fa, &attr, argv.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

// The value of "field":"..." or "field":number in a one-line JSON object.
std::string json_field(const std::string& json, const std::string& field) {
  const std::string key = "\"" + field + "\":";
  const auto at = json.find(key);
  if (at == std::string::npos) return {};
  auto start = at + key.size();
  if (json[start] == '"') {
    const auto end = json.find('"', start + 1);
    return json.substr(start + 1, end - start - 1);
  }
  const auto end = json.find_first_of(",}", start);
  return json.substr(start, end - start);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(m_tmp / "article/index.html", "<h1>News</h1><img src=\"photo.jpg\">");
    test::write_file(m_tmp / "article/photo.jpg", test::random_bytes(80'000, 4));
    test::write_file(m_tmp / "article/video.webm", test::random_bytes(600'000, 5));
  }
  Outcome run(std::vector<std::string> args) { return tamizdat(args, m_tmp.path()); }
  std::string path(const char* rel) const { return (m_tmp / rel).string(); }
  // Makes an unprotected key and returns its publisher ID.
  std::string make_key(const char* name = "k.key") {
    Outcome r = run({"key", "generate", "--out", path(name), "--insecure-no-passphrase", "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return json_field(r.out, "publisher_id");
  }
  test::TempDir m_tmp;
};

TEST_F(Cli, KeyGenerateAndShow) {
  const std::string id = make_key();
  EXPECT_TRUE(decode_publisher_id(id)) << id;
  struct stat st {};
  ASSERT_EQ(::stat(path("k.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Outcome show = run({"key", "show", path("k.key")});
  EXPECT_EQ(show.code, 0);
  EXPECT_EQ(show.out, id + "\n");
  EXPECT_NE(show.err.find("not protected"), std::string::npos);
  Outcome js = run({"key", "show", path("k.key"), "--json"});
  EXPECT_EQ(json_field(js.out, "publisher_id"), id);
  EXPECT_EQ(json_field(js.out, "protected"), "false");
}

TEST_F(Cli, KeyGenerateNeverOverwrites) {
  make_key();
  const auto before = test::read_bytes(path("k.key"));
  Outcome again = run({"key", "generate", "--out", path("k.key"), "--insecure-no-passphrase"});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(test::read_bytes(path("k.key")), before);
}

TEST_F(Cli, KeyGenerateWithoutTerminalOrPassphraseFileFails) {
  Outcome r = run({"key", "generate", "--out", path("k.key")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--passphrase-file"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("k.key")));
}

TEST_F(Cli, PassphraseProtectedKeyRoundTrip) {
  test::write_file(m_tmp / "pass", "a long passphrase\n");
  test::write_file(m_tmp / "wrong", "a long passphrasf\n");
  Outcome gen = run({"key", "generate", "--out", path("p.key"), "--passphrase-file", path("pass"), "--json"});
  ASSERT_EQ(gen.code, 0) << gen.err;
  EXPECT_EQ(json_field(gen.out, "protected"), "true");
  Outcome bad = run({"bundle", "create", path("article"), "--key", path("p.key"), "--passphrase-file", path("wrong")});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("wrong passphrase"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(m_tmp / "article/.tamizdat"));
  Outcome ok = run({"bundle", "create", path("article"), "--key", path("p.key"), "--passphrase-file", path("pass"),
                "--json"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(json_field(ok.out, "publisher_id"), json_field(gen.out, "publisher_id"));
}

TEST_F(Cli, BundleCreateVerifyTorrentJson) {
  const std::string id = make_key();
  Outcome c = run({"bundle", "create", path("article"), "--key", path("k.key"), "--title", "Election night", "--lang",
               "ru", "--json"});
  ASSERT_EQ(c.code, 0) << c.err;
  const std::string bid = json_field(c.out, "bundle_id");
  EXPECT_EQ(bid.size(), 64u);
  EXPECT_EQ(json_field(c.out, "publisher_id"), id);
  EXPECT_EQ(json_field(c.out, "magnet").rfind("magnet:?xt=urn:btih:", 0), 0u);
  EXPECT_EQ(json_field(c.out, "title"), "Election night");

  Outcome v = run({"bundle", "verify", path("article"), "--publisher", id, "--json"});
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(json_field(v.out, "bundle_id"), bid);
  Outcome human = run({"bundle", "verify", path("article"), "--publisher", id});
  EXPECT_EQ(human.code, 0);
  EXPECT_NE(human.out.find("Election night"), std::string::npos);
  EXPECT_NE(human.out.find("3 files"), std::string::npos);
  EXPECT_NE(human.out.find(id), std::string::npos);
  EXPECT_NE(human.out.find(bid), std::string::npos);

  Outcome t1 = run({"bundle", "torrent", path("article"), "-o", path("a.torrent")});
  Outcome t2 = run({"bundle", "torrent", path("article"), "-o", path("b.torrent")});
  ASSERT_EQ(t1.code, 0) << t1.err;
  ASSERT_EQ(t2.code, 0);
  EXPECT_EQ(test::read_bytes(path("a.torrent")), test::read_bytes(path("b.torrent")));
  const auto bytes = test::read_bytes(path("a.torrent"));
  const std::string s(bytes.begin(), bytes.end());
  EXPECT_EQ(s.find("creation date"), std::string::npos);
  EXPECT_EQ(s.find("announce"), std::string::npos);
}

// Each refusal: exit 1, the reason in words, the file named where there is one.
TEST_F(Cli, VerifyRefusalsNameTheReasonAndFile) {
  const std::string id = make_key();
  const std::string other = make_key("other.key");
  ASSERT_EQ(run({"bundle", "create", path("article"), "--key", path("k.key")}).code, 0);
  struct Case {
    std::function<void()> damage;
    std::vector<std::string> extra;
    std::string error, file, words;
  };
  const std::string manifest = path("article/.tamizdat/manifest");
  const auto original = test::read_bytes(manifest);
  const std::vector<Case> cases = {
      {[] {}, {"--publisher", other}, "wrong_publisher", "", "another publisher"},
      {[&] {
         auto b = original;
         b[b.size() - 5] ^= 1;
         test::write_bytes(manifest, b);
       },
       {}, "bad_signature", "", "bad signature"},
      {[&] { fs::remove(path("article/photo.jpg")); }, {}, "file_missing", "photo.jpg", "missing"},
      {[&] { test::write_file(m_tmp / "article/extra.html", "x"); }, {}, "extra_file", "extra.html", "not listed"},
      {[&] { test::write_file(m_tmp / "article/index.html", "<h1>Nevs</h1><img src=\"photo.jpg\">"); },
       {}, "file_changed", "index.html", "differs"},
      {[&] { fs::create_symlink("/etc/hostname", path("article/link")); }, {}, "not_regular_file", "link", "not a regular file"},
      {[&] { test::write_file(m_tmp / "article/.tamizdat/manifest", std::string(17u << 20, 'x')); },
       {}, "oversized", ".tamizdat/manifest", "larger"},
      {[&] { test::write_file(m_tmp / "article/.tamizdat/manifest", "garbage"); }, {}, "malformed_envelope", "", "malformed"},
      {[&] { fs::remove(manifest); }, {}, "no_manifest", ".tamizdat/manifest", "no manifest"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    // Fresh copy of the signed folder for each case.
    fs::remove_all(m_tmp / "case");
    fs::copy(m_tmp / "article", m_tmp / "case", fs::copy_options::recursive);
    fs::rename(m_tmp / "article", m_tmp / "keep");
    fs::rename(m_tmp / "case", m_tmp / "article");
    c.damage();
    std::vector<std::string> args = {"bundle", "verify", path("article")};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    Outcome human = run(args);
    EXPECT_EQ(human.code, 1);
    EXPECT_NE(human.err.find(c.words), std::string::npos) << human.err;
    if (!c.file.empty()) {
      EXPECT_NE(human.err.find(c.file), std::string::npos) << human.err;
    }
    args.push_back("--json");
    Outcome js = run(args);
    EXPECT_EQ(js.code, 1);
    EXPECT_EQ(json_field(js.out, "ok"), "false");
    EXPECT_EQ(json_field(js.out, "error"), c.error) << js.out;
    if (!c.file.empty()) {
      EXPECT_EQ(json_field(js.out, "file"), c.file) << js.out;
    }
    fs::remove_all(m_tmp / "article");
    fs::rename(m_tmp / "keep", m_tmp / "article");
  }
}

TEST_F(Cli, UnsafePathAndUnknownVersionAreNamed) {
  make_key();
  test::write_file(m_tmp / "article/a:b.txt", "x");
  Outcome r = run({"bundle", "create", path("article"), "--key", path("k.key"), "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json_field(r.out, "error"), "unsafe_path");
  EXPECT_EQ(json_field(r.out, "file"), "a:b.txt");
}

TEST_F(Cli, MistypedPublisherIdIsRejected) {
  const std::string id = make_key();
  ASSERT_EQ(run({"bundle", "create", path("article"), "--key", path("k.key")}).code, 0);
  std::string typo = id;
  typo[10] = typo[10] == 'a' ? 'b' : 'a';
  Outcome r = run({"bundle", "verify", path("article"), "--publisher", typo});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("checksum"), std::string::npos) << r.err;
  Outcome js = run({"bundle", "verify", path("article"), "--publisher", typo, "--json"});
  EXPECT_EQ(json_field(js.out, "error"), "bad_publisher_id");
}

TEST_F(Cli, ExportImportAndRefusal) {
  const std::string id = make_key();
  ASSERT_EQ(run({"bundle", "create", path("article"), "--key", path("k.key")}).code, 0);
  Outcome e = run({"export", path("article"), "-o", path("a.tar"), "--json"});
  ASSERT_EQ(e.code, 0) << e.err;
  Outcome i = run({"import", path("a.tar"), "--to", path("copy"), "--publisher", id, "--json"});
  ASSERT_EQ(i.code, 0) << i.err;
  EXPECT_EQ(json_field(i.out, "bundle_id"), json_field(e.out, "bundle_id"));
  EXPECT_EQ(run({"bundle", "verify", path("copy"), "--publisher", id}).code, 0);
  // Existing destination.
  Outcome again = run({"import", path("a.tar"), "--to", path("copy")});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
  // Tampered archive: flip a byte of the video inside the tar.
  auto tar = test::read_bytes(path("a.tar"));
  tar[tar.size() / 2] ^= 0x10;
  test::write_bytes(path("bad.tar"), tar);
  Outcome bad = run({"import", path("bad.tar"), "--to", path("copy2")});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("video.webm"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(path("copy2")));
  for (const auto& entry : fs::directory_iterator(m_tmp.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".copy2.import-"), std::string::npos) << "left a temp folder";
  }
  // The archive is a plain tar that `tar` reads.
  EXPECT_EQ(std::system(("tar -tf " + path("a.tar") + " > /dev/null").c_str()), 0);
}

TEST_F(Cli, OutputInsideTheBundleIsRefused) {
  make_key();
  ASSERT_EQ(run({"bundle", "create", path("article"), "--key", path("k.key")}).code, 0);
  Outcome e = run({"export", path("article"), "-o", path("article/self.tar"), "--json"});
  EXPECT_EQ(e.code, 1);
  EXPECT_EQ(json_field(e.out, "error"), "output_inside_bundle");
  Outcome t = run({"bundle", "torrent", path("article"), "-o", path("article/media/x.torrent")});
  EXPECT_EQ(t.code, 1);
  EXPECT_FALSE(fs::exists(m_tmp / "article/self.tar"));
  EXPECT_EQ(run({"bundle", "verify", path("article")}).code, 0);
}

TEST_F(Cli, EmptyPassphraseFileIsRefused) {
  test::write_file(m_tmp / "empty", "\n");
  Outcome r = run({"key", "generate", "--out", path("k.key"), "--passphrase-file", path("empty"), "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json_field(r.out, "error"), "empty_passphrase");
  EXPECT_FALSE(fs::exists(m_tmp / "k.key"));
}

// Manifests that are validly signed but must still be refused: each reason
// named through the real binary, with the file where there is one.
TEST_F(Cli, SignedButUnacceptableManifestsAreRefused) {
  const SecretKey key = test::fixed_key();
  struct Case {
    std::function<void(tamizdat::v1::Manifest&)> edit;
    std::string error, file;
  };
  const std::vector<Case> cases = {
      {[](auto& pb) { pb.set_version(2); }, "unknown_version", ""},
      {[](auto& pb) { pb.mutable_files(0)->set_path("../../etc/cron.d/x"); }, "unsafe_path", "../../etc/cron.d/x"},
      {[](auto& pb) { pb.mutable_files(0)->set_path("/etc/passwd"); }, "unsafe_path", "/etc/passwd"},
      {[](auto& pb) { pb.mutable_files(0)->set_media_type("text/html\r\nSet-Cookie: a=b"); }, "malformed_manifest",
       "index.html"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    tamizdat::v1::Manifest pb;
    pb.set_version(1);
    pb.set_publisher(key.public_key().bytes.data(), 32);
    auto* f = pb.add_files();
    f->set_path("index.html");
    f->set_size(5);
    f->set_media_type("text/html");
    f->set_pieces_root(std::string(32, 'x'));
    c.edit(pb);
    const std::string payload = pb.SerializeAsString();
    const auto env = seal_envelope(EnvelopeKind::manifest,
                                   {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, key);
    test::write_bytes(m_tmp / "signed/.tamizdat/manifest", env);
    test::write_file(m_tmp / "signed/index.html", "hello");
    Outcome r = run({"bundle", "verify", path("signed"), "--json"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(json_field(r.out, "error"), c.error) << r.out;
    if (!c.file.empty()) {
      EXPECT_EQ(json_field(r.out, "file"), c.file) << r.out;
    }
    fs::remove_all(m_tmp / "signed");
  }
}

TEST_F(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}).code, 2);
  EXPECT_EQ(run({"bundle", "verify"}).code, 2);
  EXPECT_EQ(run({"bundle", "verify", path("nonexistent")}).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
}

}  // namespace
}  // namespace tz
