#!/usr/bin/env python3
"""The reader gateway in a real browser: Debian's headless Chromium.

One tamizdatd (its own temp data dir, loopback only, no public DHT) publishes
two channels with throwaway keys: publisher A an article (a headline, a PNG
photo, a WebM video and an inline script), publisher B a page with a secret.
Chromium then renders

  - the home page, http://localhost:PORT/: it must list both channels' bundle
    titles and a link to A's article, and hold no script;
  - A's article, http://<A>.localhost:PORT/<bundle>/: the headline must be in
    the DOM, the photo decoded (naturalWidth), the video decoded (readyState,
    videoWidth) and painted (its colour in the screenshot); the page's own
    script must be able to read a file of its own bundle, and must NOT be able
    to read B's content (fetch, <img>, <iframe>) nor the home page (fetch,
    <iframe>); B's secret must appear nowhere in the DOM.

The script writes what it could do into the page, so `--dump-dom` shows it.
Before the browser runs, plain HTTP requests check the headers the browser's
isolation relies on (CSP, CORP, nosniff, Tamizdat-Publisher/-Bundle), a Range
request, that B's bundle is not served on A's origin, and that a foreign Host
(DNS rebinding) is refused.

Artifacts (DOM dumps, screenshots, the daemon's log, Chromium's stderr) are
kept in --artifacts DIR (or $TZ_BROWSER_ARTIFACTS) and its path is printed.

Exit codes: 0 passed, 1 failed (every failed check is listed), 2 usage,
77 skipped: only when chromium is missing and cannot be installed
($TZ_BROWSER_NO_INSTALL=1 forbids trying; $TZ_CHROMIUM names another binary).
Every wait is bounded; the daemon and every Chromium are killed on exit, also
when this process is killed (PR_SET_PDEATHSIG), and temp dirs removed.
Python 3 standard library only.
"""

import argparse
import base64
import ctypes
import html.parser
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

SKIP = 77

# A 1 s, 160x90, 4 fps VP8 WebM of one orange colour (0xe07020), 599 bytes,
# made once with Debian 12's ffmpeg 5.1 (`apt-get install ffmpeg`; not needed
# by this test) and deterministic:
#   ffmpeg -f lavfi -i "color=c=0xe07020:s=160x90:r=4:d=1" -c:v libvpx -b:v 20k
#     -g 4 -auto-alt-ref 0 -fflags +bitexact -flags +bitexact -map_metadata -1
#     -f webm clip.webm
CLIP_WEBM = base64.b64decode("""
GkXfo59ChoEBQveBAULygQRC84EIQoKEd2VibUKHgQJChYECGFOAZwEAAAAAAAInEU2bdLpNu4tT
q4QVSalmU6yBoU27i1OrhBZUrmtTrIHGTbuMU6uEElTDZ1OsggEMTbuMU6uEHFO7a1OsggIR7AEA
AAAAAABZAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAVSalmoCrXsYMPQkBNgIRMYXZm
V0GETGF2ZkSJiECPQAAAAAAAFlSua8GuAQAAAAAAADjXgQFzxYgAAAAAAAAAAZyBACK1nIN1bmSI
gQCGhVZfVlA4g4EBI+ODhA7msoDgibCBoLqBWpqBAhJUw2fRc3POY8CLY8WIAAAAAAAAAAFnyJhF
o4dFTkNPREVSRIeLTGF2YyBsaWJ2cHhnyKJFo4hEVVJBVElPTkSHlDAwOjAwOjAxLjAwMDAwMDAw
MAAAH0O2dUCp54EAo9aBAACAMAYAnQEqoABaAABHCIWFiIWEiAICAnWqA/gD+gIGypPghqqTXcQ6
qk13EOqpNdxDqqTXcQ6qk13EGAD+43d/+wAhiL0n/sAT/9nkxLomH/ZsAKOYgQD6ABECAAEQEAAY
ABhYL/QACICBAAAAo5iBAfQAEQIAARAQABgAGFgv9AAIgIEAAACjmIEC7gARAgABEBAAGAAYWC/0
AAiAgQAAABxTu2uRu4+zgQC3iveBAfGCAWLwgQM=
""")
CLIP_RGB = (0xE0, 0x70, 0x20)
PHOTO_BLUE = (0x1E, 0x50, 0xC8)
PHOTO_YELLOW = (0xF0, 0xD0, 0x20)
PHOTO_W, PHOTO_H = 64, 48

