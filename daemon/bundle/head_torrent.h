// The torrent that carries a channel head (docs/protocol.md §9): a folder
// "tamizdat-head-" + the first 20 hex digits of SHA-256 over the envelope,
// holding one file "channel-head" with the envelope bytes. Built the same way
// as bundle torrents (hybrid v1+v2, deterministic), so every node holding the
// same signed head makes the same torrent and seeds the same swarm; the DHT
// item points at its v1 info-hash. Pure; safe from any thread.
#pragma once

#include "core/result.h"
#include "swarm/torrent.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace tz::bundle {

inline constexpr std::string_view kHeadFileName = "channel-head";

// Builds the head torrent for `envelope` (1 byte to kMaxHeadBytes, else
// errc::oversized). The file lies at `<torrent.name>/channel-head`.
[[nodiscard]] Result<swarm::BuiltTorrent> build_head_torrent(std::span<const std::uint8_t> envelope);

}  // namespace tz::bundle
