"""Check every number the papers publish against what is possible.

In the spirit of statcheck and GRIM for psychology papers, here for clinical
reports: each reported number meets every check that applies to it, and each
check gives one row ``study, quantity, location, reported, check, status,
detail`` with ``status`` one of :data:`STATUSES` and ``detail`` one sentence
saying why.

Which checks apply is decided by the data, never by the row:

``percent-to-count``
    a reported percentage: some k out of the stated denominator (or, when
    none is stated, out of any n up to the analysis set or the enrolled
    total) must round to it;
``analysis-set``
    a proportion labelled with an analysis set whose size the paper states
    (``population`` itt / enrolled / completers / endoscopy): its denominator,
    or the percentage when no denominator is given, must fit that size;
``grim`` and ``grimmer``
    the mean (and SD) of a measure whose ``value_type`` is integer;
``scale-bounds``
    a mean and SD of a measure with a bounded scale: the mean lies on the
    scale, the SD is no larger than the largest possible for that mean and n;
``wilcoxon-lattice``
    a p-value from a Wilcoxon signed-rank test: some number of pairs and
    statistic W give an exact p that rounds to it;
``cross-place``
    the same quantity stated in several places of one paper (abstract,
    results, tables, captions), withdrawals counted by reason included;
``subgroup-sum``, ``withdrawals-total``, ``summary-in-range``
    parts that must add up to, or lie within, a stated whole.

Where the paper does not state the n behind a mean or a p-value, it is
bounded by the patients still in the study at that week, from the
withdrawal timing: withdrawals before the week are out, withdrawals at the
week or at an unknown week may or may not be.

Examples
--------
>>> format_audit(pd.DataFrame(columns=COLUMNS), "csv")
'study,quantity,location,reported,check,status,detail\\n'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from thalbook import stats
from thalbook.errors import InputError

COLUMNS = ("study", "quantity", "location", "reported", "check", "status", "detail")
STATUSES = ("consistent", "inconsistent", "not-checkable")
FORMATS = ("table", "csv", "json")

#: The study fact that states the size of each labelled analysis set.
POPULATION_SIZE_FACT = {
    "itt": "enrolled",
    "enrolled": "enrolled",
    "completers": "completed",
    "endoscopy": "endoscopy_n",
}
WILCOXON = "wilcoxon-signed-rank"
#: How far beyond the plausible n to look for the n a p-value needs.
_EXTRA_PAIRS = 40
_LISTED = 6


# --------------------------------------------------------------------------
# reading reported numbers


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
    """A reported number exactly as printed, using the loader's ``<column>_decimals``."""
    value = row.get(column)
    if not _present(value):
        return None
    decimals = row.get(f"{column}_decimals")
    if not _present(decimals):
        text = str(value).strip()
        decimals = len(text.partition(".")[2])
        value = text
    try:
        return stats.reported_value(file, value, int(decimals))
    except InputError as error:
        where = f"{file}: {row.get('id', '?')}: {column}"
        raise InputError(f"{where}: {str(error).partition(': ')[2]}") from None


def _places(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent)


def _whole(file: str, row: pd.Series, column: str) -> int | None:
    value = _number(file, row, column)
    if value is None:
        return None
    if value != value.to_integral_value():
        raise InputError(f"{file}: {row.get('id', '?')}: {column}: expected a whole number, got {value}")
    return int(value)


def _percent(value: Fraction) -> str:
    return stats._show(value * 100, 2) + "%"


def _ratios(pairs: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"{k}/{n}" for k, n in pairs[:_LISTED])
    return shown + (f" and {len(pairs) - _LISTED} more" if len(pairs) > _LISTED else "")


def _other(rounding: str) -> str:
    return next(r for r in stats.ROUNDINGS if r != rounding)


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low} to {high}"


def _row(study, quantity, location, reported, check, status, detail) -> dict:
    return dict(zip(COLUMNS, (study, quantity, location, reported, check, status, detail)))


# --------------------------------------------------------------------------
# what the paper says about each study: sizes and who was still in it


