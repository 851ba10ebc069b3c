#include "core/keyfile.h"

#include "core/files.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace tz {
namespace {

constexpr std::uint8_t kMagic[6] = {'T', 'Z', 'K', 'E', 'Y', '\n'};
constexpr std::uint8_t kFormatVersion = 1;
constexpr std::size_t kOffVersion = 6, kOffProtection = 7, kOffOps = 8, kOffMem = 16,
                      kOffSalt = 24, kOffNonce = 40, kOffPublic = 64, kOffSealed = 96;
constexpr std::uint64_t kMaxOpslimit = 64;
constexpr std::uint64_t kMaxMemlimit = 4ull << 30;  // 4 GiB

static_assert(kOffSalt + crypto_pwhash_SALTBYTES == kOffNonce);
static_assert(kOffNonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kOffPublic);
static_assert(kOffPublic + kPublicKeySize == kKeyFileHeaderSize);
static_assert(kOffSealed + kSeedSize + crypto_aead_xchacha20poly1305_ietf_ABYTES == kKeyFileSize);

void put_u64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Derives the 32-byte sealing key for a parsed header.
Result<Secret> derive_key(std::span<const std::uint8_t> header, std::span<const unsigned char> passphrase) {
  Secret key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  if (static_cast<KeyProtection>(header[kOffProtection]) == KeyProtection::none) return key;
  if (crypto_pwhash(key.data(), key.size(), reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), header.data() + kOffSalt, get_u64(header.data() + kOffOps),
                    static_cast<std::size_t>(get_u64(header.data() + kOffMem)),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return errc::crypto_failure;
  }
  return key;
}

}  // namespace

KdfLimits default_kdf_limits() {
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}

Result<std::vector<std::uint8_t>> seal_key_file(const SecretKey& key,
                                                std::span<const unsigned char> passphrase,
                                                KdfLimits limits) {
  if (!crypto_init()) return errc::crypto_failure;
  std::vector<std::uint8_t> file(kKeyFileSize, 0);
  std::copy(std::begin(kMagic), std::end(kMagic), file.begin());
  file[kOffVersion] = kFormatVersion;
  const bool protect = !passphrase.empty();
  file[kOffProtection] = static_cast<std::uint8_t>(protect ? KeyProtection::argon2id : KeyProtection::none);
  if (protect) {
    put_u64(file.data() + kOffOps, limits.opslimit);
    put_u64(file.data() + kOffMem, limits.memlimit);
    randombytes_buf(file.data() + kOffSalt, crypto_pwhash_SALTBYTES);
  }
  randombytes_buf(file.data() + kOffNonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  std::copy(key.public_key().bytes.begin(), key.public_key().bytes.end(), file.begin() + kOffPublic);

  BOOST_OUTCOME_TRY(sealing_key, derive_key(std::span(file).first(kKeyFileHeaderSize), passphrase));
  unsigned long long sealed_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(
          file.data() + kOffSealed, &sealed_len, key.seed().data(), key.seed().size(), file.data(),
          kKeyFileHeaderSize, nullptr, file.data() + kOffNonce, sealing_key.data()) != 0 ||
      sealed_len != kKeyFileSize - kOffSealed) {
    return errc::crypto_failure;
  }
  return file;
}

Result<KeyFileInfo> inspect_key_file(std::span<const std::uint8_t> file) {
  if (file.size() < kOffProtection + 1 || !std::equal(std::begin(kMagic), std::end(kMagic), file.begin())) {
    return errc::bad_key_file;
  }
  if (file[kOffVersion] != kFormatVersion) return errc::unknown_key_version;
  if (file.size() != kKeyFileSize) return errc::bad_key_file;
  const std::uint64_t ops = get_u64(file.data() + kOffOps);
  const std::uint64_t mem = get_u64(file.data() + kOffMem);
  KeyFileInfo info{};
  switch (file[kOffProtection]) {
    case static_cast<std::uint8_t>(KeyProtection::none): {
      const bool zero_salt = std::all_of(file.begin() + kOffSalt, file.begin() + kOffNonce,
                                         [](std::uint8_t b) { return b == 0; });
      if (ops != 0 || mem != 0 || !zero_salt) return errc::bad_key_file;
      info.protection = KeyProtection::none;
      break;
    }
    case static_cast<std::uint8_t>(KeyProtection::argon2id): {
      const KdfLimits min = default_kdf_limits();
      // Bounds keep a crafted file from asking for absurd memory or time, and
      // refuse files weakened below the MODERATE limits.
      if (ops < min.opslimit || ops > kMaxOpslimit || mem < min.memlimit || mem > kMaxMemlimit) {
        return errc::bad_key_file;
      }
      info.protection = KeyProtection::argon2id;
      break;
    }
    default:
      return errc::bad_key_file;
  }
  if (!PublicKey::from_bytes(file.subspan(kOffPublic, kPublicKeySize), info.public_key)) return errc::bad_key_file;
  return info;
}

Result<SecretKey> open_key_file(std::span<const std::uint8_t> file, std::span<const unsigned char> passphrase) {
  if (!crypto_init()) return errc::crypto_failure;
  BOOST_OUTCOME_TRY(info, inspect_key_file(file));
  BOOST_OUTCOME_TRY(sealing_key, derive_key(file.first(kKeyFileHeaderSize), passphrase));
  Secret seed(kSeedSize);
  unsigned long long seed_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(seed.data(), &seed_len, nullptr, file.data() + kOffSealed,
                                                 kKeyFileSize - kOffSealed, file.data(), kKeyFileHeaderSize,
                                                 file.data() + kOffNonce, sealing_key.data()) != 0 ||
      seed_len != kSeedSize) {
    return errc::wrong_passphrase;
  }
  BOOST_OUTCOME_TRY(key, SecretKey::from_seed(seed.bytes()));
  // The header is authenticated, but check the pairing anyway: a file sealed
  // by buggy code must not sign under a public key it does not show.
  if (key.public_key() != info.public_key) return errc::bad_key_file;
  return key;
}

Result<std::vector<std::uint8_t>> load_key_file(const std::filesystem::path& path) {
  auto r = read_file_bounded(path, kKeyFileSize);
  if (!r && r.error() == make_error_code(errc::oversized)) return errc::bad_key_file;
  return r;
}

Result<void> save_key_file(const std::filesystem::path& path, std::span<const std::uint8_t> file) {
  const auto dir = path.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) return to_boost(ec);
      ::chmod(dir.c_str(), 0700);
    }
  }
  return write_file_atomic(path, file, 0600, Replace::never, errc::key_exists);
}

}  // namespace tz

