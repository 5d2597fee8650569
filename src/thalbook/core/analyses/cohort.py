"""The one reader of study facts: who was enrolled, who left when, who is measurable at each visit.

Every module that needs a study's size, its stated facts or the patients
still in it at a visit asks here, so that the chapters, the efficacy tables
and the consistency audit read the papers the same way. One function per
question:

* :func:`source_studies` and :func:`source_study`: which studies the book
  re-analyses, and which of them reports an outcome;
* :func:`facts` and :func:`fact`: what a paper states of its study, as text
  or as a number; :func:`enrolled` and :func:`subgroup_sizes`: how many
  patients, in all and in each subgroup;
* :func:`study_accounts`: each study's enrolment and withdrawals, with
  :meth:`StudyAccount.in_study`, the patients still in the study at a week;
* :func:`patients_in_study`: that range for one study, or an error naming
  the file that lacks the enrolled total.

A missing fact is a problem of the data package (the user's), so it raises
:class:`~thalbook.core.errors.InputError` naming the file.

Examples
--------
>>> from thalbook.core.evidence import data
>>> pkg = data.load()
>>> source_study(pkg, "clinical_remission"), enrolled(pkg, "he2017")
('he2017', 47)
>>> study_accounts(pkg)["wei2003"].in_study(8)
(8, 10)
"""

from __future__ import annotations

import copy
import re
import weakref
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from thalbook.core.errors import InputError
from thalbook.core.evidence.data import (
    cell_text,
    is_stated,
    non_totals,
    reported_number,
    reported_number_or_text,
    reported_whole,
)
from thalbook.core.inference import stats

# --------------------------------------------------------------------------
# which study, and what its paper states of it


def source_studies(package, condition: str | None = None, reports: str | tuple[str, ...] = ()) -> list[str]:
    """The ids of the studies the book re-analyses (``role`` = ``source``), in the package's order.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    condition : str, optional
        Only the studies of this condition (``studies.csv``).
    reports : str or tuple of str, optional
        Only the studies whose results report one of these outcomes
        (``binary_outcomes.csv``) or measures (``continuous_outcomes.csv``).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> source_studies(data.load()), source_studies(data.load(), "as"), source_studies(data.load(), reports="asas20")
    (['he2017', 'wei2003'], ['wei2003'], ['wei2003'])
    """
    studies = package.studies
    chosen = studies["role"].eq("source")
    if condition is not None:
        chosen &= studies["condition"].eq(condition)
    if reports:
        names = {reports} if isinstance(reports, str) else set(reports)
        chosen &= studies["study_id"].isin(
            {*package.binary_outcomes.loc[package.binary_outcomes["outcome"].isin(names), "study_id"],
             *package.continuous_outcomes.loc[package.continuous_outcomes["measure"].isin(names), "study_id"]})
    return [str(s) for s in studies.loc[chosen, "study_id"]]


def source_study(package, reports: str | tuple[str, ...], study: str | None = None) -> str:
    """The source study whose results report an outcome or measure: ``study`` if given, else the only one.

    A package may hold several source studies that report the same outcome
    (a second record of a study, or a new study); an analysis of one of them
    then names it with ``study``.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    reports : str or tuple of str
        As for :func:`source_studies`.
    study : str, optional
        The study asked for; checked to be a source study reporting them.

    Raises
    ------
    InputError
        If no source study reports them, ``study`` does not, or several do
        and ``study`` is not given (the message names them).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> source_study(data.load(), "clinical_remission"), source_study(data.load(), ("basdai", "esr"))
    ('he2017', 'wei2003')
    """
    found = source_studies(package, reports=reports)
    wanted = reports if isinstance(reports, str) else " or ".join(sorted(reports))
    if study is not None:
        if study not in found:
            raise InputError(f"studies.csv: {study!r} is not a source study reporting {wanted} "
                             f"(those that do: {', '.join(found) or 'none'})")
        return study
    if len(found) != 1:
        raise InputError(f"studies.csv: expected one source study reporting {wanted}, found "
                         f"{len(found)} ({', '.join(found) or 'none'}); name one with study=")
    return found[0]


def facts(package, study_id: str) -> dict[str, str]:
    """The first stated value of each study-level fact of one study (subgroup facts left out).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> facts(data.load(), "wei2003")["enrolled"]
    '13'
    """
    table = package.study_facts
    rows = table[table["study_id"].eq(study_id) & table["subgroup"].isna()]
    return {fact: value for fact, value in rows.groupby("fact", sort=False)["value"].first().items()}


def fact(package, study_id: str, name: str) -> int | float:
    """A numeric study fact (e.g. ``enrolled``) as first stated, for the whole study.

    Whole numbers come back as ``int``, others as ``float``.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> fact(data.load(), "he2017", "endoscopy_n"), fact(data.load(), "wei2003", "significance_level")
    (32, 0.05)
    """
    facts = package.study_facts
    rows = facts[
        facts["study_id"].eq(study_id)
        & facts["fact"].eq(name)
        & facts["subgroup"].fillna("all").isin(["all", ""])
        & facts["value_number"].notna()
    ]
    if rows.empty:
        raise InputError(f"study_facts.csv: {study_id}: no numeric fact {name!r}")
    value = float(rows["value_number"].iloc[0])
    return int(value) if value.is_integer() else value


