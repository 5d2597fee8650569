"""The back matter of the built book: the audit page against the CLI, the data
page's downloads, the version on the title pages, the bibliography, and the
captions and alt text of the figures.

All of these read the book built once by the session fixture ``built_book``.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.conftest import ROOT, thalbook
from thalbook import __version__
from thalbook.core.evidence import citation

pytestmark = pytest.mark.slow

MY_CHAPTERS = ("background", "methods", "safety", "data_provenance", "audit", "reproducibility", "citing")


def page(built_book: Path, name: str) -> BeautifulSoup:
    return BeautifulSoup((built_book / "html" / "chapters" / f"{name}.html").read_text(encoding="utf-8"),
                         "html.parser")


def test_audit_page_has_as_many_rows_as_the_cli_audit(built_book: Path):
    proc = thalbook("audit", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    cli = list(csv.DictReader(io.StringIO(proc.stdout)))
    tables = page(built_book, "audit").select('table[id^="audit-rows-"]')
    rows = [tr for table in tables for tr in table.select("tbody > tr")]
    assert len(rows) == len(cli)
    # one table per audited study, each as long as the study's share of the CLI audit
    by_study = {t["id"].removeprefix("audit-rows-"): len(t.select("tbody > tr")) for t in tables}
    assert by_study == {s: sum(r["study"] == s for r in cli) for s in {r["study"] for r in cli}}


def test_audit_page_lists_findings_and_inconsistencies_first(built_book: Path):
    proc = thalbook("audit", "--format", "csv")
    cli = list(csv.DictReader(io.StringIO(proc.stdout)))
    soup = page(built_book, "audit")
    for table in soup.select('table[id^="audit-rows-"]'):
        verdicts = [tr.select("td")[-1].get_text("", strip=True).split(":")[0].strip()
                    for tr in table.select("tbody > tr")]
        order = {"inconsistent": 0, "not-checkable": 1, "consistent": 2}
        assert [order[v] for v in verdicts] == sorted(order[v] for v in verdicts), table["id"]
    plain = soup.select_one("section#the-inconsistencies-in-plain-words")
    assert plain is not None
    # one row per finding, in the command line's order, by identifier; each row's checks are in the study tables
    found = [tr.select("td")[0].get_text(strip=True) for tr in soup.select("table#tbl-audit-findings tbody > tr")]
    order = {r["finding"]: int(r["order"]) for r in cli if r["finding"]}
    assert found == sorted(order, key=order.get)
    # every finding has an anchor of its own, named by its identifier
    for finding in found:
        assert len(soup.select(f'[id="{finding}"]')) == 1, finding
    in_tables = {tr.select("td")[0].get_text(strip=True)
                 for table in soup.select('table[id^="audit-rows-"]') for tr in table.select("tbody > tr")}
    assert set(found) <= in_tables


def test_every_data_link_on_the_data_page_resolves_to_the_file_as_it_is(built_book: Path):
    html_dir = (built_book / "html").resolve()
    chapter_dir = html_dir / "chapters"
    links = [a for a in page(built_book, "data_provenance").select("a.published")
             if a["href"].startswith("../data/")]
    data_dir = ROOT / "data"
    expected = {"datapackage.json", "README.md", *(p.name for p in data_dir.glob("*.csv"))}
    assert {a.get_text(strip=True) for a in links} == expected
    for a in links:
        target = (chapter_dir / a["href"]).resolve()
        assert target.is_file(), a["href"]
        assert target.parent == html_dir / "data", a["href"]  # beside its descriptor
        assert target.read_bytes() == (data_dir / a.get_text(strip=True)).read_bytes(), a["href"]


def test_both_packages_are_published_whole_and_valid_and_linked_from_the_landing_page(built_book: Path):
    import frictionless

    html_dir = built_book / "html"
    for folder in ("data", "results"):
        report = frictionless.validate(str(html_dir / folder / "datapackage.json"))
        assert report.valid, (folder, report.flatten(["type", "note"])[:5])
    redirect = (html_dir / "index.html").read_text(encoding="utf-8")
    landing = re.search(r'url=([^"]+)"', redirect).group(1)
    soup = BeautifulSoup((html_dir / landing).read_text(encoding="utf-8"), "html.parser")
    hrefs = {a["href"] for a in soup.select("a.published")}
    assert {"data/datapackage.json", "results/datapackage.json"} <= hrefs
    for href in hrefs:
        assert (html_dir / href).is_file(), href
    results_links = [a["href"] for a in page(built_book, "data_provenance").select("a.published")
                     if a["href"].startswith("../results/")]
    assert sorted(href.removeprefix("../results/") for href in results_links) == sorted(
        p.name for p in (html_dir / "results").iterdir())


def test_the_results_package_is_what_the_build_computed_under_its_parameters(built_book: Path, tmp_path: Path):
    import json

    from thalbook.press import results as written

    run = json.loads((built_book / "run.json").read_text(encoding="utf-8"))
    published = built_book / "html" / "results"
    meta = json.loads((published / "datapackage.json").read_text(encoding="utf-8"))
    assert meta["parameters"] == dict(sorted(run["params"].items()))
    fresh = tmp_path / "fresh"
    written.write(fresh, run["params"])
    # the cache entry's record of its own digest is the build's, never published
    assert {f.name: f.read_bytes() for f in fresh.iterdir() if f.name != written.DIGEST} == {
        f.name: f.read_bytes() for f in published.iterdir()}


def test_the_version_is_on_the_landing_page_and_the_pdf_title_page(built_book: Path):
    html_dir = built_book / "html"
    redirect = (html_dir / "index.html").read_text(encoding="utf-8")
    landing = re.search(r'url=([^"]+)"', redirect).group(1)
    text = BeautifulSoup((html_dir / landing).read_text(encoding="utf-8"), "html.parser").get_text(" ")
    assert f"Version {__version__}." in " ".join(text.split())
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils (pdftotext) is needed: scripts/install-system-deps.sh installs it"
    first = subprocess.run([pdftotext, "-f", "1", "-l", "1", str(built_book / "pdf" / "book.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert __version__ in first and "Thalidomide" in first


def test_the_bibliography_lists_identifiers(built_book: Path):
    bibliography = page(built_book, "citing").select_one("section#references")
    text = " ".join(bibliography.get_text(" ").split())
    for key in ("he2017", "wei2003"):
        entry = citation.bib_entry(key)
        for field in ("doi", "pmid"):
            match = re.search(rf"{field}\s*=\s*\{{([^}}]+)\}}", entry)
            if match:
                shown = f"doi:{match.group(1)}" if field == "doi" else f"PMID:{match.group(1)}"
                assert shown in text, (key, shown)


def test_the_citing_page_shows_the_book_bibtex_and_the_citation_file(built_book: Path):
    blocks = [pre.get_text("").strip() for pre in page(built_book, "citing").select("div.highlight pre")]
    book = next(b for b in blocks if b.startswith("@misc{"))
    assert f"version = {{{__version__}}}" in book
    assert any(b.startswith("# Citation metadata") and "cff-version: 1.2.0" in b for b in blocks)
    for key in ("he2017", "wei2003"):
        assert citation.bib_entry(key) in blocks


def test_the_safety_chapter_opens_with_the_teratogenicity_warning(built_book: Path):
    soup = page(built_book, "safety")
    danger = soup.select_one("div.admonition.danger")
    assert danger is not None and "birth defects" in danger.get_text()
    first_section = soup.select_one("section section")
    assert danger.sourceline < first_section.sourceline


@pytest.mark.parametrize("chapter", MY_CHAPTERS)
def test_figures_and_tables_are_captioned_named_and_have_alt_text(built_book: Path, chapter: str):
    soup = page(built_book, chapter)
    for figure in soup.select("figure"):
        assert figure.get("id"), chapter
        assert figure.select_one("figcaption") and figure.select_one("figcaption").get_text(strip=True), chapter
        for img in figure.select("img"):
            assert img.get("alt", "").strip(), (chapter, figure.get("id"))
            assert img["src"].endswith(".svg"), (chapter, img["src"])
    for table in soup.select("article table"):
        assert table.get("id"), chapter
        caption = table.select_one("caption")
        assert caption is not None and caption.get_text(strip=True), (chapter, table.get("id"))


def test_the_reproducibility_page_says_what_each_parameter_changes(built_book: Path):
    soup = page(built_book, "reproducibility")
    effects = soup.select_one("table#tbl-repro-effects")
    rows = {tr.select("td")[0].get_text(strip=True): tr.select("td")[1].get_text(strip=True)
            for tr in effects.select("tbody > tr")}
    assert rows["rounding"] == "audit"
    assert "safety" in rows["ci_method"] and "methods" in rows["confidence_level"]
    assert "sha256sum -c" in soup.get_text()


def test_every_page_carries_the_citation_meta_tags_of_citation_cff(built_book: Path):
    cff = citation.load_cff()
    pages = [p for p in sorted((built_book / "html").rglob("*.html")) if "_static" not in p.parts]
    assert len(pages) >= 10
    for path in pages:
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        if soup.find("meta", attrs={"http-equiv": "Refresh"}):
            continue  # the redirect of index.html
        tags = {m["name"]: m["content"] for m in soup.select('head meta[name^="citation_"]')}
        assert tags.get("citation_title") == cff["title"], path.name
        assert tags.get("citation_publication_date") == str(cff["date-released"]).replace("-", "/"), path.name
        assert tags.get("citation_version") == __version__, path.name


#: The smallest text a figure may print at, in points, once LaTeX scales it to the text width.
MIN_PRINT_PT = 5.5


def test_figures_are_vector_graphics_without_a_date_and_legible_in_print(built_book: Path):
    import xml.etree.ElementTree as ET

    images = sorted((built_book / "html" / "_images").iterdir())
    assert images and all(p.suffix == ".svg" for p in images), [p.name for p in images if p.suffix != ".svg"]
    for page_name in ("crohns_results", "as_results", "safety", "appraisal"):
        srcs = [img["src"] for img in page(built_book, page_name).select("figure img")]
        assert srcs and all(src.endswith(".svg") for src in srcs), (page_name, srcs)
    # the PDF holds no raster image at all
    listed = subprocess.run(["pdfimages", "-list", str(built_book / "pdf" / "book.pdf")], capture_output=True,
                            text=True, check=True).stdout.splitlines()
    assert len(listed) == 2, listed[:5]
    text_width_pt = _pdf_text_width(built_book)
    for image in images:
        root = ET.parse(image).getroot()
        assert "1970-01-01" in ET.tostring(root, encoding="unicode").split("</dc:date>")[0][-40:], image.name
        width = float(root.get("width").removesuffix("pt"))
        sizes = [float(m) for m in re.findall(r"font-size: ([\d.]+)px", image.read_text(encoding="utf-8"))]
        assert sizes, f"{image.name}: no text (labels must stay text)"
        printed = min(sizes) * min(1.0, text_width_pt / width)
        assert printed >= MIN_PRINT_PT, f"{image.name}: text of {printed:.1f} pt in print"


def _pdf_text_width(built_book: Path) -> float:
    """The width of the text block of the PDF, in points, from the longest line on a page of prose."""
    boxes = subprocess.run(["pdftotext", "-f", "10", "-l", "14", "-bbox-layout", str(built_book / "pdf" / "book.pdf"),
                            "-"], capture_output=True, text=True, check=True).stdout
    lines = [(float(a), float(b)) for a, b in re.findall(r'<line xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', boxes)]
    return max(b for _, b in lines) - min(a for a, _ in lines)


def test_every_chapter_page_links_its_executed_notebook_and_the_pdf(built_book: Path):
    html_dir = (built_book / "html").resolve()
    notebooks = sorted(p.stem for p in (built_book / "executed").glob("*.ipynb"))
    assert len(notebooks) >= 9
    for name in notebooks:
        links = page(built_book, name).select("p.thalbook-download a")
        hrefs = [a["href"] for a in links]
        assert len(hrefs) == 2, (name, hrefs)
        notebook, pdf = ((html_dir / "chapters" / h).resolve() for h in hrefs)
        # the executed notebook of this build, and the PDF built with it
        assert notebook.read_bytes() == (built_book / "executed" / f"{name}.ipynb").read_bytes(), name
        assert pdf == html_dir / "book.pdf" and pdf.read_bytes() == (built_book / "pdf" / "book.pdf").read_bytes()
