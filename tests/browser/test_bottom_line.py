"""The answer on one screen: the landing page's bottom line, read in a real browser at 1280 x 900."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Reader, Site

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_the_bottom_line_fits_the_first_screen_and_shows_the_appraisals_numbers(browser, site: Site):
    reader = Reader(browser, site.base)
    try:
        reader.open("intro.html")
        box = reader.page.locator("div.admonition.important").first
        title = box.locator(".admonition-title").inner_text()
        bottom = box.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
        said = box.inner_text()
        reader.open("chapters/appraisal.html")
        sof = reader.page.locator("#tbl-appraisal-certainty").first.inner_text()
    finally:
        reader.close()
    assert title == "The bottom line"
    assert bottom <= 900, f"the bottom line ends {bottom:.0f} px down, below the first screen (900 px)"
    # Every estimate it quotes is the Summary of findings' own, under the same parameters.
    estimates = re.findall(r"\d+/\d+ = \d+% \(\d+ to \d+\)", said)
    assert len(estimates) == 5, said
    for estimate in estimates:
        assert estimate in sof, estimate
    assert "very low" in said and "provisional" in said
