"""The efficacy tables against values worked out independently of thalbook.

Expected counts are hand calculations written out here (e.g. 11/47 = 23.40%,
the only k/47 that rounds to 23.4%); intervals and tests are recomputed with
scipy or statsmodels called another way (scipy's ``binomtest`` for the
intervals, ``scipy.stats.wilcoxon`` on constructed data for the lattice).
"""

from __future__ import annotations

import io
import math

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from thalbook.chapters import displays, figures
from thalbook.core.analyses import changes, efficacy
from thalbook.core.analyses.context import context_table


def scipy_ci(k: int, n: int, method: str, level: float) -> tuple[float, float]:
    """The same interval through scipy (statsmodels is what thalbook wraps)."""
    name = {"wilson": "wilson", "clopper-pearson": "exact"}[method]
    ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=level, method=name)
    return ci.low, ci.high


# ---------------------------------------------------------------- Crohn's disease


def test_remission_counts_are_the_only_ones_that_round_to_the_reported_percentages(package):
    table = efficacy.remission_table(package, "itt")
    assert table["week"].tolist() == [4, 8, 12, 24]
    assert table["k"].tolist() == [7, 11, 22, 25]
    assert set(table["n"]) == {47}
    reported = [14.9, 23.4, 46.8, 53.2]
    for k, percent in zip(table["k"], reported, strict=True):
        assert round(100 * k / 47, 1) == percent
        # the neighbours do not round to it
        assert round(100 * (k - 1) / 47, 1) != percent and round(100 * (k + 1) / 47, 1) != percent


@pytest.mark.parametrize(("method", "level"), [("wilson", 0.95), ("clopper-pearson", 0.9)])
def test_remission_intervals_match_scipy(package, method, level):
    table = efficacy.remission_table(package, "itt", method, level)
    for _, row in table.iterrows():
        low, high = scipy_ci(int(row["k"]), int(row["n"]), method, level)
        assert row["low"] == pytest.approx(low, abs=1e-9)
        assert row["high"] == pytest.approx(high, abs=1e-9)
        assert row["proportion"] == row["k"] / row["n"]


def test_remission_analysis_sets(package):
    by_set = efficacy.remission_by_set(package).set_index(["analysis_set", "week"])
    # the paper's own denominator is the ITT one
    assert by_set.loc[("reported", 8), "n"] == by_set.loc[("itt", 8), "n"] == 47
    # complete case is not reported: the ITT count, with the bound from the 5 stated discontinuations
    row = by_set.loc[("complete-case", 8)]
    assert (row["k"], row["n"], row["n_min"]) == (11, 47, 47 - 5)
    assert row["proportion_max"] == pytest.approx(11 / 42)
    assert "not reported" in row["basis"]
    assert (by_set.loc["itt", "n_min"] == by_set.loc["itt", "n"]).all()


def test_endoscopy_best_and_worst_cases(package):
    missing = 47 - 32
    itt = efficacy.endoscopy_table(package, "itt").set_index("outcome")
    assert itt.loc["mucosal_healing", ["k", "n"]].tolist() == [9, 47]
    assert itt.loc["endoscopic_response", ["k", "n"]].tolist() == [13, 19 + missing]
    assert itt.loc["mucosal_healing", "best"] == pytest.approx((9 + missing) / 47)
    assert itt.loc["mucosal_healing", "worst"] == pytest.approx(9 / 47)
    assert itt.loc["endoscopic_response", "best"] == pytest.approx(28 / 34)
    reported = efficacy.endoscopy_table(package, "reported").set_index("outcome")
    complete = efficacy.endoscopy_table(package, "complete-case").set_index("outcome")
    assert reported[["k", "n"]].equals(complete[["k", "n"]])
    assert reported.loc["endoscopic_response", "proportion"] == pytest.approx(13 / 19)
    # every estimate lies within its best-worst range
    for table in (itt, reported):
        assert ((table["worst"] <= table["proportion"] + 1e-12) & (table["proportion"] <= table["best"])).all()


def test_context_rows_keep_each_study_apart_and_label_unstated_denominators(package):
    context = context_table(package, "crohns", "itt", "wilson", 0.95)
    assert context.iloc[0]["study_id"] == "he2017" and context.iloc[0]["role"] == "source"
    by = {(r.study_id, r.kind, r.n): r for r in context.itertuples()}
    assert (by[("lazzerini2013", "thalidomide", 28)].k, by[("lazzerini2013", "placebo", 26)].k) == (13, 3)
    # Ehrenpreis: 9 remissions, no denominator: shown over the 22 enrolled and the 14 completers
    assert {n for (s, _, n) in by if s == "ehrenpreis1999"} == {22, 14}
    assert all("not stated" in by[("ehrenpreis1999", "thalidomide", n)].basis for n in (22, 14))
    # Vasiliauskas: 17% of 12 -> 2/12 = 16.7%, labelled inferred
    vas = by[("vasiliauskas1999", "thalidomide", 12)]
    assert vas.k == 2 and round(100 * 2 / 12) == 17 and "inferred" in vas.basis
    # no row pools studies, and no clinical-response row slips in
    assert context["study_id"].notna().all() and set(context["outcome"]) == {"clinical_remission"}
    low, high = scipy_ci(13, 28, "wilson", 0.95)
    assert by[("lazzerini2013", "thalidomide", 28)].low == pytest.approx(low)


