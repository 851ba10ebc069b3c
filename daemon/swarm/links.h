// Links readers are handed (docs/protocol.md, "Links"). A channel's link is
// its publisher ID. A bundle's link is a magnet URI that any BitTorrent client
// understands, plus one parameter the others ignore naming the publisher:
//   magnet:?xt=urn:btih:<v1 hex>&xt=urn:btmh:1220<v2 hex>&dn=<title>&x.tz=<publisher ID>
// Pure; safe from any thread.
#pragma once

#include "core/ids.h"
#include "core/keys.h"
#include "core/manifest.h"
#include "core/result.h"
#include "swarm/torrent.h"

#include <optional>
#include <string>
#include <string_view>

namespace tz::swarm {

struct BundleLink {
  Sha1 info_hash_v1{};
  std::optional<Sha256> bundle_id;     // the v2 info-hash, when the link has it
  std::optional<PublicKey> publisher;  // from x.tz, when present
  std::string name;                    // dn, possibly empty
};

[[nodiscard]] std::string make_bundle_link(const Sha1& info_hash_v1, const Sha256& bundle_id, std::string_view title,
                                           const PublicKey& publisher);

// Parses a magnet link. It must carry a v1 info-hash (btih); a v2 hash
// (btmh) and x.tz are optional. Fails with errc::bad_link, or with the
// publisher ID's own error for a malformed x.tz (bad_publisher_id...).
[[nodiscard]] Result<BundleLink> parse_bundle_link(std::string_view link);

}  // namespace tz::swarm
