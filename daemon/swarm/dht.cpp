#include "swarm/dht.h"

#include <libtorrent/alert_types.hpp>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

#include <algorithm>
#include <array>

namespace tz::swarm {
namespace {

std::array<char, 32> key_chars(const PublicKey& k) {
  std::array<char, 32> a{};
  std::transform(k.bytes.begin(), k.bytes.end(), a.begin(), [](std::uint8_t b) { return static_cast<char>(b); });
  return a;
}

}  // namespace

void put_channel_pointer(lt::session& s, const SignedPointer& p) {
  // The callback runs on libtorrent's network thread: it only copies the
  // already-signed item, which it owns.
  s.dht_put_item(
      key_chars(p.publisher),
      [p](lt::entry& value, std::array<char, 64>& sig, std::int64_t& seq, const std::string&) {
        value = lt::bdecode(lt::span<const char>(p.value.data(), static_cast<std::ptrdiff_t>(p.value.size())));
        std::transform(p.signature.begin(), p.signature.end(), sig.begin(),
                       [](std::uint8_t b) { return static_cast<char>(b); });
        seq = p.seq;
      },
      std::string(kDhtSalt));
}

void get_channel_pointer(lt::session& s, const PublicKey& publisher) {
  s.dht_get_item(key_chars(publisher), std::string(kDhtSalt));
}

Result<std::optional<SignedPointer>> read_channel_pointer(const lt::alert* a) {
  const auto* m = lt::alert_cast<lt::dht_mutable_item_alert>(a);
  if (m == nullptr) return std::optional<SignedPointer>();
  if (m->salt != kDhtSalt || m->seq < 0) return errc::malformed_dht_item;
  SignedPointer p;
  std::transform(m->key.begin(), m->key.end(), p.publisher.bytes.begin(),
                 [](char c) { return static_cast<std::uint8_t>(c); });
  std::transform(m->signature.begin(), m->signature.end(), p.signature.begin(),
                 [](char c) { return static_cast<std::uint8_t>(c); });
  p.seq = m->seq;
  // libtorrent hands over the decoded value; bencoding is canonical, so
  // encoding it again gives the signed bytes back.
  lt::bencode(std::back_inserter(p.value), m->item);
  BOOST_OUTCOME_TRY(decode_channel_pointer(p.value));
  if (!verify_channel_pointer(p.publisher, p.value, p.seq, p.signature)) return errc::bad_signature;
  return std::optional<SignedPointer>(std::move(p));
}

}  // namespace tz::swarm
