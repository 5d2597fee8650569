"""Check every number the papers publish against what is possible.

In the spirit of statcheck and GRIM for psychology papers, here for clinical
reports: each reported number meets every check that applies to it, and each
check gives one row ``study, quantity, location, reported, check, status,
detail``; ``status`` is one of :data:`STATUSES` and ``detail`` says why in one
sentence, naming the rounding convention where rounding decides. What a row is
about is also given as keys (``about``, ``subject``, ``week``, ``comparison``,
``analysis_set``, ``part``, ...; :data:`thalbook.core.verdicts.KEYS`), from
which ``quantity`` is written (:func:`thalbook.core.verdicts.quantity_text`):
code that picks rows selects them by the keys, never by the English.

Which checks apply is decided by the data, never by the row:

``percent-to-count``
    a percentage: some k out of the stated denominator (or, when none is
    stated, out of any n up to the size of its analysis set or the enrolled
    total) must round to it;
``analysis-set``
    a proportion labelled with an analysis set whose size the paper states
    (``population`` itt, enrolled, randomised, completers, endoscopy): its
    denominator, or its percentage when no denominator is given, must fit;
``grim``, ``grimmer``
    the mean, and the SD, of a measure whose ``value_type`` is integer;
``scale-bounds``
    the mean and SD of a measure with scale limits: the mean lies on the
    scale and the SD is no larger than the largest possible for that mean;
``wilcoxon-lattice``
    a p-value from a Wilcoxon signed-rank test: some number of pairs and
    statistic W must give an exact p that rounds to it (these four verdicts
    in :mod:`thalbook.core.summary_checks`);
``cross-place``
    the same quantity stated in several places of one paper (abstract,
    results, tables, captions), withdrawals counted by reason included;
``parts-sum``, ``subgroup-size``, ``withdrawals-total``, ``summary-in-range``, ``summary-label``
    parts against their stated whole, and summaries against their range.

The rows are grouped into findings, one per underlying problem, each with a
stable identifier, a kind and the conventions under which it holds
(:mod:`thalbook.core.findings`); for that the checks run under every
rounding convention (:func:`run_audits`), once per package.

Where the paper does not state the n behind a mean or a p-value, it is taken
from another statement of the same comparison, or else bounded by the
patients still in the study at that week according to the withdrawal timing
(:func:`thalbook.core.cohort.study_accounts`): withdrawals before the week are
out; those at the week, or at an unstated week, may or may not be.

Examples
--------
>>> format_audit(pd.DataFrame(columns=AUDIT_COLUMNS), "csv").split(",")[:12]
['study', 'quantity', 'location', 'reported', 'check', 'status', 'detail', 'reconcile', 'finding', 'kind', \
'convention', 'order']
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from thalbook.core import findings, stats
from thalbook.core.cohort import StudyAccount, study_accounts, week_text
from thalbook.core.data import (
    cell_text,
    is_stated,
    is_true,
    non_totals,
    reported_number,
    reported_number_or_text,
    reported_whole,
)
from thalbook.core.errors import InputError
from thalbook.core.statement_checks import cited_rows, statement_rows
from thalbook.core.stats import places, short
from thalbook.core.summary_checks import (
    ASSUMED_TEST,
    LISTED,
    WILCOXON,
    grim_check,
    grimmer_check,
    lattice_check,
    method_rows,
    pvalue_topic,
    reconstruction_check,
    reconstructions,
    scale_check,
    values_topic,
)
from thalbook.core.verdicts import (
    ALL_REASONS,
    AUDIT_COLUMNS,
    COLUMNS,
    FINDING_FIELDS,
    KEYS,
    NO_COMPARISON,
    STATUSES,
    STRUCTURE,
    Quantity,
    quantity_text,
    verdict,
)
from thalbook.core.vocabulary import Rounding, other_roundings

FORMATS = ("table", "csv", "json")

#: Where each labelled analysis set's size is stated: a study fact, or a
#: column of the row itself (context studies carry their sizes on the row).
POPULATION_SIZE = {
    "itt": ("enrolled", "n_enrolled"),
    "enrolled": ("enrolled", "n_enrolled"),
    "randomised": ("randomised", "n_randomised"),
    "completers": ("completed", "n_completed"),
    "endoscopy": ("endoscopy_n", None),
}
#: The columns the audit reads, by table.
REQUIRED = {
    "studies": ("study_id",),
    "study_facts": ("id", "study_id", "fact", "value", "unit", "subgroup", "location"),
    "withdrawals": ("id", "study_id", "reason_category", "count", "week", "location"),
    "binary_outcomes": (
        "id",
        "study_id",
        "outcome",
        "subgroup",
        "timepoint_week",
        "count",
        "denominator",
        "percent",
        "population",
        "location",
    ),
    "continuous_outcomes": (
        "id",
        "study_id",
        "measure",
        "timepoint_week",
        "comparison",
        "mean",
        "sd",
        "n",
        "p_value",
        "test",
        "location",
    ),
    "adverse_events": ("id", "study_id", "event", "count", "denominator", "percent", "location"),
    "measures": ("measure", "value_type", "scale_min", "scale_max"),
}


# --------------------------------------------------------------------------
# showing reported numbers


def _percent(k: int, n: int) -> str:
    return f"{k}/{n} = {short(Fraction(100 * k, n), 3)}%"


def _ratios(pairs: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"{k}/{n}" for k, n in pairs[:LISTED])
    return shown + (f" and {len(pairs) - LISTED} more" if len(pairs) > LISTED else "")




# --------------------------------------------------------------------------
# the patients behind a number (thalbook.core.cohort)


def _n_range(
    study: StudyAccount, stated: tuple[int, str] | None, own_week, last_week
) -> tuple[list[int] | None, str]:
    """The n behind a summary at ``own_week`` of a comparison ending at ``last_week``.

    A paired test needs both values, so at least those still in at the last
    week; a mean may cover everyone present at its own week.
    """
    if stated is not None:
        n, where = stated
        return [n], f"n = {n} as stated in {where}"
    if study.in_study(own_week) is None:
        return None, "n not stated and no enrolled total to bound it"
    low, high = study.in_study(last_week)[0], study.in_study(own_week)[1]
    text = f"n not stated: {study.describe(own_week)}"
    if last_week != own_week:
        text += f", {low} or more at week {week_text(last_week)}"
    return list(range(max(low, 1), high + 1)), text


# --------------------------------------------------------------------------
# proportions


def _population_size(study: StudyAccount, population: str, row: pd.Series) -> tuple[int | None, str]:
    fact, column = POPULATION_SIZE.get(population, (None, None))
    if column and is_stated(row.get(column)):
        return int(row[column]), f"the '{population}' set ({int(row[column])}, {column})"
    if fact and fact in study.facts:
        return study.facts[fact], f"the '{population}' set ({study.facts[fact]}, study fact {fact})"
    return None, ""


def _proportion_checks(
    study: StudyAccount, file: str, row: pd.Series, quantity: Quantity, rounding: Rounding, topic: str | None = None
) -> Iterator[dict]:
    topic = topic or quantity_text(quantity)
    count, denominator = reported_whole(file, row, "count"), reported_whole(file, row, "denominator")
    percent = reported_number(file, row, "percent")
    population = cell_text(row.get("population"))
    size, size_text = _population_size(study, population, row)
    counted = f"{count}/{denominator}" if denominator is not None and count is not None else cell_text(count)
    shown = "" if percent is None else f"{percent}%"
    reported = f"{counted} ({shown})" if counted and shown else counted or shown

    def emit(check, ok, detail, reconcile="", unstated=""):
        return verdict(
            study.study_id,
            quantity,
            row["location"],
            reported,
            check,
            "consistent" if ok else "inconsistent",
            detail,
            "" if ok else reconcile,
            topic=topic,
            unstated=unstated,
        )

    def counts(n=None, n_max=None, rnd=rounding):
        found = stats.percent_to_counts(percent, places(percent), n=n, n_max=n_max or 1, rounding=rnd)
        return [(k, m) for k, m in found if count in (None, k)]

    def neighbours(n):
        k = math.floor(Fraction(percent) * n / 100)
        return ", ".join(_percent(x, n) for x in (k, k + 1) if 0 <= x <= n)

    if percent is not None and denominator is not None:
        found = counts(n=denominator)
        if count is not None:
            rounded = stats.round_decimal(Fraction(100 * count, denominator), places(percent), rounding)
            detail = f"{_percent(count, denominator)} rounds to {rounded}% ({rounding} rounding)"
            if not found:
                detail += f", not {percent}%"
        else:
            detail = (
                f"reproduced by {_ratios(found)}"
                if found
                else f"no k/{denominator} rounds to it: {neighbours(denominator)}"
            ) + f" ({rounding} rounding)"
        rescued = [other for other in other_roundings(rounding) if not found and counts(n=denominator, rnd=other)]
        for other in rescued:
            detail += f"; {other} rounding would give {percent}%"
        yield emit("percent-to-count", found, detail, (
            f"would reconcile: {' or '.join(rescued)} rounding" if rescued else
            f"would reconcile: a count or denominator other than the printed ones, or a slip in printing "
            f"{percent}%; no rounding convention does"
        ))
    elif percent is not None:
        # the size of the analysis set caps the denominator, else the enrolled total does
        enrolled = study.enrolled or (reported_whole(file, row, "n_enrolled") if "n_enrolled" in row else None)
        bound, bound_text = (size, size_text) if size else (enrolled, f"the {enrolled} enrolled")
        if bound is None:
            yield verdict(
                study.study_id,
                quantity,
                row["location"],
                reported,
                "percent-to-count",
                "not-checkable",
                "no denominator stated, and no enrolled total to bound one",
                topic=topic,
            )
        else:
            found = counts(n_max=bound)
            shown = f"reproduced by {_ratios(found)}" if found else "no k/n reproduces it"
            yield emit(
                "percent-to-count",
                found,
                f"no denominator stated; {shown} with n up to {bound_text} ({rounding} rounding)",
            )

    if size is None:
        return
    if denominator is not None:
        yield emit(
            "analysis-set",
            denominator == size,
            f"denominator {denominator} {'is' if denominator == size else 'is not'} the size of {size_text}",
            f"would reconcile: a set of {denominator} patients other than the one the label '{population}' "
            f"names; the text labels it so and describes no such set",
        )
    elif percent is not None:
        found = counts(n=size)
        smaller = counts(n_max=size)
        rescued = [f"{other} rounding ({_ratios(counts(n=size, rnd=other))})"
                   for other in other_roundings(rounding) if not found and counts(n=size, rnd=other)]
        smaller = [f"a denominator smaller than the set ({_ratios(counts(n_max=size))}), if the percentage is "
                   "of fewer patients than its label says"] if counts(n_max=size) else []
        yield emit(
            "analysis-set",
            found,
            f"no denominator stated; {percent}% is {_ratios(found)} of {size_text}"
            if found
            else f"no denominator stated; {percent}% is no whole number out of {size_text} "
            f"({neighbours(size)}, {rounding} rounding)",
            "would reconcile: " + ("; ".join(rescued + smaller) or "no denominator up to the size of the set"),
            # the percentage fits a set smaller than its label's, which the text does not state
            unstated="denominator" if smaller else "",
        )
    elif count is not None and count > size:
        yield emit("analysis-set", False, f"{count} is more than {size_text}")


def _proportion_rows(
    studies: dict[str, StudyAccount], file: str, table: pd.DataFrame, quantity_of, rounding, topic=None
) -> Iterator[dict]:
    """The checks of each proportion of ``table``, about ``quantity_of(row)``; its topic is ``topic(row)``, else
    the name of what it is about."""
    for _, row in table.iterrows():
        yield from _proportion_checks(studies[row["study_id"]], file, row, quantity_of(row), rounding,
                                      topic(row) if topic else None)


def _event_topic(row: pd.Series, column: str | None = None) -> str:
    """One adverse event's count, denominator and percentage, wherever printed: one topic per event."""
    return f"ae {row['event']}"




