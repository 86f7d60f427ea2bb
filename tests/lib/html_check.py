"""Helpers of the HTML report tests: render a page in headless Chromium (its DOM
and a screenshot) and look at what the browser made of it.

    dom = render(page, png)        # Skip when chromium is not installed
    doc = Dom(dom)
    doc.text                       # the visible text, entities decoded
    doc.fit_lines                  # <line class="fit"> elements inside an <svg>
    stack_cards(page_text)         # each stack's card: verdict, kind, rate, frames

Chromium runs with a new profile in a temp directory, no network service
(--disable-background-networking etc.) and only file:// URLs.
"""

import html
import html.parser
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

from agentleak_test import ROOT, Skip, die_with_parent, tail

CHROMIUM = os.environ.get("AGENTLEAK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.path.join(ROOT, "build", "test-artifacts")
WINDOW = (1280, 2000)
TIMEOUT = 90.0

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio"]


def require_chromium():
    if not os.access(CHROMIUM, os.X_OK):
        raise Skip("%s not installed (scripts/install-deps.sh installs the chromium package)"
                   % CHROMIUM)


def chromium(args, what):
    """Run chromium with a fresh profile; returns its stdout (bytes)."""
    require_chromium()
    profile = tempfile.mkdtemp(prefix="agentleak-chromium-")
    argv = [CHROMIUM] + FLAGS + ["--user-data-dir=" + profile] + list(args)
    try:
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=TIMEOUT, preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired:
        raise AssertionError("chromium %s: still running after %.0f s" % (what, TIMEOUT))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if res.returncode != 0:
        raise AssertionError("chromium %s: exit status %d\n%s" % (
            what, res.returncode, tail(res.stderr.decode(errors="replace"), 15)))
    return res.stdout


def render(page, png, window=WINDOW):
    """The DOM Chromium builds from page (a file), and a screenshot of it in png."""
    url = "file://" + os.path.abspath(page)
    dom = chromium(["--dump-dom", url], "--dump-dom").decode(errors="replace")
    if os.path.exists(png):
        os.unlink(png)
    chromium(["--screenshot=" + os.path.abspath(png), "--window-size=%d,%d" % window, url],
             "--screenshot")
    if not os.path.exists(png):
        raise AssertionError("chromium --screenshot wrote no %s" % png)
    return dom


def artifact(name):
    """A path in build/test-artifacts/ (made if needed)."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.join(ARTIFACTS, name)


def png_facts(path):
    """(width, height, distinct byte values of the pixel data) of a PNG: a blank
    screenshot has very few."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("%s is not a PNG" % path)
    width, height = struct.unpack(">II", data[16:24])
    idat = b""
    pos = 8
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    pixels = zlib.decompress(idat)
    return width, height, len(set(pixels))


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent

    def ancestors(self):
        e = self.parent
        while e is not None:
            yield e
            e = e.parent

    def classes(self):
        return (self.attrs.get("class") or "").split()


class Dom(html.parser.HTMLParser):
    """What the test needs of a DOM: the text, the elements, which is in which."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.parts = []
        self.current = None
        self.skip = 0
        self.feed(text)
        self.close()
        self.text = " ".join(" ".join(self.parts).split())

    def handle_starttag(self, tag, attrs):
        e = Element(tag, attrs, self.current)
        self.elements.append(e)
        if tag in ("style", "script", "title") and (self.current is None
                                                     or self.current.tag == "head"):
            self.skip += 1
        if tag not in self.VOID:
            self.current = e

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, attrs, self.current))

    def handle_endtag(self, tag):
        e = self.current
        while e is not None and e.tag != tag:
            e = e.parent
        if e is None:
            return
        if tag in ("style", "script", "title") and (e.parent is None or e.parent.tag == "head"):
            self.skip -= 1
        self.current = e.parent

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)

    def find(self, tag, cls=None):
        return [e for e in self.elements
                if e.tag == tag and (cls is None or cls in e.classes())]

    @property
    def fit_lines(self):
        return [e for e in self.find("line", "fit")
                if any(a.tag == "svg" for a in e.ancestors())]


def fetching_elements(dom):
    """Elements that would make the browser fetch something off the page."""
    bad = []
    for e in dom.elements:
        if e.tag in ("script", "link", "img", "iframe", "object", "embed", "base", "audio",
                     "video", "source"):
            bad.append("<%s>" % e.tag)
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster"):
            v = e.attrs.get(name)
            if v is not None and not v.startswith("#"):
                bad.append("<%s %s=%r>" % (e.tag, name, v))
    return bad


CARD_START = '<section class="card stack s-'
CARD_HEAD_RE = re.compile(r"\[(\d+)\] (.*?) pid (\d+) \u00b7 (\S+) \u00b7 stack (\w+)")
CARD_RATE_RE = re.compile(r"bytes/(request|s) ([+-]\d+(?:\.\d+)?) B/")
CARD_FRAME_RE = re.compile(r'<li><span class="n">#(\d+)</span><code>(.*?)</code>', re.S)


def stack_cards(page):
    """The stack cards of an agentleak --html page (its text), in page order:
    [{"verdict" (the card's class: leak, plateau, ..., none), "rank", "name", "pid",
    "kind", "id", "rate" (float, bytes per request or second; None without a fit),
    "frames": [frame text, #0 first], "text" (the card as a browser shows it)}]."""
    cards = []
    for chunk in page.split(CARD_START)[1:]:
        chunk = chunk.split("</section>", 1)[0]
        text = Dom("<section>" + chunk.split(">", 1)[1]).text
        head = CARD_HEAD_RE.search(text)
        rate = CARD_RATE_RE.search(text)
        frames = sorted((int(n), html.unescape(t)) for n, t in CARD_FRAME_RE.findall(chunk))
        cards.append({"verdict": chunk.split('"', 1)[0], "rank": int(head.group(1)) if head
                      else None, "name": head.group(2) if head else None,
                      "pid": int(head.group(3)) if head else None,
                      "kind": head.group(4) if head else None, "id": head.group(5) if head
                      else None, "rate": float(rate.group(2)) if rate else None,
                      "frames": [t for _, t in frames], "text": text})
    return cards
