"""Accessibility: axe-core, injected into every page of the book, finds nothing serious or critical.

axe-core comes bundled with ``axe-playwright-python`` (pinned in
requirements-dev.txt), which injects it into a playwright page: no Node.js.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Reader, Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_results(browser, site: Site) -> dict[str, list[dict]]:
    """axe's violations on every page, keyed by page."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    bundled = re.match(r"/\*! axe v([\d.]+)", axe.axe_script)
    assert bundled, "axe-playwright-python bundles no axe-core script"
    reader = Reader(browser, site.base)
    results = {}
    try:
        for path in site.pages():
            reader.open(path)
            results[path] = axe.run(reader.page).response["violations"]
            ran = reader.page.evaluate("() => axe.version")
    finally:
        reader.close()
    assert ran == bundled.group(1), f"axe-core {ran} ran, axe-playwright-python bundles {bundled.group(1)}"
    print(f"axe-core {ran} on {len(results)} pages")
    return results


def test_no_serious_or_critical_accessibility_violation(axe_results: dict[str, list[dict]]):
    found = []
    for page, violations in axe_results.items():
        for v in violations:
            if v["impact"] in BLOCKING:
                targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
                found.append(f"{page}: {v['impact']} {v['id']} ({v['help']}): "
                             f"{len(v['nodes'])} node(s), e.g. {targets}")
    assert not found, "\n".join(found)