def _stated_ns(table: pd.DataFrame) -> dict[tuple, tuple[int, str]]:
    """A comparison's n as first stated, and where: it holds wherever the comparison is reported.

    Keyed by (study, measure, comparison) of ``continuous_outcomes``.
    """
    stated: dict[tuple, tuple[int, str]] = {}
    for _, r in table[table["n"].notna()].iterrows():
        stated.setdefault((r["study_id"], r["measure"], r["comparison"]), (int(r["n"]), r["location"]))
    return stated


def _continuous_rows(package, studies: dict[str, StudyAccount], rounding: Rounding) -> Iterator[dict]:
    file = "continuous_outcomes.csv"
    table = package.continuous_outcomes
    measures = package.measures.drop_duplicates("measure").set_index("measure")
    pair_key = ["study_id", "measure", "comparison"]
    last_week = table.groupby(pair_key, dropna=False)["timepoint_week"].transform("max")
    stated_n = _stated_ns(table)
    for index, row in table.iterrows():
        if row["measure"] not in measures.index:
            raise InputError(f"{file}: {row['id']}: measure: {row['measure']!r} is not in measures.csv")
        measure, study = measures.loc[row["measure"]], studies[row["study_id"]]
        mean, sd, p = (reported_number(file, row, c) for c in ("mean", "sd", "p_value"))
        n = reported_whole(file, row, "n")
        stated = (n, row["location"]) if n is not None else stated_n.get(tuple(row[pair_key]))
        ns, n_text = _n_range(study, stated, row["timepoint_week"], last_week[index])
        quantity = _comparison_keys(row)

        def emit(reported, check, result, row=row, quantity=quantity):
            comparison = cell_text(row["comparison"]) or NO_COMPARISON
            if check != "wilcoxon-lattice":
                return verdict(row["study_id"], quantity, row["location"], reported, check, *result,
                               topic=values_topic(row["measure"], comparison))
            # the lattice is the exact test's: it says nothing of the other methods (the test-method check does)
            tests = None if result[0] == "not-checkable" else {ASSUMED_TEST: result[0] == "consistent"}
            return verdict(row["study_id"], quantity, row["location"], reported, check, *result,
                           topic=pvalue_topic(comparison), tests=tests)

        if mean is not None and measure["value_type"] == "integer":
            yield emit(
                str(mean),
                "grim",
                grim_check(mean, ns, n_text, rounding) if ns else ("not-checkable", n_text),
            )
            if sd is not None:
                yield emit(
                    f"{mean} ± {sd}",
                    "grimmer",
                    grimmer_check(mean, sd, ns, n_text, rounding) if ns else ("not-checkable", n_text),
                )
        if mean is not None and (is_stated(measure["scale_min"]) or is_stated(measure["scale_max"])):
            yield emit(
                str(mean) if sd is None else f"{mean} ± {sd}",
                "scale-bounds",
                scale_check(measure, mean, sd, ns, n_text),
            )
        if p is not None:
            pairs, pair_text = _n_range(study, stated, last_week[index], last_week[index])
            yield emit(
                f"p = {p}",
                "wilcoxon-lattice",
                lattice_check(p, cell_text(row["test"]), pairs, pair_text, rounding),
            )


