"""Efficacy results of the two source studies, as the tables the chapters show.

Each function reads the validated data package (:func:`thalbook.core.evidence.data.load`)
and returns a small, sorted pandas DataFrame built with :mod:`thalbook.core.inference.stats`
and :mod:`thalbook.core.auditing.checks`, reading the studies' sizes and withdrawals from
:mod:`thalbook.core.analyses.cohort`; the chapters glue values from these tables into
their prose and draw them with :mod:`thalbook.chapters.figures`. Nothing computed here
is stored: every count that a paper gives only as a percentage is inferred
again, with its candidates, each time (:mod:`thalbook.core.inference.counts`).

Analysis sets (the ``analysis_set`` parameter) for a binary outcome:

``itt``
    every enrolled patient is in the denominator; a patient without an
    assessment counts as a non-responder;
``reported``
    the denominator the paper used (inferred where the paper states none);
``complete-case``
    the patients assessed at that time point; where the paper does not say
    how many that was, the table keeps the count it can justify and gives the
    bound the stated withdrawals allow, labelled as such.

Each table is of the source study that reports its outcome
(:func:`thalbook.core.analyses.cohort.source_study`); where several source studies
report it, the ``study`` parameter names the one to analyse.

Examples
--------
>>> from thalbook.core.evidence import data
>>> pkg = data.load()
>>> remission_table(pkg, "itt").loc[lambda t: t.week == 8, ["k", "n"]].to_numpy().tolist()
[[11, 47]]
>>> endoscopy_table(pkg, "reported")[["outcome", "k", "n"]].to_numpy().tolist()
[['endoscopic_response', 13, 19], ['complete_endoscopic_remission', 14, 32], ['mucosal_healing', 9, 32]]
"""

from __future__ import annotations

import re

import pandas as pd

from thalbook.core.analyses.cohort import fact, patients_in_study, source_study, subgroup_sizes
from thalbook.core.errors import InputError
from thalbook.core.inference import stats
from thalbook.core.inference.counts import count_inference
from thalbook.core.vocabulary import ANALYSIS_SETS, AnalysisSet, CiMethod, Rounding

OUTCOME_LABELS = {
    "clinical_remission": "clinical remission",
    "endoscopic_response": "endoscopic response",
    "complete_endoscopic_remission": "complete endoscopic remission",
    "mucosal_healing": "mucosal healing",
    "asas20": "ASAS20 response",
    "asas40": "the paper's ASAS-40 (> 40% group)",
}
ENDOSCOPIC_OUTCOMES = ("endoscopic_response", "complete_endoscopic_remission", "mucosal_healing")
SUBTYPES = ("juvenile", "axial", "peripheral", "psoriatic")
SUBTYPE_LABELS = {
    "juvenile": "juvenile-onset AS",
    "axial": "axial AS",
    "peripheral": "AS with peripheral arthritis",
    "psoriatic": "AS with psoriasis",
}
#: The response outcomes the chapters lead with: clinical remission (Crohn's disease) and the ASAS20 response.
REMISSION, ASAS = "clinical_remission", "asas20"
#: CDAI below which a patient is in clinical remission (Best et al. 1976). The
#: Crohn's record does not restate it: the book assumes it.
CDAI_REMISSION_THRESHOLD = 150


# --------------------------------------------------------------------------
# small helpers


def checked_analysis_set(value: str) -> AnalysisSet:
    """``value`` as an :class:`AnalysisSet`, refused in words that name the argument.

    Examples
    --------
    >>> checked_analysis_set("per-protocol")
    Traceback (most recent call last):
    ...
    ValueError: analysis_set must be one of itt, reported, complete-case, got 'per-protocol'
    """
    try:
        return AnalysisSet(value)
    except ValueError:
        raise ValueError(f"analysis_set must be one of {', '.join(ANALYSIS_SETS)}, got {value!r}") from None


def study_label(study_id: str, year: bool = True) -> str:
    """``lazzerini2013`` -> ``Lazzerini et al. 2013``, or without the year (labels; all studies have co-authors).

    Examples
    --------
    >>> study_label("he2017"), study_label("he2017", year=False)
    ('He et al. 2017', 'He et al.')
    """
    match = re.fullmatch(r"([a-z]+)(\d{4})[a-z]?", study_id)
    if not match:
        raise ValueError(f"study_label: {study_id!r} is not a study id like he2017")
    return f"{match.group(1).capitalize()} et al." + (f" {match.group(2)}" if year else "")



