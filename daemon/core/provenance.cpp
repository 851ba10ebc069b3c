#include "core/provenance.h"

#include <sodium.h>

#include <cassert>
#include <cstring>
#include <optional>
#include <string_view>

namespace tz {
namespace {

constexpr std::string_view kKeyDomain = "tamizdat/provenance-key/v1";
constexpr std::string_view kFileDomain = "tamizdat/provenance-file/v1";
constexpr std::string_view kCommitDomain = "tamizdat/provenance-commit/v1";
constexpr std::size_t kHashSize = 32;

// out[0..32) = BLAKE2b-256 keyed with `key` over `domain` || `data`. Fed
// piecewise so that no concatenated copy of the data is left behind; the
// hash state, which holds key material, is wiped.
void keyed_hash(unsigned char* out, std::span<const unsigned char> key, std::string_view domain,
                std::span<const std::uint8_t> data) {
  crypto_generichash_state st;
  // libsodium fails only on key or output lengths outside 16..64 and 1..64.
  int rc = crypto_generichash_init(&st, key.data(), key.size(), kHashSize);
  rc |= crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(domain.data()), domain.size());
  rc |= crypto_generichash_update(&st, data.data(), data.size());
  rc |= crypto_generichash_final(&st, out, kHashSize);
  sodium_memzero(&st, sizeof st);
  assert(rc == 0);
  static_cast<void>(rc);
}

// K, the publisher's provenance key.
Secret provenance_key(const SecretKey& key) {
  Secret k(kHashSize);
  keyed_hash(k.data(), key.seed(), kKeyDomain, {});
  return k;
}

void append_hex(std::string& out, std::span<const unsigned char> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (const unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
}

int lower_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes exactly 2 * out.size() lower-case hex digits of `text` into `out`.
bool decode_lower_hex(std::string_view text, std::span<std::uint8_t> out) {
  if (text.size() != 2 * out.size()) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = lower_hex_value(text[2 * i]);
    const int lo = lower_hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

// Reads the proof's fixed form left to right; `at` is the offset in the
// file, for messages.
class ProofReader {
 public:
  explicit ProofReader(std::string_view text) : m_rest(text) {}
  std::size_t at() const { return m_at; }
  bool done() const { return m_rest.empty(); }
  bool literal(std::string_view lit) {
    if (!m_rest.starts_with(lit)) return false;
    advance(lit.size());
    return true;
  }
  // The bytes up to (not including) the next `stop`, which must come within
  // `max` bytes; consumed. Empty optional when it does not.
  std::optional<std::string_view> until(char stop, std::size_t max) {
    const std::size_t end = m_rest.substr(0, max + 1).find(stop);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view got = m_rest.substr(0, end);
    advance(end);
    return got;
  }

 private:
  void advance(std::size_t n) {
    m_rest.remove_prefix(n);
    m_at += n;
  }
  std::string_view m_rest;
  std::size_t m_at = 0;
};

boost::system::error_code malformed(Diag* diag, std::string detail) {
  return fail(errc::bad_proof, diag, {}, std::move(detail));
}

boost::system::error_code expected_at(Diag* diag, std::string_view what, std::size_t at) {
  return malformed(diag, "not in the form `tamizdat provenance prove` writes: expected " + std::string(what) +
                             " at offset " + std::to_string(at));
}

}  // namespace

FileProofKey FileProofKey::from_bytes(std::span<const std::uint8_t, kFileProofKeySize> bytes) {
  Secret k(kFileProofKeySize);
  std::memcpy(k.data(), bytes.data(), bytes.size());
  return FileProofKey(std::move(k));
}

FileProofKey proof_key(const SecretKey& key, const ProvenanceSalt& salt) {
  const Secret provenance = provenance_key(key);
  Secret k(kFileProofKeySize);
  keyed_hash(k.data(), provenance.bytes(), kFileDomain, salt);
  return FileProofKey(std::move(k));
}

ProvenanceSeal seal_original_with_salt(const SecretKey& key, const Sha256& original_digest,
                                       const ProvenanceSalt& salt) {
  const FileProofKey k = proof_key(key, salt);
  ProvenanceSeal seal;
  seal.salt = salt;
  keyed_hash(seal.commitment.data(), k.bytes(), kCommitDomain, original_digest);
  return seal;
}

ProvenanceSeal seal_original(const SecretKey& key, const Sha256& original_digest) {
  // A SecretKey exists only once sodium_init has succeeded.
  ProvenanceSalt salt;
  randombytes_buf(salt.data(), salt.size());
  return seal_original_with_salt(key, original_digest, salt);
}

bool opens(const FileProofKey& file_key, const Sha256& original_digest, const ProvenanceSeal& seal) {
  // A moved-from key is empty; BLAKE2b with no key would be an unkeyed hash.
  if (file_key.bytes().size() != kFileProofKeySize) return false;
  Sha256 made{};
  keyed_hash(made.data(), file_key.bytes(), kCommitDomain, original_digest);
  const bool same = crypto_verify_32(made.data(), seal.commitment.data()) == 0;
  sodium_memzero(made.data(), made.size());
  return same;
}

std::string encode_proof(const Sha256& bundle_id, const SafeRelPath& path, const FileProofKey& file_key) {
  std::string out;
  out.reserve(64 + 2 * (bundle_id.size() + file_key.bytes().size()) + path.str().size());
  // A SafeRelPath holds no '"', '\\' or control byte, so it needs no JSON
  // escaping; its UTF-8 is written as it is.
  out += R"({"tamizdat_proof":1,"bundle_id":")";
  append_hex(out, bundle_id);
  out += R"(","path":")";
  out += path.str();
  out += R"(","file_key":")";
  append_hex(out, file_key.bytes());
  out += "\"}\n";
  return out;
}

Result<ProvenanceProof> parse_proof(std::span<const std::uint8_t> bytes, Diag* diag) {
  if (bytes.size() > kMaxProofBytes) {
    return fail(errc::oversized, diag, {}, "a proof is at most " + std::to_string(kMaxProofBytes) + " bytes");
  }
  if (bytes.empty()) return malformed(diag, "the proof file is empty");
  ProofReader r({reinterpret_cast<const char*>(bytes.data()), bytes.size()});

  if (!r.literal(R"({"tamizdat_proof":)")) {
    return malformed(diag, R"(not a Tamizdat provenance proof (it starts with {"tamizdat_proof":))");
  }
  const auto version = r.until(',', 10);
  if (!version || version->empty() || version->find_first_not_of("0123456789") != std::string_view::npos) {
    return expected_at(diag, "a version number and ','", r.at());
  }
  if (*version != "1") {
    return malformed(diag, "proof format version " + std::string(*version) + " is not known to this build");
  }

  Sha256 bundle_id{};
  if (!r.literal(R"(,"bundle_id":")")) return expected_at(diag, R"(,"bundle_id":")", r.at());
  const auto id_hex = r.until('"', 2 * bundle_id.size());
  if (!id_hex || !decode_lower_hex(*id_hex, bundle_id)) {
    return malformed(diag, "bundle_id is not 64 lower-case hex digits");
  }

  if (!r.literal(R"(","path":")")) return expected_at(diag, R"(","path":")", r.at());
  const auto path_text = r.until('"', kMaxPathBytes);
  if (!path_text) return malformed(diag, "path is unterminated or longer than " + std::to_string(kMaxPathBytes) + " bytes");
  std::string why;
  auto path = SafeRelPath::parse(*path_text, &why);
  if (!path) return malformed(diag, "path is not a valid bundle path: " + why);

  if (!r.literal(R"(","file_key":")")) return expected_at(diag, R"(","file_key":")", r.at());
  std::array<std::uint8_t, kFileProofKeySize> key{};
  const auto key_hex = r.until('"', 2 * key.size());
  const bool key_ok = key_hex && decode_lower_hex(*key_hex, key);
  if (!key_ok) {
    sodium_memzero(key.data(), key.size());
    return malformed(diag, "file_key is not 64 lower-case hex digits");
  }
  FileProofKey file_key = FileProofKey::from_bytes(key);
  sodium_memzero(key.data(), key.size());

  if (!r.literal("\"}\n")) return expected_at(diag, R"("} and a newline)", r.at());
  if (!r.done()) return malformed(diag, "bytes after the end of the proof (at offset " + std::to_string(r.at()) + ")");
  return ProvenanceProof{bundle_id, std::move(path).value(), std::move(file_key)};
}

}  // namespace tz