@dataclass
class _Study:
    study_id: str
    facts: dict[str, int] = field(default_factory=dict)
    withdrawals: list[tuple[int, int | None]] = field(default_factory=list)
    withdrawals_location: str = ""

    @property
    def enrolled(self) -> int | None:
        return self.facts.get("enrolled")

    def in_study(self, week) -> tuple[int, int] | None:
        """Least and most patients still in the study at ``week``."""
        if self.enrolled is None:
            return None
        if not _present(week):
            return (self.enrolled - sum(c for c, _ in self.withdrawals), self.enrolled)
        gone_before = sum(c for c, w in self.withdrawals if w is not None and w < week)
        maybe_gone = sum(c for c, w in self.withdrawals if w is None or w >= week and w <= week)
        return (self.enrolled - gone_before - maybe_gone, self.enrolled - gone_before)

    def in_study_text(self, week) -> str:
        low, high = self.in_study(week)
        when = f"at week {_week(week)}" if _present(week) else "at some point"
        source = f" (withdrawals as given in the {self.withdrawals_location})" if self.withdrawals else ""
        return f"{_span(low, high)} of {self.enrolled} enrolled still in the study {when}{source}"


def _week(value) -> str:
    return stats._show(Fraction(str(value)), 2)


def _studies(package) -> dict[str, _Study]:
    studies: dict[str, _Study] = {}
    for study_id in package.studies["study_id"]:
        studies[study_id] = _Study(study_id)
    facts = package.study_facts
    for _, row in facts.iterrows():
        if _text(row.get("subgroup")) not in ("", "all"):
            continue
        try:
            value = _number("study_facts.csv", row, "value")
        except InputError:
            continue  # a text fact (a date, a design); nothing to count with
        if value is not None and value == value.to_integral_value():
            studies.setdefault(row["study_id"], _Study(row["study_id"])).facts.setdefault(row["fact"], int(value))
    # Several places may list the same withdrawals; take the timing from the
    # one place that accounts for most patients, with most weeks stated.
    for study_id, rows in package.withdrawals.groupby("study_id", sort=False):
        best = max(
            rows.groupby("location", sort=False),
            key=lambda item: (item[1]["count"].sum(), item[1]["week"].notna().sum()),
        )
        study = studies.setdefault(study_id, _Study(study_id))
        study.withdrawals_location = best[0]
        for _, row in best[1].iterrows():
            week = _number("withdrawals.csv", row, "week")
            study.withdrawals.append((_whole("withdrawals.csv", row, "count"), None if week is None else float(week)))
    return studies


def _n_values(study: _Study, stated: int | None, weeks: tuple) -> tuple[range | None, str]:
    """The n behind a summary: as stated, else bounded by who was still in the study.

    ``weeks`` are (the week the summary describes, the last week of its paired
    comparison): a paired test needs both values, a baseline mean may cover
    everyone then present.
    """
    if stated is not None:
        return range(stated, stated + 1), f"n = {stated} as stated"
    own, last = weeks
    if study.in_study(own) is None:
        return None, "n not stated and no enrolled total to bound it"
    low = study.in_study(last)[0]
    high = study.in_study(own)[1]
    text = study.in_study_text(own)
    if last != own:
        text += f", {study.in_study(last)[0]} or more still in at week {_week(last)}"
    return range(max(low, 1), high + 1), f"n not stated: {text}"


# --------------------------------------------------------------------------
# proportions


def _size_of(study: _Study, population: str) -> tuple[int | None, str]:
    fact = POPULATION_SIZE_FACT.get(population)
    return (study.facts.get(fact), fact or "") if fact else (None, "")


