"""A number a chapter shows for a quantity the audit has a finding about is the finding's own.

Wei et al. cite Huang et al. 2002 as 70%; Huang et al. print 80% of 26
completers. The audit reconciles both at one count of patients (21: 21/30 =
70% cited, 21/26 = 80.8% printed as 80% by truncation). A chapter that
inferred another count for the same result (24/30 = 80%, as an earlier
version did) contradicts the audit.
"""

from __future__ import annotations

import pandas as pd
import pytest

from thalbook.core.analyses import context
from thalbook.core.auditing import checks, statement_checks


def disagreements(package, shown: pd.DataFrame, rounding: str = "half-up") -> list[str]:
    """Rows of a context table ``shown`` whose count for a cited result is not the audit's reconciliation."""
    found = []
    for rec in statement_checks.cited_reconciliations(package):
        count = rec.count(rounding)
        if count is None:
            continue
        _, k, cited_n = count
        outcome = package.context_outcomes.set_index("id").loc[rec.outcome_id, "outcome"]
        rows = shown[shown["study_id"].eq(rec.cited_study) & shown["outcome"].eq(outcome)]
        for _, row in rows.iterrows():
            if (int(row["k"]), int(row["n"])) not in {(k, cited_n), (k, rec.own_n)}:
                found.append(f"{rec.cited_study} {outcome}: the chapter shows {row['k']}/{row['n']}, the audit "
                             f"reconciles at {k}/{cited_n} and {k}/{rec.own_n}")
    return found


def test_huang_is_reconciled_by_hand_at_21_patients(package):
    """By hand: k/26 printed as 80% needs k = 21 (80.77%) under truncation; 21/30 = 70.0% is what Wei cite.
    Under half-up rounding 21/26 is 81% and 20/26 is 77%: no count gives 80%."""
    (rec,) = statement_checks.cited_reconciliations(package)
    assert rec.own_n == 26 and rec.sizes == {"enrolled": 30, "completed": 26}
    assert rec.counts == {"truncation": (21, 30)}
    assert rec.count("half-up") == ("truncation", 21, 30)


@pytest.mark.parametrize("condition", ["as", "crohns"])
def test_every_context_table_shows_the_audits_count(package, condition):
    assert disagreements(package, context.context_table(package, condition)) == []


def test_the_as_chapter_glues_the_audits_count_and_rates(default_view):
    view = default_view("as_results")
    assert (view.value("huang_k"), view.value("huang_n"), view.value("huang_completed")) == (21, 30, 26)
    assert (view.value("huang_itt_pct"), view.value("huang_completers_pct")) == ("70.0", "80.8")
    assert view.value("huang_rounding") == "truncation"
    table = view.tables["tbl-as-context"]
    assert "21/30" in table and "21/26" in table and "24/30" not in table


def test_the_finding_says_the_count_the_chapter_shows(package):
    findings = checks.run_audit(package)
    huang = findings[findings["study"].eq("huang2002") & findings["check"].eq("cited-vs-source")]
    assert "21/30 cited and 21/26 in the source" in huang["reconcile"].iloc[0]


def test_a_planted_disagreement_fails_the_check(package):
    """A chapter that inferred 24 of the 30 recruited (80%, the count the AS chapter once showed)."""
    shown = context.context_table(package, "as")
    planted = shown.copy()
    huang = planted["study_id"].eq("huang2002")
    planted.loc[huang, ["k", "n"]] = [24, 30]
    assert disagreements(package, shown) == []
    assert disagreements(package, planted) == [
        "huang2002 improvement_gt20_4_of_7: the chapter shows 24/30, the audit reconciles at 21/30 and 21/26"] * 2
