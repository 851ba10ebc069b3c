// The BEP 46 pointer to a channel: a BEP 44 mutable DHT item stored under the
// publisher's key with salt "tamizdat/v1", whose value is the bencoded
// dictionary {"ih": <20-byte v1 info-hash of the head torrent>} and whose
// sequence number is the head's seq. The publisher signs it with libsodium;
// any node holding the signed item can put it again without the key.
// Byte-exact rules: docs/protocol.md ("DHT item"). Pure; safe from any thread.
#pragma once

#include "core/ids.h"
#include "core/keys.h"
#include "core/result.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tz {

inline constexpr std::string_view kDhtSalt = "tamizdat/v1";
// BEP 44 caps a value at 1000 bytes; ours is always exactly 27.
inline constexpr std::size_t kMaxDhtValueBytes = 1000;
using InfoHashV1 = std::array<std::uint8_t, 20>;

// "d2:ih20:" + 20 bytes + "e": the only value a channel pointer may have.
[[nodiscard]] std::string encode_channel_pointer(const InfoHashV1& head_info_hash);

// Reads a DHT value of exactly the form encode_channel_pointer writes; fails
// with errc::malformed_dht_item for anything else (other keys, extra bytes,
// other lengths), and errc::oversized past kMaxDhtValueBytes.
[[nodiscard]] Result<InfoHashV1> decode_channel_pointer(std::string_view value);

// The bytes BEP 44 signs: "4:salt" len ":" salt "3:seqi" seq "e1:v" value
// (the salt part is omitted when `salt` is empty).
[[nodiscard]] std::vector<std::uint8_t> bep44_signed_buffer(std::string_view salt, std::int64_t seq,
                                                            std::string_view value);

// Signs the channel pointer `value` at `seq` under kDhtSalt.
[[nodiscard]] Signature sign_channel_pointer(const SecretKey& key, std::string_view value, std::int64_t seq);

// True when `signature` is `publisher`'s valid signature of `value` at `seq`
// under kDhtSalt. DHT nodes are untrusted: call this on every item received,
// even when libtorrent has already checked it.
[[nodiscard]] bool verify_channel_pointer(const PublicKey& publisher, std::string_view value, std::int64_t seq,
                                          std::span<const std::uint8_t> signature);

}  // namespace tz