def reconstructed(package, rounding: Rounding = Rounding.HALF_UP) -> pd.DataFrame:
    """Every paired comparison printed with mean ± SD at baseline and follow-up and a signed-rank p in one place,
    with its reconstructions (:func:`thalbook.core.summary_checks.reconstructions`).

    Returns
    -------
    pandas.DataFrame
        One row per (study, measure, comparison, place): ``study, measure,
        comparison, week, location, printed`` (two (mean, SD) pairs), ``p``,
        ``ns``, ``n_text`` and ``outcomes`` (list of (n, W, Reconstruction,
        grid)).

    Examples
    --------
    >>> from thalbook.core import data
    >>> table = reconstructed(data.load(), "half-even")
    >>> row = table[table["measure"].eq("esr") & table["week"].eq(24) & table["location"].eq("results")].iloc[0]
    >>> row["outcomes"][0][2].verdict
    'feasible'
    """
    file, table = "continuous_outcomes.csv", package.continuous_outcomes
    measures = package.measures.drop_duplicates("measure").set_index("measure")
    studies = _Studies(study_accounts(package))
    stated_n = _stated_ns(table)
    records = []
    for (study_id, measure, comparison, location), rows in table.groupby(
        ["study_id", "measure", "comparison", "location"], sort=False, dropna=False
    ):
        if len(rows) != 2 or rows[["mean", "sd"]].isna().any().any() or measure not in measures.index:
            continue
        before, after = (rows.sort_values("timepoint_week").iloc[i] for i in (0, 1))
        p = reported_number(file, after, "p_value")
        if p is None or cell_text(after["test"]) != WILCOXON:
            continue
        stated = stated_n.get((study_id, measure, comparison))
        ns, n_text = _n_range(studies[study_id], stated, after["timepoint_week"], after["timepoint_week"])
        if ns is None:
            continue
        printed = [tuple(reported_number(file, r, c) for c in ("mean", "sd")) for r in (before, after)]
        records.append({
            "study": study_id, "measure": measure, "comparison": comparison, "week": after["timepoint_week"],
            "location": location, "printed": printed, "p": p, "ns": ns, "n_text": n_text,
            "outcomes": reconstructions(printed, p, ns, measures.loc[measure], rounding),
        })
    return pd.DataFrame(records)


