"""Accessibility: axe-core, injected into every page of the book, finds nothing serious or critical.

axe-core comes from the npm registry, pinned in package.json and
package-lock.json and installed by ``make setup`` (``npm ci``).
"""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import Reader, Site
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_results(browser, site: Site) -> dict[str, list[dict]]:
    """axe's violations on every page, keyed by page."""
    assert AXE.is_file(), f"{AXE} is missing: run `make setup` (npm ci installs the pinned axe-core)"
    reader = Reader(browser, site.base)
    results = {}
    try:
        for path in site.pages():
            reader.open(path)
            reader.page.add_script_tag(path=str(AXE))
            version = reader.page.evaluate("() => axe.version")
            results[path] = reader.page.evaluate(
                "async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    finally:
        reader.close()
    pinned = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/axe-core"]["version"]
    assert version == pinned, f"axe-core {version} ran, the lock file pins {pinned}: run `make setup`"
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
