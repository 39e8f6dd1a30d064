#!/usr/bin/env python3
"""The HTML reports in a real browser: Debian's headless Chromium driven by its chromedriver
over WebDriver (plain HTTP and JSON, so only the standard library is needed).

For each report page given: load it from a file:// URL, then fail on any console message of
level SEVERE (a script error, or a Content-Security-Policy violation: a hash that does not
match its inline style or script), on any request the page makes beyond its own file, on a
stylesheet or script that did not run, on a filter click that does not filter, on a phone-
sized window that scrolls sideways, and on a print that gives no PDF. Then compare a
screenshot with the committed reference: same dimensions, PNG size within a tolerance, and
the pixels named in the reference's points file within a tolerance.

    check.py REPORT_DIR REFERENCE_DIR [--update] [--expect-failure]

`--update` writes the screenshots as the new references (review them by eye). With
`--expect-failure`, the checks must find a problem: how `.ci/browser.sh` shows the checks can
fail on a page planted with a network request and an inline handler.
"""

import base64
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 1000
# A phone in portrait (an iPhone 12's CSS pixels).
PHONE = (390, 844)
# How far a screenshot may drift from its reference: the PNG's size (the amount of detail on
# the page), and each channel of a named pixel (anti-aliasing and font hinting differ a little
# between builds; a wrong colour or a moved block differs by far more).
SIZE_TOLERANCE = 0.30
PIXEL_TOLERANCE = 48


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    """The few WebDriver calls used, against a chromedriver this process starts and stops."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.call("GET", "/status")["ready"]:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                raise Failure("chromedriver did not start within 30 s")
            time.sleep(0.2)
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    "--force-color-profile=srgb",
                    "--font-render-hinting=none",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--window-size={WIDTH},{HEIGHT}",
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }
        r = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        self.session = r["sessionId"]

    def call(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as e:
            raise Failure(f"WebDriver {method} {path}: {e.read().decode(errors='replace')[:500]}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def logs(self, kind):
        return self.s("POST", "/se/log", {"type": kind})

    def script(self, js, *args):
        return self.s("POST", "/execute/sync", {"script": js, "args": list(args)})

    def window(self, w, h):
        self.s("POST", "/window/rect", {"width": w, "height": h})

    def quit(self):
        try:
            self.s("DELETE", "")
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def read_png(data):
    """(width, height, pixel(x, y) -> (r, g, b)) of an 8-bit, non-interlaced RGB or RGBA PNG,
    which is what Chromium's screenshots are."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Failure("the screenshot is not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = ihdr
    if depth != 8 or color not in (2, 6) or interlace:
        raise Failure(f"unexpected PNG format: depth {depth}, colour type {color}")
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        f, line = raw[i], bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(line)
        prev = line

    def pixel(x, y):
        o = x * bpp
        return tuple(rows[y][o : o + 3])

    return width, height, pixel


# Run in the page: what the checks need to know about it.
STATE_JS = """
const rows = Array.from(document.querySelectorAll('tr.finding'));
return {
  styled: getComputedStyle(document.body).maxWidth,
  shown: (document.getElementById('shown') || {}).textContent || null,
  rows: rows.length,
  visible: rows.filter(r => !r.hidden).map(r => r.getAttribute('data-severity')),
  severities: rows.map(r => r.getAttribute('data-severity')),
  files: rows.map(r => r.getAttribute('data-file')),
  visibleFiles: rows.filter(r => !r.hidden).map(r => r.getAttribute('data-file')),
  svgs: document.querySelectorAll('svg').length,
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
};
"""


# Run in the page under print media: the filter bar's display, and the elements (outside
# the diff, which wraps) whose right edge passes the page's.
PRINT_JS = """
const f = document.querySelector('.filters');
const wide = Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5).map(e => e.tagName + '.' + e.getAttribute('class'));
return {filters: f ? getComputedStyle(f).display : null, wide: wide};
"""


