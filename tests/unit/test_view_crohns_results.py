"""The Crohn's results view, built without a kernel, against the chapter and independent sources.

Counts are worked out by hand from the percentages in ``data/binary_outcomes.csv``
(23.4% of 47 is 11), intervals through statsmodels' ``proportion_confint`` called
here; the chapter's prose and display cells are read from the notebook itself.
"""

from __future__ import annotations

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import chapter_defaults, csv_rows
from thalbook.chapters import crohns_results
from thalbook.core.inference import counts

DEFAULT = chapter_defaults("crohns_results")
OTHER = {"confidence_level": 0.9, "ci_method": "clopper-pearson", "analysis_set": "reported"}


@pytest.fixture(scope="module")
def view(default_view):
    return default_view("crohns_results")


@pytest.fixture(scope="module")
def other(package):
    return crohns_results.build(package, OTHER)


def printed_percent(outcome: str, week: str = "24") -> float:
    rows = [r for r in csv_rows("binary_outcomes.csv")
            if r["study_id"] == "he2017" and r["outcome"] == outcome and r["timepoint_week"] == week]
    return float(rows[0]["percent"])


def study_fact(name: str) -> int:
    return int(next(r["value"] for r in csv_rows("study_facts.csv") if r["study_id"] == "he2017" and r["fact"] == name))


# ---------------------------------------------------------------- against the chapter


def test_the_view_shows_the_parameters_it_ran_with(view):
    assert view.params == DEFAULT


# ---------------------------------------------------------------- against independent sources


def test_remission_counts_are_the_printed_percentages_of_47(view):
    enrolled = study_fact("enrolled")
    assert enrolled == 47 == view.value("enrolled")
    for week in ("4", "8", "12", "24"):
        percent = printed_percent("clinical_remission", week)
        assert view.value(f"w{week}_reported") == f"{percent:.1f}"
        assert view.value(f"w{week}_k") == round(percent * enrolled / 100)
        assert view.value(f"w{week}_n") == enrolled
    assert (view.value("w8_k"), view.value("w8_n")) == (11, 47)


def test_intervals_match_statsmodels(view, other):
    low, high = proportion_confint(11, 47, alpha=0.05, method="wilson")
    assert view.value("w8_low") == pytest.approx(100 * low)
    assert view.value("w8_high") == pytest.approx(100 * high)
    # endoscopic response as reported: 68.4% of 19 is 13
    assert round(printed_percent("endoscopic_response") * 19 / 100) == 13
    assert (other.value("er_k"), other.value("er_n")) == (13, 19)
    low, high = proportion_confint(13, 19, alpha=0.1, method="beta")
    assert other.value("er_low") == pytest.approx(100 * low)
    assert other.value("er_high") == pytest.approx(100 * high)
    assert view.value("interval_text") == "95% Wilson interval"
    assert other.value("interval_text") == "90% Clopper-Pearson interval"


def test_patients_without_endoscopy_bracket_each_rate(view):
    missing = study_fact("enrolled") - study_fact("endoscopy_n")
    assert view.value("not_endoscoped") == missing == 15
    # mucosal healing: 28.1% of 32 is 9; worst 9 of 32 + 15, best 9 + 15 of 47
    assert round(printed_percent("mucosal_healing") * 32 / 100) == 9
    assert (view.value("mh_worst_k"), view.value("mh_worst_n")) == (9, 47)
    assert (view.value("mh_best_k"), view.value("mh_best_n")) == (24, 47)
    assert view.value("mh_best") == pytest.approx(100 * 24 / 47)
    assert view.value("mh_span") == pytest.approx(100 * 15 / 47)
    # endoscopic response is counted under ITT out of its 19 and the 15 without endoscopy
    assert (view.value("er_k"), view.value("er_n")) == (13, 34)
    assert view.value("er_ineligible") == 32 - 19


def test_the_placebo_arm_of_the_randomised_trial(view):
    arms = {r["arm"]: r for r in csv_rows("context_outcomes.csv") if r["outcome"] == "clinical_remission"
            and r["arm"] in ("thalidomide", "placebo") and r["study_id"] == "lazzerini2013"}
    assert view.value("placebo_k") == int(arms["placebo"]["count"])
    assert view.value("placebo_n") == int(arms["placebo"]["denominator"])
    low, high = proportion_confint(view.value("placebo_k"), view.value("placebo_n"), alpha=0.05, method="wilson")
    assert view.value("placebo_low") == pytest.approx(100 * low)
    assert view.value("rct_k") == int(arms["thalidomide"]["count"])


# ---------------------------------------------------------------- what the prose asserts


def test_the_claims_the_prose_makes_hold(package, view):
    # "Each remission percentage has exactly one count"
    inferred = counts.count_inference(package, "he2017", crohns_results.OUTCOMES)
    remission = inferred[inferred["outcome"].eq("clinical_remission")]
    assert remission["candidates"].map(len).tolist() == [1, 1, 1, 1]
    assert view.value("n_inferred") == len(inferred) == 7 and view.value("half_even_changes") == 0
    # "For remission the three analysis sets give the same counts"
    for analysis_set in ("itt", "reported", "complete-case"):
        again = crohns_results.build(package, {**DEFAULT, "analysis_set": analysis_set})
        assert [again.value(f"w{w}_k") for w in (4, 8, 12, 24)] == [7, 11, 22, 25]
        assert {again.value(f"w{w}_n") for w in (4, 8, 12, 24)} == {47}
    # endoscopic response: "not a whole number of the 32 patients endoscoped. Its only candidate is 13/19"
    assert view.value("er_candidates") == "13/19"
    assert view.value("withdrew_ae") + view.value("n_assessed_min") == 47


def test_the_span_sentence_is_whole_in_each_case(view, package):
    assert view.value("span_sentence") == "The patients who were not endoscoped weigh more than sampling error."
    wide = crohns_results.build(package, {**DEFAULT, "confidence_level": 0.999, "analysis_set": "reported"})
    assert wide.value("span_sentence") == "The patients who were not endoscoped weigh no more than sampling error."
    mixed = crohns_results.build(package, {**DEFAULT, "analysis_set": "reported"})
    assert mixed.value("span_sentence") == (
        "The patients who were not endoscoped weigh more than sampling error for endoscopic response and "
        "mucosal healing, but not for complete endoscopic remission."
    )
    assert mixed.value("cer_span") < mixed.value("cer_width") and mixed.value("mh_span") > mixed.value("mh_width")


def test_the_analysis_set_changes_the_labels(view, other):
    assert (view.value("set_name"), other.value("set_name")) == ("ITT", "as reported")
    assert "(in force)" in other.tables["tbl-crohns-remission"]


def test_span_sentence_lists_outcomes_in_words():
    frame = pd.DataFrame({"label": ["a", "b", "c"], "best": [0.9, 0.5, 0.9], "worst": [0.1, 0.4, 0.1],
                          "high": [0.6, 0.6, 0.6], "low": [0.4, 0.4, 0.4]})
    assert crohns_results._span_sentence(frame).endswith("for a and c, but not for b.")