def _proportion_checks(study: _Study, file, row, quantity, rounding, population="", n_max=None) -> Iterator[dict]:
    count = _whole(file, row, "count")
    denominator = _whole(file, row, "denominator")
    percent = _number(file, row, "percent")
    location = row["location"]
    shown = [f"{count}/{denominator}" if count is not None and denominator is not None else ""]
    if percent is not None:
        shown.append(f"({percent}%)" if shown[0] else f"{percent}%")
    reported = " ".join(s for s in shown if s) or (f"{count}" if count is not None else "")
    decimals = _places(percent) if percent is not None else 0

    def fits(n, rnd=rounding):
        return [kn for kn in stats.percent_to_counts(percent, decimals, n=n, rounding=rnd) if count in (None, kn[0])]

    if percent is not None:
        if denominator is not None:
            found = fits(denominator)
            if count is not None:
                exact = Fraction(count, denominator)
                rounded = stats.round_decimal(exact * 100, decimals, rounding)
                detail = f"{count}/{denominator} = {_percent(exact)} rounds to {rounded}% ({rounding} rounding)"
                if not found:
                    detail += f", not {percent}%"
                    if fits(denominator, _other(rounding)):
                        detail += f"; {_other(rounding)} rounding would give {percent}%"
            elif found:
                detail = f"reproduced by {_ratios(found)} ({rounding} rounding)"
            else:
                near = [f"{k}/{denominator} = {_percent(Fraction(k, denominator))}" for k in _neighbours(percent, denominator)]
                detail = f"no k/{denominator} rounds to {percent}% ({rounding} rounding): {', '.join(near)}"
            yield _row(study.study_id, quantity, location, reported, "percent-to-count",
                       "consistent" if found else "inconsistent", detail)
        else:
            size, fact = _size_of(study, population)
            bound, bound_text = (size, f"the {size} of the '{population}' set ({fact})") if size else (
                (n_max, f"the {n_max} {'enrolled' if n_max == study.enrolled else 'in the study'}") if n_max else (None, ""))
            if bound is None:
                yield _row(study.study_id, quantity, location, reported, "percent-to-count", "not-checkable",
                           "no denominator stated and no enrolled total to bound it")
            else:
                found = [kn for kn in stats.percent_to_counts(percent, decimals, n_max=bound, rounding=rounding)
                         if count in (None, kn[0])]
                detail = (f"no denominator stated; {'reproduced by ' + _ratios(found) if found else 'no k/n reproduces it'}"
                          f" with n up to {bound_text} ({rounding} rounding)")
                yield _row(study.study_id, quantity, location, reported, "percent-to-count",
                           "consistent" if found else "inconsistent", detail)

    size, fact = _size_of(study, population)
    if size is None:
        return
    set_text = f"the '{population}' set ({size}, study fact {fact})"
    if denominator is not None:
        status = "consistent" if denominator == size else "inconsistent"
        detail = f"denominator {denominator} {'is' if denominator == size else 'is not'} the size of {set_text}"
    elif percent is not None:
        found = fits(size)
        status = "consistent" if found else "inconsistent"
        if found:
            detail = f"no denominator stated; {percent}% is {_ratios(found)} of {set_text}"
        else:
            near = ", ".join(f"{k}/{size} = {_percent(Fraction(k, size))}" for k in _neighbours(percent, size))
            detail = f"no denominator stated; {percent}% is no whole number out of {set_text} ({near})"
    else:
        return
    yield _row(study.study_id, quantity, location, reported, "analysis-set", status, detail)


def _neighbours(percent: Decimal, n: int) -> list[int]:
    k = math.floor(Fraction(percent) * n / 100)
    return [x for x in (k, k + 1) if 0 <= x <= n]


# --------------------------------------------------------------------------
# means, SDs and p-values


def _grim_check(study_id, quantity, location, mean, ns, n_text, rounding) -> dict:
    decimals = _places(mean)
    verdicts = {n: stats.grim(mean, decimals, n, rounding) for n in ns}
    passing = [n for n, v in verdicts.items() if v.consistent]
    if not any(v.informative for v in verdicts.values()):
        return _row(study_id, quantity, location, str(mean), "grim", "not-checkable",
                    f"GRIM cannot fail: with n >= {10 ** decimals} every mean to {decimals} decimals is possible; {n_text}")
    if len(verdicts) == 1:
        detail = f"{next(iter(verdicts.values())).detail}; {n_text}"
    elif passing:
        detail = f"consistent ({rounding} rounding) with n = {', '.join(map(str, passing))}; {n_text}"
    else:
        detail = f"inconsistent ({rounding} rounding): no integer total over any n from {ns[0]} to {ns[-1]} gives {mean}; {n_text}"
    if not passing:
        other = [n for n in ns if stats.grim(mean, decimals, n, _other(rounding)).consistent]
        if other:
            detail += f"; {_other(rounding)} rounding would allow n = {', '.join(map(str, other))}"
    return _row(study_id, quantity, location, str(mean), "grim", "consistent" if passing else "inconsistent", detail)


