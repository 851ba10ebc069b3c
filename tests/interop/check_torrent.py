#!/usr/bin/python3
"""Independent check of Tamizdat bundles by another BitTorrent implementation.

Makes a bundle with the real `tamizdat` binary, then asks Debian's
python3-libtorrent (its own bencode parser and hash checker, not our code) to
parse the torrent, recompute the v1 and v2 info-hashes, and check every piece
of the folder on disk. A copy with one changed byte must fail the check.
Loopback only: the session listens on 127.0.0.1 and starts no DHT, LSD, UPnP
or NAT-PMP. Exits non-zero on any mismatch; prints "N passed, 0 failed".
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import libtorrent as lt

TAMIZDAT = sys.argv[1]
passed = 0


def check(cond, what):
    global passed
    if not cond:
        print("FAIL:", what, flush=True)
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print("ok:", what, flush=True)


def run(*args):
    r = subprocess.run([TAMIZDAT, *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
    check(r.returncode == 0, "tamizdat " + " ".join(args[:2]))
    return r.stdout


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def wait_checked(ses, handle):
    """Waits (bounded) for libtorrent's torrent_checked_alert, then returns the status."""
    deadline = time.time() + 60
    while time.time() < deadline:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            if isinstance(a, lt.torrent_checked_alert) and a.handle == handle:
                return handle.status()
    check(False, "libtorrent finished checking in time")


def main():
    rng = random.Random(7)
    tmp = tempfile.mkdtemp(prefix="tz-interop-")
    try:
        art = os.path.join(tmp, "article")
        write(os.path.join(art, "index.html"), b"<html><body><h1>Report</h1></body></html>")
        write(os.path.join(art, "img", "one-block.jpg"), rng.randbytes(16384))
        write(os.path.join(art, "img", "photo.jpg"), rng.randbytes(250_000))
        write(os.path.join(art, "media", "video.mp4"), rng.randbytes(3_500_000 + 11))
        write(os.path.join(art, "نوشته", "متن.txt"), "سلام".encode())
        write(os.path.join(art, "empty.txt"), b"")

        key = os.path.join(tmp, "k.key")
        run("key", "generate", "--out", key, "--insecure-no-passphrase")
        # Random bytes named .jpg and .mp4 cannot be checked for metadata: say so.
        made = json.loads(run("bundle", "create", art, "--keep-metadata", "--key", key, "--title", "Interop",
                              "--json"))
        torrent = os.path.join(tmp, "b.torrent")
        run("bundle", "torrent", art, "-o", torrent)

        ti = lt.torrent_info(torrent)
        ih = ti.info_hashes()
        check(ih.has_v1() and ih.has_v2(), "torrent is a v1+v2 hybrid")
        check(str(ih.v2) == made["bundle_id"], "libtorrent's v2 info-hash equals the bundle ID")
        check(str(ih.v1) == made["info_hash_v1"], "libtorrent's v1 info-hash equals ours")
        check(ti.piece_length() == made["piece_size"], "piece size as reported")

        fs = ti.files()
        listed = {}
        for i in range(fs.num_files()):
            if fs.file_flags(i) & lt.file_storage.flag_pad_file:
                continue
            rel = fs.file_path(i).split(os.sep, 1)[1]
            listed[rel] = fs.file_size(i)
        on_disk = {}
        for root, _, files in os.walk(art):
            for name in files:
                p = os.path.join(root, name)
                on_disk[os.path.relpath(p, art)] = os.path.getsize(p)
        check(listed == on_disk, "torrent lists exactly the folder's files and sizes (manifest included)")

        # libtorrent checks every piece of a copy named as the torrent says.
        save = os.path.join(tmp, "save")
        shutil.copytree(art, os.path.join(save, ti.name()))
        ses = lt.session({
            "listen_interfaces": "127.0.0.1:0",
            "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
            "alert_mask": lt.alert.category_t.status_notification,
        })
        atp = lt.add_torrent_params()
        atp.ti = ti
        atp.save_path = save
        h = ses.add_torrent(atp)
        s = wait_checked(ses, h)
        check(s.num_pieces == ti.num_pieces() and s.is_seeding, f"libtorrent finds all {ti.num_pieces()} pieces valid")
        ses.remove_torrent(h)

        # One changed byte must fail libtorrent's check.
        bad_save = os.path.join(tmp, "bad")
        shutil.copytree(art, os.path.join(bad_save, ti.name()))
        video = os.path.join(bad_save, ti.name(), "media", "video.mp4")
        with open(video, "r+b") as f:
            f.seek(1_000_000)
            b = f.read(1)
            f.seek(1_000_000)
            f.write(bytes([b[0] ^ 1]))
        atp2 = lt.add_torrent_params()
        atp2.ti = lt.torrent_info(torrent)
        atp2.save_path = bad_save
        h2 = ses.add_torrent(atp2)
        s2 = wait_checked(ses, h2)
        check(not s2.is_seeding and s2.num_pieces == ti.num_pieces() - 1,
              "libtorrent rejects exactly the one piece with a changed byte")
        ses.remove_torrent(h2)
        del ses
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, 0 failed")


if __name__ == "__main__":
    main()
