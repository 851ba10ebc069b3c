#include "core/envelope.h"

#include "core/proto_util.h"

#include "tamizdat/v1/envelope.pb.h"

#include <algorithm>
#include <cstring>

namespace tz {
namespace {

constexpr std::string_view kDomain = "tamizdat/v1/";

// Messages without map fields serialise in field-number order: one byte form.
std::string serialize_canonical(const tamizdat::v1::Envelope& env) { return env.SerializeAsString(); }

}  // namespace

std::string_view kind_name(EnvelopeKind kind) {
  switch (kind) {
    case EnvelopeKind::manifest:
      return "manifest";
    case EnvelopeKind::channel_head:
      return "channel-head";
  }
  return "";
}

std::vector<std::uint8_t> signed_message(std::string_view kind, std::span<const std::uint8_t> payload) {
  // Built with memcpy: GCC 12 misreports vector::insert here (-Wstringop-overflow).
  std::vector<std::uint8_t> m(kDomain.size() + kind.size() + 1 + payload.size());
  std::uint8_t* p = m.data();
  std::memcpy(p, kDomain.data(), kDomain.size());
  p += kDomain.size();
  std::memcpy(p, kind.data(), kind.size());
  p += kind.size();
  *p++ = 0;
  if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  return m;
}

std::vector<std::uint8_t> seal_envelope(EnvelopeKind kind, std::span<const std::uint8_t> payload,
                                        const SecretKey& key) {
  const std::string_view name = kind_name(kind);
  const Signature sig = key.sign(signed_message(name, payload));
  tamizdat::v1::Envelope env;
  env.set_kind(std::string(name));
  env.set_payload(payload.data(), payload.size());
  env.set_signer(key.public_key().bytes.data(), kPublicKeySize);
  env.set_signature(sig.data(), sig.size());
  const std::string s = serialize_canonical(env);
  return {s.begin(), s.end()};
}

Result<OpenedEnvelope> open_envelope(std::span<const std::uint8_t> bytes, EnvelopeKind expected,
                                     std::size_t max_size, const PublicKey* expected_signer) {
  if (bytes.size() > max_size) return errc::oversized;
  if (bytes.empty()) return errc::malformed_envelope;
  detail::quiet_protobuf_logs();
  tamizdat::v1::Envelope env;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !env.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return errc::malformed_envelope;
  }
  if (!env.GetReflection()->GetUnknownFields(env).empty()) return errc::malformed_envelope;
  const std::string again = serialize_canonical(env);
  if (again.size() != bytes.size() || std::memcmp(again.data(), bytes.data(), bytes.size()) != 0) {
    return errc::malformed_envelope;
  }
  OpenedEnvelope out;
  if (!PublicKey::from_bytes(std::span(reinterpret_cast<const std::uint8_t*>(env.signer().data()),
                                       env.signer().size()),
                             out.m_signer) ||
      env.signature().size() != kSignatureSize) {
    return errc::malformed_envelope;
  }
  if (env.kind() != kind_name(expected)) return errc::unknown_kind;
  const auto* payload = reinterpret_cast<const std::uint8_t*>(env.payload().data());
  const auto* sig = reinterpret_cast<const std::uint8_t*>(env.signature().data());
  if (!verify_signature(out.m_signer, signed_message(env.kind(), {payload, env.payload().size()}),
                        {sig, kSignatureSize})) {
    return errc::bad_signature;
  }
  if (expected_signer != nullptr && *expected_signer != out.m_signer) return errc::wrong_publisher;
  out.m_payload.assign(payload, payload + env.payload().size());
  return out;
}

}  // namespace tz