CHROMIUM_FLAGS = [
    # As root in a container there is no usable sandbox and no GPU. Without
    # the background-networking, component-update and sync flags Chromium
    # keeps trying to reach Google's services, which on a machine with no
    # network outside loopback only fails and slows every start.
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-default-browser-check", "--disable-extensions", "--no-proxy-server",
    "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
    # Virtual time runs the page's timers fast and waits for its network.
    "--virtual-time-budget=5000",
]
CHROMIUM_TIMEOUT = 60
INSTALL_TIMEOUT = 300  # all apt-get runs together; ctest's TIMEOUT is 600
ARTICLE_WINDOW = "--window-size=1280,1600"

A_TITLE = "Night of the count"
A_HEADLINE = "Observers filmed ballot boxes leaving the station"
B_TITLE = "Secret report گزارش"
OWN_TEXT = "a file of the article's own bundle"

_children = []  # Popen objects still to kill


def log(msg):
    print(msg, flush=True)


def loud(lines):
    bar = "#" * 78
    text = "\n".join([bar, *("### " + line for line in lines), bar])
    print(text, flush=True)
    print(text, file=sys.stderr, flush=True)


try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child, before exec: its own session (so that kill_group also
    reaches Chromium's helper processes), and SIGKILL when this test process
    dies, also when ctest kills it without a chance to clean up."""
    os.setsid()
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(argv, out, err, env=None):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                         preexec_fn=_die_with_parent)
    _children.append(p)
    return p


def kill_group(p, grace):
    """TERM the process group of `p`, wait up to `grace` s, then KILL it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    try:  # leftovers (Chromium's helpers) in the group
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if p in _children:
        _children.remove(p)


def cleanup():
    for p in list(_children):
        kill_group(p, 5)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def make_png(w, h, pixel):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    raw = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(w)) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def read_png(data):
    """Decodes an 8-bit RGB or RGBA non-interlaced PNG (what Chromium writes)
    into (width, height, rows of bytes, bytes per pixel)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, tag = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if tag == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG depth={depth} colour={ctype} interlace={interlace}")
            bpp = 3 if ctype == 2 else 4
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    if w is None:
        raise ValueError("PNG without IHDR")
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 0 or not any(line) and f in (1, 2, 4) and not any(prev):
            rows.append(line)  # fast path: unfiltered, or all zero above and here
            prev = line
            continue
        if f == 2 and not any(line):
            rows.append(prev)  # fast path: the same as the row above (blank page rows)
            continue
        if f == 1 and not any(line[bpp:]):
            line = line[:bpp] * w  # fast path: one colour
            rows.append(line)
            prev = line
            continue
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, rows, bpp


def share_of_colour(image, box, rgb, tol=40):
    """The share of the pixels in `box` (x, y, width, height) of a decoded
    PNG that are within `tol` of `rgb` in each channel."""
    w, h, rows, bpp = image
    x0, y0, bw, bh = box
    n = total = 0
    for y in range(max(0, y0), min(h, y0 + bh)):
        line = rows[y]
        for x in range(max(0, x0), min(w, x0 + bw)):
            total += 1
            i = x * bpp
            if abs(line[i] - rgb[0]) <= tol and abs(line[i + 1] - rgb[1]) <= tol and abs(line[i + 2] - rgb[2]) <= tol:
                n += 1
    return n / total if total else 0.0


class Results(html.parser.HTMLParser):
    """Text of every element with an id, from a DOM dump."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.by_id, self._stack = {}, []

    def handle_starttag(self, tag, attrs):
        if tag in ("img", "br", "meta", "link", "input", "source", "hr"):
            return
        self._stack.append(dict(attrs).get("id"))
        for i in self._stack:
            if i is not None:
                self.by_id.setdefault(i, "")

    def handle_endtag(self, tag):
        if self._stack and tag not in ("img", "br", "meta", "link", "input", "source", "hr"):
            self._stack.pop()

    def handle_data(self, data):
        for i in self._stack:
            if i is not None:
                self.by_id[i] = self.by_id.get(i, "") + data


