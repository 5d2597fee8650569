"""The appraisal's rules, each against values worked by hand in the test.

MINORS on its own 0/1/2 scale (Slim et al. 2003), GRADE's imprecision by
its two criteria (Guyatt et al. 2011, GRADE guidelines 6: the decision
threshold and the optimal information size), the certainty that follows,
the AS paper's p-values in the family it declares and in the family of all
its tests (Holm and Bonferroni by hand), and registration judged against the
ICMJE requirement of its time (De Angelis et al. 2004). The data package's
numbers are read here with the csv module, not through the package's code.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

from thalbook.core import paths
from thalbook.core.analyses import grade, instruments


def rows(name: str) -> list[dict[str, str]]:
    with (paths.project().data / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def fact(study: str, name: str) -> str:
    return next(r["value"] for r in rows("study_facts.csv") if r["study_id"] == study and r["fact"] == name)


@pytest.fixture(scope="module")
def minors(package):
    return instruments.minors(package).set_index(["study", "item"])


# ---------------------------------------------------------------- MINORS


def test_the_loss_item_is_scored_on_minors_own_scale():
    # 0: no loss reported; 1: reported but 5% or more, or not accounted for; 2: reported and below 5%
    assert instruments.loss_score(None, 47) == 0
    assert 15 / 47 > 0.05 and instruments.loss_score(15, 47) == 1  # 31.9%
    assert 5 / 13 > 0.05 and instruments.loss_score(5, 13) == 1  # 38.5%
    assert 2 / 47 < 0.05 and instruments.loss_score(2, 47) == 2  # 4.3%
    assert 1 / 20 == 0.05 and instruments.loss_score(1, 20) == 1  # exactly 5% is not "less than 5%"
    assert instruments.loss_score(0, 47) == 2
    assert instruments.loss_score(2, 47, accounted=False) == 1
    with pytest.raises(ValueError):
        instruments.loss_score(48, 47)


def test_he_loss_is_counted_from_the_week_24_endoscopy(minors):
    enrolled, endoscoped = int(fact("he2017", "enrolled")), int(fact("he2017", "endoscopy_n"))
    assert (enrolled, endoscoped) == (47, 32)
    lost = enrolled - endoscoped  # 15, not the 5 who stopped for adverse events
    assert lost == 15 and round(100 * lost / enrolled) == 32
    row = minors.loc[("he2017", "loss")]
    assert int(row["score"]) == 1
    assert row["reason"].startswith("15 of 47 (32%) had no endoscopy at week 24")
    assert "a reason is given for 5 patients who stopped treatment, not whether they are among them" in row["reason"]
    assert row["support"] == "Altogether 32 patients consented and underwent ileocolonoscopy at week 24."


def test_wei_loss_is_every_patient_who_did_not_complete(minors):
    lost = int(fact("wei2003", "enrolled")) - int(fact("wei2003", "completed"))
    assert lost == 5  # 3 withdrew for side effects, 2 for lack of efficacy
    row = minors.loc[("wei2003", "loss")]
    assert int(row["score"]) == 1 and row["reason"].startswith("5 of 13 (38%) did not complete the trial")
    assert "each with the reason" in row["reason"]


def test_each_minors_score_and_total_by_hand(minors):
    he = {"aim": 2, "consecutive": 0,
          "prospective": 1,  # unclear: 'observational' in the congress abstract, registered after the end
          "endpoints": 1,  # remission not defined in the abstract
          "unbiased": 0, "follow_up": 2,
          "loss": 1,  # 15 of 47 without the week-24 endoscopy: reported, above 5%
          "size": 0}
    wei = {"aim": 2, "consecutive": 0, "prospective": 2,
           "endpoints": 1,  # completers only, no intention-to-treat assessment
           "unbiased": 0, "follow_up": 2,
           "loss": 1,  # 5 of 13 did not complete: reported, above 5%
           "size": 0}
    for study, expected in (("he2017", he), ("wei2003", wei)):
        assert {item: int(minors.loc[(study, item), "score"]) for item in instruments.MINORS_ITEMS} == expected
    assert (sum(he.values()), sum(wei.values())) == (7, 8)
    assert instruments.minors_totals(minors.reset_index()) == {"he2017": 7, "wei2003": 8}


def test_he_prospective_collection_is_unclear_and_says_why(minors):
    row = minors.loc[("he2017", "prospective")]
    received, ended = fact("he2017", "registration_first_received"), fact("he2017", "study_end")
    assert (received, ended) == ("May 20, 2015", "April 2015")
    assert row["support"] == "prospective observational open-label study"  # the congress abstract, quoted
    assert received in row["reason"] and ended in row["reason"] and "'prospective observational' study" in row["reason"]
    assert row["meaning"] == "reported but inadequate"


def test_wei_endpoints_lose_a_point_for_the_completers_only_analysis(minors):
    row = minors.loc[("wei2003", "endpoints")]
    assert int(row["score"]) == 1 and "intention-to-treat" in row["reason"] and "8 completers" in row["reason"]
    assert row["support"] == "Mean primary outcome measures in the 8 patients completing the study."


def test_every_he_judgement_is_provisional(minors):
    basis = minors["basis"]
    assert set(basis.loc["he2017"]) == {"abstract only: provisional"}
    assert set(basis.loc["wei2003"]) == {"full text"}


# ---------------------------------------------------------------- optimal information size


def test_ois_reproduces_cohens_worked_example():
    """Cohen J. Statistical power analysis for the behavioral sciences, 2nd ed., 1988, exercise 6.5, as the
    documentation of R's pwr package works it (``ES.h``, ``pwr.p.test``): h = ES.h(0.5, 0.4) = 0.2013579; a
    two-sided one-sample test at alpha 0.05 with n = 60 has power 0.3447014. Asked for that power, the OIS
    function must give back n = 60."""
    assert grade.ois_proportion(0.4, 0.5, alpha=0.05, power=0.3447014) == pytest.approx(60, abs=0.01)


def test_ois_for_a_proportion_against_the_normal_formula():
    # n = ((z_{1-a/2} + z_{1-b}) / h)^2 with Cohen's h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0)); the far tail of
    # the two-sided test, which statsmodels keeps, changes n by far less than one patient here
    for reference, threshold in ((0.10, 0.25), (0.25, 0.40), (0.05, 0.15), (0.50, 0.60)):
        h = 2 * np.arcsin(np.sqrt(threshold)) - 2 * np.arcsin(np.sqrt(reference))
        by_hand = ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2
        assert grade.ois_proportion(reference, threshold) == pytest.approx(by_hand, rel=1e-3)
    with pytest.raises(ValueError):
        grade.ois_proportion(0.2, 0.2)


def test_ois_for_a_mean_change_against_guenthers_approximation():
    # one-sample t-test: n = ((z_{1-a/2} + z_{1-b}) / d)^2 + z_{1-a/2}^2 / 2 (Guenther 1981), d = difference / SD
    for difference, sd in ((-1.0, 2.0), (-1.0, 1.4146), (0.5, 1.0)):
        d = abs(difference) / sd
        by_hand = ((norm.ppf(0.975) + norm.ppf(0.8)) / d) ** 2 + norm.ppf(0.975) ** 2 / 2
        assert grade.ois_mean_change(difference, sd) == pytest.approx(by_hand, abs=0.3)


def test_the_remission_reference_is_the_placebo_arm_of_the_one_trial(package):
    placebo = next(r for r in rows("context_outcomes.csv") if r["id"] == "lazzerini2013-remission-w8-placebo")
    k, n = int(placebo["count"]), int(placebo["denominator"])
    assert (k, n) == (3, 26)
    limit = grade.thresholds(package)["remission"]
    assert limit.reference == pytest.approx(3 / 26) and limit.threshold == pytest.approx(3 / 26 + 0.15)
    # 26.5% against 11.5%: h = 0.389, n = 51.8, so 52 patients; He et al. had 47
    h = 2 * np.arcsin(np.sqrt(3 / 26 + 0.15)) - 2 * np.arcsin(np.sqrt(3 / 26))
    assert math.ceil(((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2) == 52 > 47


# ---------------------------------------------------------------- imprecision and certainty


def test_imprecision_by_its_two_criteria():
    # the interval crosses the threshold: serious, whatever the size
    assert grade.imprecision(0.136, 0.372, 0.265, 100, 52)[0] == "serious"
    # wholly above it, but fewer patients than the OIS: serious
    level, reason = grade.imprecision(0.333, 0.608, 0.265, 47, 51.8)
    assert level == "serious" and "lies above" in reason and "fewer than the 52" in reason
    # wholly above it and enough patients: not serious
    assert grade.imprecision(0.333, 0.608, 0.265, 52, 51.8)[0] == "not serious"
    # a change, where lower is better
    assert grade.imprecision(-4.20, -1.42, -1.0, 30, 24, "mean change")[0] == "not serious"
    assert grade.imprecision(-3.05, -0.69, -1.0, 30, 18, "mean change")[0] == "serious"


def _outcome(**fields):
    row = {"study": "s", "outcome": "x", "patients": 100, "estimate": "", "low": 0.55, "high": 0.80,
           "measure": "proportion", "threshold": 0.40, "ois": 76.0, "risk_of_bias": "not serious",
           "risk_reasons": "", "indirectness": "not serious", "indirect_reasons": ""}
    return {**row, **fields}


def test_certainty_counts_each_reason_from_low():
    table = pd.DataFrame([
        _outcome(outcome="a"),  # nothing: stays low
        _outcome(outcome="b", risk_of_bias="serious"),  # 1 level: very low
        _outcome(outcome="c", patients=13),  # 13 < 76, the OIS: imprecise, 1 level
        _outcome(outcome="d", low=0.30, risk_of_bias="serious", indirectness="serious"),  # 3 levels
        _outcome(outcome="e", low=0.30, patients=13, risk_of_bias="very serious", indirectness="serious"),  # 4
    ])
    graded = grade.certainty(table).set_index("outcome")
    assert graded["downgrades"].to_dict() == {"a": 0, "b": 1, "c": 1, "d": 3, "e": 4}
    assert graded["certainty"].to_dict() == {"a": "low", "b": "very low", "c": "very low", "d": "very low",
                                             "e": "very low"}
    assert graded.loc["c", "imprecision"].startswith("serious") and graded.loc["a", "imprecision"].startswith(
        "not serious")
    with pytest.raises(ValueError, match="risk_of_bias"):
        grade.certainty(pd.DataFrame([_outcome(risk_of_bias="grave")]))


def test_each_outcome_of_the_summary_is_graded_from_its_numbers(package):
    graded = grade.summary_of_findings(package).set_index(["study", "outcome"])
    # remission at week 8: 11/47, Wilson (13.6% to 37.2%) crosses 26.5%, and 47 < 52
    low, high = proportion_confint(11, 47, method="wilson")
    assert low < 3 / 26 + 0.15 < high
    row = graded.loc[("he2017", "clinical remission, week 8")]
    assert row["imprecision"].startswith("serious: the interval (13.6% to 37.2%) holds values on both sides")
    # remission at week 12: 22/47, (33.3% to 60.8%) lies above 26.5%, but 47 < 52: serious by the OIS alone
    assert proportion_confint(22, 47, method="wilson")[0] > 3 / 26 + 0.15
    assert "lies above 26.5%; 47 patients, fewer than the 52" in graded.loc[
        ("he2017", "clinical remission, week 12"), "imprecision"]
    # mucosal healing: 28.1% of the 32 endoscoped is 9 (28.125%); by intention to treat 9/47
    assert round(100 * 9 / 32, 1) == 28.1
    assert graded.loc[("he2017", "mucosal healing, week 24"), "estimate"].startswith("9/47 = 19%")
    # harms over every patient exposed
    assert graded.loc[("he2017", "any adverse event"), "estimate"].startswith("27/47 = 57%")
    assert graded.loc[("wei2003", "withdrawal for adverse events"), "estimate"].startswith("3/13 = 23%")
    # Wei et al. do not count any adverse event: at least the 3 who withdrew plus 7 of the 8 completers (dry mouth)
    assert "10 to 13 of 13" in graded.loc[("wei2003", "any adverse event"), "estimate"]
    # every outcome: serious risk of bias (1) and serious imprecision (1); Wei et al. also indirect (1)
    expected = {s: 3 if s == "wei2003" else 2 for s in ("he2017", "wei2003")}
    for (study, _), downgrades in graded["downgrades"].items():
        assert downgrades == expected[study]
    assert set(graded["certainty"]) == {"very low"}
    # the reporting problems now stand under risk of bias, not indirectness
    remission = graded.loc[("he2017", "clinical remission, week 8")]
    assert "CDAI < 150" in remission["risk_of_bias"] and "CDAI" not in remission["indirectness"]
    assert "paraphrases ASAS20" in graded.loc[("wei2003", "ASAS20 response, week 24"), "risk_of_bias"]


def test_complete_case_asas20_is_precise_by_the_threshold_but_not_by_the_ois(package):
    graded = grade.summary_of_findings(package, analysis_set="complete-case").set_index(["study", "outcome"])
    low, _ = proportion_confint(8, 8, method="wilson")  # 67.6%: above the 40% threshold
    assert low > 0.25 + 0.15
    h = 2 * np.arcsin(np.sqrt(0.40)) - 2 * np.arcsin(np.sqrt(0.25))
    ois = math.ceil(((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2)
    assert ois == 76
    assert graded.loc[("wei2003", "ASAS20 response, week 24"), "imprecision"] == (
        f"serious: the whole interval ({round(100 * low, 1):g}% to 100%) lies above 40%; 8 patients, fewer than "
        f"the {ois} of the OIS")


# ---------------------------------------------------------------- multiplicity


def _results_pvalues() -> dict[tuple[str, int], float]:
    return {(r["measure"], int(r["timepoint_week"])): float(r["p_value"]) for r in rows("continuous_outcomes.csv")
            if r["study_id"] == "wei2003" and r["location"] == "results" and r["p_value"]}


def test_the_declared_family_survives_holm(package):
    p = _results_pvalues()
    declared = [p[("basdai", 24)], p[("basfi", 24)], p[("basg", 24)]]
    assert declared == [0.0156, 0.0078, 0.0078]
    # Holm by hand: sorted 0.0078, 0.0078, 0.0156, times 3, 2, 1, then the running maximum
    holm = [max(3 * 0.0078, 2 * 0.0078, 1 * 0.0156)] * 3  # 0.0234 for each
    assert holm[0] == pytest.approx(0.0234) and all(h < 0.05 for h in holm)
    bonferroni = [3 * x for x in declared]  # 0.0468, 0.0234, 0.0234: all below 0.05
    table = instruments.multiplicity(package).set_index(["measure", "week"])
    inside = table[table["declared"]]
    assert list(inside.index) == [("basdai", 24), ("basfi", 24), ("basg", 24)]
    assert inside["declared_holm"].tolist() == pytest.approx(holm)
    assert inside["declared_bonferroni"].tolist() == pytest.approx(bonferroni)
    assert inside["declared_holm_reject"].all() and inside["declared_bonferroni_reject"].all()


def test_the_family_of_all_tests_loses_them(package):
    p = _results_pvalues()
    assert len(p) == 8
    ordered = sorted(p.values())
    assert ordered[0] == 0.007 and 8 * 0.007 > 0.05  # Holm's first step fails, so nothing survives
    holm = np.maximum.accumulate([(8 - i) * x for i, x in enumerate(ordered)])
    table = instruments.multiplicity(package)
    assert sorted(table["all_holm"]) == pytest.approx(list(holm))
    assert not table["all_holm_reject"].any() and not table["all_bonferroni_reject"].any()
    assert table["all"].all()


def test_the_declared_primary_outcomes_are_the_papers():
    declaration = next(r for r in rows("statements.csv") if r["id"] == "wei2003-primary-outcome-measures-methods")
    assert declaration["quote"].startswith("Primary outcome measurements included")
    captions = {r["measure"] for r in rows("continuous_outcomes.csv")
                if r["location"] == "figure 1 caption" and "primary outcome measures" in r["quote"]}
    assert captions == {"basdai", "basfi", "basg"}


# ---------------------------------------------------------------- registration


def test_a_study_before_the_icmje_requirement_is_not_faulted():
    icmje, verdict = instruments.registration_verdict(None, None, None, None, 2003)
    assert icmje == "did not yet apply: published in 2003"
    assert "no registration stated" in verdict and "was then the norm, not a flaw of this paper" in verdict
    # enrolment stated: from July 1, 2005 on, the requirement applies
    assert instruments.registration_verdict(None, None, "June 2005", None, 2006)[0].startswith("did not yet apply")
    icmje, verdict = instruments.registration_verdict(None, None, "July 2005", None, 2008)
    assert icmje.startswith("applies") and verdict == "no registration stated, although the ICMJE required it"
    assert instruments.icmje_text() == "July 1, 2005"


def test_registration_against_the_study_dates():
    assert instruments.registration_verdict("NCT02501291", "May 20, 2015", "January 2013", "April 2015", 2017) == (
        "applies: enrolment began January 2013", "registered after the study had ended")
    assert instruments.registration_verdict("NCT1", "December 1, 2012", "January 2013", "April 2015", 2017)[1] == (
        "registered before enrolment began")
    assert instruments.registration_verdict("NCT1", "June 1, 2013", "January 2013", "April 2015", 2017)[1] == (
        "registered while the study ran")


def test_the_studies_registration(package):
    table = instruments.registration(package).set_index("study")
    assert table.loc["he2017", "verdict"] == "registered after the study had ended"
    assert table.loc["wei2003", "icmje"] == "did not yet apply: published in 2003"
    assert table.loc["wei2003", "verdict"].endswith("was then the norm, not a flaw of this paper")
