"""Every analytic choice at once: the headline outcomes under every combination of the book's parameters.

A multiverse analysis (Steegen et al. 2016) computes a result under every
defensible combination of choices instead of one; a specification curve
(Simonsohn et al. 2020) shows them sorted, with the choices marked below.
Here the choices are the interval method, the analysis set, the confidence
level (:data:`LEVELS`) and the rounding convention by which percentages
become counts, and the headline outcomes are clinical remission at weeks 8
and 12 (He et al.) and the ASAS20 response (Wei et al.). Everything runs in
one process from the same functions the chapters use; no book is built per
combination.

:func:`conclusions` then asks, for each outcome, which of two statements
hold under every specification and which depend on a choice: "the
estimate is above" and "the whole interval is above" one quarter, and one
half, of the patients.

Examples
--------
>>> from thalbook.core.evidence import data
>>> table = multiverse(data.load())
>>> len(table), table["outcome"].nunique()
(432, 3)
"""

from __future__ import annotations

import itertools

import pandas as pd

from thalbook.core import computed
from thalbook.core.analyses import cohort, efficacy, instruments
from thalbook.core.errors import InputError
from thalbook.core.evidence import data
from thalbook.core.inference import stats
from thalbook.core.vocabulary import ANALYSIS_SETS, CI_METHODS, ROUNDINGS

#: Confidence levels of the multiverse.
LEVELS = (0.8, 0.9, 0.95, 0.99)
#: The choices, in the order the specification curve marks them.
CHOICES = ("ci_method", "analysis_set", "confidence_level", "rounding")
#: The proportions the conclusions are stated against, with their names.
THRESHOLDS = {0.25: "one quarter", 0.5: "one half"}


def _varied(package) -> list[tuple[str, str, int, str]]:
    """(study, key, week, label) of each headline outcome the multiverse varies, in the studies' and rows' order.

    Those are the ``headline`` rows of ``appraisal.csv`` whose counts depend on the analysis set and the
    rounding: clinical remission and the ASAS20 response.
    """
    found = []
    for study in cohort.source_studies(package):
        name = efficacy.study_label(study, year=False)
        for head in instruments.headline(package, study):
            if head["key"] == "remission":
                found.append((study, "remission", head["week"], f"{name}: clinical remission, week {head['week']}"))
            elif head["key"] == efficacy.ASAS:
                week = efficacy.response_week(package, study)
                found.append((study, efficacy.ASAS, week, f"{name}: ASAS20 response, week {week}"))
    return found


def outcomes(package) -> dict[str, tuple[str, ...]]:
    """The headline outcomes the multiverse varies, by source study, as it labels them.

    Clinical remission at each week a ``headline`` row names, and the ASAS20
    response at the last visit.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> outcomes(data.load())
    {'he2017': ('He et al.: clinical remission, week 8', 'He et al.: clinical remission, week 12'), \
'wei2003': ('Wei et al.: ASAS20 response, week 24',)}
    """
    found: dict[str, tuple[str, ...]] = {}
    for study, _, _, label in _varied(package):
        found[study] = (*found.get(study, ()), label)
    return found


def _counts(package, analysis_set: str, rounding: str) -> dict[str, tuple[int, int] | str]:
    """Outcome -> (k, n) under one analysis set and rounding, or why it cannot be had."""
    found: dict[str, tuple[int, int] | str] = {}
    for study, key, week, label in _varied(package):
        if key == efficacy.ASAS:
            asas = efficacy.asas_by_analysis_set(package, study=study)
            r = asas[asas["outcome"].eq(efficacy.ASAS) & asas["analysis_set"].eq(analysis_set)].iloc[0]
            found[label] = (int(r["k"]), int(r["n"]))
            continue
        try:
            remission = efficacy.remission_table(package, analysis_set, rounding=rounding, study=study)
            found[label] = tuple(int(remission.set_index("week").loc[week, c]) for c in "kn")
        except InputError as error:  # a printed percentage no count reproduces under this rounding
            found[label] = str(error)
    return found


def multiverse(package) -> pd.DataFrame:
    """The headline outcomes under every combination of :data:`CHOICES`.

    The counts depend on the analysis set and the rounding only, and are
    found once for each pair; the intervals are then computed for every
    method and level (:func:`thalbook.core.inference.stats.proportion_ci`).

    Returns
    -------
    pandas.DataFrame
        One row per outcome and specification: ``outcome`` (label), the four
        choices, ``k, n, proportion, low, high``, and ``note``: empty, or why
        the specification cannot be computed (the counts of He et al. are
        inferred from printed percentages, and under some rounding
        conventions no whole count reproduces one of them).
        Computed once for the package's bytes (:mod:`thalbook.core.computed`):
        the appraisal chapter and the results package both show it.
    """
    return computed.once("multiverse", data.digest_of(package), lambda: _specifications(package)).copy()


def _specifications(package) -> pd.DataFrame:
    counts = {(s, r): _counts(package, s, r) for s, r in itertools.product(ANALYSIS_SETS, ROUNDINGS)}
    rows = []
    for ci_method, analysis_set, confidence_level, rounding in itertools.product(CI_METHODS, ANALYSIS_SETS, LEVELS,
                                                                                 ROUNDINGS):
        choice = {"ci_method": ci_method, "analysis_set": analysis_set, "confidence_level": confidence_level,
                  "rounding": rounding}
        for outcome, count in counts[(analysis_set, rounding)].items():
            if isinstance(count, str):
                rows.append({"outcome": outcome, **choice, "note": count})
                continue
            k, n = count
            low, high = stats.proportion_ci(k, n, ci_method, confidence_level)
            rows.append({"outcome": outcome, **choice, "k": k, "n": n, "proportion": k / n, "low": low,
                         "high": high, "note": ""})
    table = pd.DataFrame(rows)
    table[["k", "n"]] = table[["k", "n"]].astype("Int64")
    return table


def _depends_on(table: pd.DataFrame, column: str) -> list[str]:
    """The choices that change ``column`` (a boolean) when they alone change."""
    found = []
    for choice in CHOICES:
        others = [c for c in CHOICES if c != choice]
        if table.groupby(others)[column].nunique().gt(1).any():
            found.append(choice)
    return found


def conclusions(table: pd.DataFrame) -> pd.DataFrame:
    """For each outcome, whether "estimate above one half" and "interval above one half" hold everywhere.

    Returns
    -------
    pandas.DataFrame
        ``outcome, statement, holds`` (``everywhere``, ``nowhere`` or
        ``depends``), ``share`` (of the computable specifications where it
        holds) and ``depends_on`` (the choices that flip it alone,
        comma-separated). Specifications that cannot be computed are left out.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> found = conclusions(multiverse(data.load())).set_index(["outcome", "statement"])
    >>> found.loc[("Wei et al.: ASAS20 response, week 24", "the estimate is above one half"), "holds"]
    'everywhere'
    """
    computed = table[table["note"].eq("")]
    rows = []
    for outcome, part in computed.groupby("outcome", sort=False):
        for threshold, name in THRESHOLDS.items():
            checks = part.assign(estimate=part["proportion"] > threshold, interval=part["low"] > threshold)
            for column, statement in (("estimate", f"the estimate is above {name}"),
                                      ("interval", f"the whole interval is above {name}")):
                share = checks[column].mean()
                holds = "everywhere" if share == 1 else "nowhere" if share == 0 else "depends"
                rows.append((outcome, statement, holds, share, ", ".join(_depends_on(checks, column))))
    return pd.DataFrame(rows, columns=["outcome", "statement", "holds", "share", "depends_on"])