def _reconstruction_rows(package, rounding: Rounding) -> Iterator[dict]:
    """One audit row per reconstructed comparison, grouped with the comparison's other value checks."""
    for _, r in reconstructed(package, rounding).iterrows():
        yield verdict(
            r["study"], Quantity("measure", r["measure"], week=week_text(r["week"]), comparison=r["comparison"]),
            r["location"],
            " -> ".join(f"{m} ± {sd}" for m, sd in r["printed"]) + f"; p = {r['p']}", "reconstruction",
            *reconstruction_check(r["outcomes"], r["p"], r["ns"], r["n_text"]),
            topic=values_topic(r["measure"], r["comparison"]),
        )


def _reported_p_values(package, studies: dict[str, StudyAccount]) -> pd.DataFrame:
    """Every distinct printed p of a paired comparison, with its places, n range and mean ± SD before and after.

    The same p printed in several places is one p; the summaries are those of
    the place that prints both baseline and follow-up mean ± SD with it.
    """
    file, table = "continuous_outcomes.csv", package.continuous_outcomes
    key = ["study_id", "measure", "comparison"]
    stated_n = _stated_ns(table)
    records = {}
    for keys, rows in table.groupby(key, sort=False, dropna=False):
        study = studies[keys[0]]
        last = rows["timepoint_week"].max()
        pairs, pair_text = _n_range(study, stated_n.get(keys), last, last)
        for _, row in rows[rows["p_value"].notna()].iterrows():
            if cell_text(row["test"]) != WILCOXON or pairs is None:
                continue
            printed = str(reported_number(file, row, "p_value"))
            place = rows[rows["location"].eq(row["location"])].set_index("timepoint_week")
            summaries = None
            if place[["mean", "sd"]].notna().all().all() and len(place) == 2:
                before, after = place.loc[place.index.min()], place.loc[place.index.max()]
                summaries = {"mean_before": float(before["mean"]), "sd_before": float(before["sd"]),
                             "mean_after": float(after["mean"]), "sd_after": float(after["sd"])}
            # zero changes are dropped by the test, so fewer non-zero differences than pairs are possible
            item = records.setdefault((*keys, printed), {
                "study": keys[0], "quantity": Quantity("measure", keys[1], week=week_text(last), comparison=keys[2]),
                "locations": [],
                "group": keys[2], "p": printed, "n_values": list(range(1, pairs[-1] + 1)), "n_pairs": pairs,
                "n_text": f"{pair_text} (fewer non-zero differences if some changes were zero)", "summaries": None,
                "topic": pvalue_topic(keys[2]),
            })
            item["locations"].append(row["location"])
            item["summaries"] = item["summaries"] or summaries
    frame = pd.DataFrame(records.values())
    if frame.empty:
        return frame
    return frame.assign(location=frame.pop("locations").map(lambda v: "; ".join(dict.fromkeys(v))))


# --------------------------------------------------------------------------
# the same quantity in several places; parts and wholes