def check_page(d, path, reference_dir, update, compare_reference=True):
    name = os.path.splitext(os.path.basename(path))[0]
    url = "file://" + os.path.abspath(path)
    problems = []
    d.window(WIDTH, HEIGHT)
    d.logs("browser")  # drop what an earlier page left
    d.logs("performance")
    d.s("POST", "/url", {"url": url})
    state = d.script(STATE_JS)

    # A style or script blocked by the policy shows here, and as a console error below.
    if state["styled"] != "1200px":
        problems.append(f"the stylesheet did not apply (body max-width {state['styled']!r})")
    if state["rows"] and state["shown"] != f"{state['rows']} of {state['rows']} shown":
        problems.append(f"the filter script did not run (counter {state['shown']!r})")
    for entry in d.logs("browser"):
        if entry.get("level") == "SEVERE":
            problems.append(f"console error: {entry.get('message')}")
    requests = []
    for entry in d.logs("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            requests.append(msg["params"]["request"]["url"])
    others = [u for u in requests if u != url and not u.startswith(("data:", "about:"))]
    if others:
        problems.append(f"network requests beyond the page itself: {others}")
    if url not in requests:
        problems.append(f"the request log does not show the page's own load: {requests}")

    shot = base64.b64decode(d.s("GET", "/screenshot"))
    ref_png = os.path.join(reference_dir, f"{name}.png")
    points_file = os.path.join(reference_dir, "points.json")
    if update:
        with open(ref_png, "wb") as f:
            f.write(shot)
        print(f"  wrote {ref_png} ({len(shot)} bytes)")
    elif compare_reference:
        problems += compare(name, shot, ref_png, points_file)

    # The filter: pick a severity the page has, click its option, and only its rows remain.
    if state["rows"]:
        want = next(s for s in ("error", "warning", "info") if s in state["severities"])
        el = d.s("POST", "/element", {"using": "css selector",
                                       "value": f"#filter-severity option[value='{want}']"})
        d.s("POST", f"/element/{list(el.values())[0]}/click", {})
        after = d.script(STATE_JS)
        n = state["severities"].count(want)
        if after["visible"] != [want] * n:
            problems.append(f"filter {want}: visible rows {after['visible']}, expected {n} × {want}")
        if after["shown"] != f"{n} of {state['rows']} shown":
            problems.append(f"filter {want}: counter says {after['shown']!r}")

        # The file filter: back to every severity, then the first file option (findings
        # without a file first, as "-"): only that file's rows remain. "(no file)" once had the
        # value of "all" and filtered nothing (found in review of issue 17).
        def pick(select, value):
            el = d.s("POST", "/element", {"using": "css selector",
                                           "value": f"#filter-{select} option[value='{value}']"})
            d.s("POST", f"/element/{list(el.values())[0]}/click", {})
        pick("severity", "")
        file = sorted(set(state["files"]))[0]
        pick("file", file)
        after = d.script(STATE_JS)
        n = state["files"].count(file)
        if after["visibleFiles"] != [file] * n:
            problems.append(f"file filter {file!r}: visible rows {after['visibleFiles']}, expected {n}")

    # On a phone: everything fits the width (tables wrap or scroll inside their box).
    d.window(*PHONE)
    phone = d.script(STATE_JS)
    if phone["scrollWidth"] > phone["innerWidth"]:
        problems.append(
            f"on a phone the page scrolls sideways ({phone['scrollWidth']} px in {phone['innerWidth']})"
        )

    # Printed: with print media at an A4 page's width (794 CSS px), no filter bar and nothing
    # wider than the page; then a PDF of at least one page.
    d.window(794, HEIGHT)
    d.s("POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia",
                                       "params": {"media": "print"}})
    printed = d.script(PRINT_JS)
    d.s("POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia",
                                       "params": {"media": ""}})
    if printed["filters"] not in (None, "none"):
        problems.append(f"printed, the filter bar shows (display {printed['filters']!r})")
    if printed["wide"]:
        problems.append(f"printed, wider than the page: {printed['wide']}")
    pdf = base64.b64decode(d.s("POST", "/print", {"background": True}))
    if not pdf.startswith(b"%PDF") or not re.search(rb"/Type\s*/Page[^s]", pdf):
        problems.append("printing gave no PDF page")

    print(f"  {name}: {os.path.getsize(path)} bytes, {state['rows']} findings, {state['svgs']} plots, "
          f"screenshot {len(shot)} bytes, PDF {len(pdf)} bytes"
          + (f"; {len(problems)} problem(s)" if problems else ", ok"))
    return [f"{name}: {p}" for p in problems]


def compare(name, shot, ref_png, points_file):
    if not os.path.exists(ref_png):
        return [f"no reference screenshot {ref_png} (run with --update and review it)"]
    with open(ref_png, "rb") as f:
        ref = f.read()
    with open(points_file) as f:
        points = json.load(f).get(name, [])
    problems = []
    w, h, px = read_png(shot)
    rw, rh, rpx = read_png(ref)
    if (w, h) != (rw, rh):
        return [f"screenshot is {w}×{h}, the reference {rw}×{rh}"]
    if abs(len(shot) - len(ref)) > SIZE_TOLERANCE * len(ref):
        problems.append(f"screenshot PNG is {len(shot)} bytes, the reference {len(ref)} (±{SIZE_TOLERANCE:.0%})")
    if not points:
        problems.append(f"no points for {name} in {points_file}")
    for p in points:
        got, want = px(p["x"], p["y"]), rpx(p["x"], p["y"])
        if max(abs(a - b) for a, b in zip(got, want)) > PIXEL_TOLERANCE:
            problems.append(f"pixel ({p['x']},{p['y']}) {p['what']}: {got}, reference {want}")
        if "rgb" in p and max(abs(a - b) for a, b in zip(want, p["rgb"])) > PIXEL_TOLERANCE:
            problems.append(f"reference pixel ({p['x']},{p['y']}) is {want}, not {p['what']} {p['rgb']}")
    return problems


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    update = "--update" in sys.argv
    expect_failure = "--expect-failure" in sys.argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    report_dir, reference_dir = args
    pages = sorted(os.path.join(report_dir, f) for f in os.listdir(report_dir) if f.endswith(".html"))
    if not pages:
        print(f"no .html report in {report_dir}", file=sys.stderr)
        return 1
    d = Driver()
    problems, clean = [], []
    try:
        for p in pages:
            found = check_page(d, p, reference_dir, update, compare_reference=not expect_failure)
            problems += found
            if not found:
                clean.append(p)
    finally:
        d.quit()
    if expect_failure:
        # Every planted page must be caught, each for what was planted in it.
        for p in clean:
            print(f"FAIL: the checks found nothing wrong in {p}, a page planted with a problem",
                  file=sys.stderr)
        for p in problems:
            print(f"  found, as planted: {p}")
        return 1 if clean else 0
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
