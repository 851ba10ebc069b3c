// A private DHT of several libtorrent sessions on 127.0.0.1: a publisher
// puts its signed channel pointer; another node that only knows the
// publisher ID gets it and verifies it; a node that merely fetched the item
// puts it again without the key. Bounded in time; loopback only.
#include "swarm/dht.h"
#include "swarm/settings.h"
#include "test_util.h"

#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

namespace tz::swarm {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<lt::session> make_node(const std::string& bootstrap) {
  SwarmOptions o;
  o.listen = "127.0.0.1:0";
  o.public_dht = false;
  o.private_dht = true;
  if (!bootstrap.empty()) o.bootstrap = {bootstrap};
  auto s = std::make_unique<lt::session>(lt::session_params(make_settings(o)));
  for (const auto& n : private_dht_nodes(o)) s->add_dht_node(n);
  return s;
}

SignedPointer pointer(const SecretKey& key, std::int64_t seq, std::uint8_t fill) {
  InfoHashV1 ih{};
  ih.fill(fill);
  SignedPointer p;
  p.publisher = key.public_key();
  p.seq = seq;
  p.value = encode_channel_pointer(ih);
  p.signature = sign_channel_pointer(key, p.value, seq);
  return p;
}

class PrivateDht : public ::testing::Test {
 protected:
  void SetUp() override {
    m_nodes.push_back(make_node(""));
    const std::string boot = "127.0.0.1:" + std::to_string(m_nodes[0]->listen_port());
    for (int i = 1; i < 6; ++i) m_nodes.push_back(make_node(boot));
  }

  // Puts `p` from node `i` until a put reaches some node (bounded: the
  // routing tables fill within the first second or two).
  bool put_from(std::size_t i, const SignedPointer& p) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      put_channel_pointer(*m_nodes[i], p);
      int stored = -1;
      wait(i, 15s, [&](lt::alert* a) {
        const auto* put = lt::alert_cast<lt::dht_put_alert>(a);
        if (put != nullptr) stored = put->num_success;
        return put != nullptr;
      });
      if (stored > 0) return true;
      std::this_thread::sleep_for(500ms);
    }
    return false;
  }

  // Gets the publisher's pointer from node `i`; returns the newest valid one.
  std::optional<SignedPointer> get_from(std::size_t i, const PublicKey& pub, int* rejected = nullptr) {
    std::optional<SignedPointer> best;
    for (int attempt = 0; attempt < 3 && !best; ++attempt) {
      get_channel_pointer(*m_nodes[i], pub);
      wait(i, 10s, [&](lt::alert* a) {
        const auto* m = lt::alert_cast<lt::dht_mutable_item_alert>(a);
        if (m == nullptr) return false;
        if (m->item.type() != lt::entry::undefined_t) {
          auto r = read_channel_pointer(a);
          if (!r) {
            if (rejected != nullptr) ++*rejected;
          } else if (r.value() && (!best || r.value()->seq > best->seq)) {
            best = *r.value();
          }
        }
        return m->authoritative;  // the lookup is over, found or not
      });
    }
    return best;
  }

  template <class Pred>
  bool wait(std::size_t i, std::chrono::seconds limit, Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      m_nodes[i]->wait_for_alert(100ms);
      std::vector<lt::alert*> alerts;
      m_nodes[i]->pop_alerts(&alerts);
      for (auto* a : alerts) {
        if (pred(a)) return true;
      }
    }
    return false;
  }

  std::vector<std::unique_ptr<lt::session>> m_nodes;
};

TEST_F(PrivateDht, PointerIsFoundByIdAloneAndRePutWithoutTheKey) {
  const SecretKey key = test::fixed_key();
  const SignedPointer p1 = pointer(key, 1, 0x11);
  ASSERT_TRUE(put_from(1, p1)) << "the publisher's put reached no node";

  auto got = get_from(4, key.public_key());
  ASSERT_TRUE(got) << "a reader found no pointer";
  EXPECT_EQ(*got, p1);

  // A newer pointer replaces it.
  const SignedPointer p2 = pointer(key, 2, 0x22);
  ASSERT_TRUE(put_from(1, p2));
  got = get_from(5, key.public_key());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->seq, 2);

  // Node 4 holds only the signed item it fetched, not the key, and can put it again.
  auto fetched = get_from(4, key.public_key());
  ASSERT_TRUE(fetched);
  EXPECT_TRUE(put_from(4, *fetched));
}

TEST_F(PrivateDht, ForgedPointerIsNotAccepted) {
  const SecretKey key = test::fixed_key();
  // Signed by another key but put under the publisher's: DHT nodes refuse to
  // store it, and a reader finds nothing valid.
  SignedPointer forged = pointer(test::fixed_key(77), 5, 0x33);
  forged.publisher = key.public_key();
  put_channel_pointer(*m_nodes[2], forged);
  wait(2, 10s, [](lt::alert* a) { return lt::alert_cast<lt::dht_put_alert>(a) != nullptr; });
  int rejected = 0;
  auto got = get_from(3, key.public_key(), &rejected);
  EXPECT_FALSE(got);
  // The same lookup finds the real pointer once it is put: the refusal above
  // is not a lookup that never worked.
  ASSERT_TRUE(put_from(1, pointer(key, 5, 0x44)));
  got = get_from(3, key.public_key(), &rejected);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->signature, pointer(key, 5, 0x44).signature);
}

}  // namespace
}  // namespace tz::swarm
