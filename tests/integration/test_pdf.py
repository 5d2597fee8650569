"""The PDF as a reader gets it, read with poppler-utils (pdftotext, pdfimages, pdftoppm).

The chapter titles are taken from the built HTML (each page's ``<title>``), so
the two outputs of one build are checked against each other; the figure count
is the number of figure images the HTML shows, so the check grows with the book.
"""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ARTIFACTS, ROOT

pytestmark = pytest.mark.slow


def poppler(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def normalise(text: str) -> str:
    """Text as compared: typographic quotes and ligatures undone, white space collapsed."""
    for fancy, plain in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'),
                         ("\ufb01", "fi"), ("\ufb02", "fl"), ("\u00a0", " ")):
        text = text.replace(fancy, plain)
    return re.sub(r"\s+", " ", text).strip()


def chapter_pages() -> list[str]:
    """The chapters of ``_toc.yml`` (the numbered parts and the back matter), in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [c["file"] for part in toc["parts"] for c in part["chapters"]]


def html_title(page: Path) -> str:
    """The chapter title a reader of the HTML sees: ``<title>`` less its section number and the book title."""
    title = html.unescape(re.search(r"<title>(.*?)</title>", page.read_text(encoding="utf-8"), re.S).group(1))
    title = title.split(" \u2014 ")[0]
    return normalise(re.sub(r"^[0-9.]+\s+", "", title))


@pytest.fixture(scope="module")
def pdf(built_book: Path) -> Path:
    return built_book / "pdf" / "book.pdf"


@pytest.fixture(scope="module")
def pages(pdf: Path) -> list[str]:
    """Text of each page, normalised."""
    return [normalise(p) for p in poppler("pdftotext", "-enc", "UTF-8", str(pdf), "-").split("\f")]


@pytest.fixture(scope="module")
def titles(built_book: Path) -> list[str]:
    found = [html_title(built_book / "html" / f"{entry}.html") for entry in chapter_pages()]
    assert all(found) and len(set(found)) == len(found), found
    return found


def test_pdf_holds_every_chapter_title_in_order(pages: list[str], titles: list[str]):
    text = " ".join(pages)
    missing = [t for t in titles if t not in text]
    assert not missing, f"chapter titles missing from the PDF: {missing}"


def looks_like_contents(layout_page: str) -> bool:
    """A page of the table of contents: (nearly) every line ends with a page number."""
    lines = [ln.strip() for ln in layout_page.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not re.fullmatch(r"(?i)contents|[0-9ivxlc]+", ln)]
    return not lines or sum(bool(re.search(r"\s[0-9]+$", ln)) for ln in lines) >= 0.8 * len(lines)


def test_pdf_has_a_table_of_contents_listing_every_chapter(pdf: Path, titles: list[str]):
    layout = poppler("pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-").split("\f")
    start = next((i for i, p in enumerate(layout) if re.match(r"(?i)\s*contents\s*$", p.strip().splitlines()[0]
                                                              if p.strip() else "")), None)
    assert start is not None, "no page starts with a Contents heading"
    toc = []
    for page in layout[start:]:
        if not looks_like_contents(page):
            break
        toc.append(normalise(page))
    toc_text = " ".join(toc)
    positions = []
    for title in titles:
        entry = re.search(re.escape(title) + r" [0-9]+\b", toc_text)
        assert entry, f"{title!r} is not listed with a page number in the table of contents ({len(toc)} page(s))"
        positions.append(entry.start())
    assert positions == sorted(positions), "the table of contents lists the chapters out of order"


def test_pdf_has_no_unresolved_reference(pages: list[str]):
    bad = [(i + 1, m.group(0)) for i, p in enumerate(pages) for m in re.finditer(r".{0,40}\?\?.{0,40}", p)]
    assert not bad, f"unresolved references (page, context): {bad}"


def test_pdf_holds_every_figure_of_the_book(pdf: Path, built_book: Path):
    site = (built_book / "html").resolve()
    shown = set()
    for page in site.rglob("*.html"):
        if page.relative_to(site).parts[0] == "_static":
            continue
        for src in re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', page.read_text(encoding="utf-8")):
            target = (page.parent / src).resolve()
            if site / "_images" in target.parents:
                shown.add(target)
    stored = {p.resolve() for p in (site / "_images").glob("*")} if (site / "_images").is_dir() else set()
    # Every image file the HTML carries is shown on some page, so counting shown images counts figures.
    assert shown == stored, f"images stored but shown on no page, or shown but missing: {shown ^ stored}"

    # The figures are vector graphics (no raster image in the PDF): count them by their captions,
    # one "Fig. N.M:" each, as LaTeX numbers them.
    captions = set(re.findall(r"^Fig\. (\d+\.\d+):", poppler("pdftotext", str(pdf), "-"), re.M))
    assert len(captions) == len(shown), (
        f"the HTML shows {len(shown)} figure image(s), the PDF captions {len(captions)}: {sorted(captions)}")


def test_first_page_renders_and_is_not_blank(pdf: Path):
    from PIL import Image

    out = ARTIFACTS / "pdf"
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "60", "-png", "-singlefile", str(pdf),
                    str(out / "page-1")], check=True)
    image = Image.open(out / "page-1.png").convert("L")
    width, height = image.size
    assert width > 300 and height > 300, image.size
    dark = sum(image.histogram()[:160])
    print(f"page 1 of the PDF rendered to {out / 'page-1.png'}")
    assert dark > 0.001 * width * height, f"page 1 is blank ({dark} dark pixels of {width * height})"


# --------------------------------------------------------------------------- print-ready

#: How far text may run past the text block, in points, before a reader would see it cut or crowded.
MARGIN_TOLERANCE_PT = 3.0
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def test_the_pdf_is_a4(pdf: Path):
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", poppler("pdfinfo", str(pdf)))
    width, height = float(size.group(1)), float(size.group(2))
    # ISO 216: 210 x 297 mm
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)


def test_no_word_runs_past_the_text_block(pdf: Path):
    """Every word of every page lies within the text block, read from the running heads' extent."""
    pages_xml = poppler("pdftotext", "-bbox", str(pdf), "-").split("<page ")[1:]
    words = [(number, float(m[1]), float(m[2]), float(m[3]), html.unescape(m[5]))
             for number, page in enumerate(pages_xml, 1) for m in _WORD.finditer(page)]
    heads = [(x0, x1) for number, x0, y0, x1, _ in words if y0 < 80 and number > 8]
    assert heads, "no running head found to measure the text block by"
    left, right = min(x0 for x0, _ in heads), max(x1 for _, x1 in heads)
    assert right - left > 400, (left, right)
    outside = [(n, t, round(x0), round(x1)) for n, x0, _, x1, t in words
               if x1 > right + MARGIN_TOLERANCE_PT or x0 < left - MARGIN_TOLERANCE_PT]
    assert not outside, f"text past the margin (page, word, from, to): {outside[:10]}"