# ---------------------------------------------------------------- ankylosing spondylitis


def test_as_outcomes_change_and_paired_t_bounds(package):
    table = changes.as_outcomes_table(package, 0.95)
    basdai = table[(table["measure"] == "basdai") & (table["week"] == 24)].iloc[0]
    assert basdai["change"] == pytest.approx(3.1 - 4.97)
    assert basdai["change_percent"] == pytest.approx(100 * (3.1 - 4.97) / 4.97)
    assert (basdai["n_min"], basdai["n_max"]) == (8, 8)
    # r = 0 gives the largest p: the SD of the change is sqrt(2.33^2 + 2.08^2)
    sd0 = math.sqrt(2.33**2 + 2.08**2)
    t0 = (3.1 - 4.97) / (sd0 / math.sqrt(8))
    assert basdai["t_p_max"] == pytest.approx(2 * scipy_stats.t.sf(abs(t0), 7))
    sd9 = math.sqrt(2.33**2 + 2.08**2 - 2 * 0.9 * 2.33 * 2.08)
    t9 = (3.1 - 4.97) / (sd9 / math.sqrt(8))
    assert basdai["t_p_min"] == pytest.approx(2 * scipy_stats.t.sf(abs(t9), 7))
    half = scipy_stats.t.ppf(0.975, 7) * sd0 / math.sqrt(8)
    assert (basdai["change_low"], basdai["change_high"]) == pytest.approx((-1.87 - half, -1.87 + half))
    # IgA barely moves: no assumed correlation makes it significant
    assert math.isnan(table.loc[table["measure"] == "iga", "r_needed"].iloc[0])
    assert list(dict.fromkeys(table["measure"])) == list(changes.AS_MEASURES)


def test_wilcoxon_lattice_matches_scipy_on_constructed_data(package):
    table = changes.as_outcomes_table(package).set_index(["measure", "week"])
    # every one of 8 patients improves (W = 0): scipy's exact p is 2/2^8
    all_improve = scipy_stats.wilcoxon([-1, -2, -3, -4, -5, -6, -7, -8], method="exact").pvalue
    assert table.loc[("basfi", 24), "matches"] == [(8, 0, pytest.approx(all_improve))]
    assert round(all_improve, 4) == 0.0078
    # one patient worsens by the smallest change (W = 1): 4/2^8
    one_worse = scipy_stats.wilcoxon([1, -2, -3, -4, -5, -6, -7, -8], method="exact").pvalue
    assert table.loc[("basdai", 24), "matches"] == [(8, 1, pytest.approx(one_worse))]
    # week-8 BASDAI, p = 0.007: only 11 pairs reproduce it, but 8 to 10 were in the study at week 8
    # (13 less 2 who left at week 2 and 1 at week 3; the 2 who left at week 8 may have had the visit)
    eleven = scipy_stats.wilcoxon([-1, -2, -3, 4, *range(-11, -4)], method="exact")
    assert (eleven.statistic, round(eleven.pvalue, 3)) == (4, 0.007)
    assert table.loc[("basdai", 8), "matches"] == []
    assert (table.loc[("basdai", 8), "n_min"], table.loc[("basdai", 8), "n_max"]) == (8, 10)
    assert table.loc[("basdai", 8), "audit_status"] == "inconsistent"
    assert table.drop(index=("basdai", 8))["audit_status"].eq("consistent").all()


def test_asas_under_each_analysis_set(package):
    table = efficacy.asas_by_analysis_set(package, "clopper-pearson", 0.9).set_index(["outcome", "analysis_set"])
    assert table.loc[("asas20", "itt"), ["k", "n"]].tolist() == [8, 13]
    assert table.loc[("asas20", "reported"), ["k", "n"]].tolist() == [8, 10]
    assert table.loc[("asas20", "complete-case"), ["k", "n"]].tolist() == [8, 8]
    assert table.loc[("asas40", "itt"), ["k", "n"]].tolist() == [4, 13]
    low, high = scipy_ci(8, 13, "clopper-pearson", 0.9)
    assert table.loc[("asas20", "itt"), "low"] == pytest.approx(low)
    assert table.loc[("asas20", "complete-case"), "high"] == 1.0


