"""The appraisal chapter's view, built from the real data package without a kernel.

Expected values come from the papers read by hand (the MINORS items, the
registry dates), from arithmetic in the test (losses, Holm's first step) and
from statsmodels' interval code; every support must stand verbatim in the
data package's CSV files, read here with the csv module.
"""

from __future__ import annotations

import csv
import re

import pytest
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import chapter_prose, shown_names
from thalbook.chapters import appraisal
from thalbook.core import appraisal as judged
from thalbook.core import data, paths, toc
from thalbook.core.errors import InputError

NOTEBOOK = paths.CHAPTERS / "appraisal.ipynb"
DEFAULT = {"confidence_level": 0.95, "ci_method": "wilson", "analysis_set": "itt"}


@pytest.fixture(scope="module")
def view(package):
    return appraisal.build(package, DEFAULT)


def test_the_notebook_and_the_view_agree(view):
    used = re.findall(r"\{glue:text\}`([^`:]+)(?::[^`]*)?`", chapter_prose(NOTEBOOK))
    assert used and not sorted(set(used) - set(view.values))
    shown = shown_names(NOTEBOOK)
    assert shown and all(name in view.tables or name in view.figures for name in shown)
    assert set(view.tables) | set(view.figures) == set(shown)
    assert set(toc.parameters_cell(NOTEBOOK)) == set(appraisal.PARAMETERS)


def test_minors_scores_by_hand(package, view):
    table = judged.minors(package).set_index(["study", "item"])["score"]
    # He et al.: aim 2, consecutive 0, prospective 2, endpoints 1 (remission undefined), blind 0, follow-up 2,
    # loss 0 (5 of 47 = 10.6% discontinued, above 5%), size 0
    assert [int(table[("he2017", item)]) for item in judged.MINORS_ITEMS] == [2, 0, 2, 1, 0, 2, 0, 0]
    # Wei et al.: the same, but validated endpoints (2); loss 5 of 13 = 38%
    assert [int(table[("wei2003", item)]) for item in judged.MINORS_ITEMS] == [2, 0, 2, 2, 0, 2, 0, 0]
    assert 5 / 47 > 0.05 and 5 / 13 > 0.05
    assert (view.value("he2017_minors"), view.value("wei2003_minors")) == (7, 8)


def _quotes() -> set[str]:
    found = set()
    for path in paths.DATA.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as fh:
            found |= {row["quote"] for row in csv.DictReader(fh) if "quote" in row}
    return found


def test_every_support_is_a_quote_of_the_data_package_or_not_reported(package):
    quotes = _quotes()
    for table in (judged.minors(package), judged.harms_reporting(package)):
        for support in table["support"]:
            assert support == "not reported" or support in quotes, support
    assert (judged.minors(package)["support"] == "not reported").sum() == 4  # consecutive and size, twice


def test_summary_of_findings_estimates_match_statsmodels(view):
    table = view.tables["tbl-appraisal-certainty"]
    for k, n in ((11, 47), (22, 47), (8, 13)):
        low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert f"{k}/{n} = {100 * k / n:.0f}% ({100 * low:.0f} to {100 * high:.0f})" in table
    # every outcome starts low (non-randomised) and is rated down at least once
    assert view.value("n_very_low") == view.value("n_outcomes") == 5
    other = appraisal.build(data.load(), {**DEFAULT, "ci_method": "clopper-pearson", "analysis_set": "reported"})
    low, high = proportion_confint(8, 10, alpha=0.05, method="beta")
    assert f"8/10 = 80% ({100 * low:.0f} to {100 * high:.0f})" in other.tables["tbl-appraisal-certainty"]


def test_grade_rates_down_for_each_serious_reason():
    import pandas as pd

    rows = pd.DataFrame({"study": ["a", "b"], "outcome": ["x", "y"], "patients": [100, 8], "estimate": ["", ""],
                         "width": [0.1, 0.9], "indirect": ["", "paraphrased definition"]})
    graded = judged.certainty(rows, {"a": 14, "b": 6}).set_index("study")
    assert (graded.loc["a", "downgrades"], graded.loc["a", "certainty"]) == (0, "low")
    assert (graded.loc["b", "downgrades"], graded.loc["b", "certainty"]) == (3, "very low")


def test_registration_after_the_study_ended(view):
    # the record was first received on 20 May 2015; the study ran from January 2013 to April 2015
    assert (view.value("he2017_received"), view.value("he2017_period")) == ("May 20, 2015",
                                                                            "January 2013 to April 2015")
    assert view.value("registration_verdict") == "registered after the study had ended"
    assert view.value("wei2003_registration") == "no registration stated"


def test_multiplicity_by_hand(view):
    # Holm's first step: the smallest of 8 p-values, 0.007, times 8 is 0.056 > 0.05, so nothing survives
    assert 0.007 * 8 > 0.05 and view.value("n_holm") == view.value("n_bonferroni") == 0
    assert (view.value("n_pvalues"), view.value("n_raw")) == (8, 6)
    assert (view.value("bonferroni_threshold"), view.value("smallest_exact_p")) == ("0.0063", "0.0078")
    assert "0.056" in view.tables["tbl-appraisal-multiplicity"]


def test_parameters_are_checked(package):
    with pytest.raises(TypeError, match="missing \\['analysis_set'\\]"):
        appraisal.build(package, {"confidence_level": 0.95, "ci_method": "wilson"})
    with pytest.raises(InputError, match="ci_method"):
        appraisal.build(package, {**DEFAULT, "ci_method": "wald"})


def test_the_multiverse_covers_every_combination_and_says_what_depends(package, view):
    from thalbook.core import multiverse, vocabulary

    table = multiverse.multiverse(package)
    combos = len(vocabulary.CI_METHODS) * len(vocabulary.ANALYSIS_SETS) * 4 * len(vocabulary.ROUNDINGS)
    assert view.value("n_specifications") == combos == 144
    # ASAS20: 8 of 13, 10 or 8 patients; its estimate is above one half under every set (61.5%, 80%, 100%)
    asas = table[table["outcome"].str.startswith("Wei")]
    assert sorted(set(zip(asas["k"], asas["n"], strict=True))) == [(8, 8), (8, 10), (8, 13)]
    # ... but the interval's lower end is above one half for 8/8 at any level, and never for 8/13 (Wilson 95%: 36%)
    low = proportion_confint(8, 13, alpha=0.05, method="wilson")[0]
    assert low < 0.5 and "ASAS20 response, week 24: the whole interval is above one half (in" in view.value(
        "multiverse_depends")
    # truncation: 7/47 = 14.89% is 14.8%, not the printed 14.9%, so He et al.'s counts cannot be inferred
    assert int(7 / 47 * 1000) == 148 and view.value("uncomputable_rounding") == "truncation"
    assert view.value("n_uncomputable") == 2 * combos // 3