def _grimmer_check(study_id, quantity, location, mean, sd, ns, n_text, rounding) -> dict:
    reported = f"{mean} ± {sd}"
    ns = [n for n in ns if n >= 2]
    verdicts = {n: stats.grimmer(mean, sd, _places(mean), _places(sd), n, rounding) for n in ns}
    if not ns:
        return _row(study_id, quantity, location, reported, "grimmer", "not-checkable", f"an SD needs n >= 2; {n_text}")
    grim_ok = [n for n in ns if stats.grim(mean, _places(mean), n, rounding).consistent]
    if not grim_ok:
        return _row(study_id, quantity, location, reported, "grimmer", "not-checkable",
                    f"the mean fails GRIM for every n, so the SD cannot be tested on its own; {n_text}")
    if not any(verdicts[n].informative for n in grim_ok):
        return _row(study_id, quantity, location, reported, "grimmer", "not-checkable",
                    f"GRIMMER adds nothing to GRIM here: the rounding window of SD {sd} admits sums of squares "
                    f"of both parities for every n; {n_text}")
    passing = [n for n in grim_ok if verdicts[n].consistent]
    if len(ns) == 1:
        detail = verdicts[ns[0]].detail
    elif passing:
        detail = f"consistent ({rounding} rounding) with n = {', '.join(map(str, passing))}"
    else:
        detail = f"inconsistent ({rounding} rounding): no integer sum of squares gives SD {sd} with the mean's totals for any n"
    return _row(study_id, quantity, location, reported, "grimmer", "consistent" if passing else "inconsistent",
                f"{detail}; {n_text}")


def _max_sd(mean: float, n: int, low: float | None, high: float | None) -> float:
    """Largest sample SD of n values in [low, high] with this mean (Bhatia-Davis, one-sided analogues)."""
    bounds = []
    if low is not None:
        bounds.append((mean - low) ** 2 * n)  # one value high, the rest at the floor
    if high is not None:
        bounds.append((high - mean) ** 2 * n)
    if low is not None and high is not None:
        bounds.append((mean - low) * (high - mean) * n / (n - 1))
    return math.sqrt(max(min(bounds), 0.0))


def _scale_check(study_id, quantity, location, measure, mean, sd, ns, n_text) -> dict:
    low = float(measure["scale_min"]) if _present(measure.get("scale_min")) else None
    high = float(measure["scale_max"]) if _present(measure.get("scale_max")) else None
    scale = f"{'' if low is None else stats._show(low)}–{'' if high is None else stats._show(high)}"
    half = 0.5 * 10.0 ** -_places(mean)
    m_low, m_high = float(mean) - half, float(mean) + half
    reported = str(mean) if sd is None else f"{mean} ± {sd}"
    if (low is not None and m_high < low) or (high is not None and m_low > high):
        return _row(study_id, quantity, location, reported, "scale-bounds", "inconsistent",
                    f"mean {mean} lies outside the {scale} scale")
    detail = f"mean {mean} lies on the {scale} scale"
    if sd is None:
        return _row(study_id, quantity, location, reported, "scale-bounds", "consistent", detail)
    if ns is None:
        return _row(study_id, quantity, location, reported, "scale-bounds", "consistent",
                    f"{detail}; the SD cannot be bounded without n")
    candidates = [m for m in (m_low, m_high) if (low is None or m >= low) and (high is None or m <= high)]
    if low is not None and high is not None and m_low < (low + high) / 2 < m_high:
        candidates.append((low + high) / 2)
    candidates = candidates or [min(max(float(mean), low or -math.inf), high or math.inf)]
    largest = max(_max_sd(m, n, low, high) for m in candidates for n in ns if n >= 2) if max(ns) >= 2 else 0.0
    sd_low = float(sd) - 0.5 * 10.0 ** -_places(sd)
    fits = sd_low <= largest
    detail += (f"; SD {sd} {'is within' if fits else 'exceeds'} {largest:.3g}, the largest possible for that mean "
               f"on that scale with n up to {max(ns)}; {n_text}")
    return _row(study_id, quantity, location, reported, "scale-bounds", "consistent" if fits else "inconsistent", detail)