def response_week(package, study: str, outcome: str = ASAS) -> int:
    """The week at which a study reports a response outcome: the latest of its rows (``binary_outcomes.csv``).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> response_week(data.load(), "wei2003")
    24
    """
    rows = package.binary_outcomes
    weeks = rows.loc[rows["study_id"].eq(study) & rows["outcome"].eq(outcome), "timepoint_week"].dropna()
    if weeks.empty:
        raise InputError(f"binary_outcomes.csv: {study}: no {outcome} row states its week")
    return int(weeks.max())


def interval(k: int, n: int, ci_method: CiMethod, confidence_level: float) -> tuple[float, float, float]:
    """``(proportion, low, high)`` of k/n with the chosen interval, as proportions.

    Examples
    --------
    >>> [round(x, 4) for x in interval(11, 47, "wilson", 0.95)]
    [0.234, 0.136, 0.3722]
    """
    low, high = stats.proportion_ci(k, n, ci_method, confidence_level)
    return k / n, low, high



# --------------------------------------------------------------------------
# Crohn's disease


def remission_table(
    package,
    analysis_set: AnalysisSet = AnalysisSet.ITT,
    ci_method: CiMethod = CiMethod.WILSON,
    confidence_level: float = 0.95,
    rounding: Rounding = Rounding.HALF_UP,
    study: str | None = None,
) -> pd.DataFrame:
    """Clinical remission at each reported week under one analysis set.

    The counts are inferred from the reported percentages of the 47 patients
    (:func:`thalbook.core.inference.counts.count_inference`). The paper reports the intention-to-treat rate
    only, so ``itt`` and ``reported`` agree. It does not say how many patients
    were assessed at each week: under ``complete-case`` the table keeps the
    count over all enrolled (``n``) and gives, as ``n_min`` and
    ``proportion_max``, the bound that the stated withdrawals allow (the
    patients who stopped for adverse events, at unstated times, all gone
    before that week). Other losses are not reported and not counted.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    analysis_set : {"itt", "reported", "complete-case"}
    ci_method : CiMethod
        Interval method (or its text).
    confidence_level : float
        Confidence level.
    rounding : {"half-up", "half-even"}

    Returns
    -------
    pandas.DataFrame
        One row per week: ``week, percent, analysis_set, k, n, proportion, low,
        high, n_min, proportion_max, basis``.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> t = remission_table(data.load(), "complete-case")
    >>> t[["week", "k", "n", "n_min"]].to_numpy().tolist()
    [[4, 7, 47, 42], [8, 11, 47, 42], [12, 22, 47, 42], [24, 25, 47, 42]]
    """
    analysis_set = checked_analysis_set(analysis_set)
    study = source_study(package, REMISSION, study)
    enrolled = fact(package, study, "enrolled")
    inferred = count_inference(package, study, [REMISSION], rounding)
    records = []
    for _, row in inferred.iterrows():
        k, stated = int(row["k"]), int(row["n"])
        n_min, n_max = patients_in_study(package, study, row["week"])
        if analysis_set == "itt":
            n, low_n, basis = enrolled, enrolled, f"{k} of the {enrolled} enrolled"
        elif analysis_set == "reported":
            n, low_n, basis = stated, stated, f"the paper's denominator, {stated} (intention to treat)"
        else:
            n, low_n = n_max, n_min
            basis = (
                f"not reported: {k} of {n_max} shown; if the patients who stopped for adverse events had "
                f"all left before week {row['week']}, {k} of {n_min}"
            )
        proportion, low, high = interval(k, n, ci_method, confidence_level)
        records.append(
            {
                "week": int(row["week"]),
                "percent": row["percent"],
                "analysis_set": analysis_set.value,  # plain text, as every reader of the table expects
                "k": k,
                "n": n,
                "proportion": proportion,
                "low": low,
                "high": high,
                "n_min": low_n,
                "proportion_max": k / low_n,
                "basis": basis,
            }
        )
    return pd.DataFrame.from_records(records).sort_values("week").reset_index(drop=True)


def remission_by_set(package, ci_method: CiMethod = CiMethod.WILSON, confidence_level: float = 0.95,
                     rounding: Rounding = Rounding.HALF_UP, study: str | None = None) -> pd.DataFrame:
    """:func:`remission_table` under every analysis set, stacked (sets in :data:`ANALYSIS_SETS` order).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> remission_by_set(data.load()).groupby("analysis_set", sort=False).size().to_dict()
    {'itt': 4, 'reported': 4, 'complete-case': 4}
    """
    return pd.concat([remission_table(package, s, ci_method, confidence_level, rounding, study) for s in ANALYSIS_SETS],
                     ignore_index=True)


