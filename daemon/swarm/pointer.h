// A signed BEP 46 channel pointer as the node holds it: enough to put it on
// the DHT again without the publisher's key. Free of libtorrent types, so
// the node can hold them; core/dht_item.h has the format and the checks.
#pragma once

#include "core/dht_item.h"
#include "core/ids.h"
#include "core/keys.h"

#include <cstdint>
#include <string>

namespace tz::swarm {

struct SignedPointer {
  PublicKey publisher;
  std::int64_t seq = 0;
  std::string value;  // encode_channel_pointer(...)
  Signature signature{};
  bool operator==(const SignedPointer&) const = default;
};

}  // namespace tz::swarm