def _cross_place(
    study_id: str, quantity: Quantity, items: list[tuple[str, Decimal | str]], rounding: Rounding,
    topic: str | None = None,
) -> dict | None:
    """One row comparing a quantity stated in two or more places, else None."""
    if len({location for location, _ in items}) < 2:
        return None
    values = [value for _, value in items]
    if all(isinstance(v, Decimal) for v in values):
        coarsest = min(places(v) for v in values)
        agree = len({stats.round_decimal(v, coarsest, rounding) for v in values}) == 1
        precision = f" to {coarsest} decimals" if len({places(v) for v in values}) > 1 else ""
    else:
        agree, precision = len({str(v).lower() for v in values}) == 1, ""
    detail = (
        f"the same in {'both' if len(items) == 2 else f'all {len(items)}'} statements{precision}"
        if agree
        else "differs: " + "; ".join(f"{location} says {value}" for location, value in items)
    )
    return verdict(
        study_id,
        quantity,
        "; ".join(dict.fromkeys(location for location, _ in items)),
        "; ".join(f"{value} ({location})" for location, value in items),
        "cross-place",
        "consistent" if agree else "inconsistent",
        detail,
        "" if agree else "would reconcile: a slip in one of the places; the text does not say which",
        topic=topic,
    )


def _cross_place_rows(
    file: str, table: pd.DataFrame, key: list[str], fields: list[str], quantity_of, rounding, topic=None
) -> Iterator[dict]:
    """One row per field of each quantity (``quantity_of(row)``, the field its part when there are several) stated in
    several places; topic ``topic(row, field)``, else the name of the quantity."""
    for keys, rows in non_totals(table).groupby(["study_id", *key], sort=False, dropna=False):
        for column in fields:
            items = [
                (r["location"], v)
                for _, r in rows.iterrows()
                if (v := reported_number_or_text(file, r, column)) is not None
            ]
            whole = quantity_of(rows.iloc[0])
            quantity = whole.with_part(column) if len(fields) > 1 else whole
            about = topic(rows.iloc[0], column) if topic else quantity_text(whole)
            row = _cross_place(keys[0], quantity, items, rounding, about)
            if row:
                yield row


def _continuous_topic(row: pd.Series, column: str) -> str:
    """A p-value printed in several places is one of the comparison's p-values; a mean, SD or n one of its values."""
    comparison = cell_text(row["comparison"]) or NO_COMPARISON
    return pvalue_topic(comparison) if column == "p_value" else values_topic(row["measure"], comparison)


def _withdrawal_rows(package, studies: dict[str, StudyAccount], rounding: Rounding) -> Iterator[dict]:
    table = package.withdrawals
    for (study_id, category, location), rows in table.groupby(
        ["study_id", "reason_category", "location"], sort=False
    ):
        parts = non_totals(rows)
        totals = rows.drop(parts.index)
        for _, total in totals.iterrows():
            whole, added = int(total["count"]), int(parts["count"].sum())
            yield verdict(
                study_id,
                Quantity("withdrawals", category),
                location,
                f"{whole} = {' + '.join(map(str, map(int, parts['count'])))}",
                "parts-sum",
                "consistent" if whole == added else "inconsistent",
                f"the stated total {whole} {'equals' if whole == added else 'differs from'} "
                f"the {added} listed by reason",
            )
    for (study_id, category), rows in non_totals(table).groupby(["study_id", "reason_category"], sort=False):
        items = [
            (location, Decimal(int(n)))
            for location, n in rows.groupby("location", sort=False)["count"].sum().items()
        ]
        row = _cross_place(study_id, Quantity("withdrawals", category), items, rounding)
        if row:
            yield row
    # withdrawals for adverse events against the adverse events said to have led to withdrawal
    events = non_totals(package.adverse_events)
    if "led_to_withdrawal" in events:
        events = events[events["led_to_withdrawal"].map(is_true) & events["count"].notna()]
        left = non_totals(table)[lambda t: t["reason_category"].eq("adverse-event")]
        for (study_id, location), rows in events.groupby(["study_id", "location"], sort=False):
            same = left[left["study_id"].eq(study_id) & left["location"].eq(location)]
            if same.empty:
                continue
            by_event, by_reason = int(rows["count"].sum()), int(same["count"].sum())
            ok = by_event == by_reason
            yield verdict(
                study_id,
                Quantity("withdrawals", "adverse-event"),
                location,
                f"{by_event} (events); {by_reason} (withdrawals)",
                "withdrawals-vs-events",
                "consistent" if ok else "inconsistent",
                "adverse events said to have led to withdrawal and withdrawals for adverse events "
                f"both add up to {by_event}"
                if ok
                else f"adverse events said to have led to withdrawal add up to {by_event}, "
                f"withdrawals for adverse events to {by_reason}",
            )
    for study_id, study in studies.items():
        completed = study.facts.get("completed")
        if study.withdrawals and study.enrolled is not None and completed is not None:
            gone = sum(c for c, _ in study.withdrawals)
            ok = study.enrolled - gone == completed
            yield verdict(
                study_id,
                Quantity("withdrawals", ALL_REASONS),
                study.withdrawals_location,
                str(gone),
                "withdrawals-total",
                "consistent" if ok else "inconsistent",
                f"{study.enrolled} enrolled - {gone} withdrawn = {study.enrolled - gone}, "
                f"{'and' if ok else 'but'} {completed} are stated to have completed",
            )


