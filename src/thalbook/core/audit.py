"""Check every number the papers publish against what is possible.

In the spirit of statcheck and GRIM for psychology papers, here for clinical
reports: each reported number meets every check that applies to it, and each
check gives one row ``study, quantity, location, reported, check, status,
detail``; ``status`` is one of :data:`STATUSES` and ``detail`` says why in one
sentence, naming the rounding convention where rounding decides.

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
    statistic W must give an exact p that rounds to it;
``cross-place``
    the same quantity stated in several places of one paper (abstract,
    results, tables, captions), withdrawals counted by reason included;
``parts-sum``, ``subgroup-size``, ``withdrawals-total``, ``summary-in-range``, ``summary-label``
    parts against their stated whole, and summaries against their range.

Where the paper does not state the n behind a mean or a p-value, it is taken
from another statement of the same comparison, or else bounded by the
patients still in the study at that week according to the withdrawal timing:
withdrawals before the week are out; those at the week, or at an unstated
week, may or may not be.

Examples
--------
>>> format_audit(pd.DataFrame(columns=COLUMNS), "csv")
'study,quantity,location,reported,check,status,detail\\n'
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from thalbook.core import stats, vocabulary
from thalbook.core.errors import InputError

COLUMNS = ("study", "quantity", "location", "reported", "check", "status", "detail")
STATUSES = ("consistent", "inconsistent", "not-checkable")
FORMATS = ("table", "csv", "json")
WILCOXON = "wilcoxon-signed-rank"

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
_LISTED = 6  # matches listed in a detail before "and k more"
_EXTRA_PAIRS = 40  # how far beyond the plausible n to look for the n a p-value needs


# --------------------------------------------------------------------------
# reading and showing reported numbers


def _present(value) -> bool:
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    try:
        return not pd.isna(value)
    except (TypeError, ValueError):
        return True


def _text(value) -> str:
    return str(value).strip() if _present(value) else ""


def _number(file: str, row: pd.Series, column: str) -> Decimal | None:
    """A reported number exactly as printed, using the loader's ``<column>_decimals``.

    A text column (a study fact's ``value``) is read from its text.
    """
    value = row.get(column)
    if not _present(value):
        return None
    decimals = row.get(f"{column}_decimals")
    if not _present(decimals):
        value = str(value).strip()
        decimals = len(value.partition(".")[2])
    try:
        return stats.reported_value(file, value, int(decimals))
    except InputError as error:
        raise InputError(f"{file}: {row.get('id', '?')}: {column}: {str(error).partition(': ')[2]}") from None


def _whole(file: str, row: pd.Series, column: str) -> int | None:
    value = _number(file, row, column)
    if value is not None and value != value.to_integral_value():
        raise InputError(f"{file}: {row.get('id', '?')}: {column}: expected a whole number, got {value}")
    return None if value is None else int(value)


def _maybe_number(file: str, row: pd.Series, column: str) -> Decimal | str | None:
    try:
        return _number(file, row, column)
    except InputError:
        return _text(row.get(column)) or None  # a text fact compares as text


def _places(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent)


def _short(value, digits: int = 4) -> str:
    """A number as a short decimal, for verdict texts only."""
    text = f"{float(value):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _percent(k: int, n: int) -> str:
    return f"{k}/{n} = {_short(Fraction(100 * k, n), 3)}%"


def _ratios(pairs: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"{k}/{n}" for k, n in pairs[:_LISTED])
    return shown + (f" and {len(pairs) - _LISTED} more" if len(pairs) > _LISTED else "")


def _numbers(values: list[int]) -> str:
    return ", ".join(map(str, values))


def _other(rounding: str) -> str:
    return next(r for r in vocabulary.ROUNDINGS if r != rounding)


def _week(value) -> str:
    return _short(value, 2)


def _row(study, quantity, location, reported, check, status, detail) -> dict:
    return dict(zip(COLUMNS, (study, quantity, location, reported, check, status, detail), strict=True))


def _flag(value) -> bool:
    return _present(value) and str(value).strip().lower() in ("true", "1")


# --------------------------------------------------------------------------
# what each paper says about its patients: sizes, and who was still in


@dataclass
class _Study:
    study_id: str
    facts: dict[str, int] = field(default_factory=dict)
    withdrawals: list[tuple[int, float | None]] = field(default_factory=list)
    withdrawals_location: str = ""

    @property
    def enrolled(self) -> int | None:
        return self.facts.get("enrolled")

    def in_study(self, week) -> tuple[int, int] | None:
        """Fewest and most patients still in the study at ``week`` (any week if empty).

        Everyone enrolled is there at baseline (week 0), whenever they left.
        """
        if self.enrolled is None:
            return None
        if not _present(week):
            return self.enrolled - sum(c for c, _ in self.withdrawals), self.enrolled
        gone = sum(c for c, w in self.withdrawals if w is not None and w < week)
        maybe = sum(c for c, w in self.withdrawals if (w is None and week > 0) or w == week)
        return self.enrolled - gone - maybe, self.enrolled - gone

    def describe(self, week) -> str:
        low, high = self.in_study(week)
        span = str(low) if low == high else f"{low} to {high}"
        source = f" by the withdrawals in {self.withdrawals_location}" if self.withdrawals else ""
        undated = sum(c for c, w in self.withdrawals if w is None)
        caveat = (
            f" ({high} only if the {undated} withdrawal(s) of unstated week came after week {_week(week)})"
            if undated and low < high
            else ""
        )
        return f"{span} of {self.enrolled} enrolled still in the study at week {_week(week)}{source}{caveat}"


def non_totals(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows that are not the stated total of other rows (``is_total``): the parts to add up."""
    return rows[~rows["is_total"].map(_flag)] if "is_total" in rows else rows


def study_accounts(package) -> dict[str, _Study]:
    """What the papers say of each study's enrolment and withdrawals, by study id.

    The audit uses it to bound the n behind a number at each week; the
    chapters use the same reading so that book and audit never disagree.
    """
    studies = {study_id: _Study(study_id) for study_id in package.studies["study_id"]}
    for _, row in package.study_facts.iterrows():
        value = _maybe_number("study_facts.csv", row, "value")
        if _text(row["subgroup"]) in ("", "all") and isinstance(value, Decimal) and value == int(value):
            studies.setdefault(row["study_id"], _Study(row["study_id"])).facts.setdefault(
                row["fact"], int(value)
            )
    # Several places may list the same withdrawals: take the timing from the
    # one place that accounts for the most patients, with the most weeks stated.
    for study_id, rows in non_totals(package.withdrawals).groupby("study_id", sort=False):

        def weight(item):
            counts = item[1]["count"].astype(float)
            return counts.sum(), counts[item[1]["week"].notna()].sum()

        location, chosen = max(rows.groupby("location", sort=False), key=weight)
        study = studies.setdefault(study_id, _Study(study_id))
        study.withdrawals_location = location
        for _, row in chosen.iterrows():
            week = _number("withdrawals.csv", row, "week")
            study.withdrawals.append(
                (_whole("withdrawals.csv", row, "count"), None if week is None else float(week))
            )
    return studies


def _n_range(
    study: _Study, stated: tuple[int, str] | None, own_week, last_week
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
        text += f", {low} or more at week {_week(last_week)}"
    return list(range(max(low, 1), high + 1)), text


# --------------------------------------------------------------------------
# proportions


def _population_size(study: _Study, population: str, row: pd.Series) -> tuple[int | None, str]:
    fact, column = POPULATION_SIZE.get(population, (None, None))
    if column and _present(row.get(column)):
        return int(row[column]), f"the '{population}' set ({int(row[column])}, {column})"
    if fact and fact in study.facts:
        return study.facts[fact], f"the '{population}' set ({study.facts[fact]}, study fact {fact})"
    return None, ""


def _proportion_checks(
    study: _Study, file: str, row: pd.Series, quantity: str, rounding: str
) -> Iterator[dict]:
    count, denominator = _whole(file, row, "count"), _whole(file, row, "denominator")
    percent = _number(file, row, "percent")
    population = _text(row.get("population"))
    size, size_text = _population_size(study, population, row)
    counted = f"{count}/{denominator}" if denominator is not None and count is not None else _text(count)
    shown = "" if percent is None else f"{percent}%"
    reported = f"{counted} ({shown})" if counted and shown else counted or shown

    def emit(check, ok, detail):
        return _row(
            study.study_id,
            quantity,
            row["location"],
            reported,
            check,
            "consistent" if ok else "inconsistent",
            detail,
        )

    def counts(n=None, n_max=None, rnd=rounding):
        found = stats.percent_to_counts(percent, _places(percent), n=n, n_max=n_max or 1, rounding=rnd)
        return [(k, m) for k, m in found if count in (None, k)]

    def neighbours(n):
        k = math.floor(Fraction(percent) * n / 100)
        return ", ".join(_percent(x, n) for x in (k, k + 1) if 0 <= x <= n)

    if percent is not None and denominator is not None:
        found = counts(n=denominator)
        if count is not None:
            rounded = stats.round_decimal(Fraction(100 * count, denominator), _places(percent), rounding)
            detail = f"{_percent(count, denominator)} rounds to {rounded}% ({rounding} rounding)"
            if not found:
                detail += f", not {percent}%"
        else:
            detail = (
                f"reproduced by {_ratios(found)}"
                if found
                else f"no k/{denominator} rounds to it: {neighbours(denominator)}"
            ) + f" ({rounding} rounding)"
        if not found and counts(n=denominator, rnd=_other(rounding)):
            detail += f"; {_other(rounding)} rounding would give {percent}%"
        yield emit("percent-to-count", found, detail)
    elif percent is not None:
        # the size of the analysis set caps the denominator, else the enrolled total does
        enrolled = study.enrolled or (_whole(file, row, "n_enrolled") if "n_enrolled" in row else None)
        bound, bound_text = (size, size_text) if size else (enrolled, f"the {enrolled} enrolled")
        if bound is None:
            yield _row(
                study.study_id,
                quantity,
                row["location"],
                reported,
                "percent-to-count",
                "not-checkable",
                "no denominator stated, and no enrolled total to bound one",
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
        )
    elif percent is not None:
        found = counts(n=size)
        yield emit(
            "analysis-set",
            found,
            f"no denominator stated; {percent}% is {_ratios(found)} of {size_text}"
            if found
            else f"no denominator stated; {percent}% is no whole number out of {size_text} "
            f"({neighbours(size)}, {rounding} rounding)",
        )
    elif count is not None and count > size:
        yield emit("analysis-set", False, f"{count} is more than {size_text}")


def _proportion_rows(
    studies: dict[str, _Study], file: str, table: pd.DataFrame, label, rounding
) -> Iterator[dict]:
    for _, row in table.iterrows():
        yield from _proportion_checks(studies[row["study_id"]], file, row, label(row), rounding)


# --------------------------------------------------------------------------
# means, SDs and p-values


def _grim_check(mean: Decimal, ns: list[int], n_text: str, rounding: str) -> tuple[str, str]:
    decimals = _places(mean)
    verdicts = [stats.grim(mean, decimals, n, rounding) for n in ns]
    passing = [n for n, v in zip(ns, verdicts, strict=True) if v.consistent]
    if not any(v.informative for v in verdicts):
        return (
            "not-checkable",
            f"GRIM cannot fail: with n >= {10**decimals} every mean to {decimals} decimals is possible; "
            f"{n_text}",
        )
    if len(ns) == 1:
        detail = verdicts[0].detail
    elif passing:
        detail = f"consistent ({rounding} rounding) with n = {_numbers(passing)}"
    else:
        detail = (
            f"inconsistent ({rounding} rounding): no integer total over any n from {ns[0]} to {ns[-1]} "
            f"gives {mean}"
        )
    other = [n for n in ns if stats.grim(mean, decimals, n, _other(rounding)).consistent]
    if not passing and other:
        detail += f"; {_other(rounding)} rounding would allow n = {_numbers(other)}"
    return ("consistent" if passing else "inconsistent"), f"{detail}; {n_text}"


def _grimmer_check(mean: Decimal, sd: Decimal, ns: list[int], n_text: str, rounding: str) -> tuple[str, str]:
    ns = [n for n in ns if n >= 2]
    grim_ok = [n for n in ns if stats.grim(mean, _places(mean), n, rounding).consistent]
    if not grim_ok:
        return (
            "not-checkable",
            f"the mean fails GRIM for every n, so the SD cannot be tested on its own; {n_text}",
        )
    verdicts = {n: stats.grimmer(mean, sd, _places(mean), _places(sd), n, rounding) for n in grim_ok}
    if not any(v.informative for v in verdicts.values()):
        return "not-checkable", (
            f"GRIMMER adds nothing to GRIM here: SD {sd} to {_places(sd)} decimals admits "
            f"sums of squares of both parities for n = {_numbers(grim_ok)}; {n_text}"
        )
    passing = [n for n, v in verdicts.items() if v.consistent]
    if len(verdicts) == 1:
        detail = next(iter(verdicts.values())).detail
    elif passing:
        detail = f"consistent ({rounding} rounding) with n = {_numbers(passing)}"
    else:
        detail = (
            f"inconsistent ({rounding} rounding): for n = {_numbers(grim_ok)} the mean passes GRIM but no "
            f"integer sum of squares gives SD {sd}"
        )
    return ("consistent" if passing else "inconsistent"), f"{detail}; {n_text}"


def _largest_sd(mean: float, n: int, low: float | None, high: float | None) -> float:
    """Largest sample SD of n values within [low, high] that have this mean.

    Two-sided: the Bhatia-Davis bound (mean - low)(high - mean), times
    n/(n - 1); one-sided: every value at the limit but one, (mean - limit)^2 n.
    """
    bounds = [(mean - low) ** 2 * n] if low is not None else []
    if high is not None:
        bounds.append((high - mean) ** 2 * n)
    if low is not None and high is not None:
        bounds.append((mean - low) * (high - mean) * n / (n - 1))
    return math.sqrt(max(min(bounds), 0.0))


def _scale_check(
    measure: pd.Series, mean: Decimal, sd: Decimal | None, ns: list[int] | None, n_text: str
) -> tuple[str, str]:
    low = float(measure["scale_min"]) if _present(measure["scale_min"]) else None
    high = float(measure["scale_max"]) if _present(measure["scale_max"]) else None
    scale = (
        f"{_short(low)}-{_short(high)} scale"
        if low is not None and high is not None
        else f"scale {'from ' + _short(low) if high is None else 'up to ' + _short(high)}"
    )
    half = 0.5 * 10.0 ** -_places(mean)
    lowest, highest = float(mean) - half, float(mean) + half
    if (low is not None and highest < low) or (high is not None and lowest > high):
        return "inconsistent", f"mean {mean} lies outside the {scale}"
    detail = f"mean {mean} lies on the {scale}"
    if sd is None:
        return "consistent", detail
    ns = [n for n in ns or [] if n >= 2]
    if not ns:
        return "consistent", f"{detail}; the SD cannot be bounded without n ({n_text})"
    # the bound is largest at an end of the mean's rounding interval (kept on the scale), or at mid-scale
    means = [
        min(max(m, -math.inf if low is None else low), math.inf if high is None else high)
        for m in (lowest, highest)
    ]
    if low is not None and high is not None and lowest < (low + high) / 2 < highest:
        means.append((low + high) / 2)
    largest = max(_largest_sd(m, n, low, high) for m in means for n in ns)
    fits = float(sd) - 0.5 * 10.0 ** -_places(sd) <= largest
    return ("consistent" if fits else "inconsistent"), (
        f"{detail}; SD {sd} {'is within' if fits else 'exceeds'} {_short(largest, 2)}, the largest possible "
        f"for that mean on that scale with n = {ns[0] if len(ns) == 1 else f'{ns[0]} to {ns[-1]}'}; {n_text}"
    )


def _lattice_check(
    p: Decimal, test: str, ns: list[int] | None, n_text: str, rounding: str
) -> tuple[str, str]:
    if test != WILCOXON:
        return (
            "not-checkable",
            f"the test is {test or 'not named'}; only Wilcoxon signed-rank p-values are checked",
        )
    if ns is None:
        return "not-checkable", n_text
    low, high = ns[0], ns[-1]
    assumed = f"exact two-sided test, untied non-zero differences, {rounding} rounding"
    matches = stats.wilcoxon_matches(p, _places(p), range(1, high + 1), rounding)
    inside = [m for m in matches if m[0] >= low]
    if inside:
        shown = "; ".join(f"n = {n}, W = {w} (p = {_short(q, 6)})" for n, w, q in inside[:_LISTED])
        return "consistent", f"reproduced by {shown} ({assumed}); {n_text}"
    if matches:
        shown = "; ".join(f"n = {n}, W = {w}" for n, w, _ in matches[-3:])
        return "consistent", (
            f"reproduced only with fewer non-zero differences than the {low} or more pairs "
            f"({shown}): possible if some changes were zero, which the test drops ({assumed}); {n_text}"
        )
    lattice = sorted((abs(q - float(p)), q, n, w) for n in ns for w, q in stats.wilcoxon_pvalues(n).items())
    nearest = "; ".join(f"{_short(q, 6)} (n = {n}, W = {w})" for _, q, n, w in lattice[:2])
    more = stats.wilcoxon_matches(p, _places(p), range(high + 1, high + _EXTRA_PAIRS + 1), rounding)
    needs = f"; it needs at least {more[0][0]} pairs (W = {more[0][1]})" if more else ""
    return (
        "inconsistent",
        f"no exact p with up to {high} pairs rounds to {p} ({assumed}); nearest {nearest}{needs}; {n_text}",
    )


def _continuous_rows(package, studies: dict[str, _Study], rounding: str) -> Iterator[dict]:
    file = "continuous_outcomes.csv"
    table = package.continuous_outcomes
    measures = package.measures.drop_duplicates("measure").set_index("measure")
    pair_key = ["study_id", "measure", "comparison"]
    last_week = table.groupby(pair_key, dropna=False)["timepoint_week"].transform("max")
    # a comparison's n, stated in one place, holds wherever the comparison is reported
    stated_n = {
        tuple(r[pair_key]): (int(r["n"]), r["location"]) for _, r in table[table["n"].notna()].iterrows()
    }
    for index, row in table.iterrows():
        if row["measure"] not in measures.index:
            raise InputError(f"{file}: {row['id']}: measure: {row['measure']!r} is not in measures.csv")
        measure, study = measures.loc[row["measure"]], studies[row["study_id"]]
        mean, sd, p = (_number(file, row, c) for c in ("mean", "sd", "p_value"))
        n = _whole(file, row, "n")
        stated = (n, row["location"]) if n is not None else stated_n.get(tuple(row[pair_key]))
        ns, n_text = _n_range(study, stated, row["timepoint_week"], last_week[index])
        quantity = (
            f"{row['measure']} week {_week(row['timepoint_week'])} "
            f"({_text(row['comparison']) or 'no comparison'})"
        )

        def emit(reported, check, verdict, row=row, quantity=quantity):
            return _row(row["study_id"], quantity, row["location"], reported, check, *verdict)

        if mean is not None and measure["value_type"] == "integer":
            yield emit(
                str(mean),
                "grim",
                _grim_check(mean, ns, n_text, rounding) if ns else ("not-checkable", n_text),
            )
            if sd is not None:
                yield emit(
                    f"{mean} ± {sd}",
                    "grimmer",
                    _grimmer_check(mean, sd, ns, n_text, rounding) if ns else ("not-checkable", n_text),
                )
        if mean is not None and (_present(measure["scale_min"]) or _present(measure["scale_max"])):
            yield emit(
                str(mean) if sd is None else f"{mean} ± {sd}",
                "scale-bounds",
                _scale_check(measure, mean, sd, ns, n_text),
            )
        if p is not None:
            pairs, pair_text = _n_range(study, stated, last_week[index], last_week[index])
            yield emit(
                f"p = {p}",
                "wilcoxon-lattice",
                _lattice_check(p, _text(row["test"]), pairs, pair_text, rounding),
            )


# --------------------------------------------------------------------------
# the same quantity in several places; parts and wholes


def _cross_place(
    study_id: str, quantity: str, items: list[tuple[str, Decimal | str]], rounding: str
) -> dict | None:
    """One row comparing a quantity stated in two or more places, else None."""
    if len({location for location, _ in items}) < 2:
        return None
    values = [value for _, value in items]
    if all(isinstance(v, Decimal) for v in values):
        coarsest = min(_places(v) for v in values)
        agree = len({stats.round_decimal(v, coarsest, rounding) for v in values}) == 1
        precision = f" to {coarsest} decimals" if len({_places(v) for v in values}) > 1 else ""
    else:
        agree, precision = len({str(v).lower() for v in values}) == 1, ""
    detail = (
        f"the same in {'both' if len(items) == 2 else f'all {len(items)}'} statements{precision}"
        if agree
        else "differs: " + "; ".join(f"{location} says {value}" for location, value in items)
    )
    return _row(
        study_id,
        quantity,
        "; ".join(dict.fromkeys(location for location, _ in items)),
        "; ".join(f"{value} ({location})" for location, value in items),
        "cross-place",
        "consistent" if agree else "inconsistent",
        detail,
    )


def _cross_place_rows(
    file: str, table: pd.DataFrame, key: list[str], fields: list[str], label, rounding
) -> Iterator[dict]:
    for keys, rows in non_totals(table).groupby(["study_id", *key], sort=False, dropna=False):
        for column in fields:
            items = [
                (r["location"], v)
                for _, r in rows.iterrows()
                if (v := _maybe_number(file, r, column)) is not None
            ]
            quantity = label(rows.iloc[0]) + (f": {column.replace('_', ' ')}" if len(fields) > 1 else "")
            row = _cross_place(keys[0], quantity, items, rounding)
            if row:
                yield row


def _withdrawal_rows(package, studies: dict[str, _Study], rounding: str) -> Iterator[dict]:
    table = package.withdrawals
    for (study_id, category, location), rows in table.groupby(
        ["study_id", "reason_category", "location"], sort=False
    ):
        parts = non_totals(rows)
        totals = rows.drop(parts.index)
        for _, total in totals.iterrows():
            whole, added = int(total["count"]), int(parts["count"].sum())
            yield _row(
                study_id,
                f"withdrawals: {category}",
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
        row = _cross_place(study_id, f"withdrawals: {category}", items, rounding)
        if row:
            yield row
    # withdrawals for adverse events against the adverse events said to have led to withdrawal
    events = non_totals(package.adverse_events)
    if "led_to_withdrawal" in events:
        events = events[events["led_to_withdrawal"].map(_flag) & events["count"].notna()]
        left = non_totals(table)[lambda t: t["reason_category"].eq("adverse-event")]
        for (study_id, location), rows in events.groupby(["study_id", "location"], sort=False):
            same = left[left["study_id"].eq(study_id) & left["location"].eq(location)]
            if same.empty:
                continue
            by_event, by_reason = int(rows["count"].sum()), int(same["count"].sum())
            ok = by_event == by_reason
            yield _row(
                study_id,
                "withdrawals: adverse-event",
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
            yield _row(
                study_id,
                "withdrawals: all reasons",
                study.withdrawals_location,
                str(gone),
                "withdrawals-total",
                "consistent" if ok else "inconsistent",
                f"{study.enrolled} enrolled - {gone} withdrawn = {study.enrolled - gone}, "
                f"{'as' if ok else 'but'} {completed} are stated to have completed",
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
        yield _row(
            keys[0],
            f"{_outcome_label(whole.iloc[0])}: subgroups",
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
    for _, fact in facts[facts["subgroup"].map(_text).ne("") & facts["unit"].eq("patients")].iterrows():
        value = _maybe_number("study_facts.csv", fact, "value")
        if isinstance(value, Decimal):
            sizes.setdefault((fact["study_id"], fact["subgroup"]), (int(value), fact["location"]))
    for _, row in table[~is_all & table["count"].notna()].iterrows():
        if (row["study_id"], row["subgroup"]) in sizes:
            size, where = sizes[(row["study_id"], row["subgroup"])]
            ok = int(row["count"]) <= size
            yield _row(
                row["study_id"],
                _outcome_label(row),
                row["location"],
                str(int(row["count"])),
                "subgroup-size",
                "consistent" if ok else "inconsistent",
                f"{int(row['count'])} {'is within' if ok else 'is more than'} the {size} {row['subgroup']} "
                f"patients stated in {where}",
            )


def _fact_rows(package, rounding: str) -> Iterator[dict]:
    file, facts = "study_facts.csv", package.study_facts
    subgroups = facts["subgroup"].map(_text)
    for (study_id, subgroup), rows in facts.groupby(["study_id", subgroups], sort=False):
        stated: dict[str, list[tuple[str, Decimal]]] = {}
        for _, row in rows.iterrows():
            value = _maybe_number(file, row, "value")
            if isinstance(value, Decimal):
                stated.setdefault(row["fact"], []).append((row["location"], value))
        suffix = f" ({subgroup})" if subgroup else ""
        for fact, values in stated.items():
            base, _, statistic = fact.rpartition("_")
            if statistic not in ("mean", "median"):
                continue
            if f"{base}_min" in stated and f"{base}_max" in stated:
                low, high = stated[f"{base}_min"][0][1], stated[f"{base}_max"][0][1]
                for location, value in values:
                    ok = low <= value <= high
                    yield _row(
                        study_id,
                        f"{fact}{suffix}",
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
                        yield _row(
                            study_id,
                            f"{base}{suffix}",
                            f"{here}; {there}",
                            f"{value} ({here}); {twin} ({there})",
                            "summary-label",
                            "inconsistent",
                            f"{value} is called the mean in {here} and the median in {there}",
                        )
    yield from _cross_place_rows(
        file,
        facts.assign(subgroup=subgroups),
        ["fact", "subgroup"],
        ["value"],
        lambda r: r["fact"] + (f" ({r['subgroup']})" if r["subgroup"] else ""),
        rounding,
    )


# --------------------------------------------------------------------------
# the audit


def _outcome_label(row: pd.Series) -> str:
    parts = [_text(row.get("outcome")) or _text(row.get("event"))]
    for column in ("subgroup", "arm"):
        if _text(row.get(column)) not in ("", "all"):
            parts.append(f"({_text(row.get(column))})")
    if _present(row.get("timepoint_week")):
        parts.append(f"week {_week(row['timepoint_week'])}")
    if _text(row.get("population")):
        parts.append(f"[{_text(row.get('population'))}]")
    return " ".join(parts)


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
        return _Study(study_id)


def run_audit(package, rounding: str = "half-up") -> pd.DataFrame:
    """Run every applicable check over every number in the data package.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
        What :func:`thalbook.core.data.load` returns: one DataFrame per file, with
        the loader's ``<column>_decimals`` columns.
    rounding : {"half-up", "half-even"}
        The rounding convention every verdict assumes (and names).

    Returns
    -------
    pandas.DataFrame
        Exactly the columns :data:`COLUMNS`, one row per check, ordered by
        ``studies.csv``, then by file and row within a study.

    Raises
    ------
    InputError
        If the package lacks a table or column the audit reads, or a number
        cannot be read; the message names the file, row and column.
    """
    if rounding not in vocabulary.ROUNDINGS:
        raise InputError(f"run_audit: rounding must be one of {', '.join(vocabulary.ROUNDINGS)}, got {rounding!r}")
    _check_package(package)
    studies = _Studies(study_accounts(package))
    binary, events = package.binary_outcomes, package.adverse_events
    rows = [
        *_fact_rows(package, rounding),
        *_withdrawal_rows(package, studies, rounding),
        *_proportion_rows(studies, "binary_outcomes.csv", binary, _outcome_label, rounding),
        *_subgroup_rows(package),
        *_cross_place_rows(
            "binary_outcomes.csv",
            binary,
            ["outcome", "subgroup", "timepoint_week", "population"],
            ["count", "denominator", "percent"],
            _outcome_label,
            rounding,
        ),
        *_continuous_rows(package, studies, rounding),
        *_cross_place_rows(
            "continuous_outcomes.csv",
            package.continuous_outcomes,
            ["measure", "timepoint_week", "comparison"],
            ["mean", "sd", "n", "p_value"],
            lambda r: f"{r['measure']} week {_week(r['timepoint_week'])} ({_text(r['comparison'])})",
            rounding,
        ),
        *_proportion_rows(
            studies, "adverse_events.csv", events, lambda r: f"adverse event: {r['event']}", rounding
        ),
        *_cross_place_rows(
            "adverse_events.csv",
            events,
            ["event"],
            ["count", "denominator", "percent"],
            lambda r: f"adverse event: {r['event']}",
            rounding,
        ),
    ]
    context = getattr(package, "context_outcomes", None)
    if isinstance(context, pd.DataFrame):
        rows += _proportion_rows(studies, "context_outcomes.csv", context, _outcome_label, rounding)
    audit = pd.DataFrame(rows, columns=list(COLUMNS))
    order = {study_id: i for i, study_id in enumerate(package.studies["study_id"])}
    position = audit["study"].map(order).fillna(len(order)).to_numpy()
    return audit.iloc[position.argsort(kind="stable")].reset_index(drop=True)


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


def format_audit(audit: pd.DataFrame, fmt: str = "table") -> str:
    """Render the audit as a fixed-width text table, CSV or JSON.

    Parameters
    ----------
    audit : pandas.DataFrame
        What :func:`run_audit` returns.
    fmt : {"table", "csv", "json"}
        ``csv`` has exactly the columns :data:`COLUMNS` and a header row;
        ``json`` is a list of records.

    Returns
    -------
    str
        The text, ending with a newline.

    Examples
    --------
    >>> table = pd.DataFrame([["wei2003", "asas20", "abstract", "8/10 (80%)", "percent-to-count",
    ...                        "consistent", "8/10 = 80% rounds to 80%"]], columns=COLUMNS)
    >>> print(format_audit(table, "csv"), end="")
    study,quantity,location,reported,check,status,detail
    wei2003,asas20,abstract,8/10 (80%),percent-to-count,consistent,8/10 = 80% rounds to 80%
    """
    if fmt not in FORMATS:
        raise InputError(f"format_audit: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    audit = audit.loc[:, list(COLUMNS)]
    if fmt == "csv":
        return audit.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        return audit.to_json(orient="records", indent=2, force_ascii=False) + "\n"
    if audit.empty:
        return "no checks\n"
    text = audit.astype(str)
    widths = {c: max(len(c), text[c].str.len().max()) for c in COLUMNS}
    lines = [
        [c.ljust(widths[c]) for c in COLUMNS],
        *(
            [v.ljust(widths[c]) for c, v in zip(COLUMNS, r, strict=True)]
            for r in text.itertuples(index=False)
        ),
    ]
    return "".join("  ".join(line).rstrip() + "\n" for line in lines)
