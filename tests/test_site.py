"""The built documentation site, read in a real headless browser with no network.

Every page of ``site/`` is served from localhost and opened in Chromium, which
is told that every other host does not exist, so a page that needs the internet
(a renderer from a CDN, a remote image) fails here as it would on an offline
machine. After the page's scripts have run (MathJax included), each page is
checked for what a reader would see:

* no unrendered TeX (``\\(``, ``\\[``, ``$$``, ``\\beta``, ...) in the text of
  the page or of its navigation and table of contents, and no TeX error box;
* every image loaded (``naturalWidth > 0``);
* no literal Sphinx role (``:func:``, ``:class:``, ...);
* no code line wider than its block, and no line running under the copy button;
* no display equation wider than its block;
* no local file (script, stylesheet, font, image) missing.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``),
so nothing beyond the standard library is needed. Run it after building the site:

    NO_MKDOCS_2_WARNING=1 mkdocs build --strict && python -m pytest -n 0 tests/test_site.py

It skips when Chromium (Debian package ``chromium``) or ``site/`` is absent,
unless ``LATTN_SITE_REQUIRED=1`` is set (``.ci/run`` sets it), when absence is
an error. ``LATTN_SITE_DIR`` points it at another build folder.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("LATTN_SITE_DIR", ROOT / "site"))
REQUIRED = os.environ.get("LATTN_SITE_REQUIRED") == "1"
# A desktop window: both sidebars (navigation and table of contents) are shown.
WIDTH, HEIGHT = 1280, 900
PAGE_TIMEOUT = 30.0


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


def _pages() -> list[str]:
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html"))


def _missing() -> str | None:
    if not (SITE / "index.html").is_file():
        return f"no built site at {SITE} (run `NO_MKDOCS_2_WARNING=1 mkdocs build --strict` first)"
    if _chromium() is None:
        return "no Chromium on PATH (Debian: `apt-get install chromium`)"
    return None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Chromium:
    """Headless Chromium spoken to over the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, exe: str, profile: str) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--mute-audio",
            # No network: every host but this machine is unknown.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=direct://",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        self._proc = subprocess.Popen(
            ["bash", "-c", script, exe, *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._events: list[dict] = []
        self._id = 0

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout=PAGE_TIMEOUT) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self._events.append(reply)

    def wait_for(self, method: str, session: str, timeout=PAGE_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self._events.pop(i)
            self._events.append(self._read(deadline))

    def drain(self, session: str) -> list[dict]:
        mine = [e for e in self._events if e.get("sessionId") == session]
        self._events = [e for e in self._events if e.get("sessionId") != session]
        return mine


# Runs in the page once it has loaded: waits for MathJax and the images, then
# returns what a reader would see as a list of problems.
CHECK_PAGE = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    if (MathJax.typesetPromise) await MathJax.typesetPromise();
  }
  const images = [...document.images];
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null : new Promise((done) => {
    img.addEventListener("load", done); img.addEventListener("error", done);
    setTimeout(done, 10000);
  })));
  const problems = [];
  const short = (s) => s.replace(/\s+/g, " ").trim().slice(0, 100);
  const inside = (node, selector) => node.parentElement && node.parentElement.closest(selector);

  // Text a reader sees, outside code: the page and its navigation / table of contents.
  const tex = /\\[()\[\]]|\$\$|\\[A-Za-z]{2,}|\\_/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (inside(node, "script, style, pre, code, textarea")) continue;
    const text = node.textContent;
    const where = inside(node, ".md-nav") ? "navigation/TOC" : "text";
    if (tex.test(text)) problems.push(`unrendered TeX in the ${where}: "${short(text)}"`);
  }
  for (const error of document.querySelectorAll("mjx-merror, [data-mjx-error]")) {
    problems.push(`TeX error: ${error.getAttribute("data-mjx-error") || short(error.textContent)}`);
  }

  // Sphinx roles anywhere, code included.
  const roles = /:(func|class|meth|attr|data|mod|obj|exc|ref):/g;
  const bodyText = document.body.innerText + " " + document.body.textContent;
  for (const match of new Set(bodyText.match(roles) || [])) {
    const at = bodyText.indexOf(match);
    problems.push(`literal Sphinx role ${match} in "${short(bodyText.slice(Math.max(0, at - 30), at + 50))}"`);
  }

  for (const img of images) {
    if (!img.complete || img.naturalWidth === 0) problems.push(`broken image ${img.getAttribute("src")}`);
  }

  // Code blocks: every line fits its block and none runs under the copy button.
  for (const code of document.querySelectorAll("pre > code")) {
    if (code.scrollWidth > code.clientWidth + 1) {
      const longest = code.textContent.split("\n").reduce((a, b) => (b.length > a.length ? b : a), "");
      const size = `${code.scrollWidth} > ${code.clientWidth} px`;
      problems.push(`code line wider than its block (${size}): "${short(longest)}"`);
      continue;
    }
    // The boxes of the text itself (not of the line spans, which are full width), first lines only.
    const rects = [];
    const top = code.getBoundingClientRect().top;
    const texts = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(node);
      const boxes = [...range.getClientRects()].filter((rect) => rect.width > 0);
      if (boxes.length && boxes[0].top > top + 100) break;
      rects.push(...boxes);
    }
    for (const button of code.parentElement.querySelectorAll(".md-code__button, .md-clipboard")) {
      const box = button.getBoundingClientRect();
      if (box.width === 0) continue;
      const under = (r) =>
        r.bottom > box.top + 1 && r.top < box.bottom - 1 && r.right > box.left + 1 && r.left < box.right - 1;
      if (rects.some(under)) {
        problems.push(`copy button over the code: "${short(code.textContent.split("\n")[0])}"`);
        break;
      }
    }
  }

  // Display equations fit their block: neither clipped nor, with MathJax's SVG
  // output (max-width: 100%), shrunk below their natural size.
  for (const math of document.querySelectorAll("div.arithmatex")) {
    if (math.scrollWidth > math.clientWidth + 1) {
      problems.push(`equation wider than its block (${math.scrollWidth} > ${math.clientWidth} px)`);
    }
    for (const svg of math.querySelectorAll("mjx-container > svg")) {
      const shown = svg.getBoundingClientRect().width;
      svg.style.maxWidth = "none";
      const natural = svg.getBoundingClientRect().width;
      svg.style.maxWidth = "";
      if (natural > shown + 1) {
        problems.push(`equation wider than its block, shown shrunk (${Math.round(natural)} > ${Math.round(shown)} px)`);
      }
    }
  }
  return problems;
})()
"""


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"LATTN_SITE_REQUIRED=1 but {reason}")
        pytest.skip(reason)
    handler = functools.partial(_Quiet, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with tempfile.TemporaryDirectory(prefix="lattn-chromium-") as profile:
        chromium = _Chromium(_chromium(), profile)
        try:
            target = chromium.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = chromium.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Network"):
                chromium.call(f"{domain}.enable", session=session)
            base = f"http://127.0.0.1:{server.server_address[1]}/"
            yield chromium, session, base
        finally:
            chromium.close()
            server.shutdown()
            server.server_close()


def _check(browser, page: str) -> list[str]:
    chromium, session, base = browser
    chromium.drain(session)
    chromium.call("Page.navigate", {"url": base + page}, session=session)
    chromium.wait_for("Page.loadEventFired", session)
    result = chromium.call(
        "Runtime.evaluate",
        {"expression": CHECK_PAGE, "awaitPromise": True, "returnByValue": True},
        session=session,
    )
    if "exceptionDetails" in result:
        raise RuntimeError(f"{page}: the check script failed: {result['exceptionDetails']}")
    problems = list(result["result"]["value"])
    # Local files the page asked for and did not get.
    for event in chromium.drain(session):
        params = event.get("params", {})
        if event.get("method") == "Network.responseReceived":
            response = params["response"]
            if response["url"].startswith(base) and response["status"] >= 400:
                problems.append(f"HTTP {response['status']} for {response['url'][len(base) - 1 :]}")
    return problems


def test_no_sphinx_roles_in_docstrings():
    # mkdocstrings renders :func:`x` literally; cross-references are [`x`][lattn_jax.x] and
    # private names are plain code. Cheap and always on (the browser test sees rendered pages only).
    role = re.compile(r":(func|class|meth|attr|data|mod|obj|exc):`")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "lattn_jax").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if role.search(line)
    ]
    assert not found, "Sphinx roles in docstrings:\n" + "\n".join(found)


def test_every_page_reads_well_offline(browser):
    pages = _pages()
    assert len(pages) >= 20, f"only {len(pages)} pages in {SITE}"
    found = {}
    for page in pages:
        if page == "404.html":
            continue
        if problems := _check(browser, page):
            found[page] = problems
    report = "\n".join(f"{page}:\n  " + "\n  ".join(problems) for page, problems in found.items())
    assert not found, f"{sum(map(len, found.values()))} problems on {len(found)} pages:\n{report}"
