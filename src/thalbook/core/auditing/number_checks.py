"""The checks of each published number on its own against what is possible: proportions, means, SDs and p-values.

Each function gives audit rows (:func:`thalbook.core.auditing.verdicts.verdict`) for
one family of numbers, under one rounding convention: a percentage against
the counts and denominators that round to it (``percent-to-count``) and the
size of its analysis set (``analysis-set``); a mean, SD or p-value against
GRIM, GRIMMER, the scale's bounds, the Wilcoxon lattice and a reconstruction
of paired data (the verdicts in :mod:`thalbook.core.auditing.summary_checks`). Where
the paper does not state the n behind a number, it is bounded by the
patients still in the study (:mod:`thalbook.core.analyses.cohort`). What a row is
about is given by its keys (:class:`thalbook.core.auditing.verdicts.Quantity`).
:func:`thalbook.core.auditing.checks.run_audit` runs them all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction

import pandas as pd

from thalbook.core.analyses.cohort import StudyAccount, study_accounts, week_text
from thalbook.core.auditing.summary_checks import (
    ASSUMED_TEST,
    LISTED,
    WILCOXON,
    grim_check,
    grimmer_check,
    lattice_check,
    pvalue_topic,
    reconstruction_check,
    reconstructions,
    scale_check,
    values_topic,
)
from thalbook.core.auditing.verdicts import NO_COMPARISON, Quantity, quantity_text, verdict
from thalbook.core.errors import InputError
from thalbook.core.evidence.data import cell_text, is_stated, reported_number, reported_whole
from thalbook.core.inference import granularity, stats
from thalbook.core.inference.stats import places, short
from thalbook.core.vocabulary import Rounding, other_roundings

#: Where each labelled analysis set's size is stated: a study fact, or a
#: column of the row itself (context studies carry their sizes on the row).
POPULATION_SIZE = {
    "itt": ("enrolled", "n_enrolled"),
    "enrolled": ("enrolled", "n_enrolled"),
    "randomised": ("randomised", "n_randomised"),
    "completers": ("completed", "n_completed"),
    "endoscopy": ("endoscopy_n", None),
}

# --------------------------------------------------------------------------
# showing reported numbers


def _percent(k: int, n: int) -> str:
    return f"{k}/{n} = {short(Fraction(100 * k, n), 3)}%"


def _ratios(pairs: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"{k}/{n}" for k, n in pairs[:LISTED])
    return shown + (f" and {len(pairs) - LISTED} more" if len(pairs) > LISTED else "")




# --------------------------------------------------------------------------
# the patients behind a number (thalbook.core.analyses.cohort)


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
        found = granularity.percent_to_counts(percent, places(percent), n=n, n_max=n_max or 1, rounding=rnd)
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


def proportion_rows(
    studies: dict[str, StudyAccount], file: str, table: pd.DataFrame, quantity_of, rounding, topic=None
) -> Iterator[dict]:
    """The checks of each proportion of ``table``, about ``quantity_of(row)``; its topic is ``topic(row)``, else
    the name of what it is about."""
    for _, row in table.iterrows():
        yield from _proportion_checks(studies[row["study_id"]], file, row, quantity_of(row), rounding,
                                      topic(row) if topic else None)


def event_topic(row: pd.Series, column: str | None = None) -> str:
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


def continuous_rows(package, studies: dict[str, StudyAccount], rounding: Rounding) -> Iterator[dict]:
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
        quantity = comparison_keys(row)

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
    with its reconstructions (:func:`thalbook.core.auditing.summary_checks.reconstructions`).

    Returns
    -------
    pandas.DataFrame
        One row per (study, measure, comparison, place): ``study, measure,
        comparison, week, location, printed`` (two (mean, SD) pairs), ``p``,
        ``ns``, ``n_text`` and ``outcomes`` (list of (n, W, Reconstruction,
        grid)).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> table = reconstructed(data.load(), "half-even")
    >>> row = table[table["measure"].eq("esr") & table["week"].eq(24) & table["location"].eq("results")].iloc[0]
    >>> row["outcomes"][0][2].verdict
    'feasible'
    """
    file, table = "continuous_outcomes.csv", package.continuous_outcomes
    measures = package.measures.drop_duplicates("measure").set_index("measure")
    studies = Studies(study_accounts(package))
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


def reconstruction_rows(package, rounding: Rounding) -> Iterator[dict]:
    """One audit row per reconstructed comparison, grouped with the comparison's other value checks."""
    for _, r in reconstructed(package, rounding).iterrows():
        yield verdict(
            r["study"], Quantity("measure", r["measure"], week=week_text(r["week"]), comparison=r["comparison"]),
            r["location"],
            " -> ".join(f"{m} ± {sd}" for m, sd in r["printed"]) + f"; p = {r['p']}", "reconstruction",
            *reconstruction_check(r["outcomes"], r["p"], r["ns"], r["n_text"]),
            topic=values_topic(r["measure"], r["comparison"]),
        )


def reported_p_values(package, studies: dict[str, StudyAccount]) -> pd.DataFrame:
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
# what a row is about, and the studies


def outcome_keys(row: pd.Series) -> Quantity:
    """What a row of a table of results is about: its outcome, subgroup, arm, week and analysis set."""
    groups = {column: "" if cell_text(row.get(column)) == "all" else cell_text(row.get(column))
              for column in ("subgroup", "arm")}
    week = week_text(row["timepoint_week"]) if is_stated(row.get("timepoint_week")) else ""
    return Quantity("outcome", cell_text(row.get("outcome")) or cell_text(row.get("event")), **groups, week=week,
                    analysis_set=cell_text(row.get("population")))


def event_keys(row: pd.Series) -> Quantity:
    return Quantity("adverse-event", row["event"])


def comparison_keys(row: pd.Series) -> Quantity:
    return Quantity("measure", row["measure"], week=week_text(row["timepoint_week"]),
                    comparison=cell_text(row["comparison"]))



class Studies(dict):
    """Study id -> what its paper says; an unknown id gets an empty record."""

    def __missing__(self, study_id):
        return StudyAccount(study_id)
