#include "bundle/head_torrent.h"

#include "core/channel.h"
#include "core/hex.h"

#include <sodium.h>

#include <array>

namespace tz::bundle {

Result<swarm::BuiltTorrent> build_head_torrent(std::span<const std::uint8_t> envelope) {
  if (envelope.empty() || envelope.size() > kMaxHeadBytes) return errc::oversized;
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> h{};
  crypto_hash_sha256(h.data(), envelope.data(), envelope.size());
  const std::uint64_t size = envelope.size();
  const int piece_size = swarm::choose_piece_size(std::span(&size, 1));
  const swarm::FileHashes hashes = swarm::hash_buffer(envelope, piece_size, true);
  auto path = SafeRelPath::parse(kHeadFileName);
  const swarm::TorrentFile file{path.value(), size, &hashes};
  return swarm::build_torrent("tamizdat-head-" + to_hex(std::span(h).first(10)), std::span(&file, 1), piece_size);
}

}  // namespace tz::bundle