def article_html(b_url, b_pic, home_urls, port):
    home, home_ip = home_urls
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{A_TITLE}</title>
<style>
body {{ font-family: "DejaVu Sans", sans-serif; margin: 24px; max-width: 900px }}
figure {{ display: inline-block; margin: 0 24px 12px 0; vertical-align: top }}
iframe {{ width: 360px; height: 90px; border: 1px solid #888 }}
li span {{ font-weight: bold }}
#csp li {{ word-break: break-all }}
</style></head>
<body>
<h1 id="headline">{A_HEADLINE}</h1>
<p id="lede">Publisher A's article, served by the Tamizdat gateway on its own origin (port {port}).</p>
<figure><img id="photo" src="media/photo.png" width="256" height="192" alt="a blue and yellow checkerboard">
<figcaption>photo.png ({PHOTO_W}x{PHOTO_H} PNG)</figcaption></figure>
<figure><video id="clip" src="media/clip.webm" width="320" height="180" muted preload="auto"></video>
<figcaption>clip.webm (160x90 VP8, orange)</figcaption></figure>
<h2>What this page's script could do</h2>
<ul>
<li>fetch a file of its own bundle: <span id="r-own">pending</span></li>
<li>photo decoded: <span id="r-photo">pending</span></li>
<li>video decoded: <span id="r-video">pending</span></li>
<li>boxes: <span id="r-boxes">pending</span></li>
<li>fetch publisher B's file: <span id="r-other">pending</span></li>
<li>fetch publisher B's entry page: <span id="r-other-entry">pending</span></li>
<li>load publisher B's image: <span id="r-other-img">pending</span></li>
<li>read publisher B's page in a frame: <span id="r-other-frame">pending</span></li>
<li>fetch the home page (localhost): <span id="r-home">pending</span></li>
<li>fetch the home page (127.0.0.1): <span id="r-home-ip">pending</span></li>
<li>read the home page in a frame: <span id="r-home-frame">pending</span></li>
</ul>
<p>Script: <span id="done">did not run</span></p>
<h2>CSP violations the browser reported</h2>
<ul id="csp"></ul>
<iframe id="other-frame-el" title="publisher B"></iframe>
<iframe id="home-frame-el" title="home"></iframe>
<script>
"use strict";
var B = {json.dumps(b_url)}, B_PIC = {json.dumps(b_pic)};
var HOME = {json.dumps(home)}, HOME_IP = {json.dumps(home_ip)};
var OWN_TEXT = {json.dumps(OWN_TEXT)};
var pending = 0;
document.getElementById("done").textContent = "running";
function put(id, text) {{ document.getElementById("r-" + id).textContent = text; }}
function track(id, start) {{
  pending++;
  var settled = false;
  function done(text) {{
    if (settled) return;
    settled = true;
    put(id, text);
    if (--pending === 0) document.getElementById("done").textContent = "finished";
  }}
  try {{ start(done); }} catch (e) {{ done("exception: " + e); }}
}}
document.addEventListener("securitypolicyviolation", function (e) {{
  var li = document.createElement("li");
  li.textContent = e.effectiveDirective + " " + e.blockedURI;
  document.getElementById("csp").appendChild(li);
}});
// A read that must work (expect is a string) or must be blocked (expect null).
function tryFetch(id, url, expect) {{
  track(id, function (done) {{
    fetch(url, {{cache: "no-store"}}).then(function (r) {{
      return r.text().then(function (t) {{
        if (expect === null) done("LEAKED: status " + r.status + ", " + t.length + " bytes: " + t.slice(0, 300));
        else if (r.ok && t === expect) done("ok");
        else done("wrong: status " + r.status + ", text " + JSON.stringify(t.slice(0, 100)));
      }});
    }}, function (e) {{ done(expect === null ? "blocked" : "failed: " + e); }});
  }});
}}
tryFetch("own", "notes/own.txt", OWN_TEXT);
tryFetch("other", B + "notes/secret.txt", null);
tryFetch("other-entry", B, null);
tryFetch("home", HOME, null);
tryFetch("home-ip", HOME_IP, null);

track("photo", function (done) {{
  var img = document.getElementById("photo");
  function report() {{ done(img.naturalWidth > 0 ? "ok " + img.naturalWidth + "x" + img.naturalHeight : "not decoded"); }}
  if (img.complete) report(); else {{ img.onload = report; img.onerror = function () {{ done("error"); }}; }}
}});
track("video", function (done) {{
  var v = document.getElementById("clip");
  function report() {{ done("ok readyState=" + v.readyState + " " + v.videoWidth + "x" + v.videoHeight); }}
  if (v.error) done("error code " + v.error.code);
  else if (v.readyState >= 2) report();
  else {{
    v.addEventListener("loadeddata", report);
    v.addEventListener("error", function () {{ done("error code " + (v.error && v.error.code)); }});
    setTimeout(function () {{ done("timeout, readyState=" + v.readyState + " networkState=" + v.networkState); }}, 4000);
  }}
}});
track("other-img", function (done) {{
  var img = new Image();
  img.onload = function () {{ done("LEAKED: loaded " + img.naturalWidth + "x" + img.naturalHeight); }};
  img.onerror = function () {{ done("blocked"); }};
  img.src = B_PIC;
}});
function tryFrame(id, url) {{
  track(id, function (done) {{
    var f = document.getElementById(id + "-el");
    f.onload = function () {{
      var text = null;
      try {{ text = f.contentDocument && f.contentDocument.body ? f.contentDocument.body.textContent : null; }}
      catch (e) {{ text = null; }}
      done(text === null ? "blocked" : "LEAKED: " + text.slice(0, 300));
    }};
    setTimeout(function () {{ done("blocked (no load event)"); }}, 3000);
    f.src = url;
  }});
}}
function box(id) {{
  var r = document.getElementById(id).getBoundingClientRect();
  return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height].map(Math.round).join(",");
}}
track("boxes", function (done) {{
  window.addEventListener("load", function () {{ done("photo=" + box("photo") + " clip=" + box("clip")); }});
}});
tryFrame("other-frame", B);
tryFrame("home-frame", HOME);
</script>
</body></html>
"""


def b_page(secret):
    return f"""<!doctype html>
<html lang="fa"><head><meta charset="utf-8"><title>{B_TITLE}</title></head>
<body><h1>{B_TITLE}</h1><p id="secret">{secret}</p><img src="media/pic.png" alt=""></body></html>
"""


class Test:
    def __init__(self, args):
        self.tz, self.tzd = args.tamizdat, args.tamizdatd
        self.artifacts = os.path.abspath(os.environ.get("TZ_BROWSER_ARTIFACTS") or args.artifacts)
        self.failures = []
        self.work = tempfile.mkdtemp(prefix="tz-browser-")
        self.env = dict(os.environ)
        # Nothing of ours in the real home; no proxy for anything.
        for k in list(self.env):
            if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
                del self.env[k]
        home = os.path.join(self.work, "home")
        os.makedirs(home)
        self.env.update(HOME=home, XDG_DATA_HOME=os.path.join(home, "data"),
                        XDG_CONFIG_HOME=os.path.join(home, "config"), XDG_CACHE_HOME=os.path.join(home, "cache"))
        self.node = os.path.join(self.work, "node")
        self.daemon = None
        self.chromium = None

    # --- helpers ---------------------------------------------------------

    def fail(self, what):
        self.failures.append(what)
        log("  FAIL: " + what)

    def check(self, ok, what):
        """Records a check. `what` says what must hold; a part of it from
        " (got " or " (DOM dump: " on is printed only when it does not."""
        if ok:
            log("  ok:   " + self.short(re.sub(r" \((got|DOM dump:) .*$", "", what, flags=re.S)))
        else:
            self.fail(what)
        return ok

    def short(self, text):
        """`text` with the long IDs of this run replaced by names."""
        for value, name in ((getattr(self, "ab", None), "<bundle-A>"), (getattr(self, "bb", None), "<bundle-B>"),
                            (getattr(self, "a", None), "<A>"), (getattr(self, "b", None), "<B>")):
            if value:
                text = text.replace(value, name)
        return text

    def fatal(self, what):
        """Stops the test: something the rest depends on went wrong."""
        self.fail(what)
        raise SystemExit(self.finish())

    def daemon_log_tail(self, n=30):
        try:
            with open(os.path.join(self.work, "tamizdatd.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def tamizdat(self, *argv, timeout=60):
        cmd = [self.tz, "--data-dir", self.node, *argv]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.fatal(f"`tamizdat {' '.join(argv)}` did not finish within {timeout} s")

    def http(self, host, path, headers=None):
        """GET `path` from the gateway with Host: `host`; (status, headers, body)."""
        c = http.client.HTTPConnection("127.0.0.1", self.gw, timeout=15)
        try:
            c.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            c.putheader("Host", host)
            for k, v in (headers or {}).items():
                c.putheader(k, v)
            c.endheaders()
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        except (OSError, http.client.HTTPException) as e:
            return None, {}, f"{type(e).__name__}: {e}".encode()
        finally:
            c.close()

    # --- steps -----------------------------------------------------------

    def find_chromium(self):
        name = os.environ.get("TZ_CHROMIUM", "chromium")
        found = shutil.which(name)
        if found:
            return found
        if os.environ.get("TZ_BROWSER_NO_INSTALL") == "1":
            return self.skip(f"`{name}` is not on PATH and TZ_BROWSER_NO_INSTALL=1 forbids installing it")
        if not shutil.which("apt-get"):
            return self.skip(f"`{name}` is not on PATH and there is no apt-get to install Debian's chromium")
        sudo = []
        if os.geteuid() != 0:
            if not shutil.which("sudo") or subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode:
                return self.skip("chromium is not installed, and installing it needs root (no password-less sudo)")
            sudo = ["sudo", "-n"]
        env = dict(self.env, DEBIAN_FRONTEND="noninteractive")
        install = sudo + ["apt-get", "-o", "DPkg::Lock::Timeout=120", "install", "-y", "-q",
                          "--no-install-recommends", "chromium", "fonts-dejavu-core"]
        log("chromium is not installed; trying: " + " ".join(install))
        out, deadline = "", time.monotonic() + INSTALL_TIMEOUT
        # Install; if that fails, the package lists may be missing or stale.
        for cmd in (install, sudo + ["apt-get", "-o", "DPkg::Lock::Timeout=120", "update", "-q"], install):
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                                   timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return self.skip(f"installing chromium took more than {INSTALL_TIMEOUT} s, at `{' '.join(cmd)}`")
            out = (r.stdout + r.stderr).strip()
            if r.returncode == 0 and cmd is install and shutil.which(name):
                return shutil.which(name)
        last = " / ".join(out.splitlines()[-3:]) or "no output"
        return self.skip(f"apt-get could not install chromium: {last}")

    def skip(self, why):
        loud(["SKIPPED: chromium not installable: " + why,
              "The reader gateway's real-browser test (tests/browser) did NOT run:",
              "nothing about the gateway in a browser was checked.",
              "Install Debian's chromium (scripts/setup does) and run it again."])
        raise SystemExit(SKIP)

    def start_daemon(self):
        self.p2p, self.gw = free_ports(2)
        self.daemon_log = open(os.path.join(self.work, "tamizdatd.log"), "wb")
        self.daemon = spawn([self.tzd, "--data-dir", self.node, "--listen", f"127.0.0.1:{self.p2p}",
                             "--no-public-dht", "--gateway", f"127.0.0.1:{self.gw}"],
                            self.daemon_log, subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 20
        while True:
            if self.daemon.poll() is not None:
                self.fatal(f"tamizdatd exited with {self.daemon.returncode} at start; its log:\n"
                           + self.daemon_log_tail())
            if self.tamizdat("status", timeout=10).returncode == 0:
                break
            if time.monotonic() > deadline:
                self.fatal("tamizdatd did not answer `tamizdat status` within 20 s; its log:\n"
                           + self.daemon_log_tail())
            time.sleep(0.1)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.gw), timeout=1).close()
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    self.fatal(f"nothing listens on the gateway port 127.0.0.1:{self.gw} "
                               f"(tamizdatd --gateway) within 10 s: {e}; the daemon's log:\n"
                               + self.daemon_log_tail())
                time.sleep(0.1)
        log(f"tamizdatd pid {self.daemon.pid}: --listen 127.0.0.1:{self.p2p}, --gateway 127.0.0.1:{self.gw}")

    def make_key(self, name):
        path = os.path.join(self.work, name + ".key")
        r = subprocess.run([self.tz, "key", "generate", "--out", path, "--insecure-no-passphrase"],
                           capture_output=True, text=True, timeout=30, env=self.env)
        if r.returncode:
            self.fatal(f"`tamizdat key generate` failed: {r.stderr.strip()}")
        r = subprocess.run([self.tz, "key", "show", path], capture_output=True, text=True, timeout=30,
                           env=self.env)
        pid = r.stdout.strip()
        if r.returncode or not re.fullmatch(r"[a-z2-7]{56}", pid):
            self.fatal(f"`tamizdat key show` gave no publisher ID: {r.stdout!r} {r.stderr.strip()}")
        return path, pid

    def publish(self, folder, key, title):
        r = self.tamizdat("publish", folder, "--key", key, "--title", title, "--lang", "en", "--json")
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = {}
        bid = out.get("bundle_id", "")
        if r.returncode or not re.fullmatch(r"[0-9a-f]{64}", bid):
            self.fatal(f"`tamizdat publish {folder}` failed (exit {r.returncode}): {r.stdout.strip()} "
                       f"{r.stderr.strip()}\nthe daemon's log:\n{self.daemon_log_tail()}")
        return bid

    def write(self, path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)

    def run_chromium(self, name, url, *extra):
        """Runs headless Chromium on `url` in a new profile. Its stdout (the
        DOM with --dump-dom) goes to artifacts/NAME.html and is returned as
        text, its stderr to artifacts/NAME.stderr."""
        profile = tempfile.mkdtemp(prefix="profile-", dir=self.work)
        out_path, err_path = (os.path.join(self.artifacts, f"{name}.{x}") for x in ("html", "stderr"))
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = spawn([self.chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                      out, err, env=self.env)
            t0 = time.monotonic()
            try:
                p.wait(timeout=CHROMIUM_TIMEOUT)
            except subprocess.TimeoutExpired:
                kill_group(p, 2)
                self.fail(f"chromium ({name}) did not finish within {CHROMIUM_TIMEOUT} s on {url}; "
                          f"its stderr: {err_path}")
                return b""
            kill_group(p, 2)  # its helpers, if any are left
        log(f"chromium {name}: exit {p.returncode} in {time.monotonic() - t0:.1f} s")
        if p.returncode:
            self.fail(f"chromium ({name}) exited with {p.returncode} on {url}; its stderr: {err_path}")
        with open(out_path, "rb") as f:
            dom = f.read().decode("utf-8", "replace")
        if not dom:
            os.remove(out_path)  # a screenshot run prints nothing
        return dom

    # --- the test --------------------------------------------------------

    def run(self):
        self.chromium = self.find_chromium()
        v = subprocess.run([self.chromium, "--version"], capture_output=True, text=True, timeout=30)
        log(f"browser: {self.chromium}: {v.stdout.strip()}")
        os.makedirs(self.artifacts, exist_ok=True)
        for f in os.listdir(self.artifacts):  # this test's files of an earlier run
            if re.fullmatch(r"(home|article)(-shot)?\.(html|png|stderr)|tamizdatd\.log|ids\.txt", f):
                os.remove(os.path.join(self.artifacts, f))

        self.start_daemon()
        key_a, self.a = self.make_key("a")
        key_b, self.b = self.make_key("b")
        log(f"publisher A {self.a}\npublisher B {self.b}")
        port = self.gw
        secret = "B-SECRET-" + secrets.token_hex(12)

        # B first: A's page names B's bundle.
        bdir = os.path.join(self.work, "b")
        self.write(os.path.join(bdir, "index.html"), b_page(secret))
        self.write(os.path.join(bdir, "notes", "secret.txt"), secret + "\n")
        self.write(os.path.join(bdir, "media", "pic.png"),
                   make_png(16, 16, lambda x, y: (0xC0, 0x10, 0x10)))
        self.bb = self.publish(bdir, key_b, B_TITLE)

        b_url = f"http://{self.b}.localhost:{port}/{self.bb}/"
        home_urls = (f"http://localhost:{port}/", f"http://127.0.0.1:{port}/")
        adir = os.path.join(self.work, "a")
        self.write(os.path.join(adir, "index.html"), article_html(b_url, b_url + "media/pic.png", home_urls, port))
        self.write(os.path.join(adir, "notes", "own.txt"), OWN_TEXT)
        self.write(os.path.join(adir, "media", "photo.png"), make_png(
            PHOTO_W, PHOTO_H, lambda x, y: PHOTO_BLUE if (x // 8 + y // 8) % 2 else PHOTO_YELLOW))
        self.write(os.path.join(adir, "media", "clip.webm"), CLIP_WEBM)
        self.ab = self.publish(adir, key_a, A_TITLE)
        a_url = f"http://{self.a}.localhost:{port}/{self.ab}/"
        self.write(os.path.join(self.artifacts, "ids.txt"),
                   f"publisher A {self.a}\nbundle A {self.ab}\n{a_url}\n"
                   f"publisher B {self.b}\nbundle B {self.bb}\n{b_url}\n")
        log(f"article: {a_url}")

        t0 = time.monotonic()
        self.check_http(a_url, secret)
        log(f"HTTP checks: {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        self.check_home(home_urls[0])
        self.check_article(a_url, secret)
        log(f"browser checks: {time.monotonic() - t0:.1f} s")
        return self.finish()

    def check_http(self, a_url, secret):
        log("Plain HTTP against the gateway:")
        port, a_host = self.gw, f"{self.a}.localhost:{self.gw}"
        st, h, body = self.http(f"localhost:{port}", "/")
        self.check(st == 200 and h.get("content-type", "").startswith("text/html"),
                   f"home page http://localhost:{port}/ is 200 text/html (got {st} {h.get('content-type')})")
        if st == 200:
            self.check(b"<script" not in body.lower(), "home page holds no <script>")
            frame = h.get("x-frame-options", "") or re.findall(r"frame-ancestors[^;]*",
                                                               h.get("content-security-policy", ""))
            log(f"  note: home page framing protection: {frame or 'none (no X-Frame-Options, no frame-ancestors)'}")

        for path, ctype in ((f"/{self.ab}/", "text/html"), (f"/{self.ab}/media/photo.png", "image/png"),
                            (f"/{self.ab}/media/clip.webm", "video/webm")):
            st, h, body = self.http(a_host, path)
            where = f"http://{a_host}{path}"
            if not self.check(st == 200, f"{where} is 200 (got {st}: {body[:200]!r})"):
                continue
            self.check(h.get("content-type", "").split(";")[0].strip() == ctype,
                       f"{where} Content-Type {ctype} (got {h.get('content-type')})")
            self.check(h.get("tamizdat-publisher") == self.a,
                       f"{where} Tamizdat-Publisher is A (got {h.get('tamizdat-publisher')})")
            self.check(h.get("tamizdat-bundle") == self.ab,
                       f"{where} Tamizdat-Bundle is A's bundle (got {h.get('tamizdat-bundle')})")
            self.check(h.get("cross-origin-resource-policy", "").lower() == "same-origin",
                       f"{where} Cross-Origin-Resource-Policy: same-origin "
                       f"(got {h.get('cross-origin-resource-policy')})")
            self.check(h.get("x-content-type-options", "").lower() == "nosniff",
                       f"{where} X-Content-Type-Options: nosniff (got {h.get('x-content-type-options')})")
            problem = csp_problem(h.get("content-security-policy"))
            self.check(problem is None, f"{where} CSP allows only 'self' for script, img, media, connect"
                       + (f": {problem}" if problem else ""))
            if path.endswith("/"):
                log(f"  note: CSP: {h.get('content-security-policy')}")

        st, h, body = self.http(a_host, f"/{self.ab}/media/clip.webm", {"Range": "bytes=0-99"})
        self.check(st == 206 and body == CLIP_WEBM[:100]
                   and h.get("content-range") == f"bytes 0-99/{len(CLIP_WEBM)}",
                   f"Range bytes=0-99 of clip.webm: 206, Content-Range bytes 0-99/{len(CLIP_WEBM)}, the first "
                   f"100 bytes (got {st}, {h.get('content-range')}, {len(body)} bytes)")
        st, h, body = self.http(a_host, f"/{self.ab}")
        self.check(st in (301, 302, 303, 307, 308) and h.get("location", "").endswith(f"/{self.ab}/"),
                   f"/<bundle> redirects to /<bundle>/ (got {st}, Location {h.get('location')})")
        st, h, body = self.http(a_host, f"/{self.bb}/notes/secret.txt")
        self.check(st != 200 and secret.encode() not in body,
                   f"B's bundle is not served on A's origin (got {st})")
        st, h, body = self.http(f"{self.b}.localhost:{port}", f"/{self.bb}/notes/secret.txt")
        self.check(st == 200 and body.strip() == secret.encode(), f"B's file on B's origin is 200 (got {st})")
        st, h, body = self.http(f"evil.example:{port}", "/")
        self.check(st == 421, f"Host: evil.example:{port} (DNS rebinding) is refused with 421 (got {st})")

    def check_home(self, url):
        log(f"Chromium on the home page {url}:")
        dom = self.run_chromium("home", url, "--dump-dom")
        path = os.path.join(self.artifacts, "home.html")
        where = f" (DOM dump: {path})"
        self.check(A_TITLE in dom, f"home page lists A's bundle title {A_TITLE!r}" + where)
        self.check(B_TITLE in dom, f"home page lists B's bundle title {B_TITLE!r} (UTF-8)" + where)
        self.check(self.a in dom and self.b in dom, "home page names both publisher IDs" + where)
        a_url = f"http://{self.a}.localhost:{self.gw}/{self.ab}/"
        hrefs = re.findall(r'href="([^"]*)"', dom)
        self.check(any(h.replace("&amp;", "&").startswith(a_url) for h in hrefs),
                   f"home page links to A's article {a_url}" + where)
        status = re.search(r"\d+ peers? · \d+ DHT nodes? · \d+ transfers? in progress", dom)
        self.check(status is not None, "home page has its status line "
                   "('N peers · N DHT nodes · N transfers in progress')" + where)
        self.check("<script" not in dom.lower(), "home page has no script in the rendered DOM" + where)
        self.run_chromium("home-shot", url, f"--screenshot={os.path.join(self.artifacts, 'home.png')}",
                          "--window-size=1280,1000")

    def check_article(self, url, secret):
        log(f"Chromium on A's article {url}:")
        # The same window size as the screenshot, so the element boxes the
        # page reports are where the screenshot shows them.
        dom = self.run_chromium("article", url, "--dump-dom", ARTICLE_WINDOW)
        path = os.path.join(self.artifacts, "article.html")
        where = f" (DOM dump: {path})"
        p = Results()
        p.feed(dom)
        r = p.by_id
        self.check(A_HEADLINE in r.get("headline", ""), f"the headline {A_HEADLINE!r} is in the DOM" + where)
        self.check(re.search(r'<img id="photo"', dom) is not None, "the <img> is in the DOM" + where)
        self.check(re.search(r'<video id="clip"', dom) is not None, "the <video> is in the DOM" + where)
        self.check(r.get("done") == "finished",
                   f"the page's inline script ran and finished (got {r.get('done')!r})" + where)
        self.check(r.get("r-own") == "ok", f"own bundle file fetch: ok (got {r.get('r-own')!r})" + where)
        self.check(r.get("r-photo") == f"ok {PHOTO_W}x{PHOTO_H}",
                   f"photo decoded: ok {PHOTO_W}x{PHOTO_H} (got {r.get('r-photo')!r})" + where)
        self.check(re.fullmatch(r"ok readyState=[234] 160x90", r.get("r-video", "")) is not None,
                   f"video decoded: readyState >= 2, 160x90 (got {r.get('r-video')!r})" + where)
        for k, what in (("other", "fetch of B's file"), ("other-entry", "fetch of B's entry page"),
                        ("other-img", "B's image"), ("other-frame", "reading B's page in a frame"),
                        ("home", "fetch of the home page (localhost)"),
                        ("home-ip", "fetch of the home page (127.0.0.1)"),
                        ("home-frame", "reading the home page in a frame")):
            got = r.get("r-" + k, "")
            self.check(got.startswith("blocked"), f"{what}: blocked (got {got!r})" + where)
        self.check(secret not in dom, "B's secret text appears nowhere in A's DOM" + where)
        m = re.search(r'<ul id="csp">(.*?)</ul>', dom, re.S)
        violations = re.findall(r"<li>(.*?)</li>", m.group(1)) if m else []
        csp = "\n".join(violations)
        log("  note: CSP violations the page saw: " + self.short(" | ".join(violations) or "none"))
        for origin in (f"http://{self.b}.localhost:{self.gw}", f"http://localhost:{self.gw}"):
            self.check(re.search(r"^connect-src " + re.escape(origin), csp, re.M) is not None,
                       f"the CSP (connect-src) itself stopped the fetch of {origin}" + where)

        shot = os.path.join(self.artifacts, "article.png")
        self.run_chromium("article-shot", url, f"--screenshot={shot}", ARTICLE_WINDOW)
        boxes = dict(re.findall(r"(photo|clip)=(\d+,\d+,\d+,\d+)", r.get("r-boxes", "")))
        try:
            with open(shot, "rb") as f:
                image = read_png(f.read())
        except (OSError, ValueError, zlib.error, struct.error) as e:
            return self.fail(f"no readable screenshot {shot}: {e}")
        log(f"  note: screenshot {shot}: {image[0]}x{image[1]}")
        # The clip is one orange; the photo a blue and yellow checkerboard.
        for name, rgb, want in (("clip", CLIP_RGB, 0.9), ("photo", PHOTO_BLUE, 0.35), ("photo", PHOTO_YELLOW, 0.35)):
            if name not in boxes:
                self.fail(f"the page reported no box for #{name} (got {r.get('r-boxes')!r})" + where)
                continue
            box = tuple(int(v) for v in boxes[name].split(","))
            share = share_of_colour(image, box, rgb)
            self.check(share >= want, f"the screenshot shows the {name}: {share:.0%} of its box {box} is "
                       f"#{bytes(rgb).hex()}, want >= {want:.0%} ({shot})")

    def finish(self):
        if self.daemon is not None:
            kill_group(self.daemon, 5)
            self.daemon = None
            self.daemon_log.close()
            if os.path.isdir(self.artifacts):
                shutil.copy(os.path.join(self.work, "tamizdatd.log"), os.path.join(self.artifacts, "tamizdatd.log"))
        log(f"artifacts (DOM dumps, screenshots, logs): {self.artifacts}")
        if self.failures:
            log(f"\nFAILED: {len(self.failures)} check(s):")
            for f in self.failures:
                log("  - " + f.splitlines()[0])
            return 1
        log("\nPASSED: the gateway's pages render in Chromium and its origins keep publishers apart")
        return 0


def csp_problem(csp):
    """None when `csp` lets scripts, images, media and fetches come only from
    'self' (plus inline code and data:/blob: URLs, which name no other
    origin); else what is wrong."""
    if not csp:
        return "no Content-Security-Policy header"
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    harmless = {"'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'", "'wasm-unsafe-eval'", "data:", "blob:"}
    for d in ("script-src", "img-src", "media-src", "connect-src"):
        sources = directives.get(d, directives.get("default-src"))
        if sources is None:
            return f"neither {d} nor default-src is set"
        others = [s for s in sources if s.lower() not in harmless]
        if others:
            return f"{d} also allows {' '.join(others)}"
        if "'self'" not in [s.lower() for s in sources]:
            return f"{d} does not allow 'self'"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tamizdat", required=True, help="the tamizdat CLI")
    ap.add_argument("--tamizdatd", required=True, help="the tamizdatd daemon")
    ap.add_argument("--artifacts", help="where DOM dumps and screenshots are kept "
                    "(default: browser-artifacts next to the bin dir; $TZ_BROWSER_ARTIFACTS wins)")
    args = ap.parse_args()
    for exe in (args.tamizdat, args.tamizdatd):
        if not os.access(exe, os.X_OK):
            print(f"not an executable: {exe}", file=sys.stderr)
            return 2
    if not args.artifacts:
        args.artifacts = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.tamizdat))),
                                      "browser-artifacts")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    t = Test(args)
    t0 = time.monotonic()
    try:
        rc = t.run()
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    finally:
        cleanup()
        shutil.rmtree(t.work, ignore_errors=True)
    log(f"gateway_browser: {time.monotonic() - t0:.1f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
