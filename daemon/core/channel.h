// Channel heads: a publisher's signed catalogue (sequence number, expiry, one
// entry per bundle), and the mirror rules for accepting a new one (after TUF):
// never go back to a lower sequence number (rollback); two different heads
// with the same number are equivocation (keep the first, report both); a head
// past its expiry is stale and said so. Byte-exact rules: docs/protocol.md
// ("Channel head"). Pure; safe from any thread.
#pragma once

#include "core/envelope.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/manifest.h"
#include "core/result.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tz {

inline constexpr std::uint32_t kHeadVersion = 1;
inline constexpr std::size_t kMaxHeadBytes = 4u << 20;  // whole envelope
inline constexpr std::size_t kMaxHeadBundles = 10000;

struct HeadEntry {
  Sha256 bundle_id{};
  std::array<std::uint8_t, 20> info_hash_v1{};
  std::string title;
  std::uint64_t size = 0;
  std::int64_t created = 0;
  bool operator==(const HeadEntry&) const = default;
};

struct HeadData {
  PublicKey publisher;
  std::uint64_t seq = 0;
  std::int64_t created = 0;
  std::int64_t expires = 0;  // 0 = never
  std::vector<HeadEntry> bundles;
  bool operator==(const HeadData&) const = default;
};

// Checks the rules of a head: 1 <= seq <= 2^63-1, expires 0 or later than created, at
// most 10,000 bundles, unique bundle IDs, UTF-8 titles of at most 1024 bytes,
// sizes within kMaxBundleSize. Fails with errc::malformed_head,
// errc::too_many_files or errc::oversized, `diag` saying why.
[[nodiscard]] Result<void> validate_head(const HeadData& h, Diag* diag = nullptr);

// Validates `h` and seals it with `key` (whose public key must be
// h.publisher, else errc::wrong_publisher). Returns envelope bytes.
[[nodiscard]] Result<std::vector<std::uint8_t>> sign_head(const HeadData& h, const SecretKey& key,
                                                          Diag* diag = nullptr);

class VerifiedHead {
 public:
  [[nodiscard]] const HeadData& data() const noexcept { return m_data; }
  // The envelope bytes exactly as verified.
  [[nodiscard]] const std::vector<std::uint8_t>& envelope() const noexcept { return m_envelope; }
  // True when the head has an expiry and `now` (seconds since the epoch) is past it.
  [[nodiscard]] bool is_stale(std::int64_t now) const noexcept {
    return m_data.expires != 0 && now > m_data.expires;
  }

 private:
  friend Result<VerifiedHead> verify_head(std::span<const std::uint8_t>, const PublicKey*, Diag*);
  VerifiedHead() = default;
  HeadData m_data;
  std::vector<std::uint8_t> m_envelope;
};

// Verifies envelope bytes as a channel head (open_envelope with kMaxHeadBytes,
// then parsing, then validate_head). Fails with the errors of open_envelope,
// errc::malformed_head, errc::unknown_version, errc::too_many_files,
// errc::oversized, or errc::wrong_publisher (signer differs from `expected`
// or from the head's own publisher field).
[[nodiscard]] Result<VerifiedHead> verify_head(std::span<const std::uint8_t> envelope,
                                               const PublicKey* expected = nullptr, Diag* diag = nullptr);

enum class HeadVerdict {
  accept,        // newer than what we hold (or the first): take it
  same,          // the very head we hold: nothing to do
  rollback,      // lower seq than what we hold: refuse
  equivocation,  // same seq, different bytes: keep ours, record both, warn
  other_channel, // signed by another publisher: refuse
};

// Applies the mirror rules to `incoming` given the head we hold (`current`,
// null if none). Staleness is separate (VerifiedHead::is_stale): a stale head
// that is newer is still accepted, and reported as stale.
[[nodiscard]] HeadVerdict judge_head(const VerifiedHead* current, const VerifiedHead& incoming);

}  // namespace tz
