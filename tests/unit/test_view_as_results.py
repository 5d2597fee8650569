"""The ankylosing spondylitis results view, built without a kernel, against the chapter and independent sources.

Means, SDs, counts and withdrawals are read here from the CSV files of the
data package; changes, t intervals and paired-t p-values are worked out by
hand with scipy's t distribution, exact Wilcoxon p-values by counting sign
patterns, and intervals for proportions through scipy's ``binomtest``. The
chapter's prose and display cells are read from the notebook itself.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from tests.conftest import chapter_defaults, chapter_prose, csv_rows
from thalbook.chapters import as_results
from thalbook.core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "chapters" / "as_results.ipynb"
DEFAULT = chapter_defaults("as_results")
OTHER = {"confidence_level": 0.9, "ci_method": "clopper-pearson", "analysis_set": "reported"}


@pytest.fixture(scope="module")
def view(default_view):
    return default_view("as_results")


@pytest.fixture(scope="module")
def other(package):
    return as_results.build(package, OTHER)


def reported(measure: str, comparison: str, week: str) -> tuple[float, float]:
    """Mean and SD as the results section prints them."""
    row = next(r for r in csv_rows("continuous_outcomes.csv")
               if r["study_id"] == "wei2003" and r["measure"] == measure and r["comparison"] == comparison
               and r["timepoint_week"] == week and r["location"] == "results")
    return float(row["mean"]), float(row["sd"])


def withdrawn(row_id: str) -> int:
    return int(next(r["count"] for r in csv_rows("withdrawals.csv") if r["id"] == row_id))


# ---------------------------------------------------------------- against the chapter


def test_the_prose_glues_over_a_hundred_names_each_a_value_under_other_parameters_too(other):
    used = re.findall(r"\{glue:text\}`([^`:]+)(?::([^`]*))?`", chapter_prose(NOTEBOOK))
    assert len(used) > 100
    missing = sorted({name for name, _ in used} - set(other.values))
    assert not missing, f"glued in the prose but not in the view: {missing}"
    for name, spec in used:
        format(other.value(name), spec)  # a format spec in the prose fits the value's type


def test_the_view_shows_the_parameters_it_ran_with(view, other):
    assert view.params == DEFAULT and other.params == OTHER
    assert "`analysis_set` = `reported`" in other.parameter_box().data


# ---------------------------------------------------------------- against independent sources


def test_patients_and_withdrawals_add_up(view):
    facts = {r["fact"]: r["value"] for r in csv_rows("study_facts.csv")
             if r["study_id"] == "wei2003" and r["subgroup"] in ("", "all")}
    assert (view.value("enrolled"), view.value("completed")) == (int(facts["enrolled"]), int(facts["completed"]))
    side_effects = withdrawn("wei2003-side-effects-results")
    lack = withdrawn("wei2003-lack-of-efficacy-results")
    assert (view.value("ae_k"), view.value("lack_k")) == (side_effects, lack) == (3, 2)
    assert view.value("eruption_k") + view.value("dizziness_k") == side_effects
    assert view.value("left_k") == 13 - 8 == side_effects + lack
    assert (view.value("eruption_week"), view.value("lack_week")) == (2, 8)
    assert "dizziness_week" not in view.values  # "1 week later": not a week of its own


def test_change_and_its_t_interval_by_hand(view, other):
    base, base_sd = reported("basdai", "week 24 vs baseline", "0")
    follow, follow_sd = reported("basdai", "week 24 vs baseline", "24")
    assert (base, follow) == (4.97, 3.1)
    assert view.value("basdai_w24_change") == pytest.approx(follow - base)
    assert view.value("basdai_w24_change_pct") == pytest.approx(100 * (follow - base) / base)
    assert view.value("basdai_w24_base") == "4.97 ± 2.33"
    sd0 = math.sqrt(base_sd**2 + follow_sd**2)  # correlation 0
    for built, level in ((view, 0.95), (other, 0.9)):
        half = scipy_stats.t.ppf((1 + level) / 2, 8 - 1) * sd0 / math.sqrt(8)
        assert built.value("basdai_w24_change_low") == pytest.approx(follow - base - half)
        assert built.value("basdai_w24_change_high") == pytest.approx(follow - base + half)
    # the largest paired-t p is at r = 0
    t0 = (follow - base) / (sd0 / math.sqrt(8))
    assert view.value("basdai_w24_t_p_max") == pytest.approx(2 * scipy_stats.t.sf(abs(t0), 7))


def exact_wilcoxon_p(n: int, w: int) -> float:
    """Two-sided exact p of the signed-rank statistic min(W+, W-) = w, by counting all 2^n sign patterns."""
    total = n * (n + 1) // 2
    sums = [sum(r for r, up in zip(range(1, n + 1), signs, strict=True) if up)
            for signs in itertools.product((0, 1), repeat=n)]
    return sum(min(s, total - s) <= w for s in sums) / 2**n


def test_wilcoxon_lattice_by_counting_sign_patterns(view):
    assert exact_wilcoxon_p(8, 0) == 2 / 2**8
    assert (view.value("basfi_w24_lattice_n"), view.value("basfi_w24_lattice_w")) == (8, 0)
    assert view.value("basfi_w24_lattice_p") == pytest.approx(exact_wilcoxon_p(8, 0))
    assert round(exact_wilcoxon_p(8, 0), 4) == float(view.value("basfi_w24_p"))
    assert (view.value("basdai_w24_lattice_n"), view.value("basdai_w24_lattice_w")) == (8, 1)
    assert round(exact_wilcoxon_p(8, 1), 4) == float(view.value("basdai_w24_p")) == 0.0156
    # week-8 BASDAI, p = 0.007: the exact test needs 11 pairs (W = 4); at most 10 were still in the study
    assert round(exact_wilcoxon_p(11, 4), 3) == float(view.value("basdai_w8_p"))
    assert all(round(exact_wilcoxon_p(n, w), 3) != 0.007 for n in range(8, 11) for w in range(n * (n + 1) // 4 + 1))
    assert view.value("basdai_w8_n_max") == 10 and "basdai_w8_lattice_n" not in view.values
    assert view.value("basdai_w8_lattice") == "no exact p with up to 10 pairs rounds to it"
    # the normal approximation without correction: z = (1 - 27.5) / sqrt(96.25), two-sided
    z = (1 - 10 * 11 / 4) / (10 * 11 * 21 / 24) ** 0.5
    assert round(2 * scipy_stats.norm.cdf(z), 3) == 0.007
    assert "normal approximation without continuity correction (n = 10: W = 1)" in view.value("basdai_w8_methods")
    # with 8 pairs no W gives 0.375; IgA's lattice needs fewer non-zero changes
    assert all(round(exact_wilcoxon_p(8, w), 3) != 0.375 for w in range(19))
    assert view.value("iga_w24_lattice").startswith("only with fewer non-zero changes")
    assert "iga_w24_lattice_n" not in view.values


def test_asas_response_by_hand_and_scipy(view, other):
    assert (view.value("asas_k"), view.value("asas_n")) == (8, 13)
    assert view.value("asas_pct") == pytest.approx(100 * 8 / 13)
    ci = scipy_stats.binomtest(8, 13).proportion_ci(0.95, method="wilson")
    assert (view.value("asas_low"), view.value("asas_high")) == pytest.approx((100 * ci.low, 100 * ci.high))
    assert (other.value("asas_k"), other.value("asas_n")) == (8, 10)
    ci = scipy_stats.binomtest(8, 10).proportion_ci(0.9, method="exact")
    assert (other.value("asas_low"), other.value("asas_high")) == pytest.approx((100 * ci.low, 100 * ci.high))
    for built in (view, other):
        assert [built.value(f"asas20_{s}_n") for s in ("itt", "reported", "complete_case")] == [13, 10, 8]
    assert view.value("asas20_complete_case_high") == 100.0
    assert (view.value("set_name"), other.value("set_name")) == ("ITT", "as reported")
    assert "as reported (in force)" in other.tables["tbl-as-asas"]


def test_grim_on_the_esr_means_by_hand(view):
    # 34.2 over the 8 completers: 273/8 = 34.125 and 274/8 = 34.25; only rounding 34.25 to even gives 34.2
    assert (round(273 / 8, 1), round(274 / 8, 1)) == (34.1, 34.2)  # Python's round is half-even
    assert view.value("esr_grim_fail") == "70.03, 39.34, 34.2"
    assert (view.value("esr_grim_k"), view.value("esr_grim_total")) == (3, 4)
    assert view.value("esr_half_even") == "34.2"


def test_context_studies(view):
    huang = next(r for r in csv_rows("context_outcomes.csv") if r["id"] == "huang2002-improvement-gt20-12m")
    assert view.value("huang_pct") == huang["percent"] == "80"
    # no k/26 completers rounds half-up to 80%; 21/26 = 80.8% truncates to it, and 21/30 = 70% is what Wei cite
    assert all(round(100 * k / 26) != 80 for k in range(27)) and int(100 * 21 / 26) == 80
    assert (view.value("huang_k"), view.value("huang_enrolled"), view.value("huang_completed")) == (21, 30, 26)
    assert view.value("zhu_pct") == pytest.approx(100 * 148 / 232)
    assert view.value("n_context_studies") == 2


# ---------------------------------------------------------------- sentences that follow the data


def test_the_denominator_sentence_follows_the_withdrawals(package, view):
    assert view.value("reported_minus_ae") == 13 - 3 == view.value("asas20_reported_n")
    assert view.value("asas_denominator_sentence").startswith(
        "It is exactly the enrolled minus the 3 who withdrew for side effects (10). In other words, the 2 ")
    withdrawals = package.withdrawals.copy()
    withdrawals.loc[withdrawals["id"].eq("wei2003-side-effects-results"), "count"] = 2
    changed = as_results.build(dataclasses.replace(package, withdrawals=withdrawals), DEFAULT)
    assert changed.value("reported_minus_ae") == 11
    assert changed.value("asas_denominator_sentence") == (
        "Nor is it the enrolled minus the 2 who withdrew for side effects (11), and the paper does not say how "
        "it was counted."
    )


def test_the_subtype_sentence_follows_the_counts(package, view):
    assert view.value("subtype_sources_sentence") == (
        "The abstract and the results give the same counts under their different labels.")
    binary = package.binary_outcomes.copy()
    abstract = binary["study_id"].eq("wei2003") & binary["outcome"].eq("improvement_gt50") & binary["subgroup"].eq(
        "juvenile")
    assert abstract.sum() == 1
    binary.loc[abstract, "count"] = 1
    changed = as_results.build(dataclasses.replace(package, binary_outcomes=binary), DEFAULT)
    assert changed.value("subtype_sources_sentence") == (
        "The abstract and the results give different counts for juvenile-onset AS.")


def test_the_least_correlation_sentence(view):
    assert view.value("basdai_w24_r_needed") == "0.50"
    assert view.value("basdai_w24_r_sentence") == "It falls below 0.05 only if r is at least 0.50."
    assert view.value("iga_w24_r_needed") == "none"
    assert view.value("iga_w24_r_sentence") == "It stays above 0.05 for every r below 1."
    assert view.value("esr_w24_r_sentence") == "It falls below 0.05 for every r of 0 or more."


# ---------------------------------------------------------------- the build itself


def test_the_confidence_level_is_checked_against_the_schema(package):
    # the schema's range, not only what an interval can take
    for level, reason in ((0.4, "0.4 is less than the minimum of 0.5"),
                          (1, "1 is greater than or equal to the maximum of 1"),
                          ("0.95", "'0.95' is not of type 'number'"), (True, "True is not of type 'number'")):
        with pytest.raises(InputError, match=f"^confidence_level: {re.escape(reason)}$"):
            as_results.build(package, {**DEFAULT, "confidence_level": level})


def test_the_week_8_esr_means_need_more_patients_than_were_enrolled(view):
    # by hand: 2031/29 = 70.0345 and 1141/29 = 39.3448; below 29 no whole total gives both means
    def fits(mean: str, n: int) -> bool:
        return any((Decimal(t) / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == Decimal(mean)
                   for t in range(int(Decimal(mean) * n) - 1, int(Decimal(mean) * n) + 2))
    assert fits("70.03", 29) and fits("39.34", 29)
    assert not any(fits("70.03", n) and fits("39.34", n) for n in range(1, 29))
    assert view.value("esr_w8_grim_least_n") == 29


def test_multiplicity_by_hand(view):
    # the eight printed p-values; Holm's first step compares the smallest, 0.007, with 0.05 / 8
    printed = [0.0156, 0.0078, 0.0078, 0.0156, 0.078, 0.375, 0.007, 0.014]
    assert min(printed) > 0.05 / len(printed)  # so Holm, and Bonferroni, keep none
    assert view.value("n_comparisons") == len(printed)
    assert view.value("n_raw_significant") == sum(p < 0.05 for p in printed) == 6
    assert view.value("n_holm_significant") == view.value("n_bonferroni_significant") == 0
    assert (view.value("bonferroni_threshold"), view.value("smallest_exact_p")) == ("0.0063", "0.0078")