def _lattice_check(study_id, quantity, location, p, test, ns, n_text, rounding) -> dict:
    reported = f"p = {p}"
    if test != WILCOXON:
        return _row(study_id, quantity, location, reported, "wilcoxon-lattice", "not-checkable",
                    f"the test is {test or 'not named'}; only exact Wilcoxon signed-rank p-values are checked")
    if ns is None:
        return _row(study_id, quantity, location, reported, "wilcoxon-lattice", "not-checkable", n_text)
    decimals = _places(p)
    low, high = ns[0], ns[-1]
    matches = stats.wilcoxon_matches(p, decimals, range(1, high + 1), rounding)
    inside = [m for m in matches if low <= m[0] <= high]
    assumption = f"exact two-sided test, no tied differences, {rounding} rounding"
    if inside:
        shown = "; ".join(f"n = {n}, W = {w} (p = {stats._show(q, 6)})" for n, w, q in inside[:_LISTED])
        return _row(study_id, quantity, location, reported, "wilcoxon-lattice", "consistent",
                    f"reproduced by {shown} ({assumption}); {n_text}")
    if matches:
        shown = "; ".join(f"n = {n}, W = {w}" for n, w, _ in matches[-3:])
        return _row(study_id, quantity, location, reported, "wilcoxon-lattice", "consistent",
                    f"reproduced only with fewer non-zero differences than pairs ({shown}): possible if some "
                    f"changes were zero, which the test drops ({assumption}); {n_text}")
    lattice = sorted((abs(q - float(p)), q, n, w) for n in ns for w, q in stats.wilcoxon_pvalues(n).items())
    nearest = "; ".join(f"{stats._show(q, 6)} (n = {n}, W = {w})" for _, q, n, w in lattice[:2])
    more = stats.wilcoxon_matches(p, decimals, range(high + 1, high + _EXTRA_PAIRS + 1), rounding)
    needs = f"; it needs at least {more[0][0]} pairs (W = {more[0][1]})" if more else ""
    return _row(study_id, quantity, location, reported, "wilcoxon-lattice", "inconsistent",
                f"no exact p with up to {high} pairs rounds to {p} ({assumption}); nearest: {nearest}{needs}; {n_text}")


# --------------------------------------------------------------------------
# the same quantity in several places; parts and wholes


def _cross_place(study_id, quantity, items: list[tuple[str, Decimal | str]], rounding) -> dict | None:
    """One row comparing a quantity stated in two or more places, or None."""
    if len({location for location, _ in items}) < 2:
        return None
    reported = "; ".join(f"{value} ({location})" for location, value in items)
    locations = "; ".join(dict.fromkeys(location for location, _ in items))
    values = [value for _, value in items]
    if all(isinstance(v, Decimal) for v in values):
        coarsest = min(_places(v) for v in values)
        common = {stats.round_decimal(v, coarsest, rounding) for v in values}
        agree = len(common) == 1
        precision = f" at {coarsest} decimals" if len({_places(v) for v in values}) > 1 else ""
    else:
        agree, precision = len({str(v).strip().lower() for v in values}) == 1, ""
    if agree:
        detail = f"the same in all {len(items)} statements{precision}"
    else:
        detail = "differs: " + "; ".join(f"{location} says {value}" for location, value in items)
    return _row(study_id, quantity, locations, reported, "cross-place", "consistent" if agree else "inconsistent", detail)


def _cross_place_table(file, table, key, fields, label, rounding) -> Iterator[dict]:
    for keys, rows in table.groupby(["study_id", *key], sort=False, dropna=False):
        for column in fields:
            if column not in rows:
                continue
            items = [(r["location"], v) for _, r in rows.iterrows() if (v := _value(file, r, column)) is not None]
            row = _cross_place(keys[0], f"{label(rows.iloc[0])}: {column.replace('_', ' ')}", items, rounding)
            if row:
                yield row


