#!/usr/bin/python3
"""A hostile BitTorrent seed for the multi-node tests.

Usage: hostile_seed.py TORRENT SAVE_PATH PORT

Seeds TORRENT from SAVE_PATH (whose files may have been altered after the
torrent was made) without ever checking them: the torrent is added with
resume data claiming every piece, so libtorrent serves whatever bytes are on
disk. Loopback only: listens on 127.0.0.1:PORT and starts no DHT, LSD, UPnP
or NAT-PMP. Prints "ready" once seeding, then one line per peer event, and
runs until killed.
"""
import sys
import time

import libtorrent as lt


def main():
    torrent, save, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ses = lt.session({
        "listen_interfaces": f"127.0.0.1:{port}",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.error_notification
        | lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification,
    })
    ti = lt.torrent_info(torrent)
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = save
    # Claim every piece: no check, the altered bytes are served as they are.
    atp.have_pieces = [True] * ti.num_pieces()
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    h = ses.add_torrent(atp)
    deadline = time.time() + 30
    said_ready = False
    while True:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            print(type(a).__name__ + ": " + a.message(), flush=True)
        s = h.status()
        if not said_ready and s.is_seeding and s.state == lt.torrent_status.seeding:
            print("ready", flush=True)
            said_ready = True
        if not said_ready and time.time() > deadline:
            print(f"not seeding: state {s.state} pieces {s.num_pieces}/{ti.num_pieces()}", flush=True)
            sys.exit(1)


if __name__ == "__main__":
    main()
