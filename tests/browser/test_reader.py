"""The HTML book as a reader meets it: every page in Chromium, served from 127.0.0.1.

See conftest.py for the server, the routing that blocks and counts requests to
anywhere else, and the single visit of every page these tests inspect.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

from tests.browser.conftest import SCREENSHOTS, Reader, Site, Visit, serve
from tests.conftest import ROOT, seed_cache, thalbook
from thalbook.press.params import SCHEMA

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A word the search must find: the primary end point of the Crohn's disease study.
SEARCH_TERM = "remission"
IMAGE_FILE = re.compile(r"(?i)[\w./-]*\.(png|jpe?g|gif|svg|webp)")


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [f"{toc['root']}.html"] + [f"{c['file']}.html" for part in toc["parts"] for c in part["chapters"]]


def by_page(visits: dict[str, Visit], attribute: str) -> dict[str, list]:
    return {page: getattr(v, attribute) for page, v in visits.items() if getattr(v, attribute)}


def test_every_page_of_the_book_is_visited(site: Site, visits: dict[str, Visit]):
    assert set(toc_pages()) <= set(visits), set(toc_pages()) - set(visits)
    assert {"genindex.html", "search.html"} <= set(visits)
    assert all(v.title for v in visits.values()), [p for p, v in visits.items() if not v.title]


def test_no_page_logs_a_console_error(visits: dict[str, Visit]):
    # The theme's own scripts included: a reader's first visit must be clean too.
    assert not by_page(visits, "console_errors")


def test_no_request_leaves_the_local_server(visits: dict[str, Visit]):
    blocked = by_page(visits, "blocked_requests")
    assert sum(map(len, blocked.values())) == 0, blocked


def test_no_request_fails(visits: dict[str, Visit]):
    assert not by_page(visits, "failed_requests")


def test_every_image_describes_what_it_shows_and_loads(visits: dict[str, Visit]):
    problems = []
    for page, visit in visits.items():
        for img in visit.images:
            alt = (img["alt"] or "").strip()
            name = Path(urlsplit(img["src"] or "").path).name
            if not alt:
                problems.append(f"{page}: {name}: no alt text")
            elif IMAGE_FILE.fullmatch(alt) or (name and Path(name).stem in alt):
                problems.append(f"{page}: {name}: alt text is the file name ({alt!r}), MyST-NB's fallback")
            elif len(re.findall(r"[A-Za-z]{2,}", alt)) < 3:
                problems.append(f"{page}: {name}: alt text {alt!r} is too short to describe a figure")
            if img["naturalWidth"] <= 0:
                problems.append(f"{page}: {name}: did not load ({img['url']})")
    assert not problems, "\n".join(problems)
    print(f"{sum(len(v.images) for v in visits.values())} images checked")


def test_every_internal_link_and_anchor_resolves(site: Site, visits: dict[str, Visit]):
    status: dict[str, int] = {}

    def fetch(url: str) -> int:
        if url not in status:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    status[url] = response.status
            except urllib.error.HTTPError as error:
                status[url] = error.code
        return status[url]

    def ids_of(path: str) -> set[str]:
        if path in visits:
            return visits[path].ids
        text = (site.root / path).read_text(encoding="utf-8")
        return set(re.findall(r'\b(?:id|name)="([^"]+)"', text))

    broken, checked = [], 0
    for page, visit in visits.items():
        for link in visit.links:
            if not link["url"].startswith(site.base):
                continue  # another site (a DOI, a registry): readers follow those, the test does not
            checked += 1
            target, _, fragment = link["url"].partition("#")
            path = urlsplit(target).path.removeprefix("/") or "index.html"
            if path.endswith("/"):
                path += "index.html"
            if fetch(target) != 200:
                broken.append(f"{page}: {link['href']!r} -> HTTP {fetch(target)}")
            elif fragment and path.endswith(".html") and unquote(fragment) not in ids_of(path):
                broken.append(f"{page}: {link['href']!r} -> no element #{unquote(fragment)} in {path}")
    assert checked > len(visits), "too few internal links: is the navigation there?"
    assert not broken, "\n".join(broken)


def test_search_finds_a_term_from_a_chapter(browser, site: Site):
    reader = Reader(browser, site.base)
    try:
        visit = reader.open("search.html")
        field = reader.page.locator("form.bd-search input[name='q']:visible").first
        field.fill(SEARCH_TERM)
        field.press("Enter")
        results = reader.page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=20_000)
        hrefs = results.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    finally:
        reader.close()
    chapters = {urlsplit(h).path for h in hrefs if urlsplit(h).path.startswith("chapters/")}
    assert chapters, f"no chapter among the results for {SEARCH_TERM!r}: {hrefs}"
    for path in chapters:
        assert SEARCH_TERM in (site.root / path).read_text(encoding="utf-8").lower(), path
    # Console errors are the crawl's to report (test_no_page_logs_a_console_error); what the search
    # itself needs (searchindex.js, the language data) must load, and from here.
    assert not visit.failed_requests and not visit.blocked_requests


def test_each_chapter_page_has_a_screenshot(visits: dict[str, Visit]):
    from PIL import Image

    for page in toc_pages():
        shot = visits[page].screenshot
        assert shot is not None and shot.is_file(), page
        image = Image.open(shot).convert("L")
        assert image.size[0] >= 1000 and image.size[1] >= 600, (page, image.size)
        low, high = image.getextrema()
        assert high - low > 100, f"{page}: the screenshot is blank"
    print(f"screenshots of {len(toc_pages())} pages in {SCREENSHOTS}")


# --------------------------------------------------------------------------- the packages, by URL


@pytest.mark.parametrize("folder", ["data", "results"])
def test_each_package_loads_by_url_with_frictionless_and_pandas(site: Site, folder: str):
    import frictionless
    import pandas as pd

    url = f"{site.base}{folder}/datapackage.json"
    report = frictionless.validate(url)
    assert report.valid, report.flatten(["type", "note"])[:5]
    package = frictionless.Package(url)
    assert package.resource_names, url
    for resource in package.resources:
        remote = pd.read_csv(f"{site.base}{folder}/{resource.path}", dtype=str, keep_default_na=False)
        local = pd.read_csv(site.root / folder / resource.path, dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(remote, local)
        assert list(remote.columns) == [f.name for f in resource.schema.fields], resource.name


# --------------------------------------------------------------------------- the parameter box

# One chapter receives it, so only that chapter re-executes for this test.
OVERRIDES = {"rounding": "half-even"}


@pytest.fixture(scope="module")
def other_book(tmp_path_factory, built_book: Path):
    """The book built with non-default parameters (the chapters that declare them re-executed)."""
    out = seed_cache(built_book, tmp_path_factory.mktemp("other-params") / "_book")
    sets = [a for name, value in OVERRIDES.items() for a in ("--set", f"{name}={value}")]
    proc = thalbook("build", "--format", "html", "--out", str(out), *sets)
    assert proc.returncode == 0, proc.stderr
    server, base = serve((out / "html").resolve())
    yield out, base
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("which", ["default", "other"])
def test_parameter_box_shows_the_values_used(which: str, request, browser, site: Site):
    if which == "default":
        out, base = request.getfixturevalue("built_book"), site.base
    else:
        out, base = request.getfixturevalue("other_book")
    reader = Reader(browser, base)
    shown = {}
    try:
        for notebook in sorted((out / "executed").glob("*.ipynb")):
            used = nbformat.read(notebook, as_version=4).metadata.papermill.parameters
            reader.open(f"chapters/{notebook.stem}.html")
            box = reader.page.locator(".admonition").filter(
                has=reader.page.locator(".admonition-title", has_text="Parameters of this run"))
            assert box.count() == 1 and box.is_visible(), f"{notebook.stem}: no visible parameter box"
            text = " ".join(box.inner_text().split())
            for name, value in used.items():
                assert f"{name} = {value}" in text, f"{notebook.stem}: {name} = {value} not in {text!r}"
            for name in set(SCHEMA["properties"]) - set(used):
                assert f"{name} =" not in text, f"{notebook.stem} shows {name}, which it does not receive"
            shown[notebook.stem] = used
    finally:
        reader.close()
    if which == "other":
        # the values used are the ones asked for, wherever a chapter receives them
        receiving = {c: u for c, u in shown.items() if set(OVERRIDES) & set(u)}
        assert receiving, "no chapter receives the overridden parameters"
        for chapter, used in receiving.items():
            assert all(used[k] == v for k, v in OVERRIDES.items() if k in used), (chapter, used)


def test_the_results_package_follows_the_parameters_of_its_build(other_book):
    import json

    out, base = other_book
    with urllib.request.urlopen(f"{base}results/datapackage.json") as response:  # noqa: S310 (the local server)
        meta = json.loads(response.read().decode("utf-8"))
    assert {k: meta["parameters"][k] for k in OVERRIDES} == OVERRIDES
    with urllib.request.urlopen(f"{base}results/audit.csv") as response:  # noqa: S310
        assert response.read() == (out / "html" / "results" / "audit.csv").read_bytes()