def _subgroup_rows(package) -> Iterator[dict]:
    """Subgroup counts against the whole they split, and against the subgroup's size."""
    table = package.binary_outcomes
    is_all = table["subgroup"].fillna("all").eq("all")
    key = ["study_id", "outcome", "timepoint_week", "location", "population"]
    for keys, rows in table.groupby(key, sort=False, dropna=False):
        whole = rows[is_all[rows.index] & rows["count"].notna()]
        parts = rows[~is_all[rows.index] & rows["count"].notna()]
        if whole.empty or parts.empty:
            continue
        total, counts = int(whole["count"].iloc[0]), [int(c) for c in parts["count"]]
        ok = sum(counts) <= total
        yield verdict(
            keys[0],
            _outcome_keys(whole.iloc[0]).with_part("subgroups"),
            keys[3],
            f"{' + '.join(map(str, counts))} of {total}",
            "parts-sum",
            "consistent" if ok else "inconsistent",
            f"subgroups ({', '.join(parts['subgroup'])}) add up to {sum(counts)}, "
            f"{'within' if ok else 'more than'} the {total} of the whole",
        )
    # the size of a subgroup of patients, as the paper states it anywhere
    facts = package.study_facts
    sizes = {}
    for _, fact in facts[facts["subgroup"].map(cell_text).ne("") & facts["unit"].eq("patients")].iterrows():
        value = reported_number_or_text("study_facts.csv", fact, "value")
        if isinstance(value, Decimal):
            sizes.setdefault((fact["study_id"], fact["subgroup"]), (int(value), fact["location"]))
    for _, row in table[~is_all & table["count"].notna()].iterrows():
        if (row["study_id"], row["subgroup"]) in sizes:
            size, where = sizes[(row["study_id"], row["subgroup"])]
            ok = int(row["count"]) <= size
            yield verdict(
                row["study_id"],
                _outcome_keys(row),
                row["location"],
                str(int(row["count"])),
                "subgroup-size",
                "consistent" if ok else "inconsistent",
                f"{int(row['count'])} {'is within' if ok else 'is more than'} the {size} {row['subgroup']} "
                f"patients stated in {where}",
            )


def _fact_rows(package, rounding: Rounding) -> Iterator[dict]:
    file, facts = "study_facts.csv", package.study_facts
    subgroups = facts["subgroup"].map(cell_text)
    for (study_id, subgroup), rows in facts.groupby(["study_id", subgroups], sort=False):
        stated: dict[str, list[tuple[str, Decimal]]] = {}
        for _, row in rows.iterrows():
            value = reported_number_or_text(file, row, "value")
            if isinstance(value, Decimal):
                stated.setdefault(row["fact"], []).append((row["location"], value))
        for fact, values in stated.items():
            base, _, statistic = fact.rpartition("_")
            if statistic not in ("mean", "median"):
                continue
            if f"{base}_min" in stated and f"{base}_max" in stated:
                low, high = stated[f"{base}_min"][0][1], stated[f"{base}_max"][0][1]
                for location, value in values:
                    ok = low <= value <= high
                    yield verdict(
                        study_id,
                        Quantity("fact", fact, subgroup=subgroup),
                        location,
                        str(value),
                        "summary-in-range",
                        "consistent" if ok else "inconsistent",
                        f"{value} {'lies' if ok else 'does not lie'} within the stated range {low} to {high}",
                    )
            # the same number called a mean in one place and a median in another
            other = f"{base}_{'median' if statistic == 'mean' else 'mean'}"
            if statistic == "mean" and other in stated:
                for (here, value), (there, twin) in (
                    (a, b) for a in values for b in stated[other] if a[0] != b[0]
                ):
                    if value == twin:
                        yield verdict(
                            study_id,
                            Quantity("fact", base, subgroup=subgroup),
                            f"{here}; {there}",
                            f"{value} ({here}); {twin} ({there})",
                            "summary-label",
                            "inconsistent",
                            f"{value} is called the mean in {here} and the median in {there}",
                            "would reconcile: one of the two labels is a slip (the value can be either); "
                            "the text does not say which",
                        )
    yield from _cross_place_rows(
        file,
        facts.assign(subgroup=subgroups),
        ["fact", "subgroup"],
        ["value"],
        lambda r: Quantity("fact", r["fact"], subgroup=r["subgroup"]),
        rounding,
    )


# --------------------------------------------------------------------------
# the audit


def _outcome_keys(row: pd.Series) -> Quantity:
    """What a row of a table of results is about: its outcome, subgroup, arm, week and analysis set."""
    groups = {column: "" if cell_text(row.get(column)) == "all" else cell_text(row.get(column))
              for column in ("subgroup", "arm")}
    week = week_text(row["timepoint_week"]) if is_stated(row.get("timepoint_week")) else ""
    return Quantity("outcome", cell_text(row.get("outcome")) or cell_text(row.get("event")), **groups, week=week,
                    analysis_set=cell_text(row.get("population")))


def _event_keys(row: pd.Series) -> Quantity:
    return Quantity("adverse-event", row["event"])


def _comparison_keys(row: pd.Series) -> Quantity:
    return Quantity("measure", row["measure"], week=week_text(row["timepoint_week"]),
                    comparison=cell_text(row["comparison"]))


def _check_package(package) -> None:
    for name, columns in REQUIRED.items():
        table = getattr(package, name, None)
        if not isinstance(table, pd.DataFrame):
            raise InputError(f"{name}.csv: missing from the data package")
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise InputError(f"{name}.csv: missing column(s): {', '.join(missing)}")


class _Studies(dict):
    """Study id -> what its paper says; an unknown id gets an empty record."""

    def __missing__(self, study_id):
        return StudyAccount(study_id)