def enrolled(package, study_id: str) -> int:
    """Patients enrolled in a study, as its paper states it.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> enrolled(data.load(), "wei2003")
    13
    """
    value = facts(package, study_id).get("enrolled")
    if value is None:
        raise InputError(f"study_facts.csv: {study_id}: no 'enrolled' fact")
    return int(value)


def subgroup_sizes(package, study_id: str, name: str, subgroups) -> pd.Series:
    """The size of each of ``subgroups`` (fact ``name``), from the place of the paper that states the most of them.

    Returns
    -------
    pandas.Series
        Subgroup -> size (float, as loaded), in the order the place states them.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> subgroup_sizes(data.load(), "wei2003", "subtype_count", ["juvenile", "axial"]).to_dict()
    {'juvenile': 3.0, 'axial': 5.0}
    """
    table = package.study_facts
    sizes = table[table["study_id"].eq(study_id) & table["fact"].eq(name)]
    sizes = sizes[sizes["subgroup"].isin(subgroups)]
    location = sizes.groupby("location", sort=False)["subgroup"].nunique().idxmax()
    return sizes[sizes["location"].eq(location)].set_index("subgroup")["value_number"]


# --------------------------------------------------------------------------
# who was enrolled and who left when


def week_text(value) -> str:
    """A week as the book writes it in sentences (``8``, ``2.5``).

    Examples
    --------
    >>> week_text(8.0), week_text(2.5)
    ('8', '2.5')
    """
    return stats.short(value, 2)


@dataclass
class StudyAccount:
    """What a paper says of one study's patients: its sizes, visits, and who left when.

    ``facts`` holds the whole-number study-level facts as first stated
    (``enrolled``, ``completed``, ...); ``withdrawals`` one ``(count, week)``
    per stated withdrawal, from ``withdrawals_location``, the place of the
    paper they are read from. ``week`` is the week printed, or resolved from
    a timing printed relative to another withdrawal (each such reading is a
    sentence in ``readings``), or None when the paper gives no time at all.
    ``final_week`` is the last visit of the schedule the paper states (None
    when it states none): whoever withdrew is not among those measured there.
    """

    study_id: str
    facts: dict[str, int] = field(default_factory=dict)
    withdrawals: list[tuple[int, float | None]] = field(default_factory=list)
    withdrawals_location: str = ""
    readings: list[str] = field(default_factory=list)
    final_week: float | None = None

    @property
    def enrolled(self) -> int | None:
        return self.facts.get("enrolled")

    def in_study(self, week) -> tuple[int, int] | None:
        """Fewest and most patients still in the study and measurable at ``week`` (any week if empty).

        Everyone enrolled is there at baseline (week 0). At a later visit,
        withdrawals dated before it are out; those dated at the visit itself
        may have had it or not, and so may those of unstated time. At the
        final visit of the stated schedule nobody who withdrew is left:
        the completers are the enrolled less every withdrawal. None without
        an enrolled total.

        Examples
        --------
        >>> account = StudyAccount("x", {"enrolled": 13}, [(2, 2.0), (1, 3.0), (2, 8.0)], final_week=24.0)
        >>> account.in_study(8), account.in_study(24), account.in_study(0)
        ((8, 10), (8, 8), (13, 13))
        >>> StudyAccount("y", {"enrolled": 13}, [(2, 2.0), (1, None)]).in_study(24)
        (10, 11)
        """
        if self.enrolled is None:
            return None
        everyone = sum(c for c, _ in self.withdrawals)
        if not is_stated(week):
            return self.enrolled - everyone, self.enrolled
        if self.final_week is not None and week >= self.final_week:
            return self.enrolled - everyone, self.enrolled - everyone
        gone = sum(c for c, w in self.withdrawals if w is not None and w < week)
        maybe = sum(c for c, w in self.withdrawals if (w is None and week > 0) or w == week)
        return self.enrolled - gone - maybe, self.enrolled - gone

    def describe(self, week) -> str:
        """:meth:`in_study` in words, naming the place the withdrawals are read from and each reading."""
        low, high = self.in_study(week)
        span = str(low) if low == high else f"{low} to {high}"
        source = f" by the withdrawals in {self.withdrawals_location}" if self.withdrawals else ""
        undated = sum(c for c, w in self.withdrawals if w is None)
        caveat = (
            f" ({high} only if the {undated} withdrawal(s) of unstated time came after week {week_text(week)})"
            if undated and low < high
            else ""
        )
        readings = "".join(f"; {reading}" for reading in self.readings)
        at = f"still in the study at week {week_text(week)}"
        return f"{span} of {self.enrolled} enrolled {at}{source}{caveat}{readings}"


def _final_week(package, study_id: str) -> float | None:
    """The last week of the visit schedule a paper states (fact ``assessment_weeks``), or None."""
    weeks = facts(package, study_id).get("assessment_weeks")
    numbers = [float(w) for w in re.findall(r"\d+(?:\.\d+)?", weeks)] if weeks else []
    return max(numbers) if numbers else None


