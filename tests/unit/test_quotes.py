"""Numbers and quotes in text, and every quote of the real package in its source text.

The source-text tests need the shared transcriptions beside the project
(``../shared/seeds`` and ``../shared/research``), or the folders named by
``$THALBOOK_SEEDS_DIR`` and ``$THALBOOK_RESEARCH_DIR``; without them they
skip, saying which folder is missing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT
from thalbook.core.evidence import data, quotes

SHARED = ROOT.parent / "shared"
SEEDS = Path(os.environ.get("THALBOOK_SEEDS_DIR", SHARED / "seeds"))
RESEARCH = Path(os.environ.get("THALBOOK_RESEARCH_DIR", SHARED / "research"))


def test_every_reported_number_is_tied_to_a_quote(package):
    numbers = list(quotes.iter_reported_numbers(package))
    by_study = pd.Series([row_id.split("-")[0] for _, row_id, _, _ in numbers]).value_counts()
    assert by_study["he2017"] >= 30 and by_study["wei2003"] >= 200


# ---------------------------------------------------------- source texts

def _require(path: Path, variable: str) -> None:
    if not path.is_dir():
        pytest.skip(f"source texts not available: {path} does not exist "
                    f"(set {variable} to the folder of the transcriptions)")


def test_every_quote_stands_in_its_source(package):
    _require(SEEDS, "THALBOOK_SEEDS_DIR")
    problems, missing = quotes.quote_problems(package, seeds_dir=SEEDS, research_dir=RESEARCH)
    assert [str(p) for p in problems] == []
    seeds_missing = [m for m in missing if m.startswith("seeds/")]
    assert not seeds_missing, f"seed transcriptions missing from {SEEDS}: {seeds_missing}"


def test_context_quotes_stand_in_the_research_notes(package):
    _require(RESEARCH, "THALBOOK_RESEARCH_DIR")
    problems, missing = quotes.quote_problems(package, seeds_dir=SEEDS, research_dir=RESEARCH)
    context = set(package.studies.query("role == 'context'")["study_id"])
    assert "research/context-studies.md" not in missing
    assert package.context_outcomes["study_id"].isin(context).all()
    assert [str(p) for p in problems if "context" in p.message] == []


def test_a_wrong_quote_is_caught(package):
    _require(SEEDS, "THALBOOK_SEEDS_DIR")
    frame = package.binary_outcomes.copy()
    frame.loc[0, "quote"] = str(frame.loc[0, "quote"]).replace("14.9%", "14.8%")
    altered = data.DataPackage(**{**package.__dict__, "binary_outcomes": frame})
    problems, _ = quotes.quote_problems(altered, seeds_dir=SEEDS, research_dir=RESEARCH)
    assert [(p.file, p.row, p.field) for p in problems] == [("binary_outcomes.csv", 2, "quote")]


def test_quote_matching_tolerates_only_white_space_and_line_break_hyphens():
    source = "Response was > 20% improve-\nment of more\n  than 3 of 4 domains; HLA-\nB27 positive."
    assert quotes.quote_in_text("> 20% improvement of more than 3 of 4 domains", source)
    assert quotes.quote_in_text("HLA-B27 positive", source)
    assert not quotes.quote_in_text("> 20% improvement of more than 4 of 4 domains", source)
    assert not quotes.quote_in_text("Response was >20%", source)
    assert re.search("improvement", "improve-ment") is None  # the CSV never keeps the break
