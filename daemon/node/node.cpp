#include "node/node.h"

#include "control/server.h"
#include "core/hex.h"
#include "core/ids.h"

namespace tz::node {

Node::Node(catalog::Catalog& catalog, std::function<SwarmFacts()> swarm_facts, std::function<std::int64_t()> clock)
    : m_catalog(catalog), m_swarm_facts(std::move(swarm_facts)), m_clock(std::move(clock)) {}

tamizdat::v1::Response Node::failure(const boost::system::error_code& ec, std::string_view what) {
  return control::error_response(error_name(ec), std::string(what) + ": " + ec.message());
}

tamizdat::v1::Response Node::handle(const tamizdat::v1::Request& request) {
  switch (request.body_case()) {
    case tamizdat::v1::Request::kStatus:
      return status();
    case tamizdat::v1::Request::kFollow:
      return follow(request.follow().publisher_id(), true);
    case tamizdat::v1::Request::kUnfollow:
      return follow(request.unfollow().publisher_id(), false);
    case tamizdat::v1::Request::kList:
      return list(request.list().publisher_id());
    case tamizdat::v1::Request::BODY_NOT_SET:
      break;
  }
  return control::error_response("malformed_request", "empty request");
}

tamizdat::v1::Response Node::status() {
  tamizdat::v1::Response r;
  auto* s = r.mutable_status();
  const SwarmFacts f = m_swarm_facts();
  s->set_dht_nodes(f.dht_nodes);
  s->set_listen_port(f.listen_port);
  s->set_peers(f.peers);
  auto followed = m_catalog.followed();
  auto bundles = m_catalog.bundles();
  auto rejected = m_catalog.rejections();
  if (!followed) return failure(followed.error(), "reading the catalogue");
  if (!bundles) return failure(bundles.error(), "reading the catalogue");
  if (!rejected) return failure(rejected.error(), "reading the catalogue");
  s->set_followed(static_cast<std::uint32_t>(followed.value().size()));
  s->set_bundles(static_cast<std::uint32_t>(bundles.value().size()));
  for (const auto& [reason, n] : rejected.value()) (*s->mutable_rejected())[reason] = n;
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::follow(const std::string& id, bool on) {
  auto key = decode_publisher_id(id);
  if (!key) {
    (void)m_catalog.count_rejection(error_name(key.error()));
    return failure(key.error(), "publisher ID");
  }
  tamizdat::v1::Response r;
  if (on) {
    if (auto f = m_catalog.follow(key.value(), m_clock()); !f) return failure(f.error(), "following");
  } else {
    auto was = m_catalog.unfollow(key.value());
    if (!was) return failure(was.error(), "unfollowing");
    if (!was.value()) return control::error_response("not_followed", "that publisher was not followed");
  }
  r.set_ok(true);
  return r;
}

tamizdat::v1::Response Node::list(const std::string& id) {
  std::optional<PublicKey> only;
  if (!id.empty()) {
    auto key = decode_publisher_id(id);
    if (!key) return failure(key.error(), "publisher ID");
    only = key.value();
  }
  auto rows = m_catalog.bundles(only);
  if (!rows) return failure(rows.error(), "reading the catalogue");
  tamizdat::v1::Response r;
  auto* l = r.mutable_list();
  for (const auto& b : rows.value()) {
    auto* e = l->add_bundles();
    e->set_bundle_id(to_hex(b.id));
    e->set_publisher_id(encode_publisher_id(b.publisher));
    e->set_title(b.title);
    e->set_state(std::string(catalog::state_name(b.state)));
    e->set_path(b.path);
    e->set_size(b.size);
  }
  r.set_ok(true);
  return r;
}

}  // namespace tz::node