def test_latex_reports_no_overfull_line_beyond_the_tolerance(built_book: Path):
    log = built_book / "jb" / "_build" / "latex" / "book.log"
    assert log.is_file(), log
    overfull = [float(m) for m in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)",
                                             log.read_text(encoding="utf-8", errors="replace"))]
    assert all(width <= MARGIN_TOLERANCE_PT for width in overfull), sorted(overfull)[-5:]


def test_every_figure_fits_a_page_with_its_caption(built_book: Path):
    """A figure taller than the page is shrunk to the text height and its caption runs off the page."""
    log = (built_book / "jb" / "_build" / "latex" / "book.log").read_text(encoding="utf-8", errors="replace")
    assert "Float too large for page" not in log, re.findall(r"Float too large for page by [\d.]+pt", log)


# --------------------------------------------------------------------------- accepted by journals and archives

#: A row of ``pdffonts``: the name and encoding are single words, the type may not be ("CID TrueType", "Type 3").
_FONT_ROW = re.compile(r"(?P<name>\S+)\s+(?P<type>\S.*?)\s+(?P<encoding>\S+)\s+(?P<emb>yes|no)\s+(?P<sub>yes|no)"
                       r"\s+(?P<uni>yes|no)\s+(?P<object>\d+\s+\d+)")


@pytest.fixture(scope="module")
def layout_pages(pdf: Path) -> list[str]:
    """Text of each page as laid out (``pdftotext -layout``), one string a page, not normalised."""
    count = int(re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", str(pdf)), re.M).group(1))
    text = poppler("pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-")
    found = text.split("\f")[:count]
    assert len(found) == count, (len(found), count)
    return found


def test_every_font_is_embedded_and_none_is_type_3(pdf: Path):
    """Journals' and archives' PDF checks reject Type 3 fonts (matplotlib's default) and fonts left out of the file.

    ``pdffonts`` lists the fonts of every page, those of the figures drawn on it included.
    """
    rows = [row.strip() for row in poppler("pdffonts", str(pdf)).splitlines()[2:]]
    assert rows, "pdffonts lists no font"
    unread = [row for row in rows if not _FONT_ROW.fullmatch(row)]
    assert not unread, f"rows of pdffonts not understood: {unread}"
    fonts = [_FONT_ROW.fullmatch(row) for row in rows]
    type3 = sorted({f["name"] for f in fonts if f["type"] == "Type 3"})
    assert not type3, f"{len(type3)} Type 3 font(s), e.g. {type3[:5]}"
    missing = sorted({f"{f['name']} ({f['type']})" for f in fonts if f["emb"] != "yes"})
    assert not missing, f"fonts not embedded: {missing}"


def test_no_page_is_blank_or_holds_only_its_running_head(layout_pages: list[str]):
    """Every page holds more than the running head (the title and release) and the running foot (its last line).

    The manual class's right-hand chapter openings leave blank pages, or pages holding only the
    running head and foot, before a chapter, after a part title and after the title page.
    """
    title = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]
    head = re.compile(re.escape(normalise(title)) + r", Release \S+")
    empty = []
    for number, page in enumerate(layout_pages, 1):
        lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
        # The last line is the running foot (the page number, with the chapter or section on most pages).
        body = head.sub("", normalise(" ".join(lines[:-1]))).strip()
        if not body:
            empty.append((number, normalise(" ".join(lines))))
    assert not empty, f"pages blank or holding only a running head and foot (page, text): {empty}"


def test_the_title_page_is_dated_by_the_release(layout_pages: list[str]):
    """The title page's date, its last line, is ``date-released`` of ``CITATION.cff`` as written there (ISO 8601),
    not the day of the build: the same release prints the same date."""
    released = str(yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))["date-released"])
    lines = [ln.strip() for ln in layout_pages[0].splitlines() if ln.strip()]
    assert lines, "the title page holds no text"
    assert lines[-1] == released, f"the title page is dated {lines[-1]!r}, CITATION.cff's date-released is {released!r}"