def _value(file, row, column):
    try:
        return _number(file, row, column)
    except InputError:
        return _text(row.get(column)) or None  # a text fact compares as text


def _withdrawal_checks(package, studies, rounding) -> Iterator[dict]:
    table = package.withdrawals
    for (study_id, category), rows in table.groupby(["study_id", "reason_category"], sort=False):
        per_place = rows.groupby("location", sort=False)["count"].sum()
        items = [(location, Decimal(int(total))) for location, total in per_place.items()]
        row = _cross_place(study_id, f"withdrawals: {category}", items, rounding)
        if row:
            yield row
    for study_id, study in studies.items():
        completed = study.facts.get("completed")
        if not study.withdrawals or study.enrolled is None or completed is None:
            continue
        total = sum(c for c, _ in study.withdrawals)
        status = "consistent" if study.enrolled - total == completed else "inconsistent"
        yield _row(study_id, "withdrawals: all reasons", study.withdrawals_location, str(total), "withdrawals-total",
                   status, f"{study.enrolled} enrolled - {total} withdrawn = {study.enrolled - total}, "
                   f"{'the' if status == 'consistent' else 'not the'} {completed} stated to have completed")


def _subgroup_checks(package) -> Iterator[dict]:
    table = package.binary_outcomes
    key = ["study_id", "outcome", "timepoint_week", "location", "population"]
    for keys, rows in table.groupby(key, sort=False, dropna=False):
        whole = rows[rows["subgroup"].fillna("all") == "all"]
        parts = rows[(rows["subgroup"].fillna("all") != "all") & rows["count"].notna()]
        if whole.empty or parts.empty or whole["count"].isna().all():
            continue
        total = int(whole["count"].dropna().iloc[0])
        counts = [int(c) for c in parts["count"]]
        status = "consistent" if sum(counts) <= total else "inconsistent"
        names = ", ".join(f"{s} {c}" for s, c in zip(parts["subgroup"], counts))
        yield _row(keys[0], f"{_outcome_label(whole.iloc[0])}: subgroups", keys[3], f"{names}; all {total}",
                   "subgroup-sum", status,
                   f"subgroup counts add up to {sum(counts)}, {'within' if status == 'consistent' else 'more than'} "
                   f"the {total} of the whole")


def _summary_checks(package) -> Iterator[dict]:
    facts = package.study_facts
    for (study_id, subgroup), rows in facts.groupby(["study_id", facts["subgroup"].fillna("")], sort=False):
        values: dict[str, list[tuple[str, Decimal]]] = {}
        for _, row in rows.iterrows():
            value = _value("study_facts.csv", row, "value")
            if isinstance(value, Decimal):
                values.setdefault(row["fact"], []).append((row["location"], value))
        for fact, stated in values.items():
            base, _, statistic = fact.rpartition("_")
            if statistic not in ("mean", "median") or f"{base}_min" not in values or f"{base}_max" not in values:
                continue
            low, high = values[f"{base}_min"][0][1], values[f"{base}_max"][0][1]
            for location, value in stated:
                status = "consistent" if low <= value <= high else "inconsistent"
                yield _row(study_id, f"{fact}{' (' + subgroup + ')' if subgroup else ''}", location, str(value),
                           "summary-in-range", status,
                           f"{value} {'lies' if status == 'consistent' else 'does not lie'} within the stated range {low}-{high}")


# --------------------------------------------------------------------------
# the audit


def _outcome_label(row) -> str:
    parts = [_text(row.get("outcome")) or _text(row.get("event"))]
    for column in ("subgroup", "arm"):
        if _text(row.get(column)) not in ("", "all"):
            parts.append(f"({_text(row.get(column))})")
    if _present(row.get("timepoint_week")):
        parts.append(f"week {_week(row['timepoint_week'])}")
    if _text(row.get("population")):
        parts.append(f"[{_text(row.get('population'))}]")
    return " ".join(parts)


