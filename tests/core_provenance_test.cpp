// Provenance seals and proof files (core/provenance.h).
#include "core/files.h"
#include "core/hex.h"
#include "core/manifest.h"
#include "core/provenance.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace tz {
namespace {

namespace fs = std::filesystem;

template <std::size_t N>
std::array<std::uint8_t, N> fixed(const std::string& hex) {
  const auto v = test::unhex(hex);
  std::array<std::uint8_t, N> a{};
  EXPECT_EQ(v.size(), N) << hex;
  std::copy_n(v.begin(), std::min(N, v.size()), a.begin());
  return a;
}

Sha256 sha256(const std::string& bytes) {
  Sha256 d{};
  crypto_hash_sha256(d.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return d;
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string hex_of(std::span<const unsigned char> b) { return to_hex(b); }

// True when `needle` occurs anywhere in `hay`.
bool contains(std::span<const std::uint8_t> hay, std::span<const std::uint8_t> needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

ProvenanceSalt salt_of(std::uint8_t first) {
  ProvenanceSalt s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(first + i);
  return s;
}

// The vector of docs/protocol.md, computed with libsodium here and with
// Python's hashlib by tests/interop/check_provenance_python.py.
TEST(Provenance, KnownAnswerVector) {
  const auto v = test::read_vector("provenance.txt");
  const SecretKey key = test::fixed_key();
  ASSERT_EQ(to_hex(key.seed()), v.at("seed"));
  const auto original = test::unhex(v.at("original"));
  const Sha256 digest = sha256(std::string(original.begin(), original.end()));
  EXPECT_EQ(to_hex(digest), v.at("original_sha256"));

  const auto salt = fixed<16>(v.at("salt"));
  const FileProofKey k = proof_key(key, salt);
  EXPECT_EQ(hex_of(k.bytes()), v.at("file_key"));
  const ProvenanceSeal seal = seal_original_with_salt(key, digest, salt);
  EXPECT_EQ(seal.salt, salt);
  EXPECT_EQ(to_hex(seal.commitment), v.at("commitment"));
  EXPECT_TRUE(opens(k, digest, seal));

  // K never leaves provenance.cpp; check the vector's K and the chain from
  // it with libsodium's BLAKE2b directly.
  const auto seed = test::unhex(v.at("seed"));
  const std::string key_domain = "tamizdat/provenance-key/v1";
  Sha256 big_k{};
  crypto_generichash(big_k.data(), big_k.size(), reinterpret_cast<const unsigned char*>(key_domain.data()),
                     key_domain.size(), seed.data(), seed.size());
  EXPECT_EQ(to_hex(big_k), v.at("provenance_key"));
  std::string file_msg = "tamizdat/provenance-file/v1";
  file_msg.append(salt.begin(), salt.end());
  Sha256 small_k{};
  crypto_generichash(small_k.data(), small_k.size(), reinterpret_cast<const unsigned char*>(file_msg.data()),
                     file_msg.size(), big_k.data(), big_k.size());
  EXPECT_EQ(to_hex(small_k), v.at("file_key"));

  const auto path = SafeRelPath::parse(v.at("path"));
  ASSERT_TRUE(path);
  const std::string proof = encode_proof(fixed<32>(v.at("bundle_id")), path.value(), k);
  EXPECT_EQ(to_hex(as_bytes(proof)), v.at("proof"));
  auto parsed = parse_proof(as_bytes(proof));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(to_hex(parsed.value().bundle_id), v.at("bundle_id"));
  EXPECT_EQ(parsed.value().path.str(), "img/photo.jpg");
  EXPECT_EQ(hex_of(parsed.value().file_key.bytes()), v.at("file_key"));
  EXPECT_TRUE(opens(parsed.value().file_key, digest, seal));
}

TEST(Provenance, SaltsAreFreshAndSealsOfOneOriginalUnrelated) {
  const SecretKey key = test::fixed_key();
  const Sha256 digest = sha256("the same original");
  std::set<ProvenanceSalt> salts;
  std::set<Sha256> commitments;
  for (int i = 0; i < 64; ++i) {
    const ProvenanceSeal s = seal_original(key, digest);
    salts.insert(s.salt);
    commitments.insert(s.commitment);
    EXPECT_TRUE(opens(proof_key(key, s.salt), digest, s));
  }
  EXPECT_EQ(salts.size(), 64u);
  EXPECT_EQ(commitments.size(), 64u);
  // One seal's key opens neither the other seal nor anything else of it.
  const ProvenanceSeal a = seal_original(key, digest);
  const ProvenanceSeal b = seal_original(key, digest);
  EXPECT_FALSE(opens(proof_key(key, a.salt), digest, b));
  EXPECT_FALSE(opens(proof_key(key, b.salt), digest, a));
}

TEST(Provenance, OneFileKeyIsNotAnotherFilesKey) {
  const SecretKey key = test::fixed_key();
  std::set<std::string> keys;
  for (std::uint8_t first = 0; first < 32; ++first) keys.insert(hex_of(proof_key(key, salt_of(first)).bytes()));
  EXPECT_EQ(keys.size(), 32u);
  // Salts one bit apart give unrelated keys (about half the bits differ).
  ProvenanceSalt s1 = salt_of(0), s2 = salt_of(0);
  s2[15] ^= 1;
  const FileProofKey k1 = proof_key(key, s1), k2 = proof_key(key, s2);
  int differing = 0;
  for (std::size_t i = 0; i < kFileProofKeySize; ++i) differing += __builtin_popcount(k1.bytes()[i] ^ k2.bytes()[i]);
  EXPECT_GT(differing, 80);
  EXPECT_LT(differing, 176);
  // The key is deterministic: the publisher can always derive it again.
  EXPECT_EQ(hex_of(proof_key(key, s1).bytes()), hex_of(k1.bytes()));
}

TEST(Provenance, WrongOriginalDoesNotOpen) {
  const SecretKey key = test::fixed_key();
  const std::string original = test::random_bytes(10'000, 1);
  const ProvenanceSeal seal = seal_original(key, sha256(original));
  const FileProofKey k = proof_key(key, seal.salt);
  EXPECT_TRUE(opens(k, sha256(original), seal));
  std::string changed = original;
  changed[5000] ^= 1;
  EXPECT_FALSE(opens(k, sha256(changed), seal));
  EXPECT_FALSE(opens(k, sha256(original.substr(1)), seal));
  EXPECT_FALSE(opens(k, sha256(""), seal));
}

TEST(Provenance, WrongKeyDoesNotOpen) {
  const SecretKey key = test::fixed_key();
  const SecretKey other = test::fixed_key(0x20);
  const Sha256 digest = sha256("original");
  const ProvenanceSeal seal = seal_original(key, digest);
  // Another publisher's key for the same salt.
  EXPECT_FALSE(opens(proof_key(other, seal.salt), digest, seal));
  // A key taken from the proof with one bit flipped.
  const FileProofKey k = proof_key(key, seal.salt);
  for (std::size_t bit = 0; bit < 8 * kFileProofKeySize; bit += 7) {
    std::array<std::uint8_t, kFileProofKeySize> b{};
    std::copy(k.bytes().begin(), k.bytes().end(), b.begin());
    b[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(opens(FileProofKey::from_bytes(b), digest, seal)) << bit;
  }
  // A moved-from key opens nothing (it is not an unkeyed hash).
  FileProofKey moved = proof_key(key, seal.salt);
  const FileProofKey taken = std::move(moved);
  EXPECT_TRUE(opens(taken, digest, seal));
  EXPECT_FALSE(opens(moved, digest, seal));  // NOLINT(bugprone-use-after-move)
}

TEST(Provenance, TamperedSealDoesNotOpen) {
  const SecretKey key = test::fixed_key();
  const Sha256 digest = sha256("original");
  const ProvenanceSeal seal = seal_original(key, digest);
  for (std::size_t bit = 0; bit < 8 * seal.commitment.size(); ++bit) {
    ProvenanceSeal t = seal;
    t.commitment[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(opens(proof_key(key, t.salt), digest, t)) << bit;
  }
  // A changed salt selects another key, which opens nothing.
  for (std::size_t bit = 0; bit < 8 * seal.salt.size(); bit += 5) {
    ProvenanceSeal t = seal;
    t.salt[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(opens(proof_key(key, t.salt), digest, t)) << bit;
  }
}

// What a signed manifest shows of a sealed original: nothing anyone holding
// the original could compute without the publisher's key.
TEST(Provenance, NoPlainHashOfTheOriginalIsInTheManifest) {
  const SecretKey key = test::fixed_key();
  const std::string original = test::random_bytes(4096, 9);
  const Sha256 digest = sha256(original);
  const ProvenanceSeal seal = seal_original(key, digest);

  ManifestData m;
  m.publisher = key.public_key();
  m.created = 1767225600;
  m.title = "Sealed";
  ManifestFile f{SafeRelPath::parse("img/photo.jpg").value(), 4000, "image/jpeg", Sha256{}};
  f.pieces_root->fill(0x5a);
  f.scrubbed = true;
  f.provenance = seal;
  m.files.push_back(f);
  auto env = sign_manifest(m, key);
  ASSERT_TRUE(env);
  const auto& bytes = env.value();
  ASSERT_TRUE(contains(bytes, seal.commitment));  // the search itself works

  Sha256 b2{};
  crypto_generichash(b2.data(), b2.size(), reinterpret_cast<const unsigned char*>(original.data()), original.size(),
                     nullptr, 0);
  std::array<std::uint8_t, 64> b2_512{};
  crypto_generichash(b2_512.data(), b2_512.size(), reinterpret_cast<const unsigned char*>(original.data()),
                     original.size(), nullptr, 0);
  Sha256 b2_digest{};  // unkeyed BLAKE2b of the SHA-256, with and without the domain
  crypto_generichash(b2_digest.data(), b2_digest.size(), digest.data(), digest.size(), nullptr, 0);
  const FileProofKey k = proof_key(key, seal.salt);
  const std::vector<std::uint8_t> k_bytes(k.bytes().begin(), k.bytes().end());
  for (std::size_t at = 0; at + 8 <= 32; at += 8) {
    SCOPED_TRACE(at);
    // No 8-byte window of any of them appears either.
    EXPECT_FALSE(contains(bytes, std::span(digest).subspan(at, 8)));
    EXPECT_FALSE(contains(bytes, std::span(b2).subspan(at, 8)));
    EXPECT_FALSE(contains(bytes, std::span(b2_512).subspan(at, 8)));
    EXPECT_FALSE(contains(bytes, std::span(b2_digest).subspan(at, 8)));
    EXPECT_FALSE(contains(bytes, std::span(k_bytes).subspan(at, 8)));
  }
  // The SHA-256 of the original under the commitment's domain but without
  // the key does not give the commitment.
  std::string unkeyed = "tamizdat/provenance-commit/v1";
  unkeyed.append(digest.begin(), digest.end());
  Sha256 u{};
  crypto_generichash(u.data(), u.size(), reinterpret_cast<const unsigned char*>(unkeyed.data()), unkeyed.size(),
                     nullptr, 0);
  EXPECT_NE(u, seal.commitment);
}

// sha256_of_file gives the digest the vector seals.
TEST(Provenance, OriginalDigestOfTheVectorFromDisk) {
  test::TempDir dir;
  const auto v = test::read_vector("provenance.txt");
  test::write_bytes(dir / "orig", test::unhex(v.at("original")));
  auto d = sha256_of_file(dir / "orig");
  ASSERT_TRUE(d);
  EXPECT_EQ(to_hex(d.value()), v.at("original_sha256"));
}

TEST(Provenance, ProofRoundTripsAndIsOneLineOfJson) {
  const SecretKey key = test::fixed_key();
  Sha256 id{};
  id.fill(0x3c);
  const FileProofKey k = proof_key(key, salt_of(7));
  for (const char* p : {"a", "img/photo.jpg", "Новости/фото 1.jpg", "deep/a/b/c/d/e.webm"}) {
    SCOPED_TRACE(p);
    const auto path = SafeRelPath::parse(p);
    ASSERT_TRUE(path);
    const std::string text = encode_proof(id, path.value(), k);
    EXPECT_EQ(text.back(), '\n');
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
    EXPECT_EQ(text.size(), 60u + 128u + path.value().str().size());
    auto back = parse_proof(as_bytes(text));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back.value().bundle_id, id);
    EXPECT_EQ(back.value().path, path.value());
    EXPECT_EQ(hex_of(back.value().file_key.bytes()), hex_of(k.bytes()));
    EXPECT_EQ(encode_proof(back.value().bundle_id, back.value().path, back.value().file_key), text);
  }
  // The longest path gives the longest proof, within the bound.
  const std::string longest =
      std::string(255, 'a') + "/" + std::string(255, 'b') + "/" + std::string(255, 'c') + "/" + std::string(254, 'd') + "/e";
  ASSERT_EQ(longest.size(), kMaxPathBytes);
  const auto lp = SafeRelPath::parse(longest);
  ASSERT_TRUE(lp);
  const std::string big = encode_proof(id, lp.value(), k);
  EXPECT_EQ(big.size(), 1212u);  // the bound provenance.h states
  EXPECT_LE(big.size(), kMaxProofBytes);
  EXPECT_TRUE(parse_proof(as_bytes(big)));
}

TEST(Provenance, ProofParsingRefusesBadInput) {
  const auto v = test::read_vector("provenance.txt");
  const auto good_bytes = test::unhex(v.at("proof"));
  const std::string good(good_bytes.begin(), good_bytes.end());
  ASSERT_TRUE(parse_proof(as_bytes(good)));
  const std::string id = v.at("bundle_id"), key = v.at("file_key");
  const auto make = [&](const std::string& bid, const std::string& path, const std::string& k) {
    return R"({"tamizdat_proof":1,"bundle_id":")" + bid + R"(","path":")" + path + R"(","file_key":")" + k + "\"}\n";
  };
  ASSERT_EQ(make(id, "img/photo.jpg", key), good);

  struct Case {
    std::string name, text, words;
  };
  std::string upper_key = key;
  std::transform(upper_key.begin(), upper_key.end(), upper_key.begin(), ::toupper);
  const std::vector<Case> cases = {
      {"empty", "", "empty"},
      {"not json", "hello\n", "not a Tamizdat provenance proof"},
      {"other json", R"({"bundle_id":"x"})" "\n", "not a Tamizdat provenance proof"},
      {"version 2", R"({"tamizdat_proof":2,"bundle_id":")" + id + "\"}\n", "version 2 is not known"},
      {"version 01", R"({"tamizdat_proof":01,"bundle_id":")" + id + "\"}\n", "version 01 is not known"},
      {"version text", R"({"tamizdat_proof":"1","bundle_id":")" + id + "\"}\n", "expected a version number"},
      {"no newline", good.substr(0, good.size() - 1), "expected \"} and a newline"},
      {"CRLF", good.substr(0, good.size() - 1) + "\r\n", "expected \"} and a newline"},
      {"two newlines", good + "\n", "bytes after the end"},
      {"two proofs", good + good, "bytes after the end"},
      {"space after colon", R"({"tamizdat_proof": 1,)", "expected a version number"},
      {"pretty printed", "{\n  \"tamizdat_proof\": 1\n}\n", "not a Tamizdat provenance proof"},
      {"upper-case key", make(id, "img/photo.jpg", upper_key), "file_key is not 64 lower-case hex"},
      {"short key", make(id, "img/photo.jpg", key.substr(2)), "file_key is not 64 lower-case hex"},
      {"long key", make(id, "img/photo.jpg", key + "00"), "file_key is not 64 lower-case hex"},
      {"non-hex key", make(id, "img/photo.jpg", "g" + key.substr(1)), "file_key is not 64 lower-case hex"},
      {"short id", make(id.substr(1), "img/photo.jpg", key), "bundle_id is not 64 lower-case hex"},
      {"non-hex id", make("x" + id.substr(1), "img/photo.jpg", key), "bundle_id is not 64 lower-case hex"},
      {"dot-dot path", make(id, "../etc/passwd", key), "not a valid bundle path"},
      {"absolute path", make(id, "/etc/passwd", key), "not a valid bundle path"},
      {"empty path", make(id, "", key), "not a valid bundle path"},
      {"escaped path", make(id, R"(img\/photo.jpg)", key), "not a valid bundle path"},
      {"unicode escape", make(id, R"(img/\u0070hoto.jpg)", key), "not a valid bundle path"},
      {"path too long", make(id, std::string(kMaxPathBytes + 1, 'a'), key), "longer than"},
      {"extra field", R"({"tamizdat_proof":1,"bundle_id":")" + id + R"(","note":"x","path":"img/photo.jpg","file_key":")" +
                          key + "\"}\n",
       R"(expected ","path":")"},
      {"extra field at end", good.substr(0, good.size() - 2) + R"(,"x":1})" "\n", "expected \"} and a newline"},
      {"fields swapped", R"({"tamizdat_proof":1,"path":"img/photo.jpg","bundle_id":")" + id + "\"}\n",
       R"(expected ,"bundle_id":")"},
      {"NUL inside", good.substr(0, 40) + std::string(1, '\0') + good.substr(41), "bundle_id is not 64"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Diag d;
    auto r = parse_proof(as_bytes(c.text), &d);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::bad_proof);
    EXPECT_NE(d.detail.find(c.words), std::string::npos) << d.detail;
    EXPECT_EQ(d.detail.find(key), std::string::npos) << "the message repeats the key";
  }
  // Every truncation of a valid proof is refused.
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = parse_proof(as_bytes(good.substr(0, n)));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), errc::bad_proof) << n;
  }
  // Every single flipped bit of a valid proof is refused or changes what it
  // says (a hex digit may flip into another hex digit).
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string t = good;
      t[i] = static_cast<char>(t[i] ^ (1 << bit));
      auto r = parse_proof(as_bytes(t));
      if (!r) continue;
      const std::string again = encode_proof(r.value().bundle_id, r.value().path, r.value().file_key);
      EXPECT_EQ(again, t) << i << "/" << bit;
      EXPECT_NE(again, good);
    }
  }
  // Oversized input is refused before it is looked at.
  Diag d;
  const std::string huge = good + std::string(kMaxProofBytes, ' ');
  auto r = parse_proof(as_bytes(huge), &d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::oversized);
  EXPECT_NE(d.detail.find("2048"), std::string::npos);
}

}  // namespace
}  // namespace tz
