// Signed envelopes: `{kind, payload, signer, signature}` where the signature is
// Ed25519 over the domain-separated message
//     "tamizdat/v1/" || kind || 0x00 || payload
// An envelope is read as exact bytes: the encoding must be canonical (fields
// in order, no unknown or repeated fields, so one signed object has one byte
// form), the signature is checked over the payload bytes as received, and
// only then may a caller parse the payload. Pure; safe from any thread.
#pragma once

#include "core/ids.h"
#include "core/keys.h"
#include "core/result.h"

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tz {

enum class EnvelopeKind { manifest, channel_head };

[[nodiscard]] std::string_view kind_name(EnvelopeKind kind);

// The exact bytes a signature covers.
[[nodiscard]] std::vector<std::uint8_t> signed_message(std::string_view kind,
                                                       std::span<const std::uint8_t> payload);

// Signs `payload` and returns the canonical Envelope encoding.
[[nodiscard]] std::vector<std::uint8_t> seal_envelope(EnvelopeKind kind,
                                                      std::span<const std::uint8_t> payload,
                                                      const SecretKey& key);

// A verified envelope. Only open_envelope makes one.
class OpenedEnvelope {
 public:
  [[nodiscard]] const PublicKey& signer() const noexcept { return m_signer; }
  [[nodiscard]] const std::vector<std::uint8_t>& payload() const noexcept { return m_payload; }

 private:
  friend Result<OpenedEnvelope> open_envelope(std::span<const std::uint8_t>, EnvelopeKind,
                                              std::size_t, const PublicKey*);
  OpenedEnvelope() = default;
  PublicKey m_signer;
  std::vector<std::uint8_t> m_payload;
};

// Checks `bytes` and returns the signer and payload. Fails, in this order of
// checks, with errc::oversized (more than `max_size` bytes), errc::malformed_envelope
// (not a canonical encoding, signer not 32 bytes, signature not 64 bytes),
// errc::unknown_kind (kind is not `expected`), errc::bad_signature, or
// errc::wrong_publisher (valid, but `expected_signer` is given and differs).
[[nodiscard]] Result<OpenedEnvelope> open_envelope(std::span<const std::uint8_t> bytes,
                                                   EnvelopeKind expected, std::size_t max_size,
                                                   const PublicKey* expected_signer = nullptr);

}  // namespace tz
