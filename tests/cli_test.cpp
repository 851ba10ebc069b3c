// Runs the real `tamizdat` binary the way a publisher, a script or a reader
// would, and checks its output, JSON fields and exit codes.
#include "bundle/bundle.h"
#include "bundle/head_torrent.h"
#include "control/server.h"
#include "core/channel.h"
#include "core/dht_item.h"
#include "core/envelope.h"
#include "core/files.h"
#include "core/hex.h"
#include "core/ids.h"
#include "core/keyfile.h"
#include "core/provenance.h"
#include "tamizdat/v1/manifest.pb.h"
#include "test_util.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

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

// Runs tamizdat like tamizdat(), but with stderr on a pseudo-terminal (as a
// person at a shell has it); returns what was written there.
Outcome tamizdat_tty(const std::vector<std::string>& args, const fs::path& work) {
  std::vector<std::string> all = {TZ_CLI};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  Outcome r;
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) return r;
  const std::string slave = ::ptsname(master);
  const fs::path out = work / ".stdout";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, slave.c_str(), O_RDWR | O_NOCTTY, 0);
  pid_t pid = 0;
  std::string tty;
  if (posix_spawn(&pid, TZ_CLI, &fa, nullptr, argv.data(), environ) == 0) {
    // Drain the terminal while the command runs, so it never blocks on it.
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO once the child has closed the terminal
      tty.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(master);
  r.out = slurp(out);
  r.err = tty;
  fs::remove(out);
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
  Outcome bad = run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("p.key"), "--passphrase-file", path("wrong")});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("wrong passphrase"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(m_tmp / "article/.tamizdat"));
  Outcome ok = run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("p.key"), "--passphrase-file", path("pass"),
                "--json"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(json_field(ok.out, "publisher_id"), json_field(gen.out, "publisher_id"));
}

TEST_F(Cli, BundleCreateVerifyTorrentJson) {
  const std::string id = make_key();
  Outcome c = run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("k.key"), "--title", "Election night", "--lang",
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
  ASSERT_EQ(run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("k.key")}).code, 0);
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
  Outcome r = run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("k.key"), "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json_field(r.out, "error"), "unsafe_path");
  EXPECT_EQ(json_field(r.out, "file"), "a:b.txt");
}

TEST_F(Cli, MistypedPublisherIdIsRejected) {
  const std::string id = make_key();
  ASSERT_EQ(run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("k.key")}).code, 0);
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
  ASSERT_EQ(run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("k.key")}).code, 0);
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
  ASSERT_EQ(run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("k.key")}).code, 0);
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

// ---------------------------------------------------------------------------
// Provenance (issue 7): `provenance prove` and `provenance check` on bundles
// whose manifests carry seals. Until publishing scrubs and seals, the tests
// sign the folder through bundle::create_bundle with CreateOptions::scrubbed,
// as publishing will.

using nlohmann::json;

// Signs `dir` with the unprotected key file `key_file`, marking each file
// named in `originals` scrubbed and sealing the original given for it.
std::string create_sealed(const fs::path& dir, const fs::path& key_file,
                          const std::map<std::string, fs::path>& originals, const std::string& title = {}) {
  auto file = load_key_file(key_file);
  EXPECT_TRUE(file);
  auto key = open_key_file(file.value(), {});
  EXPECT_TRUE(key);
  bundle::CreateOptions opt;
  if (!title.empty()) opt.title = title;
  for (const auto& [path, original] : originals) {
    auto digest = sha256_of_file(original);
    EXPECT_TRUE(digest) << original;
    opt.scrubbed[path] = seal_original(key.value(), digest.value());
  }
  auto b = bundle::create_bundle(dir, key.value(), opt);
  EXPECT_TRUE(b) << b.error().message();
  return bundle::bundle_id(b.value());
}