def endoscopy_table(
    package,
    analysis_set: AnalysisSet = AnalysisSet.ITT,
    ci_method: CiMethod = CiMethod.WILSON,
    confidence_level: float = 0.95,
    rounding: Rounding = Rounding.HALF_UP,
    study: str | None = None,
) -> pd.DataFrame:
    """Endoscopic outcomes at week 24 under one analysis set, with best and worst cases.

    The paper gives percentages only. The counts and denominators are
    inferred among the patients endoscoped (:func:`thalbook.core.inference.counts.count_inference`); for
    endoscopic response, defined only for a baseline CDEIS of 6 or more, the
    inferred denominator is the number of those patients. ``reported`` and
    ``complete-case`` are these inferred denominators (the patients
    assessed); ``itt`` adds every enrolled patient without endoscopy to the
    denominator as a non-responder. For endoscopic response their baseline
    CDEIS is unknown, so they are all taken as eligible: the most the
    denominator can grow. The worst case is the ``itt`` numbers; the best
    case makes every patient without endoscopy a responder.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    analysis_set : {"itt", "reported", "complete-case"}
    ci_method, confidence_level, rounding
        As for :func:`remission_table`.

    Returns
    -------
    pandas.DataFrame
        One row per outcome (response, complete endoscopic remission, mucosal
        healing): ``outcome, label, percent, k_reported, n_reported,
        not_endoscoped, analysis_set, k, n, proportion, low, high, worst_k,
        worst_n, worst, best_k, best_n, best``.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> t = endoscopy_table(data.load(), "itt")
    >>> t[["k", "n", "best_k", "best_n"]].to_numpy().tolist()
    [[13, 34, 28, 34], [14, 47, 29, 47], [9, 47, 24, 47]]
    """
    analysis_set = checked_analysis_set(analysis_set)
    study = source_study(package, ENDOSCOPIC_OUTCOMES, study)
    missing = fact(package, study, "enrolled") - fact(package, study, "endoscopy_n")
    inferred = count_inference(package, study, ENDOSCOPIC_OUTCOMES, rounding)
    records = []
    for _, row in inferred.iterrows():
        k, n_rep = int(row["k"]), int(row["n"])
        k, n = (k, n_rep + missing) if analysis_set == "itt" else (k, n_rep)
        proportion, low, high = interval(k, n, ci_method, confidence_level)
        records.append(
            {
                "outcome": row["outcome"],
                "label": OUTCOME_LABELS[row["outcome"]],
                "percent": row["percent"],
                "k_reported": int(row["k"]),
                "n_reported": n_rep,
                "not_endoscoped": missing,
                "analysis_set": analysis_set.value,
                "k": k,
                "n": n,
                "proportion": proportion,
                "low": low,
                "high": high,
                "worst_k": int(row["k"]),
                "worst_n": n_rep + missing,
                "worst": int(row["k"]) / (n_rep + missing),
                "best_k": int(row["k"]) + missing,
                "best_n": n_rep + missing,
                "best": (int(row["k"]) + missing) / (n_rep + missing),
            }
        )
    return pd.DataFrame.from_records(records)


def endoscopy_by_set(package, ci_method: CiMethod = CiMethod.WILSON, confidence_level: float = 0.95,
                     rounding: Rounding = Rounding.HALF_UP, study: str | None = None) -> pd.DataFrame:
    """:func:`endoscopy_table` under every analysis set, stacked.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> t = endoscopy_by_set(data.load())
    >>> t[t.outcome == "mucosal_healing"][["analysis_set", "k", "n"]].to_numpy().tolist()
    [['itt', 9, 47], ['reported', 9, 32], ['complete-case', 9, 32]]
    """
    return pd.concat([endoscopy_table(package, s, ci_method, confidence_level, rounding, study) for s in ANALYSIS_SETS],
                     ignore_index=True)


# --------------------------------------------------------------------------
# ankylosing spondylitis: responses (the changes of its measures are in thalbook.core.analyses.changes)


