"""The appraisal chapter's view, built from the real data package without a kernel.

Expected values come from the papers read by hand (the MINORS items, the
registry dates), from arithmetic in the test (losses, Holm's first step) and
from statsmodels' interval code; every support must stand verbatim in the
data package's CSV files, read here with the csv module. The rules
themselves are tested in ``test_appraisal_rules.py``.
"""

from __future__ import annotations

import csv

import pytest
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import ROOT, chapter_defaults, chapter_prose
from thalbook.chapters import appraisal
from thalbook.core import paths
from thalbook.core.analyses import grade
from thalbook.core.analyses import instruments as judged
from thalbook.core.evidence import data

NOTEBOOK = ROOT / "chapters" / "appraisal.ipynb"
DEFAULT = chapter_defaults("appraisal")


@pytest.fixture(scope="module")
def view(default_view):
    return default_view("appraisal")


def test_minors_scores_by_hand(package, view):
    table = judged.minors(package).set_index(["study", "item"])["score"]
    # He et al.: aim 2, consecutive 0, prospective 1 (was 2: unclear, 'observational' in the congress abstract and
    # registered after the study ended), endpoints 1 (remission undefined), blind 0, follow-up 2, loss 1 (was 0:
    # 15 of 47 = 32% without the week-24 endoscopy, reported but above 5%), size 0
    assert [int(table[("he2017", item)]) for item in judged.MINORS_ITEMS] == [2, 0, 1, 1, 0, 2, 1, 0]
    # Wei et al.: endpoints 1 (was 2: validated indices, but completers only, no intention-to-treat assessment);
    # loss 1 (was 0: 5 of 13 = 38%, reported and accounted for, above 5%)
    assert [int(table[("wei2003", item)]) for item in judged.MINORS_ITEMS] == [2, 0, 2, 1, 0, 2, 1, 0]
    assert 15 / 47 > 0.05 and 5 / 13 > 0.05
    # the totals happen not to move: each study gains a point on the loss and loses one elsewhere
    assert (view.value("he2017_minors"), view.value("wei2003_minors")) == (7, 8)


def test_the_sentence_on_shared_items_follows_the_scores(view):
    # both 0: consecutive, unbiased, size; both 1: endpoints, loss; both 2: aim, follow-up; differ: prospective
    assert view.value("minors_both_0") == ("inclusion of consecutive patients, unbiased assessment of the endpoint "
                                           "and prospective calculation of the study size")
    assert view.value("minors_both_1") == "endpoints appropriate to the aim and loss to follow-up less than 5%"
    assert view.value("minors_both_2") == "a clearly stated aim and follow-up period appropriate to the aim"
    assert view.value("minors_differ") == "prospective collection of data (He et al. 1, Wei et al. 2)"
    assert "the same items" not in chapter_prose(NOTEBOOK)
    assert (view.value("he2017_lost"), view.value("he2017_lost_pct"), view.value("wei2003_lost_pct")) == (
        15, "32%", "38%")


def _quotes() -> set[str]:
    found = set()
    for path in paths.project().data.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as fh:
            found |= {row["quote"] for row in csv.DictReader(fh) if "quote" in row}
    return found


def test_every_support_is_a_quote_of_the_data_package_or_not_reported(package):
    quotes = _quotes()
    for table in (judged.minors(package), judged.harms_reporting(package)):
        for support in table["support"]:
            assert support == "not reported" or support in quotes, support
    assert (judged.minors(package)["support"] == "not reported").sum() == 4  # consecutive and size, twice
    # indirectness: a quote, or the book's reading where no row says it (the comparator, the outcomes)
    indirect = grade.indirectness(package)
    for support in indirect["support"]:
        assert support == "the book's reading" or support in quotes, support
    assert (indirect["support"] == "the book's reading").sum() == 3


def test_summary_of_findings_estimates_match_statsmodels(view):
    table = view.tables["tbl-appraisal-certainty"]
    # remission at weeks 8 and 12, mucosal healing by intention to treat (9 of the 32 endoscoped, over all 47),
    # the harms of both studies over every patient exposed, and the ASAS20 response
    for k, n in ((11, 47), (22, 47), (9, 47), (27, 47), (5, 47), (8, 13), (3, 13)):
        low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert f"{k}/{n} = {100 * k / n:.0f}% ({100 * low:.0f} to {100 * high:.0f})" in table
    # every outcome starts low (non-randomised) and is rated down at least once (was 5 outcomes: the harms,
    # mucosal healing and BAS-G joined the Summary of findings)
    assert view.value("n_very_low") == view.value("n_outcomes") == 11
    other = appraisal.build(data.load(), {**DEFAULT, "ci_method": "clopper-pearson", "analysis_set": "reported"})
    low, high = proportion_confint(8, 10, alpha=0.05, method="beta")
    assert f"8/10 = 80% ({100 * low:.0f} to {100 * high:.0f})" in other.tables["tbl-appraisal-certainty"]
    low, high = proportion_confint(9, 32, alpha=0.05, method="beta")
    assert f"9/32 = 28% ({100 * low:.0f} to {100 * high:.0f})" in other.tables["tbl-appraisal-certainty"]


def test_the_imprecision_assumptions_are_stated(view):
    # 3/26 = 11.5% without the drug (the placebo arm of Lazzerini et al.), plus 15 points: 26.5%; OIS 52 > 47
    assert (view.value("remission_reference"), view.value("remission_threshold")) == ("11.5%", "26.5%")
    assert (view.value("remission_ois"), view.value("remission_patients")) == (52, 47)
    assert (view.value("ois_alpha"), view.value("ois_power")) == ("0.05", "0.8")
    table = view.tables["tbl-appraisal-imprecision"]
    assert "the book's assumption" in table and "52 (47 in the study)" in table
    assert view.value("n_imprecise") == view.value("n_short") == 11


def test_registration_after_the_study_ended(view):
    # the record was first received on 20 May 2015; the study ran from January 2013 to April 2015
    assert (view.value("he2017_received"), view.value("he2017_period")) == ("May 20, 2015",
                                                                            "January 2013 to April 2015")
    assert view.value("registration_verdict") == "registered after the study had ended"
    # was "no registration stated": Wei et al. (2003) predate the ICMJE requirement of July 1, 2005
    assert view.value("wei2003_registration").endswith("an absence of registration was then the norm, not a flaw "
                                                       "of this paper")
    assert view.value("icmje_date") == "July 1, 2005"


def test_multiplicity_by_hand(view):
    # all 8 tests as one family (the book's choice): Holm's first step, 0.007 times 8 = 0.056 > 0.05, so nothing
    # survives
    assert 0.007 * 8 > 0.05 and view.value("n_holm") == view.value("n_bonferroni") == 0
    assert (view.value("n_pvalues"), view.value("n_raw")) == (8, 6)
    assert (view.value("bonferroni_threshold"), view.value("smallest_exact_p")) == ("0.0063", "0.0078")
    # the 3 declared primary outcomes at week 24 (the paper's family): 0.0078 times 3 = 0.0234 < 0.05, and every
    # later step is below 0.05 too
    assert 3 * 0.0078 < 0.05 and 3 * 0.0156 < 0.05
    assert (view.value("n_declared"), view.value("n_declared_holm"), view.value("n_declared_bonferroni")) == (3, 3, 3)
    table = view.tables["tbl-appraisal-multiplicity"]
    assert "0.0560" in table and "0.0234 (below alpha)" in table
    assert "the paper's declaration" in table and "the book's choice" in table


def test_the_multiverse_covers_every_combination_and_says_what_depends(package, view):
    from thalbook.core import vocabulary
    from thalbook.core.analyses import multiverse

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
