// Fuzz target for provenance proof files and seals (core/provenance.h).
//
// 1. The input as a proof file: parse_proof fails only with `oversized`
//    (exactly past kMaxProofBytes) or `bad_proof`; an accepted proof
//    encodes back to the input byte for byte (one byte form per proof), and
//    its path passes SafeRelPath::parse.
// 2. For inputs of 48 bytes or more, the first 32 as an original's SHA-256
//    and the next 16 as a salt: the fixed key's seal opens with its own proof
//    key, and not with another publisher's key for that salt, nor for another
//    digest (the input's digest with one bit flipped).
// A violated property traps.
#include "fuzz_util.h"

#include "core/provenance.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

const char* const tz::fuzz::kTarget = "proof_fuzz";

namespace {

using tz::fuzz::check;

void check_parse(std::span<const std::uint8_t> in) {
  tz::Diag diag;
  auto r = tz::parse_proof(in, &diag);
  if (!r) {
    if (in.size() > tz::kMaxProofBytes) {
      check(r.error() == tz::errc::oversized, "an oversized proof was not refused as oversized");
    } else {
      check(r.error() == tz::errc::bad_proof, "a proof was refused with an undocumented error");
    }
    check(!diag.detail.empty(), "a refusal without a detail");
    return;
  }
  check(in.size() <= tz::kMaxProofBytes, "an oversized proof was accepted");
  const auto& p = r.value();
  check(tz::SafeRelPath::parse(p.path.str()).has_value(), "an accepted proof's path is not a SafeRelPath");
  check(p.file_key.bytes().size() == tz::kFileProofKeySize, "an accepted proof's key is not 32 bytes");
  const std::string again = tz::encode_proof(p.bundle_id, p.path, p.file_key);
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  check(again == text, "an accepted proof does not encode back to its bytes");
}

void check_seal(std::span<const std::uint8_t> in) {
  tz::Sha256 digest{};
  tz::ProvenanceSalt salt{};
  std::copy_n(in.begin(), digest.size(), digest.begin());
  std::copy_n(in.begin() + digest.size(), salt.size(), salt.begin());
  const auto seal = tz::seal_original_with_salt(tz::fuzz::fixed_key(), digest, salt);
  const auto key = tz::proof_key(tz::fuzz::fixed_key(), salt);
  check(tz::opens(key, digest, seal), "a seal does not open with its own key");
  check(!tz::opens(tz::proof_key(tz::fuzz::other_key(), salt), digest, seal), "another publisher's key opens a seal");
  tz::Sha256 other = digest;
  const std::size_t bit = in.size() > 48 ? in[48] : 0;
  other[bit / 8 % other.size()] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  check(!tz::opens(key, other, seal), "a seal opens for another original");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  check_parse(in);
  if (size >= 48) check_seal(in);
  return 0;
}
