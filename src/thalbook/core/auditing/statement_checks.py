"""Verdicts on what the papers say in words, and on what one paper says of another.

The consistency audit (:mod:`thalbook.core.auditing.checks`) judges numbers; these
checks judge the rows of ``statements.csv`` and the results a paper cites,
with the same statuses and one sentence of detail each:

``statement``
    the places that answer one topic (the reason for some withdrawals, a
    group's threshold, a patient's label, what a reference number cites, a
    stated count against the items listed) must give the same answer; a
    conclusion must say what the result it rests on says;
``announced-vs-reported``
    an analysis the methods announce must be reported somewhere: fully
    (consistent), in part (not checkable), or nowhere (inconsistent);
``cited-vs-source``
    a percentage a paper cites from another study must be reproducible by
    one whole count together with that study's own percentage, over the
    sizes that study states.

Each inconsistent verdict also says what would reconcile the places and
what the text rules out (the audit's ``reconcile`` column).

Examples
--------
>>> from thalbook.core.evidence import data
>>> rows = list(statement_rows(data.load(), "half-up"))
>>> sorted({r["check"] for r in rows})
['announced-vs-reported', 'statement']
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from thalbook.core.auditing.verdicts import Quantity, quantity_text, verdict
from thalbook.core.evidence.data import cell_text, reported_number, reported_whole
from thalbook.core.inference import stats
from thalbook.core.inference.stats import places
from thalbook.core.vocabulary import ROUNDINGS, other_roundings

#: What would reconcile two places that disagree, by kind of statement.
RECONCILE = {
    "reason": "would reconcile: one place naming all the reasons by one of them; the text does not say so",
    "severity": "would reconcile: a definition of 'severe' that differs between places; the text gives none",
    "threshold": "would reconcile: a slip in one place; both describe the same patients, so not two groups",
    "label": "would reconcile: one patient described two ways; the labels name different diagnoses",
    "definition": "would reconcile: a paraphrase that loosens or tightens the definition it cites",
    "count-of-list": "would reconcile: a count that leaves out some of the items it goes on to list",
    "citation": "would reconcile: a mis-numbered reference; one number cannot cite two works",
    "conclusion": "would reconcile: nothing in the results; the conclusion says more than they show",
}

#: What the text would need to state, and does not, for two places of a kind that disagree to both hold:
#: a word used in two senses it never defines (:data:`thalbook.core.auditing.verdicts.STRUCTURE`, ``unstated``).
UNSTATED = {"severity": "definition"}

#: The values an ``analysis`` row may take, and the verdict of a topic whose best report is that value.
ANALYSIS_VERDICTS = {"reported": "consistent", "partly reported": "not-checkable", "announced": "inconsistent"}


def statement_rows(package, rounding: str) -> Iterator[dict]:
    """One row per topic of ``statements.csv``: its places agree, or an announced analysis is reported.

    ``rounding`` is unused by the word checks; it is taken so that every
    family of audit rows is produced alike.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> rows = {r["quantity"]: r for r in statement_rows(data.load(), "half-up")}
    >>> rows["statement: withdrawal-reasons"]["status"], rows["analysis: chi-square-comparison"]["status"]
    ('inconsistent', 'inconsistent')
    """
    del rounding
    table = getattr(package, "statements", None)
    if not isinstance(table, pd.DataFrame):
        return
    for (study_id, topic), rows in table.groupby(["study_id", "topic"], sort=False):
        places_ = "; ".join(dict.fromkeys(rows["location"]))
        said = "; ".join(f"{r['value']} ({r['location']})" for _, r in rows.iterrows())
        kind = rows["kind"].iloc[0]
        if kind == "analysis":
            best = next((v for v in ANALYSIS_VERDICTS if v in set(rows["value"])), "announced")
            status = ANALYSIS_VERDICTS[best]
            announced = rows[rows["value"].eq("announced")]
            if announced.empty:
                detail = "reported, but announced nowhere"
                status = "not-checkable"
            elif best == "reported":
                detail = f"announced in {announced['location'].iloc[0]}, reported in " + "; ".join(
                    rows.loc[rows["value"].eq("reported"), "location"].drop_duplicates())
            elif best == "partly reported":
                part = rows[rows["value"].eq("partly reported")].iloc[0]
                detail = (f"announced in {announced['location'].iloc[0]}, reported only in part in "
                          f"{part['location']}: {cell_text(part['note'])}")
            else:
                detail = f"announced in {announced['location'].iloc[0]}; no place reports it"
            reconcile = ("would reconcile: the analysis done and left unreported, or announced and not done; "
                         "the text does not say which") if status == "inconsistent" else ""
            yield verdict(study_id, Quantity("analysis", topic), places_, said, "announced-vs-reported", status, detail,
                          reconcile, topic=f"analysis: {topic}", unstated="analysis", statement_kind=kind)
            continue
        if len(rows) < 2:
            continue
        values = list(dict.fromkeys(rows["value"]))
        agree = len(values) == 1
        if agree:
            detail = f"the same in {'both' if len(rows) == 2 else f'all {len(rows)}'} places: {values[0]}"
        else:
            detail = "differs: " + "; ".join(f"{r['location']} says '{r['value']}'" for _, r in rows.iterrows())
        yield verdict(study_id, Quantity("statement", topic), places_, said, "statement",
                      "consistent" if agree else "inconsistent", detail,
                      "" if agree else RECONCILE.get(kind, "would reconcile: a slip in one place"),
                      topic=f"statement: {topic}", unstated=UNSTATED.get(kind, ""), statement_kind=kind)


@dataclass(frozen=True)
class CitedReconciliation:
    """A percentage one paper cites from another, against that study's own, as whole counts.

    ``counts`` maps each rounding convention under which one whole count k
    reproduces both percentages to ``(k, m)``: k of m is the cited
    percentage (m a size the cited study states), k of ``own_n`` its own.
    Chapters show the count from here, so that they and the audit's
    finding agree (:func:`reconciled_count`).
    """

    cited_id: str
    citing_study: str
    citing_location: str
    outcome_id: str
    cited_study: str
    quoted: Decimal
    printed: Decimal
    own_n: int
    own_set: str
    sizes: dict[str, int]
    counts: dict[str, tuple[int, int]]

    def count(self, rounding: str) -> tuple[str, int, int] | None:
        """``(convention, k, m)`` under ``rounding`` if it reconciles the two, else under the first that does."""
        for convention in (rounding, *ROUNDINGS):
            if convention in self.counts:
                return (convention, *self.counts[convention])
        return None


def cited_reconciliations(package) -> list[CitedReconciliation]:
    """Every ``cited_results`` row with a ``cited_outcome_id``, reconciled with that study's own percentage.

    For each, the counts k that reproduce both the cited percentage and the
    cited study's own percentage, each over a size the cited study states
    (enrolled or completed), under each rounding convention.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> (found,) = cited_reconciliations(data.load())
    >>> found.outcome_id, found.own_n, found.counts
    ('huang2002-improvement-gt20-12m', 26, {'truncation': (21, 30)})
    """
    cited, own = getattr(package, "cited_results", None), getattr(package, "context_outcomes", None)
    if not isinstance(cited, pd.DataFrame) or not isinstance(own, pd.DataFrame) or "cited_outcome_id" not in cited:
        return []
    own = own.set_index("id", drop=False)
    found = []
    for _, row in cited[cited["cited_outcome_id"].notna()].iterrows():
        source = own.loc[row["cited_outcome_id"]]
        quoted = reported_number("cited_results.csv", row, "value")
        printed = reported_number("context_outcomes.csv", source, "percent")
        sizes = {column.removeprefix("n_"): n for column in ("n_enrolled", "n_completed")
                 if (n := reported_whole("context_outcomes.csv", source, column)) is not None}
        own_set = "completed" if cell_text(source.get("population")) == "completers" else "enrolled"
        own_n = sizes.get(own_set)
        if quoted is None or printed is None or own_n is None:
            continue
        counts = {}
        for rnd in ROUNDINGS:
            both = [(k, m) for k in range(own_n + 1) for m in sorted(set(sizes.values()))
                    if k <= m
                    and stats.round_decimal(Fraction(100 * k, own_n), places(printed), rnd) == printed
                    and stats.round_decimal(Fraction(100 * k, m), places(quoted), rnd) == quoted]
            if both:
                counts[rnd] = both[0]
        found.append(CitedReconciliation(
            str(row["id"]), str(row["study_id"]), str(row["location"]), str(source["id"]), str(source["study_id"]),
            quoted, printed, own_n, own_set, sizes, counts))
    return found


def reconciled_count(package, outcome_id: str, rounding: str) -> tuple[str, int, int, CitedReconciliation] | None:
    """The whole count the audit reconciles a cited study's own percentage at, if another paper cites it.

    Returns ``(convention, k, m, reconciliation)``: k of m is the cited
    percentage and k of ``reconciliation.own_n`` the study's own, under
    ``convention`` (``rounding`` when it reconciles them, else the first
    convention that does); None when no paper cites the outcome or no
    convention reconciles the two.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> reconciled_count(data.load(), "huang2002-improvement-gt20-12m", "half-up")[:3]
    ('truncation', 21, 30)
    """
    for found in cited_reconciliations(package):
        if found.outcome_id == outcome_id and (count := found.count(rounding)) is not None:
            return (*count, found)
    return None


def cited_rows(package, rounding: str, keys) -> Iterator[dict]:
    """A percentage one paper cites from another against that study's own, through one whole count.

    For each reconciliation (:func:`cited_reconciliations`), the row is
    about the cited study's own result, whose keys ``keys(row)`` gives
    (a :class:`thalbook.core.auditing.verdicts.Quantity`), and grouped with it.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> row = next(cited_rows(data.load(), "truncation", lambda r: Quantity("outcome", r["outcome"])))
    >>> row["status"], row["subject"], row["detail"][:60]
    ('consistent', 'improvement_gt20_4_of_7', '21 patients give both: 21/30 = 70% cited, 21/26 = 80.769% in')
    """
    outcomes = package.context_outcomes.set_index("id", drop=False) if cited_reconciliations(package) else None
    for found in cited_reconciliations(package):
        source = outcomes.loc[found.outcome_id]
        quoted, printed, own_n, sizes = found.quoted, found.printed, found.own_n, found.sizes
        reported = f"{quoted}% (cited in {found.citing_location}); {printed}% of {own_n} ({source['location']})"
        if rounding in found.counts:
            k, m = found.counts[rounding]
            detail = (f"{k} patients give both: {k}/{m} = {stats.short(Fraction(100 * k, m), 3)}% cited, "
                      f"{k}/{own_n} = {stats.short(Fraction(100 * k, own_n), 3)}% in its source "
                      f"({rounding} rounding)")
            reconcile = ""
        else:
            rescued = [(r, found.counts[r]) for r in other_roundings(rounding) if r in found.counts]
            detail = (f"no whole count gives both {quoted}% over any of {', '.join(map(str, sizes.values()))} "
                      f"and {printed}% of {own_n} ({rounding} rounding)")
            reconcile = "would reconcile: " + ("; ".join(
                f"{r} rounding ({k}/{m} cited and {k}/{own_n} in the source)" for r, (k, m) in rescued
            ) or "a citing error; no rounding convention does")
        about = keys(source)
        yield verdict(source["study_id"], about, f"{found.citing_location} of {found.citing_study}; "
                   f"{source['location']}", reported, "cited-vs-source",
                   "consistent" if rounding in found.counts else "inconsistent", detail, reconcile,
                   topic=quantity_text(about))
