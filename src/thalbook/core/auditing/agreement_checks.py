"""The checks of published numbers against each other: one quantity in several places, parts against their whole.

Each function gives audit rows (:func:`thalbook.core.auditing.verdicts.verdict`):
the same quantity stated in several places of one paper (``cross-place``),
withdrawals counted by reason against their total and against the adverse
events said to have led to withdrawal, subgroups against the whole they
split and against their stated size, and summaries against their stated
range and label. :func:`thalbook.core.auditing.checks.run_audit` runs them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pandas as pd

from thalbook.core.analyses.cohort import StudyAccount
from thalbook.core.auditing.number_checks import outcome_keys
from thalbook.core.auditing.summary_checks import pvalue_topic, values_topic
from thalbook.core.auditing.verdicts import ALL_REASONS, NO_COMPARISON, Quantity, quantity_text, verdict
from thalbook.core.evidence.data import cell_text, is_true, non_totals, reported_number_or_text
from thalbook.core.inference import stats
from thalbook.core.inference.stats import places
from thalbook.core.vocabulary import Rounding

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


def cross_place_rows(
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


def continuous_topic(row: pd.Series, column: str) -> str:
    """A p-value printed in several places is one of the comparison's p-values; a mean, SD or n one of its values."""
    comparison = cell_text(row["comparison"]) or NO_COMPARISON
    return pvalue_topic(comparison) if column == "p_value" else values_topic(row["measure"], comparison)


def withdrawal_rows(package, studies: dict[str, StudyAccount], rounding: Rounding) -> Iterator[dict]:
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


def subgroup_rows(package) -> Iterator[dict]:
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
            outcome_keys(whole.iloc[0]).with_part("subgroups"),
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
                outcome_keys(row),
                row["location"],
                str(int(row["count"])),
                "subgroup-size",
                "consistent" if ok else "inconsistent",
                f"{int(row['count'])} {'is within' if ok else 'is more than'} the {size} {row['subgroup']} "
                f"patients stated in {where}",
            )


def fact_rows(package, rounding: Rounding) -> Iterator[dict]:
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
    yield from cross_place_rows(
        file,
        facts.assign(subgroup=subgroups),
        ["fact", "subgroup"],
        ["value"],
        lambda r: Quantity("fact", r["fact"], subgroup=r["subgroup"]),
        rounding,
    )
