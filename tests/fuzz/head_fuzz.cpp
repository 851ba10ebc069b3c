// Fuzz target for signed channel heads and the mirror rules (core/channel.h).
//
// Every input is used twice:
// 1. As envelope bytes, for open_envelope (kMaxHeadBytes) and verify_head.
//    They must agree: verify_head fails with open_envelope's own error when
//    the envelope does not open, and only for head reasons when it does. A
//    verified head keeps its exact bytes, validates, verifies with its own
//    publisher expected (and fails with wrong_publisher for another), is
//    judged `same` against itself and `accept` with nothing held, and is
//    stale exactly after its expiry.
// 2. As a ChannelHead payload, sealed here with a fixed key so that the parser
//    and validate_head behind the signature check get fuzzed too (a fuzzer
//    cannot forge signatures).
// Whenever a verified head was signed by the fixed key (always in 2; in 1 for
// seeds made with it, such as the test vector), sign_head must re-sign its
// data to an envelope that verifies to the same HeadData, byte for byte when
// the payload was canonical; and heads derived from it (seq + 1, same seq with
// other data, other publisher) must be judged accept / rollback /
// equivocation / other_channel.
// A violated property traps.
#include "fuzz_util.h"
#include "core/proto_util.h"
#include "core/channel.h"
#include "core/envelope.h"
#include "core/keys.h"


#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <span>
#include <utility>
#include <vector>

const char* const tz::fuzz::kTarget = "head_fuzz";