def _measure_label(row) -> str:
    return f"{row['measure']} week {_week(row['timepoint_week'])} ({_text(row.get('comparison')) or 'no comparison'})"


_REQUIRED = {
    "studies": ("study_id",),
    "study_facts": ("study_id", "fact", "value", "subgroup", "location"),
    "withdrawals": ("study_id", "reason_category", "count", "week", "location"),
    "binary_outcomes": ("study_id", "outcome", "subgroup", "timepoint_week", "count", "denominator", "percent",
                        "population", "location"),
    "continuous_outcomes": ("study_id", "measure", "timepoint_week", "comparison", "mean", "sd", "n", "p_value",
                            "test", "location"),
    "adverse_events": ("study_id", "event", "count", "denominator", "percent", "location"),
    "measures": ("measure", "value_type", "scale_min", "scale_max"),
}


def _check_package(package) -> None:
    for name, columns in _REQUIRED.items():
        table = getattr(package, name, None)
        if not isinstance(table, pd.DataFrame):
            raise InputError(f"{name}.csv: missing from the data package")
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise InputError(f"{name}.csv: missing column(s) {', '.join(missing)}")


def _continuous_checks(package, studies, rounding) -> Iterator[dict]:
    table = package.continuous_outcomes
    measures = package.measures.set_index("measure")
    last_week = table.groupby(["study_id", "measure", "comparison"], dropna=False)["timepoint_week"].transform("max")
    for index, row in table.iterrows():
        study = studies.get(row["study_id"]) or _Study(row["study_id"])
        if row["measure"] not in measures.index:
            raise InputError(f"continuous_outcomes.csv: {row.get('id', index)}: measure: {row['measure']!r} is not in measures.csv")
        measure = measures.loc[row["measure"]]
        mean = _number("continuous_outcomes.csv", row, "mean")
        sd = _number("continuous_outcomes.csv", row, "sd")
        p = _number("continuous_outcomes.csv", row, "p_value")
        stated = _whole("continuous_outcomes.csv", row, "n")
        if stated is None:
            # a pair's n, stated on the other row of the comparison, holds for both
            pair = table[(table["study_id"] == row["study_id"]) & (table["measure"] == row["measure"])
                         & (table["comparison"] == row["comparison"]) & table["n"].notna()]
            stated = int(pair["n"].iloc[0]) if not pair.empty else None
        ns, n_text = _n_values(study, stated, (row["timepoint_week"], last_week[index]))
        quantity, location, sid = _measure_label(row), row["location"], row["study_id"]
        if mean is not None and measure["value_type"] == "integer":
            yield (_grim_check(sid, quantity, location, mean, list(ns), n_text, rounding) if ns else
                   _row(sid, quantity, location, str(mean), "grim", "not-checkable", n_text))
            if sd is not None:
                yield (_grimmer_check(sid, quantity, location, mean, sd, list(ns), n_text, rounding) if ns else
                       _row(sid, quantity, location, f"{mean} ± {sd}", "grimmer", "not-checkable", n_text))
        if mean is not None and (_present(measure.get("scale_min")) or _present(measure.get("scale_max"))):
            yield _scale_check(sid, quantity, location, measure, mean, sd, list(ns) if ns else None, n_text)
        if p is not None:
            ns_pairs, pair_text = _n_values(study, stated, (last_week[index], last_week[index]))
            yield _lattice_check(sid, quantity, location, p, _text(row.get("test")),
                                 list(ns_pairs) if ns_pairs else None, pair_text, rounding)