def asas_by_analysis_set(package, ci_method: CiMethod = CiMethod.WILSON,
                         confidence_level: float = 0.95, study: str | None = None) -> pd.DataFrame:
    """ASAS20 and the paper's ASAS-40 under each analysis set, with intervals.

    ``reported`` is the paper's "among enrolled" denominator (10, although 13
    were enrolled), ``itt`` all 13 enrolled with the 5 who left counted as
    non-responders, ``complete-case`` the 8 who completed the trial (Table 2's
    "among completers").

    Returns
    -------
    pandas.DataFrame
        One row per outcome and set: ``outcome, label, analysis_set, k, n,
        proportion, low, high, basis``; outcomes ASAS20 then ASAS-40, sets in
        :data:`ANALYSIS_SETS` order.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> t = asas_by_analysis_set(data.load())
    >>> t[t.outcome == "asas20"][["analysis_set", "k", "n"]].to_numpy().tolist()
    [['itt', 8, 13], ['reported', 8, 10], ['complete-case', 8, 8]]
    """
    study = source_study(package, ASAS, study)
    enrolled, completed = fact(package, study, "enrolled"), fact(package, study, "completed")
    table = package.binary_outcomes
    basis = {
        "itt": f"all {enrolled} enrolled; the {enrolled - completed} who left count as non-responders",
        "complete-case": f"the {completed} who completed 24 weeks",
    }
    records = []
    for outcome in ("asas20", "asas40"):
        rows = table[
            table["study_id"].eq(study)
            & table["outcome"].eq(outcome)
            & table["subgroup"].eq("all")
            & table["count"].notna()
            & table["denominator"].notna()
            & ~table["population"].eq("completers")
        ]
        if rows.empty:
            raise InputError(f"binary_outcomes.csv: {study}: no {outcome} count with a denominator")
        count, denominator = int(rows["count"].iloc[0]), int(rows["denominator"].iloc[0])
        sets = stats.analysis_sets(count, denominator, enrolled, completed)
        for analysis_set in ANALYSIS_SETS:
            k, n = (int(x) for x in sets.loc[analysis_set, ["k", "n"]])
            proportion, low, high = interval(k, n, ci_method, confidence_level)
            records.append(
                {
                    "outcome": outcome,
                    "label": OUTCOME_LABELS[outcome],
                    "analysis_set": analysis_set,
                    "k": k,
                    "n": n,
                    "proportion": proportion,
                    "low": low,
                    "high": high,
                    "basis": basis.get(analysis_set, f"the paper's 'among enrolled' denominator, {denominator}"),
                }
            )
    return pd.DataFrame.from_records(records)


def response_by_subtype(package, study: str | None = None) -> pd.DataFrame:
    """Response categories at week 24 by disease subtype, as the results section and abstract give them.

    The subtype sizes are those of the place that lists every subtype (the
    results section); patients neither in the > 40% nor in the 20-40% group
    did not respond or left the trial (the paper does not say which subtype
    the 5 who left had).

    Returns
    -------
    pandas.DataFrame
        One row per subtype (:data:`SUBTYPES` order): ``subtype, label, n,
        gt40, from20to40, gt50_abstract, from20to50_abstract, responders,
        other``.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> response_by_subtype(data.load())[["subtype", "n", "gt40", "from20to40", "other"]].to_numpy().tolist()
    [['juvenile', 3, 2, 0, 1], ['axial', 5, 0, 2, 3], ['peripheral', 4, 1, 2, 1], ['psoriatic', 1, 1, 0, 0]]
    """
    study = source_study(package, ASAS, study)
    sizes = subgroup_sizes(package, study, "subtype_count", SUBTYPES)
    table = package.binary_outcomes
    ours = table[table["study_id"].eq(study) & table["count"].notna()]

    def counts(outcome: str) -> pd.Series:
        rows = ours[ours["outcome"].eq(outcome)]
        return rows.set_index("subgroup")["count"].reindex(list(SUBTYPES)).fillna(0).astype(int)

    gt40, mid = counts("improvement_gt40"), counts("improvement_20_to_40")
    gt50, mid50 = counts("improvement_gt50"), counts("improvement_20_to_50")
    records = []
    for subtype in SUBTYPES:
        n = int(sizes.get(subtype, 0))
        responders = int(gt40[subtype] + mid[subtype])
        records.append(
            {
                "subtype": subtype,
                "label": SUBTYPE_LABELS[subtype],
                "n": n,
                "gt40": int(gt40[subtype]),
                "from20to40": int(mid[subtype]),
                "gt50_abstract": int(gt50[subtype]),
                "from20to50_abstract": int(mid50[subtype]),
                "responders": responders,
                "other": n - responders,
            }
        )
    return pd.DataFrame.from_records(records)