def _checks(package, rounding: Rounding, studies: dict[str, StudyAccount]) -> pd.DataFrame:
    """Every check under one rounding convention: :data:`COLUMNS` and the rows' structure, ordered as run_audit's."""
    binary, events = package.binary_outcomes, package.adverse_events
    rows = [
        *_fact_rows(package, rounding),
        *_withdrawal_rows(package, studies, rounding),
        *_proportion_rows(studies, "binary_outcomes.csv", binary, _outcome_keys, rounding),
        *_subgroup_rows(package),
        *_cross_place_rows(
            "binary_outcomes.csv",
            binary,
            ["outcome", "subgroup", "timepoint_week", "population"],
            ["count", "denominator", "percent"],
            _outcome_keys,
            rounding,
        ),
        *_continuous_rows(package, studies, rounding),
        *_cross_place_rows(
            "continuous_outcomes.csv",
            package.continuous_outcomes,
            ["measure", "timepoint_week", "comparison"],
            ["mean", "sd", "n", "p_value"],
            _comparison_keys,
            rounding,
            _continuous_topic,
        ),
        *_proportion_rows(
            studies, "adverse_events.csv", events, _event_keys, rounding, _event_topic
        ),
        *_cross_place_rows(
            "adverse_events.csv",
            events,
            ["event"],
            ["count", "denominator", "percent"],
            _event_keys,
            rounding,
            _event_topic,
        ),
    ]
    rows += _reconstruction_rows(package, rounding)
    reported = _reported_p_values(package, studies)
    if not reported.empty:
        rows += method_rows(reported, rounding)
    rows += statement_rows(package, rounding)
    context = getattr(package, "context_outcomes", None)
    if isinstance(context, pd.DataFrame):
        rows += _proportion_rows(studies, "context_outcomes.csv", context, _outcome_keys, rounding)
        rows += cited_rows(package, rounding, _outcome_keys)
    checks = pd.DataFrame(rows, columns=[*AUDIT_COLUMNS, *STRUCTURE]).assign(rounding=rounding)
    # a study the source papers cite, or a citation of one, is a secondary source of the finding
    roles = package.studies.set_index("study_id")["role"] if "role" in package.studies else pd.Series(dtype=str)
    cited = checks["study"].map(roles).fillna("source").ne("source")
    checks["secondary"] = cited | checks["check"].eq("cited-vs-source")
    order = {study_id: i for i, study_id in enumerate(package.studies["study_id"])}
    position = checks["study"].map(order).fillna(len(order)).to_numpy()
    return checks.iloc[position.argsort(kind="stable")].reset_index(drop=True)


def run_audits(package, roundings=tuple(Rounding)) -> dict[str, pd.DataFrame]:
    """The audit under several rounding conventions at once, each as :func:`run_audit` gives it.

    Every finding's kind and conventions need the checks under every
    convention (:func:`thalbook.core.findings.assign`): they are run once
    here for all, so a view that shows the audit under several conventions
    asks for them together.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
        As for :func:`run_audit`.
    roundings : Rounding or iterable of Rounding
        Conventions (or their text), by default all.

    Returns
    -------
    dict of str to pandas.DataFrame
        Rounding convention -> what :func:`run_audit` returns for it.

    Raises
    ------
    ValueError, thalbook.core.errors.InputError
        As :func:`run_audit` does.
    """
    # the one conversion of a convention given as text (ValueError for one that is none)
    roundings = [Rounding(r) for r in ([roundings] if isinstance(roundings, str) else roundings)]
    checks = _every_rounding(package)
    return {r: findings.assign(checks, r) for r in roundings}


#: Each package's checks under every rounding convention, run once: a package is not changed after it is
#: loaded (:class:`thalbook.core.data.DataPackage`), and a chapter asks for the audit several times.
_CHECKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _every_rounding(package) -> dict[str, pd.DataFrame]:
    """The checks under every convention of the vocabulary (never changed by their callers: they assign copies)."""
    try:
        kept = _CHECKS.get(package)
    except TypeError:  # a stand-in for a package, which cannot be a key
        kept = None
    if kept is not None:
        return kept
    _check_package(package)
    studies = _Studies(study_accounts(package))
    checks = {r: _checks(package, r, studies) for r in Rounding}
    try:
        _CHECKS[package] = checks
    except TypeError:
        pass
    return checks


def run_audit(package, rounding: Rounding = Rounding.HALF_UP) -> pd.DataFrame:
    """Run every applicable check over every number in the data package.

    The checks run under every rounding convention, so that each finding
    knows under which conventions it holds (:mod:`thalbook.core.findings`);
    the rows are those of ``rounding``. A view that needs several
    conventions asks :func:`run_audits` once.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
        What :func:`thalbook.core.data.load` returns: one DataFrame per file, with
        the loader's ``<column>_decimals`` columns.
    rounding : Rounding
        The rounding convention every verdict assumes (and names); text is turned into one.

    Returns
    -------
    pandas.DataFrame
        The columns :data:`AUDIT_COLUMNS`, then :data:`thalbook.core.verdicts.CONTENT`
        (what a verdict found, as data), one row per check, ordered by
        ``studies.csv``, then by file and row within a study; ``finding``,
        ``kind``, ``convention`` and ``order`` those of the row's finding
        (:func:`thalbook.core.findings.assign`); the keys of what each row is
        about (:data:`thalbook.core.verdicts.KEYS`) and ``rounding``.

    Raises
    ------
    ValueError
        If ``rounding`` is no :class:`~thalbook.core.vocabulary.Rounding`.
    thalbook.core.errors.InputError
        If the package lacks a table or column the audit reads, or a number
        cannot be read; the message names the file, row and column.
    """
    return run_audits(package, [rounding])[rounding]


