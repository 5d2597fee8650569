"""The counts behind the percentages a paper prints without them.

A percentage such as "43.8%" comes from some k out of some n; which ones, the
paper may not say. :func:`count_inference` lists every k/n that rounds to the
printed value, among the denominators the paper allows, and picks the one
the book uses (and why); :func:`rounding_changes` says how many of those
counts another rounding convention would change. Nothing inferred is stored:
the efficacy tables (:mod:`thalbook.core.analyses.efficacy`) infer the counts again,
with their candidates, each time.

Examples
--------
>>> from thalbook.core.evidence import data
>>> count_inference(data.load(), "he2017", ["mucosal_healing"])[["percent", "k", "n"]].to_numpy().tolist()
[['28.1', 9, 32]]
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from thalbook.core.analyses.cohort import fact
from thalbook.core.errors import InputError
from thalbook.core.evidence.data import printed
from thalbook.core.inference import granularity

#: Study fact holding the size of a set a source row is labelled with.
_SET_FACTS = {"itt": "enrolled", "enrolled": "enrolled", "endoscopy": "endoscopy_n", "completers": "completed"}


def count_inference(package, study_id: str, outcomes: Iterable[str], rounding: str = "half-up") -> pd.DataFrame:
    """Every count k/n that reproduces each percentage a paper reports without a count.

    For a row with a stated denominator only that n is tried; otherwise
    every n up to the size of the set the row is labelled with (e.g. the 32
    patients endoscoped), or the enrolled total. The count used is the
    candidate whose n is the size of that set if there is one, else the only
    candidate; several candidates and no such n is an error.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    study_id : str
    outcomes : iterable of str
        Outcomes of ``binary_outcomes.csv`` (whole-study rows only).
    rounding : {"half-up", "half-even"}
        Rounding convention the percentage is assumed to follow.

    Returns
    -------
    pandas.DataFrame
        One row per (outcome, week), in the order of ``outcomes`` then week:
        ``outcome, week, percent`` (text as printed), ``stated_n``,
        ``searched`` (which n were tried), ``candidates`` (list of (k, n)),
        ``k, n`` (the count used) and ``reason``.

    Raises
    ------
    InputError
        If no candidate, or several and none of the set's size, reproduce a
        percentage; the message names the row.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> t = count_inference(data.load(), "he2017", ["complete_endoscopic_remission"])
    >>> t.loc[0, "candidates"], t.loc[0, ["k", "n"]].tolist()
    ([(7, 16), (14, 32)], [14, 32])
    """
    outcomes = tuple(outcomes)
    table = package.binary_outcomes
    rows = table[
        table["study_id"].eq(study_id)
        & table["outcome"].isin(outcomes)
        & table["subgroup"].fillna("all").eq("all")
        & table["percent"].notna()
        & table["count"].isna()
    ]
    records = []
    for _, row in rows.iterrows():
        decimals = int(row["percent_decimals"])
        population = row["population"] if isinstance(row["population"], str) else ""
        size = fact(package, study_id, _SET_FACTS[population]) if population in _SET_FACTS else None
        if not pd.isna(row["denominator"]):
            stated = int(row["denominator"])
            found = granularity.percent_to_counts(row["percent"], decimals, n=stated, rounding=rounding)
            searched = f"n = {stated} (stated)"
        else:
            stated = None
            bound = size or fact(package, study_id, "enrolled")
            found = granularity.percent_to_counts(row["percent"], decimals, n_max=bound, rounding=rounding)
            searched = f"n = 1 to {bound}" + (f" (the {population} set)" if size else " (enrolled)")
        at_size = [c for c in found if size is not None and c[1] == size]
        if len(found) == 1:
            chosen = found[0]
            reason = "the stated denominator" if stated is not None else "the only candidate"
        elif len(at_size) == 1:
            chosen = at_size[0]
            reason = f"n = the {population} set"
        else:
            raise InputError(
                f"binary_outcomes.csv: {row['id']}: {printed(row['percent'], decimals)}% is reproduced by "
                f"{found or 'no k/n'}; cannot choose a count"
            )
        records.append(
            {
                "outcome": row["outcome"],
                "week": int(row["timepoint_week"]),
                "percent": printed(row["percent"], decimals),
                "stated_n": stated,
                "searched": searched,
                "candidates": found,
                "k": chosen[0],
                "n": chosen[1],
                "reason": reason,
            }
        )
    result = pd.DataFrame.from_records(
        records, columns=["outcome", "week", "percent", "stated_n", "searched", "candidates", "k", "n", "reason"]
    )
    order = {o: i for i, o in enumerate(outcomes)}
    result = result.sort_values(["outcome", "week"], key=lambda s: s.map(order) if s.name == "outcome" else s)
    return result.reset_index(drop=True)


def rounding_changes(package, study_id: str, outcomes: Iterable[str], rounding: str = "half-even") -> int:
    """How many of the counts :func:`count_inference` uses another rounding convention would change.

    The counts behind printed percentages are inferred assuming that halves
    were rounded up; this is the number of those counts (k or n) that differ
    when the percentages are assumed rounded by ``rounding`` instead.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    study_id : str
    outcomes : iterable of str
        As for :func:`count_inference`.
    rounding : {"half-up", "half-even"}

    Returns
    -------
    int
        From 0 to the number of percentages inferred.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> outcomes = ["clinical_remission", "endoscopic_response", "complete_endoscopic_remission", "mucosal_healing"]
    >>> rounding_changes(data.load(), "he2017", outcomes)
    0
    """
    outcomes = tuple(outcomes)
    assumed = count_inference(package, study_id, outcomes)[["k", "n"]]
    other = count_inference(package, study_id, outcomes, rounding)[["k", "n"]]
    return int(assumed.ne(other).any(axis=1).sum())