class CliProvenance : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    // The originals: what the files were before scrubbing (metadata and all).
    test::write_file(m_tmp / "originals/photo.jpg", test::random_bytes(90'000, 40));
    test::write_file(m_tmp / "originals/video.webm", test::random_bytes(650'000, 41));
    m_id = make_key();
    m_bundle_id = create_sealed(m_tmp / "article", m_tmp / "k.key",
                                {{"photo.jpg", m_tmp / "originals/photo.jpg"},
                                 {"video.webm", m_tmp / "originals/video.webm"}});
  }
  // Proves photo.jpg into `out` and returns the proof's text.
  std::string prove_photo(const char* out = "photo.proof") {
    Outcome r = run({"provenance", "prove", path("article"), "photo.jpg", path("originals/photo.jpg"), "--key",
                     path("k.key"), "--out", path(out)});
    EXPECT_EQ(r.code, 0) << r.err;
    return slurp(m_tmp / out);
  }
  // Runs `provenance check` on `dir` with `proof` and `original` and returns
  // the error name of its --json answer ("" when it confirmed).
  std::string check_error(const char* dir, const char* proof, const char* original) {
    Outcome r = run({"provenance", "check", path(dir), path(proof), path(original), "--json"});
    if (r.code == 0) {
      EXPECT_EQ(json_field(r.out, "ok"), "true") << r.out;
      return "";
    }
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_EQ(json_field(r.out, "ok"), "false") << r.out;
    return json_field(r.out, "error");
  }
  std::string m_id, m_bundle_id;
};

TEST_F(CliProvenance, ProveThenCheckRoundTrip) {
  Outcome v = run({"bundle", "verify", path("article"), "--publisher", m_id});
  ASSERT_EQ(v.code, 0) << v.err;

  Outcome p = run({"provenance", "prove", path("article"), "photo.jpg", path("originals/photo.jpg"), "--key",
                   path("k.key"), "--out", path("photo.proof")});
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("nothing about the other files"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find(m_bundle_id), std::string::npos) << p.out;
  struct stat st {};
  ASSERT_EQ(::stat(path("photo.proof").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string proof = slurp(m_tmp / "photo.proof");
  const std::string head = R"({"tamizdat_proof":1,"bundle_id":")" + m_bundle_id + R"(","path":"photo.jpg","file_key":")";
  EXPECT_EQ(proof.rfind(head, 0), 0u) << proof;
  EXPECT_EQ(proof.size(), head.size() + 64 + 3);
  EXPECT_EQ(proof.substr(proof.size() - 3), "\"}\n");
  EXPECT_TRUE(json::accept(proof));

  // Without --out the proof alone goes to stdout, the same bytes every time.
  Outcome printed = run({"provenance", "prove", path("article"), "photo.jpg", path("originals/photo.jpg"), "--key",
                         path("k.key")});
  ASSERT_EQ(printed.code, 0) << printed.err;
  EXPECT_EQ(printed.out, proof);
  EXPECT_NE(printed.err.find("nothing about the other files"), std::string::npos) << printed.err;
  Outcome js = run({"provenance", "prove", path("article"), "photo.jpg", path("originals/photo.jpg"), "--key",
                    path("k.key"), "--json"});
  ASSERT_EQ(js.code, 0) << js.err;
  const json j = json::parse(js.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["proof"], proof);
  EXPECT_EQ(j["bundle_id"], m_bundle_id);
  EXPECT_EQ(j["publisher_id"], m_id);
  EXPECT_EQ(j["path"], "photo.jpg");

  Outcome c = run({"provenance", "check", path("article"), path("photo.proof"), path("originals/photo.jpg")});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("Confirmed"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(m_id), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(m_bundle_id), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("no --publisher given"), std::string::npos) << c.out;
  Outcome cj = run({"provenance", "check", path("article"), path("photo.proof"), path("originals/photo.jpg"), "--json",
                    "--publisher", m_id});
  ASSERT_EQ(cj.code, 0) << cj.err;
  const json k = json::parse(cj.out);
  EXPECT_EQ(k["ok"], true);
  EXPECT_EQ(k["publisher_id"], m_id);
  EXPECT_EQ(k["bundle_id"], m_bundle_id);
  EXPECT_EQ(k["path"], "photo.jpg");

  // The other sealed file proves and checks on its own.
  Outcome pv = run({"provenance", "prove", path("article"), "video.webm", path("originals/video.webm"), "--key",
                    path("k.key"), "--out", path("video.proof")});
  ASSERT_EQ(pv.code, 0) << pv.err;
  EXPECT_EQ(check_error("article", "video.proof", "originals/video.webm"), "");
  EXPECT_NE(slurp(m_tmp / "video.proof").substr(head.size()), proof.substr(head.size()));

  // A publisher ID other than the signer's is refused as for bundle verify.
  const std::string other = make_key("other.key");
  Outcome wrong = run({"provenance", "check", path("article"), path("photo.proof"), path("originals/photo.jpg"),
                       "--publisher", other, "--json"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_EQ(json_field(wrong.out, "error"), "wrong_publisher");
}

TEST_F(CliProvenance, CheckWithAnotherOriginalFails) {
  prove_photo();
  EXPECT_EQ(check_error("article", "photo.proof", "originals/photo.jpg"), "");
  // Another original, the scrubbed file itself, and the original one byte off.
  EXPECT_EQ(check_error("article", "photo.proof", "originals/video.webm"), "bad_proof");
  EXPECT_EQ(check_error("article", "photo.proof", "article/photo.jpg"), "bad_proof");
  std::string changed = slurp(m_tmp / "originals/photo.jpg");
  changed[1234] ^= 1;
  test::write_file(m_tmp / "near.jpg", changed);
  EXPECT_EQ(check_error("article", "photo.proof", "near.jpg"), "bad_proof");
  Outcome human = run({"provenance", "check", path("article"), path("photo.proof"), path("near.jpg")});
  EXPECT_EQ(human.code, 1);
  EXPECT_NE(human.err.find("NOT confirmed"), std::string::npos) << human.err;
  EXPECT_NE(human.err.find("photo.jpg"), std::string::npos) << human.err;
  EXPECT_EQ(human.out, "");

  // prove refuses to write a proof that would not check.
  Outcome p = run({"provenance", "prove", path("article"), "photo.jpg", path("near.jpg"), "--key", path("k.key"),
                   "--out", path("wrong.proof"), "--json"});
  EXPECT_EQ(p.code, 1);
  EXPECT_EQ(json_field(p.out, "error"), "bad_proof") << p.out;
  EXPECT_FALSE(fs::exists(m_tmp / "wrong.proof"));
  Outcome printed = run({"provenance", "prove", path("article"), "photo.jpg", path("near.jpg"), "--key",
                         path("k.key")});
  EXPECT_EQ(printed.code, 1);
  EXPECT_EQ(printed.out, "");
}

TEST_F(CliProvenance, ProofForAnotherFileOrBundleFails) {
  const std::string proof = prove_photo();
  const auto write_variant = [&](const char* name, const std::string& from, const std::string& to) {
    std::string t = proof;
    const auto at = t.find(from);
    ASSERT_NE(at, std::string::npos);
    t.replace(at, from.size(), to);
    test::write_file(m_tmp / name, t);
  };
  // The photo's key, pointed at the video's seal: it opens nothing there.
  write_variant("to-video.proof", R"("path":"photo.jpg")", R"("path":"video.webm")");
  EXPECT_EQ(check_error("article", "to-video.proof", "originals/video.webm"), "bad_proof");
  EXPECT_EQ(check_error("article", "to-video.proof", "originals/photo.jpg"), "bad_proof");
  // A file that was not scrubbed, and one the bundle does not have.
  write_variant("to-index.proof", R"("path":"photo.jpg")", R"("path":"index.html")");
  Outcome r = run({"provenance", "check", path("article"), path("to-index.proof"), path("originals/photo.jpg")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not scrubbed"), std::string::npos) << r.err;
  write_variant("to-missing.proof", R"("path":"photo.jpg")", R"("path":"missing.jpg")");
  EXPECT_EQ(check_error("article", "to-missing.proof", "originals/photo.jpg"), "bad_proof");

  // Another bundle sealing the very same originals (new salts).
  fs::copy(m_tmp / "article", m_tmp / "second", fs::copy_options::recursive);
  fs::remove_all(m_tmp / "second/.tamizdat");
  const std::string second_id = create_sealed(m_tmp / "second", m_tmp / "k.key",
                                              {{"photo.jpg", m_tmp / "originals/photo.jpg"}}, "Second edition");
  ASSERT_NE(second_id, m_bundle_id);
  Outcome moved = run({"provenance", "check", path("second"), path("photo.proof"), path("originals/photo.jpg"),
                       "--json"});
  EXPECT_EQ(moved.code, 1);
  EXPECT_EQ(json_field(moved.out, "error"), "bad_proof");
  EXPECT_NE(json_field(moved.out, "detail").find("the proof is for bundle " + m_bundle_id), std::string::npos)
      << moved.out;
  // Even with the other bundle's ID written in, the first seal's key does not
  // open the second seal of the same original.
  write_variant("to-second.proof", m_bundle_id, second_id);
  EXPECT_EQ(check_error("second", "to-second.proof", "originals/photo.jpg"), "bad_proof");
  // The second bundle's own proof works, and differs in its key.
  Outcome p2 = run({"provenance", "prove", path("second"), "photo.jpg", path("originals/photo.jpg"), "--key",
                    path("k.key"), "--out", path("second.proof")});
  ASSERT_EQ(p2.code, 0) << p2.err;
  EXPECT_EQ(check_error("second", "second.proof", "originals/photo.jpg"), "");
  EXPECT_NE(json_field(slurp(m_tmp / "second.proof"), "file_key"), json_field(proof, "file_key"));
}

TEST_F(CliProvenance, TamperedProofOrBundleFails) {
  const std::string proof = prove_photo();
  const std::string key_hex = json_field(proof, "file_key");
  ASSERT_EQ(key_hex.size(), 64u);
  struct Case {
    std::string name, text, error;
  };
  std::string flipped = proof;
  const auto at = proof.find(key_hex) + 10;
  flipped[at] = flipped[at] == '0' ? '1' : '0';
  std::string upper = proof;
  for (std::size_t i = proof.find(key_hex); i < proof.find(key_hex) + 64; ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  const std::vector<Case> cases = {
      {"key digit changed", flipped, "bad_proof"},
      {"trailing space", proof + " ", "bad_proof"},
      {"truncated", proof.substr(0, proof.size() - 10), "bad_proof"},
      {"no newline", proof.substr(0, proof.size() - 1), "bad_proof"},
      {"upper-case hex", upper, "bad_proof"},
      {"pretty printed", json::parse(proof).dump(2) + "\n", "bad_proof"},
      {"empty", "", "bad_proof"},
      {"huge", proof + std::string(3000, ' '), "oversized"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    test::write_file(m_tmp / "t.proof", c.text);
    Outcome r = run({"provenance", "check", path("article"), path("t.proof"), path("originals/photo.jpg"), "--json"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(json_field(r.out, "error"), c.error) << r.out;
    if (c.name != "key digit changed") {
      EXPECT_EQ(json_field(r.out, "file"), path("t.proof")) << r.out;
      EXPECT_NE(json_field(r.out, "detail"), "") << r.out;
    }
    EXPECT_EQ(r.out.find(key_hex), std::string::npos) << "the refusal repeats the key";
  }
  // A bundle changed after signing fails its own verification first.
  test::write_file(m_tmp / "article/index.html", "<h1>Changed</h1>");
  EXPECT_EQ(check_error("article", "photo.proof", "originals/photo.jpg"), "file_changed");
}

TEST_F(CliProvenance, ProveNeedsThePublishersKeyAndASeal) {
  make_key("other.key");
  Outcome r = run({"provenance", "prove", path("article"), "photo.jpg", path("originals/photo.jpg"), "--key",
                   path("other.key"), "--out", path("x.proof")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("only its publisher"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(m_tmp / "x.proof"));
  Outcome js = run({"provenance", "prove", path("article"), "photo.jpg", path("originals/photo.jpg"), "--key",
                    path("other.key"), "--json"});
  EXPECT_EQ(json_field(js.out, "error"), "wrong_publisher") << js.out;
  EXPECT_EQ(js.out.find("file_key"), std::string::npos);

  // A file without a seal, a file the bundle does not have, an unsafe path.
  Outcome unsealed = run({"provenance", "prove", path("article"), "index.html", path("originals/photo.jpg"), "--key",
                          path("k.key"), "--json"});
  EXPECT_EQ(json_field(unsealed.out, "error"), "bad_proof") << unsealed.out;
  EXPECT_EQ(json_field(unsealed.out, "file"), "index.html") << unsealed.out;
  Outcome missing = run({"provenance", "prove", path("article"), "nope.jpg", path("originals/photo.jpg"), "--key",
                         path("k.key"), "--json"});
  EXPECT_EQ(json_field(missing.out, "error"), "bad_proof") << missing.out;
  Outcome unsafe = run({"provenance", "prove", path("article"), "../photo.jpg", path("originals/photo.jpg"), "--key",
                        path("k.key"), "--json"});
  EXPECT_EQ(json_field(unsafe.out, "error"), "unsafe_path") << unsafe.out;
  // The proof may not be written into the bundle it is about.
  Outcome inside = run({"provenance", "prove", path("article"), "photo.jpg", path("originals/photo.jpg"), "--key",
                        path("k.key"), "--out", path("article/photo.proof"), "--json"});
  EXPECT_EQ(json_field(inside.out, "error"), "output_inside_bundle") << inside.out;
  EXPECT_FALSE(fs::exists(m_tmp / "article/photo.proof"));
  EXPECT_EQ(run({"bundle", "verify", path("article")}).code, 0);

  // Usage errors.
  EXPECT_EQ(run({"provenance"}).code, 2);
  EXPECT_EQ(run({"provenance", "prove", path("article"), "photo.jpg"}).code, 2);
  EXPECT_EQ(run({"provenance", "check", path("article"), path("nonexistent"), path("originals/photo.jpg")}).code, 2);
}

// ---------------------------------------------------------------------------
// Commands that talk to the daemon, against a fake daemon: the real control
// server (tz::control::Server) on its own io thread, answering with what each
// test scripts and recording every request. Real multi-node runs are in
// daemon_tests.

using tamizdat::v1::BundleInfo;
using tamizdat::v1::Request;
using tamizdat::v1::Response;
using nlohmann::json;

class FakeDaemon {
 public:
  using Answer = std::function<Response(const Request&)>;
  FakeDaemon(const fs::path& data_dir, Answer answer)
      : m_answer(std::move(answer)), m_work(boost::asio::make_work_guard(m_io)) {
    fs::create_directories(data_dir);
    m_server = std::make_unique<control::Server>(m_io, data_dir / "control.sock",
                                                 [this](const Request& req, control::Reply reply) {
                                                   {
                                                     std::lock_guard lock(m_mutex);
                                                     m_requests.push_back(req);
                                                   }
                                                   reply(m_answer(req));
                                                 });
    EXPECT_TRUE(m_server->start());
    m_thread = std::thread([this] { m_io.run(); });
  }
  ~FakeDaemon() {
    std::promise<void> stopped;
    boost::asio::post(m_io, [&] {
      m_server.reset();
      stopped.set_value();
    });
    stopped.get_future().wait();
    m_work.reset();
    m_io.stop();
    m_thread.join();
  }
  std::vector<Request> requests() {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  // The requests of one kind, in order.
  std::vector<Request> requests(Request::BodyCase kind) {
    std::vector<Request> out;
    for (auto& r : requests()) {
      if (r.body_case() == kind) out.push_back(r);
    }
    return out;
  }

 private:
  Answer m_answer;
  boost::asio::io_context m_io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> m_work;
  std::unique_ptr<control::Server> m_server;
  std::thread m_thread;
  std::mutex m_mutex;
  std::vector<Request> m_requests;
};

Response ok() {
  Response r;
  r.set_ok(true);
  return r;
}

Response with_head(const std::vector<std::uint8_t>& envelope) {
  Response r = ok();
  r.mutable_get_head()->set_envelope(envelope.data(), envelope.size());
  return r;
}

BundleInfo info(const std::string& id, const std::string& state, std::uint64_t size, std::uint64_t downloaded,
                bool own = false, const std::string& error = {}) {
  BundleInfo b;
  b.set_bundle_id(id);
  b.set_publisher_id(encode_publisher_id(test::fixed_key().public_key()));
  b.set_title("Bundle " + id.substr(0, 4));
  b.set_state(state);
  b.set_path(state == "verified" ? "/node/bundles/" + id : "");
  b.set_size(size);
  b.set_downloaded(downloaded);
  b.set_own(own);
  b.set_error(error);
  return b;
}

Response list_of(const std::vector<BundleInfo>& bundles, std::uint64_t head_seq = 0, std::uint32_t head_bundles = 0) {
  Response r = ok();
  auto* l = r.mutable_list();
  for (const auto& b : bundles) *l->add_bundles() = b;
  l->set_head_seq(head_seq);
  l->set_head_bundles(head_bundles);
  return r;
}

// Answers Publish as the real daemon would, from what it was sent.
Response published(const Request& req) {
  const auto& env = req.publish().head_envelope();
  auto h = verify_head({reinterpret_cast<const std::uint8_t*>(env.data()), env.size()});
  if (!h) return control::error_response("bad_signature", "head does not verify");
  Response r = ok();
  const auto& e = h.value().data().bundles.back();
  r.mutable_publish()->set_bundle_id(to_hex(e.bundle_id));
  r.mutable_publish()->set_publisher_id(encode_publisher_id(h.value().data().publisher));
  r.mutable_publish()->set_seq(h.value().data().seq);
  r.mutable_publish()->set_magnet("magnet:?from-the-daemon");
  return r;
}

const std::string kBid1(64, 'a');
const std::string kBid2(64, 'b');

class CliDaemon : public Cli {
 protected:
  std::string node() const { return (m_tmp / "node").string(); }
  // Writes the fixed test key (unprotected) and returns its path.
  std::string fixed_key_file() {
    const fs::path p = m_tmp / "fixed.key";
    if (!fs::exists(p)) {
      auto sealed = seal_key_file(test::fixed_key(), {}, default_kdf_limits());
      EXPECT_TRUE(sealed);
      EXPECT_TRUE(save_key_file(p, sealed.value()));
    }
    return p.string();
  }
  // A head of the fixed key at `seq` listing `entries`.
  static std::vector<std::uint8_t> head(std::uint64_t seq, std::vector<HeadEntry> entries, std::uint8_t key = 0) {
    HeadData h;
    h.publisher = test::fixed_key(key).public_key();
    h.seq = seq;
    h.created = 1767225600;
    h.bundles = std::move(entries);
    return sign_head(h, test::fixed_key(key)).value();
  }
  static HeadEntry other_entry() {
    HeadEntry e;
    e.bundle_id.fill(0x77);
    e.info_hash_v1.fill(0x66);
    e.title = "Earlier";
    e.size = 1234;
    e.created = 1767000000;
    return e;
  }
  std::uint64_t content_bytes() const {
    return fs::file_size(m_tmp / "article/index.html") + fs::file_size(m_tmp / "article/photo.jpg") +
           fs::file_size(m_tmp / "article/video.webm");
  }
};

TEST_F(CliDaemon, PublishSignsTheFirstHeadAndItsPointer) {
  const std::string id = make_key();
  FakeDaemon d(node(), [](const Request& req) { return req.has_publish() ? published(req) : ok(); });
  Outcome r = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", path("k.key"), "--title",
                   "Election night", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const json out = json::parse(r.out);
  EXPECT_EQ(out["ok"], true);
  EXPECT_EQ(out["publisher_id"], id);
  EXPECT_EQ(out["seq"], 1);
  EXPECT_EQ(out["magnet"], "magnet:?from-the-daemon");
  ASSERT_TRUE(fs::exists(m_tmp / "article/.tamizdat/manifest"));

  const auto reqs = d.requests();
  ASSERT_EQ(reqs.size(), 2u);
  ASSERT_TRUE(reqs[0].has_get_head());
  EXPECT_EQ(reqs[0].get_head().publisher_id(), id);
  ASSERT_TRUE(reqs[1].has_publish());
  const auto& p = reqs[1].publish();
  EXPECT_EQ(p.bundle_dir(), fs::canonical(m_tmp / "article").string());
  const PublicKey pk = decode_publisher_id(id).value();
  const std::vector<std::uint8_t> env(p.head_envelope().begin(), p.head_envelope().end());
  auto h = verify_head(env, &pk);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h.value().data().seq, 1u);
  EXPECT_EQ(h.value().data().expires, 0);
  EXPECT_NEAR(static_cast<double>(h.value().data().created), static_cast<double>(std::time(nullptr)), 60);
  ASSERT_EQ(h.value().data().bundles.size(), 1u);
  const HeadEntry& e = h.value().data().bundles[0];
  EXPECT_EQ(to_hex(e.bundle_id), out["bundle_id"]);
  EXPECT_EQ(e.title, "Election night");
  // The torrent's content: files and manifest (docs/protocol.md §9).
  EXPECT_EQ(e.size, content_bytes() + fs::file_size(m_tmp / "article/.tamizdat/manifest"));
  Outcome v = run({"bundle", "verify", path("article"), "--json"});
  ASSERT_EQ(v.code, 0);
  const json vj = json::parse(v.out);
  EXPECT_EQ(vj["bundle_id"], to_hex(e.bundle_id));
  EXPECT_EQ(vj["info_hash_v1"], to_hex(e.info_hash_v1));
  EXPECT_EQ(vj["created"], e.created);
  // The DHT item points at the head's torrent, signed at the head's seq.
  auto ht = bundle::build_head_torrent(env);
  ASSERT_TRUE(ht);
  const std::vector<std::uint8_t> sig(p.dht_signature().begin(), p.dht_signature().end());
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(verify_channel_pointer(pk, encode_channel_pointer(ht.value().info_hash_v1), 1, sig));
}

TEST_F(CliDaemon, PublishAppendsToTheHeldHead) {
  const std::string key = fixed_key_file();
  const auto held = head(4, {other_entry()});
  FakeDaemon d(node(), [&](const Request& req) {
    if (req.has_get_head()) return with_head(held);
    return published(req);
  });
  Outcome r = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", key});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Published \"article\" as seq 5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(encode_publisher_id(test::fixed_key().public_key())), std::string::npos);
  EXPECT_NE(r.out.find("magnet:?from-the-daemon"), std::string::npos);
  const auto pubs = d.requests(Request::kPublish);
  ASSERT_EQ(pubs.size(), 1u);
  const auto& env = pubs[0].publish().head_envelope();
  auto h = verify_head({reinterpret_cast<const std::uint8_t*>(env.data()), env.size()});
  ASSERT_TRUE(h);
  EXPECT_EQ(h.value().data().seq, 5u);
  ASSERT_EQ(h.value().data().bundles.size(), 2u);
  EXPECT_EQ(h.value().data().bundles[0], other_entry());  // kept, oldest first
  EXPECT_EQ(h.value().data().bundles[1].title, "article");
}

TEST_F(CliDaemon, PublishingAListedBundleAgainSendsNothing) {
  const std::string key = fixed_key_file();
  Outcome c = run({"bundle", "create", path("article"), "--keep-metadata", "--key", key, "--json"});
  ASSERT_EQ(c.code, 0) << c.err;
  const json cj = json::parse(c.out);
  HeadEntry mine;
  const auto bid = test::unhex(cj["bundle_id"].get<std::string>());
  const auto ih = test::unhex(cj["info_hash_v1"].get<std::string>());
  ASSERT_EQ(bid.size(), 32u);
  ASSERT_EQ(ih.size(), 20u);
  std::copy(bid.begin(), bid.end(), mine.bundle_id.begin());
  std::copy(ih.begin(), ih.end(), mine.info_hash_v1.begin());
  mine.title = cj["title"];
  mine.size = 1;
  const auto held = head(7, {other_entry(), mine});
  FakeDaemon d(node(), [&](const Request& req) { return req.has_get_head() ? with_head(held) : published(req); });
  Outcome r = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", key, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_EQ(out["seq"], 7);
  EXPECT_EQ(out["bundle_id"], cj["bundle_id"]);
  EXPECT_EQ(out["already_published"], true);
  EXPECT_EQ(out["magnet"].get<std::string>().rfind("magnet:?xt=urn:btih:" + cj["info_hash_v1"].get<std::string>(), 0),
            0u);
  EXPECT_TRUE(d.requests(Request::kPublish).empty());
  Outcome human = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", key});
  EXPECT_EQ(human.code, 0);
  EXPECT_NE(human.out.find("Already published \"article\" at seq 7"), std::string::npos) << human.out;
  EXPECT_TRUE(d.requests(Request::kPublish).empty());
}

TEST_F(CliDaemon, PublishRefusesAHeldHeadThatDoesNotVerify) {
  const std::string key = fixed_key_file();
  const auto foreign = head(3, {other_entry()}, 0x40);  // signed by another key
  auto tampered = head(3, {other_entry()});
  tampered[tampered.size() - 3] ^= 1;
  for (const auto& bad : {foreign, tampered}) {
    FakeDaemon d(node(), [&](const Request& req) { return req.has_get_head() ? with_head(bad) : published(req); });
    Outcome r = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", key, "--json"});
    EXPECT_EQ(r.code, 1) << r.out;
    const json out = json::parse(r.out);
    EXPECT_EQ(out["ok"], false);
    EXPECT_TRUE(out["error"] == "wrong_publisher" || out["error"] == "bad_signature") << r.out;
    EXPECT_NE(out["detail"].get<std::string>().find("does not verify"), std::string::npos);
    EXPECT_TRUE(d.requests(Request::kPublish).empty());
  }
}

TEST_F(CliDaemon, PublishReportsTheDaemonsRefusal) {
  const std::string key = fixed_key_file();
  FakeDaemon d(node(), [](const Request& req) {
    return req.has_publish() ? control::error_response("stale_head", "a newer head is held") : ok();
  });
  Outcome human = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", key});
  EXPECT_EQ(human.code, 1);
  EXPECT_NE(human.err.find("stale_head"), std::string::npos) << human.err;
  EXPECT_NE(human.err.find("a newer head is held"), std::string::npos) << human.err;
  Outcome js = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", key, "--json"});
  EXPECT_EQ(js.code, 1);
  EXPECT_EQ(json::parse(js.out)["error"], "stale_head");
}

TEST_F(CliDaemon, WithoutADaemonCommandsNameTheSocket) {
  make_key();
  const std::string sock = (m_tmp / "node/control.sock").string();
  const std::vector<std::vector<std::string>> cmds = {
      {"publish", path("article"), "--keep-metadata", "--key", path("k.key")},
      {"fetch", encode_publisher_id(test::fixed_key().public_key())},
      {"share"},
      {"ls"}};
  for (auto args : cmds) {
    args.insert(args.begin(), {"--data-dir", node()});
    Outcome r = run(args);
    EXPECT_EQ(r.code, 1) << args[2];
    EXPECT_NE(r.err.find(sock), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is tamizdatd running"), std::string::npos) << r.err;
    args.push_back("--json");
    Outcome j = run(args);
    EXPECT_EQ(j.code, 1);
    EXPECT_EQ(json::parse(j.out)["file"], sock) << j.out;
  }
  // Publish found out before signing anything.
  EXPECT_FALSE(fs::exists(m_tmp / "article/.tamizdat"));
}

TEST_F(CliDaemon, PublishRefusesAManifestByAnotherKeyBeforeAskingTheDaemon) {
  make_key();
  make_key("other.key");
  ASSERT_EQ(run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("other.key")}).code, 0);
  const auto manifest = test::read_bytes(m_tmp / "article/.tamizdat/manifest");
  // No daemon runs: refusing the manifest must not need one.
  Outcome r = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", path("k.key"), "--json"});
  EXPECT_EQ(r.code, 1);
  const json out = json::parse(r.out);
  EXPECT_EQ(out["error"], "wrong_publisher") << r.out;
  EXPECT_EQ(out["file"], ".tamizdat/manifest");
  Outcome human = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", path("k.key")});
  EXPECT_EQ(human.code, 1);
  EXPECT_NE(human.err.find("signed by another key"), std::string::npos) << human.err;
  EXPECT_EQ(test::read_bytes(m_tmp / "article/.tamizdat/manifest"), manifest);
}

TEST_F(CliDaemon, PublishRefusesOptionsTheSignedManifestContradicts) {
  make_key();
  ASSERT_EQ(run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("k.key"), "--title", "One"}).code, 0);
  FakeDaemon d(node(), [](const Request& req) { return req.has_publish() ? published(req) : ok(); });
  Outcome r = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", path("k.key"), "--title", "Two", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json::parse(r.out)["error"], "manifest_differs");
  EXPECT_TRUE(d.requests().empty());
  // The same title is no contradiction.
  Outcome same = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", path("k.key"), "--title", "One"});
  EXPECT_EQ(same.code, 0) << same.err;
  EXPECT_NE(same.out.find("Published \"One\" as seq 1"), std::string::npos);
}

TEST_F(CliDaemon, PublishOfAChangedBundleIsRefused) {
  make_key();
  ASSERT_EQ(run({"bundle", "create", path("article"), "--keep-metadata", "--key", path("k.key")}).code, 0);
  test::write_file(m_tmp / "article/index.html", "<h1>Changed</h1>");
  FakeDaemon d(node(), [](const Request& req) { return req.has_publish() ? published(req) : ok(); });
  Outcome r = run({"--data-dir", node(), "publish", path("article"), "--keep-metadata", "--key", path("k.key"), "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json::parse(r.out)["error"], "file_changed") << r.out;
  EXPECT_TRUE(d.requests(Request::kPublish).empty());
}

// Source safety on the publish path: a photo with a GPS position is refused
// before anything reaches the daemon; --scrub scrubs and signs again, even a
// folder signed earlier; a bundle signed with its metadata kept on purpose
// publishes with a warning.
TEST_F(CliDaemon, PublishRefusesAPhotoWithGpsUntilScrubbedOrKeptOnPurpose) {
  const std::string key = fixed_key_file();
  const fs::path cam = m_tmp / "camera";
  test::write_file(cam / "index.html", "<img src=\"boxes.jpg\">");
  const std::string photo = (cam / "boxes.jpg").string();
  ASSERT_EQ(std::system(("ffmpeg -v error -f lavfi -i testsrc=size=64x48 -frames:v 1 '" + photo + "'").c_str()), 0);
  ASSERT_EQ(std::system(("exiftool -q -overwrite_original -GPSLatitude=43.2567 -GPSLatitudeRef=N "
                         "-GPSLongitude=76.9286 -GPSLongitudeRef=E -SerialNumber=R58T90ABCDE '" + photo + "'")
                            .c_str()),
            0);
  FakeDaemon d(node(), [](const Request& req) { return req.has_publish() ? published(req) : ok(); });
  Outcome refused = run({"--data-dir", node(), "publish", cam.string(), "--key", key, "--json"});
  EXPECT_EQ(refused.code, 1);
  const json rj = json::parse(refused.out);
  EXPECT_EQ(rj["error"], "metadata_found");
  ASSERT_EQ(rj["files"].size(), 1u);
  EXPECT_EQ(rj["files"][0]["path"], "boxes.jpg");
  EXPECT_FALSE(fs::exists(cam / ".tamizdat/manifest"));
  EXPECT_TRUE(d.requests(Request::kPublish).empty());

  // Signed earlier by a Tamizdat that did not check (or another tool): still refused.
  {
    bundle::CreateOptions opt;
    ASSERT_TRUE(bundle::create_bundle(cam, test::fixed_key(), opt));
  }
  Outcome old = run({"--data-dir", node(), "publish", cam.string(), "--key", key, "--json"});
  EXPECT_EQ(old.code, 1);
  EXPECT_EQ(json::parse(old.out)["error"], "metadata_found");
  EXPECT_TRUE(d.requests(Request::kPublish).empty());

  // --scrub removes it, signs the folder again and publishes.
  Outcome scrubbed = run({"--data-dir", node(), "publish", cam.string(), "--key", key, "--scrub", "--json"});
  ASSERT_EQ(scrubbed.code, 0) << scrubbed.out << scrubbed.err;
  ASSERT_EQ(d.requests(Request::kPublish).size(), 1u);
  auto m = verify_manifest(test::read_bytes(cam / ".tamizdat/manifest"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m.value().data().metadata, MetadataStatement::checked);
  for (const auto& f : m.value().data().files) EXPECT_EQ(f.scrubbed, f.path.str() == "boxes.jpg");
  const auto bytes = test::read_bytes(cam / "boxes.jpg");
  const std::string serial = "R58T90ABCDE";
  EXPECT_EQ(std::search(bytes.begin(), bytes.end(), serial.begin(), serial.end()), bytes.end());

  // Kept on purpose when signed: publishes as it is, with a warning.
  const fs::path evidence = m_tmp / "evidence";
  fs::create_directories(evidence);
  fs::copy_file(m_tmp / "article/video.webm", evidence / "leaked.bin");
  ASSERT_EQ(run({"bundle", "create", evidence.string(), "--key", key, "--keep-metadata"}).code, 0);
  Outcome kept = run({"--data-dir", node(), "publish", evidence.string(), "--key", key});
  EXPECT_EQ(kept.code, 0) << kept.err;
  EXPECT_NE(kept.err.find("metadata kept"), std::string::npos) << kept.err;
  EXPECT_EQ(d.requests(Request::kPublish).size(), 2u);
}

// A channel fetch: the head arrives, then its bundles, one by one.
TEST_F(CliDaemon, FetchChannelWaitsUntilEveryBundleIsVerified) {
  const std::string id = encode_publisher_id(test::fixed_key().public_key());
  for (const bool as_json : {false, true}) {
    int polls = 0;
    FakeDaemon d(node(), [&](const Request& req) {
      if (req.has_fetch()) {
        Response r = ok();
        r.mutable_fetch()->set_publisher_id(id);
        return r;
      }
      switch (++polls) {
        case 1: return list_of({});
        case 2: return list_of({info(kBid1, "downloading", 1000, 0)}, 2, 2);
        case 3: return list_of({info(kBid1, "downloading", 1000, 500), info(kBid2, "verified", 10, 10)}, 2, 2);
        default: return list_of({info(kBid1, "verified", 1000, 1000), info(kBid2, "verified", 10, 10)}, 2, 2);
      }
    });
    std::vector<std::string> args = {"--data-dir", node(), "fetch", id};
    if (as_json) args.push_back("--json");
    Outcome r = run(args);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(r.err.find('\r'), std::string::npos) << "progress drawn on a non-terminal";
    const auto lists = d.requests(Request::kList);
    ASSERT_EQ(lists.size(), 4u);
    for (const auto& l : lists) EXPECT_EQ(l.list().publisher_id(), id);
    EXPECT_EQ(d.requests(Request::kFetch)[0].fetch().link(), id);
    if (as_json) {
      const json out = json::parse(r.out);
      EXPECT_EQ(out["ok"], true);
      ASSERT_EQ(out["bundles"].size(), 2u);
      EXPECT_EQ(out["bundles"][0]["bundle_id"], kBid1);
      EXPECT_EQ(out["bundles"][0]["state"], "verified");
      EXPECT_EQ(out["bundles"][0]["downloaded"], 1000);
      EXPECT_EQ(out["bundles"][0]["own"], false);
    } else {
      EXPECT_NE(r.out.find("2 bundles verified"), std::string::npos) << r.out;
    }
  }
}

TEST_F(CliDaemon, FetchBundleThatFailsExitsOne) {
  FakeDaemon d(node(), [&](const Request& req) {
    if (req.has_fetch()) {
      Response r = ok();
      r.mutable_fetch()->set_bundle_id(kBid1);
      return r;
    }
    // Other bundles in the list are not this fetch's business.
    return list_of({info(kBid2, "downloading", 10, 0), info(kBid1, "failed", 1000, 0, false, "bundle_mismatch")});
  });
  Outcome r = run({"--data-dir", node(), "fetch", "magnet:?xt=urn:btih:" + std::string(40, '1'), "--json"});
  EXPECT_EQ(r.code, 1);
  const json out = json::parse(r.out);
  EXPECT_EQ(out["ok"], false);
  EXPECT_EQ(out["bundle_id"], kBid1);
  ASSERT_EQ(out["bundles"].size(), 1u);
  EXPECT_EQ(out["bundles"][0]["error"], "bundle_mismatch");
  EXPECT_EQ(d.requests(Request::kList)[0].list().publisher_id(), "");
  Outcome human = run({"--data-dir", node(), "fetch", "magnet:?xt=urn:btih:" + std::string(40, '1')});
  EXPECT_EQ(human.code, 1);
  EXPECT_NE(human.err.find("failed"), std::string::npos) << human.err;
  EXPECT_NE(human.err.find("bundle_mismatch"), std::string::npos) << human.err;
}

TEST_F(CliDaemon, FetchGivesUpAfterTheTimeout) {
  const std::string id = encode_publisher_id(test::fixed_key().public_key());
  FakeDaemon d(node(), [&](const Request& req) {
    if (req.has_fetch()) {
      Response r = ok();
      r.mutable_fetch()->set_publisher_id(id);
      return r;
    }
    return list_of({});  // the head never comes
  });
  const auto start = std::chrono::steady_clock::now();
  Outcome r = run({"--data-dir", node(), "fetch", id, "--timeout", "1.5"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("timed out after 1.5 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no channel head"), std::string::npos) << r.err;
  EXPECT_GE(took, std::chrono::milliseconds(1400));
  EXPECT_LT(took, std::chrono::seconds(10));
  Outcome js = run({"--data-dir", node(), "fetch", id, "--timeout", "0.5", "--json"});
  EXPECT_EQ(js.code, 1);
  EXPECT_EQ(json::parse(js.out)["error"], "timed_out");
}

TEST_F(CliDaemon, FetchNoWaitOnlyStartsIt) {
  FakeDaemon d(node(), [&](const Request&) {
    Response r = ok();
    r.mutable_fetch()->set_bundle_id(kBid1);
    return r;
  });
  Outcome r = run({"--data-dir", node(), "fetch", "magnet:?xt=urn:btih:" + std::string(40, '1'), "--no-wait"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Fetching bundle " + kBid1), std::string::npos) << r.out;
  Outcome js = run({"--data-dir", node(), "fetch", "x", "--no-wait", "--json"});
  EXPECT_EQ(json::parse(js.out)["bundle_id"], kBid1);
  EXPECT_EQ(d.requests().size(), 2u);  // two fetches, no polling
}

TEST_F(CliDaemon, FetchReportsARefusedLink) {
  FakeDaemon d(node(), [](const Request&) {
    return control::error_response("bad_link", "link: not a publisher ID or a bundle magnet link");
  });
  Outcome r = run({"--data-dir", node(), "fetch", "not-a-link"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad_link"), std::string::npos) << r.err;
  Outcome js = run({"--data-dir", node(), "fetch", "not-a-link", "--json"});
  EXPECT_EQ(js.code, 1);
  EXPECT_EQ(json::parse(js.out)["error"], "bad_link");
}

TEST_F(CliDaemon, OpenPrintsWhereTheGatewayShowsALink) {
  const PublicKey pk = test::fixed_key().public_key();
  const std::string id = encode_publisher_id(pk);
  FakeDaemon d(node(), [&](const Request& q) {
    Response r = ok();
    if (q.has_status()) r.mutable_status()->set_gateway("http://localhost:8733/");
    if (q.has_fetch() && q.fetch().link() == id) r.mutable_fetch()->set_publisher_id(id);
    if (q.has_fetch() && q.fetch().link() != id) r.mutable_fetch()->set_bundle_id(kBid1);
    return r;
  });
  // A channel: followed, shown on the home page.
  Outcome r = run({"--data-dir", node(), "open", id});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "http://localhost:8733/#ch-" + id + "\n");
  // A bundle link naming its publisher: its own origin.
  const std::string magnet = "magnet:?xt=urn:btih:" + std::string(40, '1') + "&xt=urn:btmh:1220" + kBid1 + "&x.tz=" + id;
  Outcome js = run({"--data-dir", node(), "open", magnet, "--json"});
  EXPECT_EQ(js.code, 0) << js.err;
  EXPECT_EQ(json::parse(js.out)["url"], "http://" + id + ".localhost:8733/" + kBid1 + "/");
  EXPECT_EQ(json::parse(js.out)["bundle_id"], kBid1);
  // Without the publisher: its place on the home page.
  js = run({"--data-dir", node(), "open", "magnet:?xt=urn:btih:" + std::string(40, '1') + "&xt=urn:btmh:1220" + kBid1,
            "--json"});
  EXPECT_EQ(json::parse(js.out)["url"], "http://localhost:8733/#b-" + kBid1);
  EXPECT_EQ(d.requests(Request::kFetch).size(), 3u);
}

TEST_F(CliDaemon, OpenSaysWhenTheGatewayIsOff) {
  FakeDaemon d(node(), [](const Request&) { return ok(); });
  Outcome r = run({"--data-dir", node(), "open", "x", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json::parse(r.out)["error"], "gateway_off");
  EXPECT_TRUE(d.requests(Request::kFetch).empty());
}

TEST_F(CliDaemon, FetchDrawsProgressOnATerminal) {
  const std::string id = encode_publisher_id(test::fixed_key().public_key());
  int polls = 0;
  FakeDaemon d(node(), [&](const Request& req) {
    if (req.has_fetch()) {
      Response r = ok();
      r.mutable_fetch()->set_publisher_id(id);
      return r;
    }
    if (++polls < 3) return list_of({info(kBid1, "downloading", 2048, 1024)}, 1, 1);
    return list_of({info(kBid1, "verified", 2048, 2048)}, 1, 1);
  });
  Outcome r = tamizdat_tty({"--data-dir", node(), "fetch", id}, m_tmp.path());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find('\r'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("50%"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0/1 bundles"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1/1 bundles"), std::string::npos) << r.err;
}

TEST_F(CliDaemon, SharePrintsOneLinkPerLine) {
  FakeDaemon d(node(), [](const Request& req) {
    Response r = ok();
    if (req.share().id().empty()) {
      r.mutable_share()->add_links("chan1");
      r.mutable_share()->add_links("chan2");
    } else {
      r.mutable_share()->add_links("magnet:?xt=urn:btih:x");
    }
    return r;
  });
  Outcome all = run({"--data-dir", node(), "share"});
  EXPECT_EQ(all.code, 0);
  EXPECT_EQ(all.out, "chan1\nchan2\n");
  Outcome one = run({"--data-dir", node(), "share", kBid1, "--json"});
  EXPECT_EQ(one.code, 0);
  const json out = json::parse(one.out);
  EXPECT_EQ(out["ok"], true);
  EXPECT_EQ(out["links"], json::array({"magnet:?xt=urn:btih:x"}));
  EXPECT_EQ(d.requests()[1].share().id(), kBid1);
}

TEST_F(CliDaemon, ShareWithNothingToShareExitsOne) {
  FakeDaemon d(node(), [](const Request&) { return ok(); });
  Outcome r = run({"--data-dir", node(), "share"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("no channel"), std::string::npos) << r.err;
  Outcome js = run({"--data-dir", node(), "share", "--json"});
  EXPECT_EQ(js.code, 1);
  EXPECT_EQ(json::parse(js.out)["error"], "nothing_to_share");
}

TEST_F(CliDaemon, LsShowsOwnProgressAndErrors) {
  FakeDaemon d(node(), [](const Request&) {
    return list_of({info(kBid1, "verified", 2048, 2048, true), info(kBid2, "downloading", 4096, 1024),
                    info(std::string(64, 'c'), "failed", 10, 0, false, "bundle_mismatch")});
  });
  Outcome human = run({"--data-dir", node(), "ls"});
  ASSERT_EQ(human.code, 0) << human.err;
  std::istringstream lines(human.out);
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  EXPECT_NE(l1.find("[own]"), std::string::npos) << l1;
  EXPECT_NE(l2.find("downloading 25%"), std::string::npos) << l2;
  EXPECT_EQ(l2.find("[own]"), std::string::npos) << l2;
  EXPECT_NE(l3.find("failed (bundle_mismatch)"), std::string::npos) << l3;
  Outcome js = run({"--data-dir", node(), "ls", "--json"});
  ASSERT_EQ(js.code, 0);
  const json out = json::parse(js.out);
  ASSERT_EQ(out.size(), 3u);
  for (const char* f : {"bundle_id", "publisher_id", "title", "state", "path", "size", "downloaded", "own"}) {
    EXPECT_TRUE(out[0].contains(f)) << f;
  }
  EXPECT_EQ(out[0]["own"], true);
  EXPECT_FALSE(out[0].contains("error"));
  EXPECT_EQ(out[1]["downloaded"], 1024);
  EXPECT_EQ(out[2]["error"], "bundle_mismatch");
}

TEST_F(Cli, NewCommandsUsageErrorsExitTwo) {
  EXPECT_EQ(run({"publish"}).code, 2);
  EXPECT_EQ(run({"publish", path("nonexistent")}).code, 2);
  EXPECT_EQ(run({"fetch"}).code, 2);
  EXPECT_EQ(run({"fetch", "x", "--timeout", "0"}).code, 2);
  EXPECT_EQ(run({"fetch", "x", "--timeout", "soon"}).code, 2);
}

}  // namespace
}  // namespace tz