namespace {

constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();

using tz::fuzz::check;
using tz::fuzz::fixed_key;
using tz::fuzz::is_envelope_error;
using tz::fuzz::other_key;
using tz::fuzz::violated;


// Errors of a well-signed envelope whose payload is not a valid head.
bool is_head_error(const boost::system::error_code& e) {
  return e == tz::errc::malformed_head || e == tz::errc::unknown_version || e == tz::errc::too_many_files ||
         e == tz::errc::oversized || e == tz::errc::wrong_publisher;
}

bool same_bytes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// verify_head of bytes that must verify.
tz::VerifiedHead must_verify(std::span<const std::uint8_t> envelope, const char* what) {
  auto v = tz::verify_head(envelope);
  check(v.has_value(), what);
  return std::move(v).value();
}

// Signs `h` with `key` and verifies the result, which must give `h` back.
tz::VerifiedHead sign_and_verify(const tz::HeadData& h, const tz::SecretKey& key) {
  tz::Diag diag;
  const auto signed_head = tz::sign_head(h, key, &diag);
  check(signed_head.has_value(), "a valid head cannot be signed");
  auto v = must_verify(signed_head.value(), "a signed head does not verify");
  check(v.data() == h, "a signed head verifies to other data");
  return v;
}

void check_stale(const tz::VerifiedHead& v) {
  const tz::HeadData& h = v.data();
  if (h.expires == 0) {
    check(!v.is_stale(kMinTime) && !v.is_stale(h.created) && !v.is_stale(kMaxTime),
          "a head without expiry is stale");
    return;
  }
  check(h.expires > h.created, "a verified head expires before it was created");
  check(!v.is_stale(kMinTime) && !v.is_stale(h.created) && !v.is_stale(h.expires),
        "a head is stale before its expiry");
  if (h.expires < kMaxTime) check(v.is_stale(h.expires + 1), "a head is not stale after its expiry");
}

// Properties of every verified head; `envelope` is the bytes it came from.
void check_verified(const tz::VerifiedHead& v, std::span<const std::uint8_t> envelope) {
  check(same_bytes(v.envelope(), envelope), "VerifiedHead::envelope() differs from the verified bytes");
  const tz::HeadData& h = v.data();
  check(tz::validate_head(h).has_value(), "a verified head does not validate");
  check(h.seq >= 1 && h.seq <= static_cast<std::uint64_t>(kMaxTime), "a verified head's seq is out of range");
  check(h.bundles.size() <= tz::kMaxHeadBundles, "a verified head has too many bundles");
  check_stale(v);

  // The head's own publisher is the one to expect; any other is refused.
  const tz::PublicKey publisher = h.publisher;
  const auto own = tz::verify_head(envelope, &publisher);
  check(own.has_value(), "fails with its own publisher expected");
  check(own.value().data() == h, "verifies to other data with its publisher expected");
  tz::PublicKey other = publisher;
  other.bytes[0] ^= 1;
  const auto wrong = tz::verify_head(envelope, &other);
  check(!wrong && wrong.error() == tz::errc::wrong_publisher, "accepted with another publisher expected");

  check(tz::judge_head(nullptr, v) == tz::HeadVerdict::accept, "a first head is not accepted");
  check(tz::judge_head(&v, v) == tz::HeadVerdict::same, "a head is not the same as itself");
  check(tz::judge_head(&v, own.value()) == tz::HeadVerdict::same, "a head verified twice is not the same");
}

// The same head data, changed so that it stays valid but encodes differently.
tz::HeadData changed(tz::HeadData h) {
  if (h.expires != 0) {
    h.expires = 0;
  } else if (h.created < kMaxTime) {
    h.expires = h.created + 1;
  } else {
    h.created -= 1;
  }
  return h;
}

// Properties of a verified head signed by the fixed key; `payload` is the
// payload it was verified from.
void check_fixed_signer(const tz::VerifiedHead& v, std::span<const std::uint8_t> payload) {
  const tz::SecretKey& key = fixed_key();
  const tz::HeadData& h = v.data();
  check(h.publisher == key.public_key(), "head of the fixed key names another publisher");

  // Round trip: what verified signs again, and verifies to the same data.
  const auto resigned = tz::sign_head(h, key);
  check(resigned.has_value(), "a verified head cannot be signed again");
  const auto again = must_verify(resigned.value(), "a re-signed head does not verify");
  check(again.data() == h, "a re-signed head verifies to other data");
  // When the fuzzed payload is the canonical encoding, the bytes match too.
  const auto reopened = tz::open_envelope(resigned.value(), tz::EnvelopeKind::channel_head, tz::kMaxHeadBytes);
  check(reopened.has_value(), "a re-signed envelope does not open");
  const bool canonical = same_bytes(reopened.value().payload(), payload);
  if (canonical) check(same_bytes(resigned.value(), v.envelope()), "same payload, other envelope");
  // Same data, same seq: the same head exactly when the bytes are the same.
  check(tz::judge_head(&v, again) == (canonical ? tz::HeadVerdict::same : tz::HeadVerdict::equivocation),
        "judge_head of a re-signed head");

  // Signing is refused with another key.
  const auto foreign = tz::sign_head(h, other_key());
  check(!foreign && foreign.error() == tz::errc::wrong_publisher, "sign_head signed another publisher's head");

  // A newer head is accepted, and the older one is then a rollback.
  if (h.seq < static_cast<std::uint64_t>(kMaxTime)) {
    tz::HeadData next = h;
    next.seq += 1;
    const auto newer = sign_and_verify(next, key);
    check(tz::judge_head(&v, newer) == tz::HeadVerdict::accept, "a newer head is not accepted");
    check(tz::judge_head(&newer, v) == tz::HeadVerdict::rollback, "an older head is not a rollback");
  }
  // Other data at the same seq is equivocation, either way round.
  const auto twin = sign_and_verify(changed(h), key);
  check(tz::judge_head(&v, twin) == tz::HeadVerdict::equivocation, "other data at the same seq accepted");
  check(tz::judge_head(&twin, v) == tz::HeadVerdict::equivocation, "other data at the same seq accepted (2)");
  // Another publisher's head is another channel, whatever its seq.
  tz::HeadData theirs = h;
  theirs.publisher = other_key().public_key();
  const auto stranger = sign_and_verify(theirs, other_key());
  check(tz::judge_head(&v, stranger) == tz::HeadVerdict::other_channel, "another channel's head judged");
  check(tz::judge_head(&stranger, v) == tz::HeadVerdict::other_channel, "another channel's head judged (2)");
  check(tz::judge_head(nullptr, stranger) == tz::HeadVerdict::accept, "a first head is not accepted (2)");
}

// 1. The input is an envelope.
void fuzz_envelope(std::span<const std::uint8_t> input) {
  const auto opened = tz::open_envelope(input, tz::EnvelopeKind::channel_head, tz::kMaxHeadBytes);
  if (!opened) check(is_envelope_error(opened.error()), "open_envelope: undocumented error");

  tz::Diag diag;
  const auto verified = tz::verify_head(input, nullptr, &diag);
  if (!opened) {
    check(!verified && verified.error() == opened.error(), "verify_head disagrees with open_envelope");
    return;
  }
  if (!verified) {
    check(is_head_error(verified.error()), "signed envelope refused for an undocumented reason");
    return;
  }
  check(opened.value().signer() == verified.value().data().publisher, "head publisher differs from the signer");
  check_verified(verified.value(), input);
  if (opened.value().signer() == fixed_key().public_key()) {
    check_fixed_signer(verified.value(), opened.value().payload());
  }
}

// 2. The input is a ChannelHead payload, signed here.
void fuzz_payload(std::span<const std::uint8_t> input) {
  const tz::SecretKey& key = fixed_key();
  const auto sealed = tz::seal_envelope(tz::EnvelopeKind::channel_head, input, key);
  const auto opened = tz::open_envelope(sealed, tz::EnvelopeKind::channel_head, tz::kMaxHeadBytes);
  check(opened.has_value(), "a freshly sealed envelope does not open");
  check(opened.value().signer() == key.public_key(), "sealed envelope has another signer");
  check(same_bytes(opened.value().payload(), input), "sealed envelope carries another payload");

  tz::Diag diag;
  const auto verified = tz::verify_head(sealed, nullptr, &diag);
  if (!verified) {
    check(is_head_error(verified.error()), "signed payload refused for an undocumented reason");
    return;
  }
  check_verified(verified.value(), sealed);
  check_fixed_signer(verified.value(), input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tz::detail::quiet_protobuf_logs();  // parse failures are expected here
  const std::span<const std::uint8_t> input(data, size);
  fuzz_envelope(input);
  fuzz_payload(input);
  return 0;
}