def run_audit(package, rounding: str = "half-up") -> pd.DataFrame:
    """Run every applicable check over every number in the data package.

    Parameters
    ----------
    package : thalbook.data.DataPackage
        What :func:`thalbook.data.load` returns: one DataFrame per file, with
        the loader's ``<column>_decimals`` columns.
    rounding : {"half-up", "half-even"}
        The rounding convention every verdict assumes (and names).

    Returns
    -------
    pandas.DataFrame
        Exactly the columns :data:`COLUMNS`, one row per check, in the order of
        ``studies.csv``, then of the files and rows within a study.

    Raises
    ------
    InputError
        If the package lacks a table or column the audit reads, or a number
        cannot be read; the message names the file, row and column.
    """
    if rounding not in stats.ROUNDINGS:
        raise InputError(f"run_audit: rounding must be one of {', '.join(stats.ROUNDINGS)}, got {rounding!r}")
    _check_package(package)
    studies = _studies(package)

    def blank(study_id):
        return studies.get(study_id) or _Study(study_id)

    rows: list[dict] = []
    rows += _summary_checks(package)
    rows += _cross_place_table("study_facts.csv", package.study_facts, ["fact", "subgroup"], ["value"],
                               lambda r: f"{r['fact']}{' (' + _text(r['subgroup']) + ')' if _text(r['subgroup']) not in ('', 'all') else ''}",
                               rounding)
    rows += _withdrawal_checks(package, studies, rounding)
    for _, row in package.binary_outcomes.iterrows():
        study = blank(row["study_id"])
        n_max = study.in_study(row["timepoint_week"])
        rows += _proportion_checks(study, "binary_outcomes.csv", row, _outcome_label(row), rounding,
                                   population=_text(row.get("population")), n_max=n_max[1] if n_max else None)
    rows += _subgroup_checks(package)
    rows += _cross_place_table("binary_outcomes.csv", package.binary_outcomes,
                               ["outcome", "subgroup", "timepoint_week", "population"],
                               ["count", "denominator", "percent"], _outcome_label, rounding)
    rows += _continuous_checks(package, studies, rounding)
    rows += _cross_place_table("continuous_outcomes.csv", package.continuous_outcomes,
                               ["measure", "timepoint_week", "comparison"], ["mean", "sd", "n", "p_value"],
                               _measure_label, rounding)
    for _, row in package.adverse_events.iterrows():
        study = blank(row["study_id"])
        rows += _proportion_checks(study, "adverse_events.csv", row, f"adverse event: {row['event']}", rounding,
                                   n_max=study.enrolled)
    rows += _cross_place_table("adverse_events.csv", package.adverse_events, ["event"],
                               ["count", "denominator", "percent"], lambda r: f"adverse event: {r['event']}", rounding)
    context = getattr(package, "context_outcomes", None)
    if isinstance(context, pd.DataFrame):
        for _, row in context.iterrows():
            study = blank(row["study_id"])
            enrolled = _whole("context_outcomes.csv", row, "n_enrolled") if "n_enrolled" in row else None
            rows += _proportion_checks(study, "context_outcomes.csv", row, _outcome_label(row), rounding,
                                       n_max=enrolled or study.enrolled)

    audit = pd.DataFrame(rows, columns=list(COLUMNS))
    order = {study_id: i for i, study_id in enumerate(package.studies["study_id"])}
    position = audit["study"].map(order).fillna(len(order))
    return audit.iloc[position.argsort(kind="stable")].reset_index(drop=True)


def summarise(audit: pd.DataFrame) -> pd.DataFrame:
    """Count the checks by study and status.

    Examples
    --------
    >>> table = pd.DataFrame([["a", "consistent"], ["a", "inconsistent"]], columns=["study", "status"])
    >>> summarise(table)
    status  consistent  inconsistent  not-checkable
    study
    a                1             1              0
    """
    counts = pd.crosstab(audit["study"], audit["status"])
    return counts.reindex(columns=list(STATUSES), fill_value=0).rename_axis(columns="status")


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
    ...                        "consistent", "8/10 = 80% exactly"]], columns=COLUMNS)
    >>> print(format_audit(table, "csv"), end="")
    study,quantity,location,reported,check,status,detail
    wei2003,asas20,abstract,8/10 (80%),percent-to-count,consistent,8/10 = 80% exactly
    """
    if fmt not in FORMATS:
        raise InputError(f"format_audit: fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    audit = audit.loc[:, list(COLUMNS)]
    if fmt == "csv":
        return audit.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        return audit.to_json(orient="records", indent=2, force_ascii=False) + "\n"
    if audit.empty:
        return "no checks\n"
    return audit.to_string(index=False, justify="left", max_colwidth=None) + "\n"
