"""A reader's browser: Debian's Chromium driven by playwright, pages served on 127.0.0.1.

The built book is served by a ``ThreadingHTTPServer`` the tests start on a free
port. Every request is routed: those to the local server go through, all
others are aborted and counted (there must be none: the book works offline).
One visit of every page, on a fresh browser profile, records what a reader's
browser saw (console errors, failed and blocked requests, images, links,
element ids) and saves a screenshot of each chapter for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
# Root needs --no-sandbox; the others keep Chromium from calling home (which the route would count).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = ARTIFACTS / "screenshots"
_taken: list[Path] = []  # screenshots saved in this session, for the terminal summary

# Waits for every <img> to finish (lazy ones are made eager), then describes them.
IMAGES_JS = """async () => {
  const imgs = Array.from(document.querySelectorAll('img'));
  await Promise.all(imgs.map(img => {
    img.loading = 'eager';
    if (img.complete) return null;
    return new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); });
  }));
  return imgs.map(img => ({src: img.getAttribute('src'), url: img.currentSrc || img.src,
                           alt: img.getAttribute('alt'), naturalWidth: img.naturalWidth}));
}"""

LINKS_JS = """() => Array.from(document.querySelectorAll('a[href]')).map(a => ({
  href: a.getAttribute('href'), url: a.href, text: a.textContent.trim().slice(0, 60)}))"""

IDS_JS = """() => Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name'))"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output readable
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) from a thread; return the server and its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name="book-server", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@dataclass
class Visit:
    """What the browser saw on one page."""

    url: str
    final_url: str = ""
    title: str = ""
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    screenshot: Path | None = None


@dataclass
class Site:
    root: Path
    base: str

    def pages(self) -> list[str]:
        """Every HTML page of the book, relative to its root (theme templates under _static excluded)."""
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*.html")
                      if p.relative_to(self.root).parts[0] != "_static")


class Reader:
    """A fresh browser profile whose every request is routed and every problem recorded."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.visit: Visit | None = None
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self._record("console_errors", f"uncaught: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _record(self, kind: str, message: str) -> None:
        if self.visit is not None:
            getattr(self.visit, kind).append(message)

    def _route(self, route) -> None:
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self._record("blocked_requests", route.request.url)
            route.abort("blockedbyclient")

    def _console(self, message) -> None:
        if message.type == "error":
            self._record("console_errors", f"{message.text} ({message.location.get('url', '')})")

    def _failed(self, request) -> None:
        if request.url.startswith(self.base):  # blocked requests are counted apart
            self._record("failed_requests", f"{request.url}: {request.failure}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self._record("failed_requests", f"{response.url}: HTTP {response.status}")

    def open(self, path: str) -> Visit:
        self.visit = Visit(url=self.base + path)
        self.page.goto(self.visit.url, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        self.visit.final_url = self.page.url
        self.visit.title = self.page.title()
        return self.visit

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def site(built_book: Path) -> Iterator[Site]:
    root = (built_book / "html").resolve()
    server, base = serve(root)
    yield Site(root, base)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def visits(browser, site: Site) -> dict[str, Visit]:
    """Every page of the book, visited once in one fresh profile, in order; chapters photographed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    reader = Reader(browser, site.base)
    seen = {}
    try:
        for path in site.pages():
            visit = reader.open(path)
            visit.images = reader.page.evaluate(IMAGES_JS)
            visit.links = reader.page.evaluate(LINKS_JS)
            visit.ids = set(reader.page.evaluate(IDS_JS))
            if path.startswith("chapters/") or path == "intro.html":
                visit.screenshot = SCREENSHOTS / (path.replace("/", "-").removesuffix(".html") + ".png")
                reader.page.screenshot(path=str(visit.screenshot), full_page=True)
                _taken.append(visit.screenshot)
            seen[path] = visit
    finally:
        reader.close()
    return seen


def pytest_terminal_summary(terminalreporter) -> None:
    if _taken:
        terminalreporter.write_line(f"browser tests: {len(_taken)} page screenshots saved in {SCREENSHOTS}")
