"""The book on a phone 390 px wide: no page scrolls sideways, and every figure's text is legible.

Figures are SVG with their text kept as text, so the size a reader sees is
the font size written in the file, scaled by the width the browser gives the
image over the width of its view box.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A common phone (iPhone 12 to 15), in CSS pixels.
PHONE = {"width": 390, "height": 844}
#: The smallest text a figure may show there, in CSS pixels (body text is 16 px).
MIN_PHONE_PX = 9.0

FIGURES_JS = """() => Array.from(document.querySelectorAll('figure img')).map(img => ({
  src: img.currentSrc || img.src, shown: img.getBoundingClientRect().width}))"""


def smallest_font_and_view_width(svg: Path) -> tuple[float, float]:
    """The smallest font size in an SVG file and the width of its view box, in the same user units."""
    text = svg.read_text(encoding="utf-8")
    view_width = float(ET.fromstring(text).get("viewBox").split()[2])
    sizes = [float(s) for s in re.findall(r"font-size:\s*([\d.]+)px", text)]
    assert sizes, f"{svg.name}: no text (labels must stay text)"
    return min(sizes), view_width


def test_pages_fit_a_phone_and_figure_text_is_legible_there(browser, site: Site):
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=3)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site.base)
                  else route.abort("blockedbyclient"))
    page = context.new_page()
    seen, small, overflowing = 0, [], []
    try:
        for path in site.pages():
            page.goto(site.base + path, wait_until="load")
            page.wait_for_load_state("networkidle")  # index.html redirects to the first page
            if page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]:
                overflowing.append(path)
            for figure in page.evaluate(FIGURES_JS):
                svg = site.root / unquote(urlsplit(figure["src"]).path).lstrip("/")
                assert svg.suffix == ".svg", (path, svg.name)
                smallest, view_width = smallest_font_and_view_width(svg)
                shown_px = smallest * figure["shown"] / view_width
                seen += 1
                if shown_px < MIN_PHONE_PX:
                    small.append((path, svg.name[:12], round(shown_px, 1)))
    finally:
        context.close()
    assert seen >= 14, seen
    assert not small, f"figure text below {MIN_PHONE_PX} px on a {PHONE['width']} px phone: {small}"
    assert not overflowing, f"pages wider than the phone: {overflowing}"