def resolved_week(rows: pd.DataFrame, row: pd.Series, seen: tuple[str, ...] = ()) -> tuple[float | None, str]:
    """The week a withdrawal happened, and the reading when it is printed relative to another one.

    ``rows`` are the withdrawals, indexed by ``id``; ``row`` one of them.
    ``relative_to`` names the withdrawal the printed timing counts from and
    ``offset_weeks`` how long after it; the reading adds the two, which is
    the plain sense of "1 week later" after withdrawals "after 2 weeks".
    """
    week = reported_number("withdrawals.csv", row, "week")
    if week is not None:
        return float(week), ""
    anchor_id = cell_text(row.get("relative_to"))
    if not anchor_id:
        return None, ""
    if anchor_id in seen or anchor_id not in rows.index:
        raise InputError(
            f"withdrawals.csv: {row['id']}: relative_to: {anchor_id!r} is no other withdrawal to count from"
        )
    anchor_week, _ = resolved_week(rows, rows.loc[anchor_id], (*seen, row["id"]))
    offset = reported_number("withdrawals.csv", row, "offset_weeks")
    if anchor_week is None or offset is None:
        return None, ""
    resolved = anchor_week + float(offset)
    reading = (
        f"'{cell_text(row['timing'])}' ({row['location']}) is read as {week_text(offset)} week(s) after the "
        f"withdrawal(s) at week {week_text(anchor_week)}, so week {week_text(resolved)}"
    )
    return resolved, reading


#: Each package's accounts, read once: a package is not changed after it is loaded (DataPackage).
_ACCOUNTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def study_accounts(package) -> dict[str, StudyAccount]:
    """What the papers say of each study's enrolment, visits and withdrawals, by study id.

    The audit uses it to bound the n behind a number at each week; the
    chapters use the same reading so that book and audit never disagree.
    Read once per package (the audit and the multiverse ask for it dozens of
    times); each call returns a copy of its own.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> account = study_accounts(data.load())["wei2003"]
    >>> account.enrolled, account.facts["completed"], account.withdrawals_location, account.final_week
    (13, 8, 'results', 24.0)
    >>> account.withdrawals
    [(2, 2.0), (1, 3.0), (2, 8.0)]
    """
    try:
        accounts = _ACCOUNTS.get(package)
    except TypeError:  # a stand-in for a package, which cannot be a key
        return _read_accounts(package)
    if accounts is None:
        accounts = _ACCOUNTS[package] = _read_accounts(package)
    return copy.deepcopy(accounts)


def _read_accounts(package) -> dict[str, StudyAccount]:
    studies = {study_id: StudyAccount(study_id) for study_id in package.studies["study_id"]}
    for _, row in package.study_facts.iterrows():
        value = reported_number_or_text("study_facts.csv", row, "value")
        if cell_text(row["subgroup"]) in ("", "all") and isinstance(value, Decimal) and value == int(value):
            studies.setdefault(row["study_id"], StudyAccount(row["study_id"])).facts.setdefault(
                row["fact"], int(value)
            )
    for study_id, study in studies.items():
        study.final_week = _final_week(package, study_id)
    every = package.withdrawals.set_index("id", drop=False)
    # Several places may list the same withdrawals: take the timing from the
    # one place that accounts for the most patients, with the most of them dated.
    for study_id, rows in non_totals(package.withdrawals).groupby("study_id", sort=False):
        dated = {row["id"]: resolved_week(every, row) for _, row in rows.iterrows()}

        def weight(item, dated=dated):
            counts = item[1]["count"].astype(float)
            return counts.sum(), counts[item[1]["id"].map(lambda i: dated[i][0] is not None)].sum()

        location, chosen = max(rows.groupby("location", sort=False), key=weight)
        study = studies.setdefault(study_id, StudyAccount(study_id))
        study.withdrawals_location = location
        for _, row in chosen.iterrows():
            week, reading = dated[row["id"]]
            study.withdrawals.append((reported_whole("withdrawals.csv", row, "count"), week))
            if reading:
                study.readings.append(reading)
    return studies


# --------------------------------------------------------------------------
# who is measurable at each visit


def patients_in_study(package, study_id: str, week) -> tuple[int, int]:
    """Fewest and most patients still in the study at ``week``, by the stated withdrawals.

    The same bound the consistency audit uses (:meth:`StudyAccount.in_study`):
    withdrawals before the week are out, those at the week or of unstated
    time may or may not be, and none is left at the final visit. Other
    losses that the paper does not report are not (and cannot be) counted.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> patients_in_study(data.load(), "he2017", 8)
    (42, 47)
    >>> patients_in_study(data.load(), "wei2003", 8)
    (8, 10)
    """
    studies = study_accounts(package)
    bound = studies[study_id].in_study(week) if study_id in studies else None
    if bound is None:
        raise InputError(f"study_facts.csv: {study_id}: no enrolled total to bound the patients in the study")
    return bound
