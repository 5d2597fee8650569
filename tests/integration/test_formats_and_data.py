"""The landing page's "Formats and data", its ``citation_pdf_url``, and the repository's buttons, in the built book.

The links must work offline from ``_book/html/index.html``: relative, to files
the build published. The buttons link the repository and Binder, and no page
loads anything from another host. All but the last test read the book built
once by the session fixture ``built_book`` (HTML and PDF together).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

from tests.conftest import ROOT, seed_cache, thalbook

pytestmark = pytest.mark.slow

REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]


def landing(html_dir: Path) -> tuple[str, BeautifulSoup]:
    """The landing page's name (where ``index.html`` sends the reader) and its parsed HTML."""
    redirect = (html_dir / "index.html").read_text(encoding="utf-8")
    name = re.search(r'url=([^"]+)"', redirect).group(1)
    return name, BeautifulSoup((html_dir / name).read_text(encoding="utf-8"), "html.parser")


def formats_block(soup: BeautifulSoup):
    boxes = [box for box in soup.select("div.admonition")
             if box.select_one(".admonition-title").get_text(strip=True) == "Formats and data"]
    assert len(boxes) == 1
    return boxes[0]


def test_the_landing_page_links_every_format_and_both_packages_offline(built_book: Path):
    html_dir = (built_book / "html").resolve()
    name, soup = landing(html_dir)
    box = formats_block(soup)
    # right after the bottom line
    assert box.find_previous_sibling("div").select_one(".admonition-title").get_text() == "The bottom line"
    hrefs = [a["href"] for a in box.select("a")]
    notebooks = sorted(p.name for p in (built_book / "executed").glob("*.ipynb"))
    assert len(notebooks) >= 9
    assert sorted(hrefs) == sorted(["book.pdf", "data/datapackage.json", "results/datapackage.json",
                                    "results/audit.csv", *(f"_sources/chapters/{nb}" for nb in notebooks)])
    for href in hrefs:
        assert not urlsplit(href).scheme and not href.startswith("/"), href  # relative: works offline
        assert (html_dir / name).parent.joinpath(href).resolve().is_file(), href
    # each one the file the build made, as it made it
    assert (html_dir / "book.pdf").read_bytes() == (built_book / "pdf" / "book.pdf").read_bytes()
    for nb in notebooks:
        assert (html_dir / "_sources" / "chapters" / nb).read_bytes() == (built_book / "executed" / nb).read_bytes()
    for folder in ("data", "results"):
        assert (html_dir / folder / "datapackage.json").is_file()
    audit_csv = (html_dir / "results" / "audit.csv").read_text(encoding="utf-8")
    assert audit_csv.splitlines()[0].startswith("study,")


def test_the_block_is_not_printed_in_the_pdf(built_book: Path):
    text = subprocess.run(["pdftotext", "-l", "12", str(built_book / "pdf" / "book.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "The bottom line" in text and "Formats and data" not in text


def test_the_landing_page_alone_names_its_pdf_for_google_scholar(built_book: Path):
    html_dir = (built_book / "html").resolve()
    name, soup = landing(html_dir)
    tags = soup.select('head meta[name="citation_pdf_url"]')
    assert len(tags) == 1
    url = tags[0]["content"]
    # no html.baseurl in _config.yml: relative to the landing page, beside it (the guidelines' "same directory")
    assert url == "book.pdf" and (html_dir / name).parent.joinpath(url).resolve() == html_dir / "book.pdf"
    assert soup.select_one('head meta[name="citation_title"]') is not None
    others = [p for p in html_dir.rglob("*.html") if p.name != name and "_static" not in p.parts
              and 'name="citation_pdf_url"' in p.read_text(encoding="utf-8")]
    assert not others, others


def test_chapter_pages_link_the_repository_its_issues_and_binder(built_book: Path):
    soup = BeautifulSoup((built_book / "html" / "chapters" / "crohns_results.html").read_text(encoding="utf-8"),
                         "html.parser")
    hrefs = {a["href"] for a in soup.select(".article-header-buttons a[href]")}
    assert REPOSITORY in hrefs and f"{REPOSITORY}/issues/new?title=Issue%20on%20page%20%2Fchapters/crohns_results.html&body=Your%20issue%20content%20here." in hrefs  # noqa: E501
    owner, repo = urlsplit(REPOSITORY).path.strip("/").split("/")
    binder = f"https://mybinder.org/v2/gh/{owner}/{repo}/main?urlpath=lab/tree/chapters/crohns_results.ipynb"
    assert binder in hrefs
    # named by their text, without the theme's logos (an image saying what the name says)
    assert soup.select(f'.article-header-buttons a[href="{binder}"]')[0].get_text(strip=True) == "Binder"
    assert soup.select(".article-header-buttons img") == []


def test_no_page_loads_anything_from_another_host(built_book: Path):
    """Links to the repository and Binder are fine; scripts, styles, fonts and images from the network are not."""
    loaded = re.compile(r'<(script|link|img|iframe|source|embed|object)\b[^>]*?\b(src|href|data)="([^"]+)"')
    found = []
    for path in sorted((built_book / "html").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag, _, url in loaded.findall(text):
            if tag == "link" and re.search(rf'<link\b[^>]*rel="canonical"[^>]*href="{re.escape(url)}"', text):
                continue  # names the page's address, fetches nothing
            if urlsplit(url).scheme in ("http", "https") or url.startswith("//"):
                found.append(f"{path.name}: <{tag}> {url}")
    css = [f"{p.name}: {u}" for p in (built_book / "html" / "_static").rglob("*.css")
           for u in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^'\")]+)", p.read_text(encoding="utf-8"))]
    assert not found and not css, found + css


def test_an_html_book_built_alone_links_no_pdf(built_book: Path, tmp_path: Path):
    out = seed_cache(built_book, tmp_path / "_book")  # the chapters' executions: only Sphinx runs
    proc = thalbook("build", "--format", "html", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    html_dir = (out / "html").resolve()
    assert not (html_dir / "book.pdf").exists()
    _, soup = landing(html_dir)
    hrefs = [a["href"] for a in formats_block(soup).select("a")]
    assert "book.pdf" not in hrefs and "results/audit.csv" in hrefs
    assert all((html_dir / href).is_file() for href in hrefs), hrefs
    assert soup.select('head meta[name="citation_pdf_url"]') == []