def summarise(audit: pd.DataFrame) -> pd.DataFrame:
    """Count the checks by study and status.

    Examples
    --------
    >>> table = pd.DataFrame({"study": ["a", "a"], "status": ["consistent", "inconsistent"]})
    >>> summarise(table).loc["a"].to_dict()
    {'consistent': 1, 'inconsistent': 1, 'not-checkable': 0}
    """
    counts = pd.crosstab(audit["study"], audit["status"])
    return counts.reindex(columns=list(STATUSES), fill_value=0)


#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"): ``=``, ``+``, ``-``,
#: ``@``, a tab or a carriage return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A number a spreadsheet reads as that number, not as a formula: it stays as it is.
_PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _inert(cell):
    """A text cell a spreadsheet would evaluate, quoted; any other cell as it is."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_text(table: pd.DataFrame) -> str:
    r"""A table as CSV that a spreadsheet opens without evaluating any cell: the audit's and the results package's.

    Text that would start a formula (:data:`FORMULA_STARTS`) gets a leading
    single quote, as OWASP advises against CSV injection: the data package's
    quotes and what the audit copies from them are text of the user's, and
    ``=HYPERLINK(...)`` in a cell would be a live link in a spreadsheet.
    Numbers stay as they are, in a numeric column (``-1.87``) or as text that
    is a plain number (``"-1.87"``); so does all other text. UTF-8 text, ``\n``
    line ends, missing values empty, floats in full.

    Parameters
    ----------
    table : pandas.DataFrame
        Any table; only its text cells can change.

    Returns
    -------
    str
        The CSV text, with a header row and no index.

    Examples
    --------
    >>> table = pd.DataFrame({"reported": ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2+3", "-1.87", "a-b"],
    ...                       "change": [-1.87, 0.5, 1.0, 2.0, 3.0, 4.0]})
    >>> print(csv_text(table), end="")
    reported,change
    "'=HYPERLINK(""http://x"")",-1.87
    '+1,0.5
    '@SUM(A1),1.0
    '-2+3,2.0
    -1.87,3.0
    a-b,4.0
    """
    text = table.copy()
    for column in text.columns:
        if not (pd.api.types.is_numeric_dtype(text[column]) or pd.api.types.is_bool_dtype(text[column])):
            text[column] = text[column].map(_inert)
    return text.to_csv(index=False, lineterminator="\n")


def format_audit(audit: pd.DataFrame, fmt: str = "table") -> str:
    """Render the audit as a fixed-width text table, CSV or JSON.

    Parameters
    ----------
    audit : pandas.DataFrame
        What :func:`run_audit` returns.
    fmt : {"table", "csv", "json"}
        ``csv`` has exactly the columns :data:`AUDIT_COLUMNS` (those of
        :data:`COLUMNS`, and of the finding's fields and the keys the rows
        carry, for rows that carry no more) and a header row,
        and no cell a spreadsheet would evaluate (:func:`csv_text`);
        ``json`` is a list of records. ``finding`` holds the finding's
        identifier (:mod:`thalbook.core.findings`), the same under every
        rounding convention; a row of no finding leaves it, ``kind``,
        ``convention`` and ``order`` empty (``null`` in JSON for ``order``).

    Returns
    -------
    str
        The text, ending with a newline.

    Raises
    ------
    ValueError
        If ``fmt`` is not one of :data:`FORMATS`.

    Examples
    --------
    >>> table = pd.DataFrame([["wei2003", "asas20", "abstract", "8/10 (80%)", "percent-to-count",
    ...                        "consistent", "8/10 = 80% rounds to 80%", "", "", "", "", None]],
    ...                       columns=[*COLUMNS, *FINDING_FIELDS])
    >>> print(format_audit(table.assign(about="outcome", subject="asas20"), "csv"), end="")
    study,quantity,location,reported,check,status,detail,reconcile,finding,kind,convention,order,about,subject
    wei2003,asas20,abstract,8/10 (80%),percent-to-count,consistent,8/10 = 80% rounds to 80%,,,,,,outcome,asas20
    """
    if fmt not in FORMATS:
        raise ValueError(f"format_audit: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    columns = [*COLUMNS, *(c for c in (*FINDING_FIELDS, *KEYS) if c in audit.columns)]
    audit = audit.loc[:, columns]
    if fmt == "csv":
        return csv_text(audit)
    if fmt == "json":
        return audit.to_json(orient="records", indent=2, force_ascii=False) + "\n"
    if audit.empty:
        return "no checks\n"
    text = audit.astype(object).where(audit.notna(), "").astype(str)
    widths = {c: max(len(c), text[c].str.len().max()) for c in columns}
    lines = [
        [c.ljust(widths[c]) for c in columns],
        *(
            [v.ljust(widths[c]) for c, v in zip(columns, r, strict=True)]
            for r in text.itertuples(index=False)
        ),
    ]
    return "".join("  ".join(line).rstrip() + "\n" for line in lines)
