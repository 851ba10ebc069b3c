// BEP 46 channel pointers on libtorrent's DHT. Internal to tz::swarm (it
// names libtorrent types). Putting needs no secret key: the publisher's CLI
// signs (core/dht_item.h), and any node holding the signed item can store it
// again, which keeps a channel findable while its publisher is offline.
// Everything read from the DHT is re-verified here with libsodium, whatever
// libtorrent already checked. Call from the thread that owns the session's
// alerts (the daemon's io thread).
#pragma once

#include "core/dht_item.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/result.h"
#include "swarm/pointer.h"

#include <libtorrent/alert.hpp>
#include <libtorrent/session.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace tz::swarm {

// Starts storing `p` under its publisher's key with salt kDhtSalt. The result
// arrives as a dht_put_alert (num_success: how many nodes stored it).
void put_channel_pointer(lt::session& s, const SignedPointer& p);

// Starts looking up `publisher`'s pointer; results arrive as
// dht_mutable_item_alerts, read them with read_channel_pointer.
void get_channel_pointer(lt::session& s, const PublicKey& publisher);

// If `a` is a dht_mutable_item_alert for a channel pointer, returns it after
// checking the value's form and the signature with libsodium. Returns
// nullopt for other alerts. Fails with errc::malformed_dht_item (other salt,
// other value form, negative seq) or errc::bad_signature.
[[nodiscard]] Result<std::optional<SignedPointer>> read_channel_pointer(const lt::alert* a);

}  // namespace tz::swarm
