// Fuzz target for the BEP 46 channel pointer (core/dht_item.h).
//
// 1. The input as a DHT value: decode_channel_pointer succeeds exactly when it
//    is "d2:ih20:" + 20 bytes + "e", and then encodes back to the input; it
//    fails with oversized past kMaxDhtValueBytes, else malformed_dht_item.
//    bep44_signed_buffer of it is the documented concatenation, with and
//    without a salt.
// 2. The input as a received item, when it has at least 72 bytes: seq (8 bytes,
//    big-endian, as a signed 64-bit number), signature (64 bytes), value (the
//    rest). verify_channel_pointer must return true only for a well-formed
//    value, a seq >= 0 and the fixed key's own signature of them (a fuzzer
//    cannot forge one, so fuzzed signatures are refused). Then the value is
//    signed here with the fixed key at that seq, and must verify exactly when
//    it decodes and seq >= 0; never with another key, another seq, a flipped
//    signature bit or a truncated signature.
// A violated property traps.
#include "fuzz_util.h"
#include "core/proto_util.h"
#include "core/dht_item.h"
#include "core/keys.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

const char* const tz::fuzz::kTarget = "dht_pointer_fuzz";

namespace {

constexpr std::string_view kPrefix = "d2:ih20:";
constexpr std::size_t kValueSize = 8 + 20 + 1;  // an encoded pointer
constexpr std::size_t kItemHeader = 8 + tz::kSignatureSize;  // seq, signature

using tz::fuzz::check;
using tz::fuzz::fixed_key;
using tz::fuzz::other_key;
using tz::fuzz::violated;

// The pointer grammar, written independently of dht_item.cpp.
bool is_pointer(std::string_view v) {
  return v.size() == kValueSize && v.substr(0, kPrefix.size()) == kPrefix && v.back() == 'e';
}

// BEP 44's signed buffer, written independently of dht_item.cpp.
std::string expected_buffer(std::string_view salt, std::int64_t seq, std::string_view value) {
  std::string out;
  if (!salt.empty()) out += "4:salt" + std::to_string(salt.size()) + ":" + std::string(salt);
  out += "3:seqi" + std::to_string(seq) + "e1:v" + std::string(value);
  return out;
}

bool same(const std::vector<std::uint8_t>& a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](std::uint8_t x, char y) { return x == static_cast<std::uint8_t>(y); });
}

// 1. The input is a DHT value.
void fuzz_value(std::string_view value) {
  const auto decoded = tz::decode_channel_pointer(value);
  check(decoded.has_value() == is_pointer(value), "decode_channel_pointer accepts exactly the pointer form");
  if (decoded) {
    check(tz::encode_channel_pointer(decoded.value()) == value, "encode(decode(x)) differs from x");
    const auto& ih = decoded.value();
    check(std::equal(ih.begin(), ih.end(), value.begin() + kPrefix.size(),
                     [](std::uint8_t x, char y) { return x == static_cast<std::uint8_t>(y); }),
          "decoded info-hash is not the value's 20 bytes");
  } else if (value.size() > tz::kMaxDhtValueBytes) {
    check(decoded.error() == tz::errc::oversized, "a value past 1000 bytes is not oversized");
  } else {
    check(decoded.error() == tz::errc::malformed_dht_item, "a malformed value is not malformed_dht_item");
  }

  // The signed buffer, for a few seqs, under our salt, no salt, and the value as salt.
  for (const std::int64_t seq : {std::int64_t{0}, std::int64_t{1}, std::numeric_limits<std::int64_t>::min(),
                                 std::numeric_limits<std::int64_t>::max()}) {
    check(same(tz::bep44_signed_buffer(tz::kDhtSalt, seq, value), expected_buffer(tz::kDhtSalt, seq, value)),
          "bep44_signed_buffer with the salt");
  }
  check(same(tz::bep44_signed_buffer({}, 7, value), expected_buffer({}, 7, value)),
        "bep44_signed_buffer without a salt");
  check(same(tz::bep44_signed_buffer(value, -7, "v"), expected_buffer(value, -7, "v")),
        "bep44_signed_buffer with the value as salt");
}

// 2. The input is seq, signature, value.
void fuzz_item(std::span<const std::uint8_t> input) {
  std::uint64_t raw = 0;
  for (std::size_t i = 0; i < 8; ++i) raw = (raw << 8) | input[i];
  const auto seq = static_cast<std::int64_t>(raw);
  const std::span<const std::uint8_t> sig = input.subspan(8, tz::kSignatureSize);
  const std::string_view value(reinterpret_cast<const char*>(input.data() + kItemHeader),
                               input.size() - kItemHeader);
  const tz::PublicKey& pk = fixed_key().public_key();
  const bool well_formed = seq >= 0 && is_pointer(value);

  // The fuzzed signature: valid only if it is the fixed key's own.
  const tz::Signature own = tz::sign_channel_pointer(fixed_key(), value, seq);
  const bool is_own = std::equal(sig.begin(), sig.end(), own.begin());
  const bool accepted = tz::verify_channel_pointer(pk, value, seq, sig);
  if (accepted) {
    check(well_formed, "a malformed pointer or negative seq verified");
    // Ed25519 admits other valid signatures only for the holder of the key.
    check(is_own, "a signature the fixed key did not make verified");
  } else {
    check(!(well_formed && is_own), "the fixed key's own signature of a pointer does not verify");
  }
  // Other keys never accept it, whoever made it.
  check(!tz::verify_channel_pointer(other_key().public_key(), value, seq, sig) || !is_own,
        "the fixed key's signature verified under another key");

  // The fuzzed value signed here.
  check(tz::verify_channel_pointer(pk, value, seq, own) == well_formed,
        "a signed pointer verifies exactly when it is well formed with seq >= 0");
  check(!tz::verify_channel_pointer(other_key().public_key(), value, seq, own),
        "a pointer verified under another key");
  if (seq < std::numeric_limits<std::int64_t>::max()) {
    check(!tz::verify_channel_pointer(pk, value, seq + 1, own), "a pointer verified at another seq");
  }
  if (seq > 0) check(!tz::verify_channel_pointer(pk, value, seq - 1, own), "a pointer verified at a lower seq");
  tz::Signature flipped = own;
  flipped[input[kItemHeader - 1] % flipped.size()] ^= static_cast<std::uint8_t>(1u << (input[0] % 8));
  check(!tz::verify_channel_pointer(pk, value, seq, flipped), "a pointer verified with a flipped bit");
  check(!tz::verify_channel_pointer(pk, value, seq, std::span(own).first(tz::kSignatureSize - 1)),
        "a pointer verified with a truncated signature");
  check(!tz::verify_channel_pointer(pk, value, seq, {}), "a pointer verified without a signature");
  // The fixed key's signature is what any BEP 44 node checks: Ed25519 over the buffer.
  check(tz::verify_signature(pk, tz::bep44_signed_buffer(tz::kDhtSalt, seq, value), own),
        "sign_channel_pointer does not sign the BEP 44 buffer");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  fuzz_value(std::string_view(reinterpret_cast<const char*>(data), size));
  if (size >= kItemHeader) fuzz_item(input);
  return 0;
}
