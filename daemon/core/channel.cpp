#include "core/channel.h"

#include "core/paths.h"
#include "core/proto_util.h"
#include "tamizdat/v1/channel.pb.h"

#include <algorithm>
#include <cstdint>
#include <set>

namespace tz {
namespace {

template <std::size_t N>
bool copy_exact(const std::string& from, std::array<std::uint8_t, N>& to) {
  if (from.size() != N) return false;
  std::copy(from.begin(), from.end(), to.begin());
  return true;
}

std::string as_string(std::span<const std::uint8_t> b) { return {b.begin(), b.end()}; }

}  // namespace

Result<void> validate_head(const HeadData& h, Diag* diag) {
  // The seq is also the DHT item's BEP 44 sequence number, a signed 64-bit integer.
  if (h.seq == 0 || h.seq > static_cast<std::uint64_t>(INT64_MAX)) {
    return fail(errc::malformed_head, diag, {}, "sequence number out of range");
  }
  if (h.expires != 0 && h.expires <= h.created) {
    return fail(errc::malformed_head, diag, {}, "expires before it was created");
  }
  if (h.bundles.size() > kMaxHeadBundles) return fail(errc::too_many_files, diag, {}, "more than 10000 bundles");
  std::set<Sha256> seen;
  for (const auto& b : h.bundles) {
    if (!seen.insert(b.bundle_id).second) return fail(errc::malformed_head, diag, {}, "a bundle is listed twice");
    if (b.title.size() > kMaxTitleBytes || !is_valid_utf8(b.title)) {
      return fail(errc::malformed_head, diag, {}, "title is not UTF-8 or longer than 1024 bytes");
    }
    if (b.size == 0 || b.size > kMaxBundleSize) return fail(errc::oversized, diag, {}, "bundle size out of range");
  }
  return success();
}

Result<std::vector<std::uint8_t>> sign_head(const HeadData& h, const SecretKey& key, Diag* diag) {
  if (key.public_key() != h.publisher) return errc::wrong_publisher;
  BOOST_OUTCOME_TRY(validate_head(h, diag));
  detail::quiet_protobuf_logs();
  tamizdat::v1::ChannelHead pb;
  pb.set_version(kHeadVersion);
  pb.set_publisher(as_string(h.publisher.bytes));
  pb.set_seq(h.seq);
  pb.set_created(h.created);
  pb.set_expires(h.expires);
  for (const auto& b : h.bundles) {
    auto* e = pb.add_bundles();
    e->set_bundle_id(as_string(b.bundle_id));
    e->set_info_hash_v1(as_string(b.info_hash_v1));
    e->set_title(b.title);
    e->set_size(b.size);
    e->set_created(b.created);
  }
  const std::string payload = pb.SerializeAsString();
  auto env = seal_envelope(EnvelopeKind::channel_head,
                           {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, key);
  if (env.size() > kMaxHeadBytes) return fail(errc::oversized, diag, {}, "head larger than 4 MiB");
  return env;
}

Result<VerifiedHead> verify_head(std::span<const std::uint8_t> envelope, const PublicKey* expected, Diag* diag) {
  BOOST_OUTCOME_TRY(opened, open_envelope(envelope, EnvelopeKind::channel_head, kMaxHeadBytes, expected));
  // Only now, with the signature checked, are the payload bytes parsed.
  detail::quiet_protobuf_logs();
  tamizdat::v1::ChannelHead pb;
  const auto& payload = opened.payload();
  if (!pb.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return fail(errc::malformed_head, diag, {}, "payload is not a ChannelHead");
  }
  if (pb.version() != kHeadVersion) {
    return fail(errc::unknown_version, diag, {}, "head version " + std::to_string(pb.version()));
  }
  if (pb.bundles_size() > static_cast<int>(kMaxHeadBundles)) {
    return fail(errc::too_many_files, diag, {}, "more than 10000 bundles");
  }
  VerifiedHead out;
  HeadData& h = out.m_data;
  if (!copy_exact(pb.publisher(), h.publisher.bytes)) {
    return fail(errc::malformed_head, diag, {}, "publisher is not 32 bytes");
  }
  if (h.publisher != opened.signer()) {
    return fail(errc::wrong_publisher, diag, {}, "head names a publisher other than its signer");
  }
  h.seq = pb.seq();
  h.created = pb.created();
  h.expires = pb.expires();
  h.bundles.reserve(static_cast<std::size_t>(pb.bundles_size()));
  for (const auto& e : pb.bundles()) {
    HeadEntry b;
    if (!copy_exact(e.bundle_id(), b.bundle_id) || !copy_exact(e.info_hash_v1(), b.info_hash_v1)) {
      return fail(errc::malformed_head, diag, {}, "bundle ID or v1 info-hash of the wrong length");
    }
    b.title = e.title();
    b.size = e.size();
    b.created = e.created();
    h.bundles.push_back(std::move(b));
  }
  BOOST_OUTCOME_TRY(validate_head(h, diag));
  out.m_envelope.assign(envelope.begin(), envelope.end());
  return out;
}

HeadVerdict judge_head(const VerifiedHead* current, const VerifiedHead& incoming) {
  if (current == nullptr) return HeadVerdict::accept;
  if (current->data().publisher != incoming.data().publisher) return HeadVerdict::other_channel;
  if (incoming.data().seq < current->data().seq) return HeadVerdict::rollback;
  if (incoming.data().seq == current->data().seq) {
    return incoming.envelope() == current->envelope() ? HeadVerdict::same : HeadVerdict::equivocation;
  }
  return HeadVerdict::accept;
}

}  // namespace tz