def test_response_by_subtype_accounts_for_every_patient(package):
    table = efficacy.response_by_subtype(package).set_index("subtype")
    assert table["n"].sum() == 13  # 3 juvenile + 5 axial + 4 peripheral + 1 psoriatic
    assert table["responders"].sum() == 8  # the 8 completers all responded
    assert table["other"].sum() == 13 - 8  # the 5 who left
    assert table.loc["axial", ["gt40", "from20to40"]].tolist() == [0, 2]
    assert (table["gt40"] == table["gt50_abstract"]).all()


def test_huang_is_shown_at_the_count_that_reconciles_the_cited_and_the_printed_percentage(package):
    """Huang et al. print 80% of 26 completers; Wei et al. cite them as 70%. By hand: 21/26 = 80.77% (80% only
    by truncation; half-up gives 81%, and 20/26 gives 77%) and 21/30 = 70%: 21 patients give both. The
    count 24/30 = 80% an earlier version inferred contradicts the 70% cited."""
    assert round(100 * 21 / 26) == 81 and round(100 * 20 / 26) == 77 and int(100 * 21 / 26) == 80
    assert 100 * 21 / 30 == pytest.approx(70)
    context = context_table(package, "as")
    huang = context[context["study_id"].eq("huang2002")]
    assert huang[["k", "n"]].values.tolist() == [[21, 30], [21, 26]]
    assert all("reconciliation" in basis and "an inference" in basis for basis in huang["basis"])


def test_grim_findings_on_esr(package):
    from thalbook.core.auditing import checks

    found = displays.grim_findings(checks.run_audit(package), "wei2003", "esr").set_index("reported")
    # 34.2 over 8 patients: 273/8 = 34.125, 274/8 = 34.25, neither is 34.2 rounded half up
    assert found.loc["34.2", "status"] == "inconsistent"
    assert found.loc["69.5", "status"] == "consistent"  # 556/8


# ---------------------------------------------------------------- helpers


def test_markdown_table_escapes_text_keeps_markup_and_refuses_citations_in_captions():
    frame = pd.DataFrame({"Study": ["{cite:t}`he2017`"], "Group": ["> 40%"], "n": [3]})
    text = displays.markdown_table(frame, "tbl-test", "A caption.", widths=(2, 2, 1), markup=["Study"])
    lines = text.splitlines()
    # 2 : 2 : 1 over the 88 characters of a line
    assert lines[0] == "````{list-table} A caption." and ":name: tbl-test" in lines and ":widths: 35 35 18" in lines
    # the citation stays a role; a leading '>' would start a block quote, so it is escaped
    assert "* - {cite:t}`he2017`" in lines and "  - \\> 40%" in lines and "  - 3" in lines
    with pytest.raises(ValueError, match="citations"):
        displays.markdown_table(frame, "tbl-test", "See {cite:p}`he2017`.")


def test_bad_analysis_set_is_named(package):
    with pytest.raises(ValueError, match="analysis_set"):
        efficacy.remission_table(package, "per-protocol")


def test_figures_are_deterministic_png(package):
    def png(fig) -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        return buffer.getvalue()

    context = context_table(package, "crohns")
    first = png(figures.forest(context, "95% Wilson interval", "Patients in remission (%)"))
    second = png(figures.forest(context, "95% Wilson interval", "Patients in remission (%)"))
    assert first == second and first[:8] == b"\x89PNG\r\n\x1a\n"
    fig = figures.remission_over_time(efficacy.remission_table(package, "complete-case"), "95% Wilson interval")
    labels = fig.axes[0].get_legend_handles_labels()[1]
    plt.close(fig)
    assert any("complete-case bound" in label for label in labels)


def test_the_change_interval_at_a_typical_correlation_by_hand(package):
    row = changes.as_outcomes_table(package).set_index(["measure", "week"]).loc[("basdai", 24)]
    # BASDAI 4.97 ± 2.33 -> 3.1 ± 2.08, n = 8, r = 0.8
    sd = math.sqrt(2.33**2 + 2.08**2 - 2 * 0.8 * 2.33 * 2.08)
    half = scipy_stats.t.ppf(0.975, 7) * sd / math.sqrt(8)
    assert (row["change_low_typical"], row["change_high_typical"]) == pytest.approx((-1.87 - half, -1.87 + half))
    assert row["change_low"] < row["change_low_typical"] < row["change_high_typical"] < 0 < row["change_high"]


def test_vasiliauskas_weeks_5_to_12_are_shown_with_an_inferred_and_labelled_denominator(package):
    table = context_table(package, "crohns").set_index(["study_id", "timepoint"])
    row = table.loc[("vasiliauskas1999", "weeks 5-12")]
    # 20% of at most 12 patients: 1/5 or 2/10 (k/12 gives 16.7% or 25%); the larger n is taken, and said to be inferred
    assert [(k, n) for n in range(1, 13) for k in range(n + 1) if round(100 * k / n) == 20] == [(1, 5), (2, 10)]
    assert (row["k"], row["n"]) == (2, 10)
    assert "denominator not stated" in row["basis"] and "inferred" in row["count_text"]
