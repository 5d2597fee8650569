"""Adverse events and withdrawals of the two source studies.

Everything here is read from the data package and recomputed: no count is
typed. Three things need care with these papers:

* a count with no stated denominator gets an interval over the patients
  enrolled (every enrolled patient took thalidomide), and the table says that
  this denominator is assumed, never that it was reported;
* the AS paper counts its common side effects among the 8 completers: among
  all 13 treated the true count lies between the count and the count plus
  the 5 who left, which :func:`among_enrolled` gives;
* withdrawals are stated in several places of the AS paper that do not tell
  the same story; :func:`accounting_by_place` sets them side by side and
  :func:`as_accounting` follows the most detailed one, patient by patient.

Examples
--------
>>> among_enrolled(7, 8, 13)
(7, 12)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from thalbook.core.analyses import cohort
from thalbook.core.analyses.cohort import enrolled, facts
from thalbook.core.errors import InputError
from thalbook.core.evidence.data import non_totals
from thalbook.core.inference import stats

#: Withdrawal categories as the tables and the flow diagram name them.
CATEGORY_LABELS = {
    "adverse-event": "adverse event",
    "lack-of-efficacy": "lack of efficacy",
    "lost-to-follow-up": "lost to follow-up",
    "other": "other",
    "not-stated": "reason not stated",
}
ASSUMED_BASIS = "assumed: all enrolled"
STATED_BASIS = "stated"


# --------------------------------------------------------------------------
# reading reported numbers back as printed


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA


def printed(row: pd.Series, column: str) -> str:
    """A number of a loaded row as the paper printed it ('' if empty).

    The loader keeps ``<column>_decimals``, the digits after the point as
    written, so ``3.1`` stays ``3.1`` and ``80`` stays ``80``.

    Examples
    --------
    >>> printed(pd.Series({"percent": 57.4, "percent_decimals": 1.0}), "percent")
    '57.4'
    >>> printed(pd.Series({"count": 27.0, "count_decimals": 0.0}), "count")
    '27'
    """
    value = row.get(column)
    if not _present(value):
        return ""
    decimals = row.get(f"{column}_decimals")
    decimals = int(decimals) if _present(decimals) else 0
    return f"{float(value):.{decimals}f}"


def _flag(value) -> bool | None:
    return None if not _present(value) else bool(value)


def _int(value) -> int | None:
    return int(value) if _present(value) else None


def dose_text(package, study_id: str) -> str:
    """The thalidomide dose regimen of a study, in words, from its stated facts.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> dose_text(data.load(), "he2017")
    '50–100 mg/day'
    """
    f = facts(package, study_id)
    parts = []
    if "dose_mg_per_day_min" in f and "dose_mg_per_day_max" in f:
        parts.append(f"{f['dose_mg_per_day_min']}–{f['dose_mg_per_day_max']} mg/day")
    if "dose_mg_per_day_start" in f:
        weeks = f.get("dose_start_weeks")
        start = f"{f['dose_mg_per_day_start']} mg/day"
        parts.append(start + (f" for {weeks} week{'s' if weeks != '1' else ''}" if weeks else ""))
    if "dose_mg_per_day_maintenance" in f:
        weeks = f.get("dose_maintenance_weeks")
        regimen = f" ({f['maintenance_regimen']})" if "maintenance_regimen" in f else ""
        parts.append(
            f"then {f['dose_mg_per_day_maintenance']} mg/day{regimen}" + (f" for {weeks} weeks" if weeks else "")
        )
    if "bedtime_dose_mg" in f:
        parts.append(f"or {f['bedtime_dose_mg']} mg once at bedtime for daytime drowsiness")
    if not parts:
        return "not stated"
    return ", ".join(parts)


def among_enrolled(k: int, n: int, total: int) -> tuple[int, int]:
    """Fewest and most of ``total`` patients with an event counted as k of a subset of n.

    The patients outside the subset may all, or none, have had it.

    Raises
    ------
    ValueError
        Unless 0 <= k <= n <= total.
    """
    if not 0 <= k <= n <= total:
        raise ValueError(f"among_enrolled: need 0 <= k <= n <= total, got k={k}, n={n}, total={total}")
    return k, k + total - n


# --------------------------------------------------------------------------
# adverse events


def _reported(row: pd.Series) -> str:
    count, denominator, percent = (printed(row, c) for c in ("count", "denominator", "percent"))
    text = f"{count}/{denominator}" if count and denominator else count
    if percent:
        text = f"{text} ({percent}%)" if text else f"{percent}%"
    frequency = row.get("frequency")
    if _present(frequency):
        text = f"{text}, {frequency}" if text else str(frequency)
    return text


def adverse_events(package, ci_method: str = "wilson", confidence_level: float = 0.95) -> pd.DataFrame:
    """Every adverse-event statement of the source studies, with its denominator and interval.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    ci_method, confidence_level
        The interval for each proportion (:func:`thalbook.core.inference.stats.proportion_ci`).

    Returns
    -------
    pandas.DataFrame
        One row per statement, in the order of ``adverse_events.csv``:
        ``study, event, location, reported`` (as printed), ``k, n`` (the
        count and the denominator used; ``n`` is the enrolled total when the
        paper states none), ``basis`` (:data:`STATED_BASIS` or
        :data:`ASSUMED_BASIS`), ``low, high`` (the interval as proportions),
        ``enrolled_low, enrolled_high`` (the count among all enrolled when
        the stated denominator is a subset), ``severity, withdrawal,
        timing, is_total``. Rows with no count have no interval.
    """
    table = package.adverse_events
    sources = set(package.studies.loc[package.studies["role"].eq("source"), "study_id"])
    rows = []
    for _, row in table[table["study_id"].isin(sources)].iterrows():
        total = enrolled(package, row["study_id"])
        k, stated = _int(row["count"]), _int(row["denominator"])
        n, basis = (stated, STATED_BASIS) if stated is not None else (total, ASSUMED_BASIS)
        low = high = np.nan
        span = (np.nan, np.nan)
        if k is not None:
            low, high = stats.proportion_ci(k, n, ci_method, confidence_level)
            if stated is not None and stated < total:
                span = among_enrolled(k, stated, total)
        else:
            n, basis = None, ""
        withdrawal = _flag(row["led_to_withdrawal"])
        rows.append(
            {
                "study": row["study_id"],
                "event": row["event"],
                "location": row["location"],
                "reported": _reported(row),
                "k": k,
                "n": n,
                "basis": basis,
                "low": low,
                "high": high,
                "enrolled_low": span[0],
                "enrolled_high": span[1],
                "enrolled": total,
                "severity": row["severity"],
                "withdrawal": {True: "yes", False: "no", None: "not stated"}[withdrawal],
                "timing": row["timing"] if _present(row["timing"]) else "",
                "is_total": bool(row["is_total"]),
            }
        )
    return pd.DataFrame(rows)


def event_row(events: pd.DataFrame, study: str, event: str, location: str | None = None) -> pd.Series:
    """The row of :func:`adverse_events` for one event (at one place, if given).

    Raises
    ------
    InputError
        If there is no such row.
    """
    chosen = events[events["study"].eq(study) & events["event"].eq(event)]
    if location is not None:
        chosen = chosen[chosen["location"].eq(location)]
    if chosen.empty:
        raise InputError(f"adverse_events.csv: no row for {study} {event!r}" + (f" at {location}" if location else ""))
    return chosen.iloc[0]


def severe_events(events: pd.DataFrame, study: str) -> pd.DataFrame:
    """The rows of :func:`adverse_events` of one study that call a counted event severe.

    Rows with a count of zero ("no severe adverse events") are left out: they
    call nothing severe.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> severe = severe_events(adverse_events(data.load()), "wei2003")
    >>> len(severe), int(severe["k"].sum())
    (3, 5)
    """
    return events[events["study"].eq(study) & events["severity"].eq("severe") & events["k"].gt(0)]


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def adverse_event_table(events: pd.DataFrame, confidence_level: float) -> pd.DataFrame:
    """The rows of :func:`adverse_events` (of one study, say) as the chapter's table shows them (text).

    Columns: event, where stated, as reported, count used (with the range
    among all enrolled when the paper counted a subset), proportion and
    interval, and what else the paper says of the event.
    """
    level = f"{100 * confidence_level:g}%"
    out = []
    for _, e in events.iterrows():
        if pd.isna(e["k"]):
            interval = used = ""
        else:
            assumed = " (n assumed: all enrolled)" if e["basis"] == ASSUMED_BASIS else ""
            used = f"{int(e['k'])}/{int(e['n'])}{assumed}"
            interval = f"{_percent(e['k'] / e['n'])} ({_percent(e['low'])} to {_percent(e['high'])})"
            if not pd.isna(e["enrolled_low"]):
                used += f"; {int(e['enrolled_low'])} to {int(e['enrolled_high'])} of all {int(e['enrolled'])} enrolled"
        notes = [f"severity {e['severity']}" if e["severity"] != "not-stated" else "",
                 f"led to withdrawal: {e['withdrawal']}" if e["withdrawal"] != "not stated" else "",
                 e["timing"], "total of the rows below" if e["is_total"] else ""]
        out.append(
            {
                "event": e["event"],
                "where": e["location"],
                "as reported": e["reported"],
                "count used": used,
                f"proportion ({level} interval)": interval,
                "also stated": "; ".join(n for n in notes if n),
            }
        )
    return pd.DataFrame(out)


# --------------------------------------------------------------------------
# withdrawals


def accounting_by_place(package, study_id: str) -> pd.DataFrame:
    """How each place of a paper accounts for its withdrawals, by reason category.

    Returns
    -------
    pandas.DataFrame
        One row per place (in file order), one column per reason category
        present, ``withdrawn`` (their sum) and ``remaining`` (enrolled minus
        withdrawn).
    """
    table = non_totals(package.withdrawals)
    table = table[table["study_id"].eq(study_id)]
    if table.empty:
        raise InputError(f"withdrawals.csv: no withdrawals of {study_id}")
    counts = table.pivot_table(index="location", columns="reason_category", values="count", aggfunc="sum",
                               fill_value=0, sort=False)
    counts = counts.reindex(list(dict.fromkeys(table["location"]))).astype(int)
    counts.columns = [CATEGORY_LABELS.get(c, c) for c in counts.columns]
    counts["withdrawn"] = counts.sum(axis=1)
    counts["remaining"] = enrolled(package, study_id) - counts["withdrawn"]
    counts.index.name = "place"
    return counts.reset_index()


def as_accounting(package, study_id: str) -> pd.DataFrame:
    """Who left a study, when and why, step by step, from its most detailed place.

    The place chosen is the one stating the most withdrawal rows with a
    timing; its rows are taken in the paper's order, which is the order of
    events the paper narrates.

    Returns
    -------
    pandas.DataFrame
        ``step`` (1, 2, ...), ``when`` (week or timing as written), ``week``
        (number or NaN), ``left``, ``reason``, ``category``, ``remaining``
        (patients still in the study after the step) and ``location``.
    """
    table = non_totals(package.withdrawals)
    table = table[table["study_id"].eq(study_id)]
    if table.empty:
        raise InputError(f"withdrawals.csv: no withdrawals of {study_id}")
    timed = table.assign(timed=table["week"].notna() | table["timing"].notna())
    location = timed.groupby("location", sort=False)["timed"].sum().idxmax()
    chosen = table[table["location"].eq(location)]
    every = package.withdrawals.set_index("id", drop=False)
    remaining = enrolled(package, study_id)
    rows = []
    for step, (_, row) in enumerate(chosen.iterrows(), start=1):
        remaining -= int(row["count"])
        week = row["week"]
        if _present(week):
            when = f"week {printed(row, 'week')}"
        elif _present(row["timing"]):
            # Printed relative to another withdrawal: the reading the cohort and the audit use, said as one.
            resolved, _ = cohort.resolved_week(every, every.loc[row["id"]])
            when = (f"'{row['timing']}' (read as week {cohort.week_text(resolved)})" if resolved is not None
                    else f"'{row['timing']}' (week not stated)")
        else:
            when = "not stated"
        rows.append({"step": step, "when": when, "week": week, "left": int(row["count"]), "reason": row["reason"],
                     "category": CATEGORY_LABELS.get(row["reason_category"], row["reason_category"]),
                     "remaining": remaining, "location": location})
    return pd.DataFrame(rows)


def ae_withdrawals(package, ci_method: str = "wilson", confidence_level: float = 0.95) -> pd.DataFrame:
    """Withdrawals for adverse events in each source study, beside its dose.

    Where places of one paper state different totals, the largest is used
    and ``places`` lists what each says.

    Returns
    -------
    pandas.DataFrame
        ``study, dose, duration, enrolled, k, low, high, places``.
    """
    sources = package.studies.loc[package.studies["role"].eq("source"), "study_id"]
    table = non_totals(package.withdrawals)
    table = table[table["reason_category"].eq("adverse-event")]
    rows = []
    for study_id in sources:
        mine = table[table["study_id"].eq(study_id)]
        if mine.empty:
            continue
        by_place = mine.groupby("location", sort=False)["count"].sum().astype(int)
        k, n = int(by_place.max()), enrolled(package, study_id)
        low, high = stats.proportion_ci(k, n, ci_method, confidence_level)
        f = facts(package, study_id)
        weeks = package.binary_outcomes.loc[package.binary_outcomes["study_id"].eq(study_id), "timepoint_week"]
        duration = (f"{f['duration_months']} months" if "duration_months" in f
                    else f"outcomes reported to week {int(weeks.max())}" if len(weeks) else "not stated")
        rows.append({"study": study_id, "dose": dose_text(package, study_id), "duration": duration, "enrolled": n,
                     "k": k, "low": low, "high": high,
                     "places": "; ".join(f"{place}: {count}" for place, count in by_place.items())})
    return pd.DataFrame(rows)


def context_ae_withdrawals(package, ci_method: str = "wilson", confidence_level: float = 0.95) -> pd.DataFrame:
    """Withdrawals for adverse events reported by the context studies (for comparison only).

    Returns
    -------
    pandas.DataFrame
        ``study, dose, duration, enrolled, k, low, high, places``, as
        :func:`ae_withdrawals`; ``enrolled`` is the stated denominator.
    """
    table = package.context_outcomes
    rows = []
    for _, row in table[table["outcome"].eq("withdrawal_adverse_event")].iterrows():
        k, n = _int(row["count"]), _int(row["denominator"])
        if k is None or n is None:
            continue
        low, high = stats.proportion_ci(k, n, ci_method, confidence_level)
        rows.append({"study": row["study_id"], "dose": row["dose"], "duration": row["timepoint"] or "not stated",
                     "enrolled": n, "k": k, "low": low, "high": high, "places": row["location"]})
    return pd.DataFrame(rows, columns=["study", "dose", "duration", "enrolled", "k", "low", "high", "places"])
