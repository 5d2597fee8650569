"""The landing page's bottom line types no number and names only what the chapters glue."""

from __future__ import annotations

import re

from tests.conftest import ROOT

GLUE = re.compile(r"\{glue:text\}`chapters/(\w+)\.ipynb::(\w+)(?::[^`]*)?`")


def bottom_line() -> str:
    text = (ROOT / "intro.md").read_text(encoding="utf-8")
    start = text.index("````{admonition} The bottom line")
    return text[start:text.index("````\n", start + 4)]


def test_it_is_at_the_top_of_the_landing_page():
    text = (ROOT / "intro.md").read_text(encoding="utf-8")
    before = text[:text.index("````{admonition} The bottom line")]
    assert [line for line in before.splitlines() if line.strip()] == [
        "# Thalidomide in Crohn's disease and ankylosing spondylitis",
        "**A reproducible re-analysis of two open-label studies.** Version {{ version }}."]


def test_every_number_in_it_is_glued():
    """Nothing but names (the studies' years, ASAS20) may hold a digit once the glue roles are taken out."""
    text = GLUE.sub("", bottom_line())
    text = re.sub(r"(He|Wei) et al\. (2017|2003)|ASAS20", "", text)
    assert not re.findall(r"\d", text), re.findall(r".{20}\d.{20}", text)


def test_every_glued_name_is_one_its_chapter_glues(default_view):
    used = GLUE.findall(bottom_line())
    assert len(used) >= 15
    for chapter, key in used:
        assert key in default_view(chapter).values, f"{chapter}::{key}"


def test_the_certainty_words_follow_the_certainty(default_view):
    """GRADE guidelines 26: very low certainty is said 'the evidence is very uncertain'."""
    view = default_view("appraisal")
    assert view.value("bl_least_certainty") == "very low"
    assert view.value("bl_least_words").startswith("the evidence is very uncertain")
    assert view.value("bl_he2017_clinical_remission_week_8_estimate") == "11/47 = 23% (14 to 37)"
