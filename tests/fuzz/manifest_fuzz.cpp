// Fuzz target for signed manifests (core/manifest.h, core/envelope.h).
//
// Every input is used twice:
// 1. As envelope bytes, for open_envelope (1 MiB limit) and verify_manifest.
//    They must agree: a manifest that verifies came from an envelope that
//    opens, signed by the manifest's own publisher, and an envelope that
//    opens can only fail as a manifest for manifest reasons.
// 2. As a Manifest payload, sealed here with a fixed key so that the parser
//    and validator behind the signature check get fuzzed too (a fuzzer cannot
//    forge signatures). What verifies must re-sign and verify to the same
//    ManifestData; a canonical payload must re-sign to the same bytes.
// A violated property traps.
#include "fuzz_util.h"
#include "core/proto_util.h"
#include "core/envelope.h"
#include "core/keys.h"
#include "core/manifest.h"


#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <utility>

const char* const tz::fuzz::kTarget = "manifest_fuzz";

namespace {

using tz::fuzz::check;
using tz::fuzz::fixed_key;
using tz::fuzz::is_envelope_error;
using tz::fuzz::violated;


// Errors of a well-signed envelope whose payload is not a valid manifest.
// (empty_bundle comes from validate_manifest, for a manifest without files.)
bool is_manifest_error(const boost::system::error_code& e) {
  return e == tz::errc::malformed_manifest || e == tz::errc::unknown_version || e == tz::errc::unsafe_path ||
         e == tz::errc::too_many_files || e == tz::errc::wrong_publisher || e == tz::errc::oversized ||
         e == tz::errc::empty_bundle;
}

void check_verified(const tz::VerifiedManifest& m, std::span<const std::uint8_t> envelope) {
  const auto& env = m.envelope();
  check(env.size() == envelope.size() && std::equal(env.begin(), env.end(), envelope.begin()),
        "VerifiedManifest::envelope() differs from the verified bytes");
  check(tz::validate_manifest(m.data()).has_value(), "a verified manifest does not validate");
  std::uint64_t total = 0;
  for (const auto& f : m.data().files) total += f.size;
  check(m.total_size() == total, "total_size() differs from the sum of file sizes");
  // The manifest's own publisher is the one to expect; any other is refused.
  const tz::PublicKey publisher = m.data().publisher;
  check(tz::verify_manifest(envelope, &publisher).has_value(), "fails with its own publisher expected");
  tz::PublicKey other = publisher;
  other.bytes[0] ^= 1;
  const auto wrong = tz::verify_manifest(envelope, &other);
  check(!wrong && wrong.error() == tz::errc::wrong_publisher, "accepted with another publisher expected");
}

// 1. The input is an envelope.
void fuzz_envelope(std::span<const std::uint8_t> input) {
  const auto opened = tz::open_envelope(input, tz::EnvelopeKind::manifest, 1u << 20);
  if (!opened) check(is_envelope_error(opened.error()), "open_envelope: undocumented error");

  tz::Diag diag;
  const auto verified = tz::verify_manifest(input, nullptr, &diag);
  if (verified) {
    check(input.size() > (1u << 20) || opened.has_value(), "verify_manifest accepts what open_envelope refuses");
    check(!opened || opened.value().signer() == verified.value().data().publisher,
          "manifest publisher differs from the envelope signer");
    check_verified(verified.value(), input);
  } else if (opened) {
    check(is_manifest_error(verified.error()), "signed envelope refused for an envelope reason");
  } else {
    check(is_envelope_error(verified.error()) || is_manifest_error(verified.error()),
          "verify_manifest: undocumented error");
  }
}

// 2. The input is a Manifest payload, signed here.
void fuzz_payload(std::span<const std::uint8_t> input) {
  const tz::SecretKey& key = fixed_key();
  const auto sealed = tz::seal_envelope(tz::EnvelopeKind::manifest, input, key);
  const auto opened = tz::open_envelope(sealed, tz::EnvelopeKind::manifest, tz::kMaxManifestBytes);
  check(opened.has_value(), "a freshly sealed envelope does not open");
  check(opened.value().signer() == key.public_key(), "sealed envelope has another signer");
  const auto& payload = opened.value().payload();
  check(payload.size() == input.size() && std::equal(payload.begin(), payload.end(), input.begin()),
        "sealed envelope carries another payload");

  tz::Diag diag;
  const auto verified = tz::verify_manifest(sealed, nullptr, &diag);
  if (!verified) {
    check(is_manifest_error(verified.error()), "signed payload refused for an envelope reason");
    return;
  }
  check_verified(verified.value(), sealed);
  const tz::ManifestData& data = verified.value().data();
  check(data.publisher == key.public_key(), "verified manifest names another publisher");

  // Round trip: what verified signs again, and verifies to the same data.
  const auto resigned = tz::sign_manifest(data, key);
  check(resigned.has_value(), "a verified manifest cannot be signed again");
  const auto again = tz::verify_manifest(resigned.value());
  check(again.has_value(), "a re-signed manifest does not verify");
  check(again.value().data() == data, "re-signed manifest verifies to other data");
  // When the fuzzed payload is the canonical encoding, the bytes match too.
  const auto reopened = tz::open_envelope(resigned.value(), tz::EnvelopeKind::manifest, tz::kMaxManifestBytes);
  check(reopened.has_value(), "a re-signed envelope does not open");
  if (reopened.value().payload() == payload) check(resigned.value() == sealed, "same payload, other envelope");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tz::detail::quiet_protobuf_logs();  // parse failures are expected here
  const std::span<const std::uint8_t> input(data, size);
  fuzz_envelope(input);
  fuzz_payload(input);
  return 0;
}
