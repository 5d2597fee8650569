"""No count of findings is printed without saying which kinds it counts."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, chapter_prose
from thalbook.core.auditing import findings

#: Glued values that are a number of findings (the audit chapter's, wherever they are pasted).
COUNT = re.compile(r"\{glue:text\}`(?:chapters/audit\.ipynb::)?(n_findings|n_context_findings|\w+_findings)"
                   r"(?::[^`]*)?`")
#: Words that say which kinds a count counts.
SAYS_KIND = re.compile("|".join(["every kind", "of each kind", "kinds", *map(re.escape, findings.KINDS)]))


def pages() -> list[tuple[str, str]]:
    found = [("intro.md", (ROOT / "intro.md").read_text(encoding="utf-8"))]
    found += [(nb.name, chapter_prose(nb)) for nb in sorted((ROOT / "chapters").glob("*.ipynb"))]
    found += [(md.name, md.read_text(encoding="utf-8")) for md in sorted((ROOT / "chapters").glob("*.md"))]
    return found


@pytest.mark.parametrize(("name", "text"), pages(), ids=[name for name, _ in pages()])
def test_every_count_of_findings_says_which_kinds(name: str, text: str):
    for paragraph in re.split(r"\n\s*\n", text):
        if COUNT.search(paragraph):
            assert SAYS_KIND.search(paragraph), f"{name}: a count of findings without its kinds: {paragraph[:200]}"


def test_the_check_can_fail():
    assert not SAYS_KIND.search("The audit shows {glue:text}`n_findings` problems.")
    assert COUNT.search("The audit shows {glue:text}`n_findings` problems.")
