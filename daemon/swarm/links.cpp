#include "swarm/links.h"

#include "core/hex.h"

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/magnet_uri.hpp>

#include <algorithm>

namespace tz::swarm {

std::string make_bundle_link(const Sha1& info_hash_v1, const Sha256& bundle_id, std::string_view title,
                             const PublicKey& publisher) {
  return "magnet:?xt=urn:btih:" + to_hex(info_hash_v1) + "&xt=urn:btmh:1220" + to_hex(bundle_id) +
         "&dn=" + percent_encode(title) + "&x.tz=" + encode_publisher_id(publisher);
}

Result<BundleLink> parse_bundle_link(std::string_view link) {
  if (link.size() > 8192 || !link.starts_with("magnet:?")) return errc::bad_link;
  lt::error_code ec;
  const lt::add_torrent_params p = lt::parse_magnet_uri(lt::string_view(link.data(), link.size()), ec);
  if (ec || !p.info_hashes.has_v1()) return errc::bad_link;
  BundleLink out;
  std::copy(p.info_hashes.v1.begin(), p.info_hashes.v1.end(), out.info_hash_v1.begin());
  if (p.info_hashes.has_v2()) {
    Sha256 v2{};
    std::copy(p.info_hashes.v2.begin(), p.info_hashes.v2.end(), v2.begin());
    out.bundle_id = v2;
  }
  out.name = p.name;
  // x.tz: libtorrent ignores parameters it does not know, so read it here.
  const std::string_view query = link.substr(8);
  std::size_t start = 0;
  while (start <= query.size()) {
    const std::size_t end = std::min(query.find('&', start), query.size());
    const std::string_view kv = query.substr(start, end - start);
    if (kv.starts_with("x.tz=")) {
      if (out.publisher) return errc::bad_link;  // two publishers: refuse rather than pick one
      BOOST_OUTCOME_TRY(key, decode_publisher_id(kv.substr(5)));
      out.publisher = key;
    }
    start = end + 1;
  }
  return out;
}

}  // namespace tz::swarm
