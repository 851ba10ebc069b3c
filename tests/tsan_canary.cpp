// A planted data race that ThreadSanitizer must report (TSan builds only;
// run by tsan_canary.sh). Test-only; never built into the daemon.
//
// The daemon's own code runs on libtorrent's threads in one place: the
// callback given to set_alert_notify (swarm/session.cpp). A report of a race
// in it has libtorrent frames below ours, so a suppression that names the
// libtorrent library would hide it along with libtorrent's own noise. This
// program does what that callback must never do (writes state that another
// thread also writes, without a lock) so that scripts/test --tsan proves,
// every run, that its TSAN_OPTIONS and tests/tsan.supp still let such a race
// through.
#include <libtorrent/alert.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/settings_pack.hpp>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

int g_notified = 0;  // written by both threads, unguarded: the planted race

// Runs on libtorrent's network thread, as Session's notify callback does.
void on_alert_notify() { ++g_notified; }

}  // namespace

int main() {
  lt::settings_pack p;
  p.set_str(lt::settings_pack::listen_interfaces, "127.0.0.1:0");
  p.set_bool(lt::settings_pack::enable_dht, false);
  p.set_bool(lt::settings_pack::enable_lsd, false);
  p.set_bool(lt::settings_pack::enable_upnp, false);
  p.set_bool(lt::settings_pack::enable_natpmp, false);
  p.set_int(lt::settings_pack::alert_mask, static_cast<int>(lt::alert_category::status));
  lt::session s{lt::session_params(p)};
  s.set_alert_notify(on_alert_notify);
  // Each round: libtorrent posts a stats alert and calls the callback on its
  // thread; this thread then writes the same int without having synchronised
  // with that call. TSan stops the program at the first report (exit 66).
  for (int i = 0; i < 100; ++i) {
    s.post_session_stats();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    g_notified = 0;
    std::vector<lt::alert*> alerts;
    s.pop_alerts(&alerts);
  }
  std::printf("tsan_canary: no race reported in 100 rounds\n");
  return 0;
}
