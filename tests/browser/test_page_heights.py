"""The long back-matter pages as a reader sees them at 1280 px: short enough to use, each finding citable.

The audit and data pages fold their full tables (sphinx-design dropdowns, which
are ``<details>`` elements): closed, the pages must stay under a few screens'
worth of height each. Every finding of the audit is a block whose HTML id is
the finding's identifier, so ``audit.html#<identifier>`` opens at it; the
expected identifiers and check counts are read from the results package the
same build published (``results/findings.csv``), not from the page.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.browser.conftest import Reader, Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The most a page may measure, in CSS pixels at 1280 px wide, with every dropdown closed (about 22 and 17
#: screens of 900 px; before the findings came first they measured about 93,000 and 55,000).
MAX_HEIGHT = {"chapters/audit.html": 20_000, "chapters/data_provenance.html": 15_000}

HEIGHT_JS = "() => document.documentElement.scrollHeight"
OPEN_JS = "() => document.querySelectorAll('details[open]').length"


def findings(site: Site) -> list[dict[str, str]]:
    """The findings the build published in its results package, in their order."""
    with (Path(site.root) / "results" / "findings.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def reader(browser, site: Site):
    opened = Reader(browser, site.base)
    yield opened
    opened.close()


@pytest.mark.parametrize("path", sorted(MAX_HEIGHT))
def test_the_page_with_everything_folded_is_short_enough(reader: Reader, path: str):
    visit = reader.open(path)
    assert not visit.failed_requests and not visit.console_errors, (visit.failed_requests, visit.console_errors)
    assert reader.page.evaluate("() => document.querySelectorAll('details').length") > 0, "nothing is folded"
    assert reader.page.evaluate(OPEN_JS) == 0, "a dropdown is open on arrival"
    height = reader.page.evaluate(HEIGHT_JS)
    assert height < MAX_HEIGHT[path], f"{path} is {height} px tall at 1280 px"


def test_every_finding_has_one_anchor_named_by_its_identifier(reader: Reader, site: Site):
    expected = [f["finding"] for f in findings(site)]
    assert expected and len(set(expected)) == len(expected)
    reader.open("chapters/audit.html")
    count = reader.page.evaluate("""ids => ids.map(id => [id, document.querySelectorAll(
        `[id="${id}"]`).length, (document.getElementById(id) || {}).className || ''])""", expected)
    for ident, n, classes in count:
        assert n == 1, f"{ident}: {n} elements carry this id"
        assert "thalbook-finding" in classes, f"{ident} is not a finding's block ({classes})"
    # the blocks on the page are the published findings, none more
    shown = reader.page.evaluate("() => Array.from(document.querySelectorAll('div.thalbook-finding')).map(e => e.id)")
    assert sorted(shown) == sorted(expected)
    # a link to one finding opens the page at that finding, its label the link to itself
    last = expected[-1]
    reader.open(f"chapters/audit.html#{last}")
    block = reader.page.locator(f'[id="{last}"]')
    assert block.evaluate("e => e.matches(':target')")
    assert reader.page.evaluate("id => { const r = document.getElementById(id).getBoundingClientRect();"
                                " return r.top >= 0 && r.top < window.innerHeight; }", last)
    label = block.locator("p").first.locator("a").first
    assert label.inner_text() == last and label.get_attribute("href").endswith(f"#{last}")


def test_opening_a_findings_dropdown_shows_its_checks(reader: Reader, site: Site):
    first = findings(site)[0]
    reader.open("chapters/audit.html")
    block = reader.page.locator(f'[id="{first["finding"]}"]')
    table = block.locator("details table")
    assert not table.is_visible()
    before = reader.page.evaluate(HEIGHT_JS)
    block.locator("details > summary").click()
    assert table.is_visible()
    assert table.locator("tbody > tr").count() == int(first["checks"])
    assert reader.page.evaluate(HEIGHT_JS) > before
    assert reader.page.evaluate(OPEN_JS) == 1
