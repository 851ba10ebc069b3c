// The daemon's behaviour behind the control socket. Today: status, follow,
// unfollow and listing; publishing, channel polling and mirroring arrive
// with the rest of issue 4. The node owns no I/O of its own: it reads and
// writes the catalogue and asks the swarm for statistics through a function,
// so tests can give it fakes. Use on the io thread only.
#pragma once

#include "catalog/catalog.h"
#include "tamizdat/v1/control.pb.h"

#include <cstdint>
#include <functional>

namespace tz::node {

struct SwarmFacts {
  std::uint32_t dht_nodes = 0;
  std::uint32_t listen_port = 0;
  std::uint32_t peers = 0;
};

class Node {
 public:
  // `catalog` must outlive the node; `swarm_facts` is called for status.
  Node(catalog::Catalog& catalog, std::function<SwarmFacts()> swarm_facts, std::function<std::int64_t()> clock);

  // Answers one control request. Bad input (a mistyped publisher ID) gets an
  // error response naming it, and is counted in the catalogue's rejections.
  [[nodiscard]] tamizdat::v1::Response handle(const tamizdat::v1::Request& request);

 private:
  tamizdat::v1::Response status();
  tamizdat::v1::Response follow(const std::string& id, bool on);
  tamizdat::v1::Response list(const std::string& id);
  tamizdat::v1::Response failure(const boost::system::error_code& ec, std::string_view what);

  catalog::Catalog& m_catalog;
  std::function<SwarmFacts()> m_swarm_facts;
  std::function<std::int64_t()> m_clock;
};

}  // namespace tz::node
