"""Efficacy results of the two source studies, as the tables the chapters show.

Each function reads the validated data package (:func:`thalbook.core.data.load`)
and returns a small, sorted pandas DataFrame built with :mod:`thalbook.core.stats`
and :mod:`thalbook.core.audit`, reading the studies' sizes and withdrawals from
:mod:`thalbook.core.cohort`; the chapters glue values from these tables into
their prose and draw them with :mod:`thalbook.chapters.figures`. Nothing computed here
is stored: every count that a paper gives only as a percentage is inferred
again, with its candidates, each time (:mod:`thalbook.core.counts`).

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
(:func:`thalbook.core.cohort.source_study`); where several source studies
report it, the ``study`` parameter names the one to analyse.

Examples
--------
>>> from thalbook.core import data
>>> pkg = data.load()
>>> remission_table(pkg, "itt").loc[lambda t: t.week == 8, ["k", "n"]].to_numpy().tolist()
[[11, 47]]
>>> endoscopy_table(pkg, "reported")[["outcome", "k", "n"]].to_numpy().tolist()
[['endoscopic_response', 13, 19], ['complete_endoscopic_remission', 14, 32], ['mucosal_healing', 9, 32]]
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from thalbook.core import audit, cohort, stats
from thalbook.core.cohort import fact, patients_in_study, source_studies, source_study, subgroup_sizes
from thalbook.core.counts import count_inference
from thalbook.core.data import printed
from thalbook.core.errors import InputError
from thalbook.core.statement_checks import reconciled_count
from thalbook.core.vocabulary import ANALYSIS_SETS, SET_NAMES, AnalysisSet, CiMethod, Rounding

OUTCOME_LABELS = {
    "clinical_remission": "clinical remission",
    "endoscopic_response": "endoscopic response",
    "complete_endoscopic_remission": "complete endoscopic remission",
    "mucosal_healing": "mucosal healing",
    "asas20": "ASAS20 response",
    "asas40": "the paper's ASAS-40 (> 40% group)",
}
ENDOSCOPIC_OUTCOMES = ("endoscopic_response", "complete_endoscopic_remission", "mucosal_healing")
AS_MEASURES = ("basdai", "basfi", "basg", "esr", "crp", "iga")
CLINICAL_MEASURES = ("basdai", "basfi", "basg")
LABORATORY_MEASURES = ("esr", "crp", "iga")
SUBTYPES = ("juvenile", "axial", "peripheral", "psoriatic")
SUBTYPE_LABELS = {
    "juvenile": "juvenile-onset AS",
    "axial": "axial AS",
    "peripheral": "AS with peripheral arthritis",
    "psoriatic": "AS with psoriasis",
}
#: The response outcomes the chapters lead with: clinical remission (Crohn's disease) and the ASAS20 response.
REMISSION, ASAS = "clinical_remission", "asas20"
#: Context outcomes that are efficacy outcomes comparable in kind with a source study's response outcome.
CONTEXT_OUTCOMES = {
    REMISSION: ("clinical_remission",),
    ASAS: ("improvement_gt20_4_of_7", "basdai_and_pain_improvement_gt50"),
}
#: The study facts naming the weeks at which clinical remission is a headline outcome, and whose choice each is.
REMISSION_WEEKS = {"primary_endpoint_week": "the paper: its primary outcome",
                   "suggested_optimal_induction_week": "the book: the week the authors' conclusion calls optimal"}
#: Correlations between baseline and follow-up values assumed for the paired-t bounds.
CORRELATIONS = stats.DEFAULT_CORRELATIONS
#: A correlation between a patient's baseline and follow-up values that repeated measures of the same
#: patients commonly reach: an assumption, shown beside r = 0 (the widest interval for any r >= 0).
TYPICAL_CORRELATION = 0.8
#: CDAI below which a patient is in clinical remission (Best et al. 1976). The
#: Crohn's record does not restate it: the book assumes it.
CDAI_REMISSION_THRESHOLD = 150


# --------------------------------------------------------------------------
# small helpers


def _analysis_set(value: str) -> AnalysisSet:
    """``value`` as an :class:`AnalysisSet`, refused in words that name the argument.

    Examples
    --------
    >>> _analysis_set("per-protocol")
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



def remission_weeks(package, study: str) -> dict[int, str]:
    """The weeks at which a study's clinical remission is a headline outcome, with whose choice each is.

    Examples
    --------
    >>> from thalbook.core import data
    >>> remission_weeks(data.load(), "he2017")
    {8: 'the paper: its primary outcome', 12: "the book: the week the authors' conclusion calls optimal"}
    """
    stated = cohort.facts(package, study)
    return {int(float(stated[name])): chosen for name, chosen in REMISSION_WEEKS.items() if name in stated}


def response_week(package, study: str, outcome: str = ASAS) -> int:
    """The week at which a study reports a response outcome: the latest of its rows (``binary_outcomes.csv``).

    Examples
    --------
    >>> from thalbook.core import data
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
    (:func:`thalbook.core.counts.count_inference`). The paper reports the intention-to-treat rate
    only, so ``itt`` and ``reported`` agree. It does not say how many patients
    were assessed at each week: under ``complete-case`` the table keeps the
    count over all enrolled (``n``) and gives, as ``n_min`` and
    ``proportion_max``, the bound that the stated withdrawals allow (the
    patients who stopped for adverse events, at unstated times, all gone
    before that week). Other losses are not reported and not counted.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
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
    >>> from thalbook.core import data
    >>> t = remission_table(data.load(), "complete-case")
    >>> t[["week", "k", "n", "n_min"]].to_numpy().tolist()
    [[4, 7, 47, 42], [8, 11, 47, 42], [12, 22, 47, 42], [24, 25, 47, 42]]
    """
    analysis_set = _analysis_set(analysis_set)
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
    >>> from thalbook.core import data
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
    inferred among the patients endoscoped (:func:`thalbook.core.counts.count_inference`); for
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
    package : thalbook.core.data.DataPackage
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
    >>> from thalbook.core import data
    >>> t = endoscopy_table(data.load(), "itt")
    >>> t[["k", "n", "best_k", "best_n"]].to_numpy().tolist()
    [[13, 34, 28, 34], [14, 47, 29, 47], [9, 47, 24, 47]]
    """
    analysis_set = _analysis_set(analysis_set)
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
    >>> from thalbook.core import data
    >>> t = endoscopy_by_set(data.load())
    >>> t[t.outcome == "mucosal_healing"][["analysis_set", "k", "n"]].to_numpy().tolist()
    [['itt', 9, 47], ['reported', 9, 32], ['complete-case', 9, 32]]
    """
    return pd.concat([endoscopy_table(package, s, ci_method, confidence_level, rounding, study) for s in ANALYSIS_SETS],
                     ignore_index=True)


# --------------------------------------------------------------------------
# ankylosing spondylitis


def _stated_n(table: pd.DataFrame, measure: str, comparison: str) -> tuple[int, str] | None:
    rows = table[table["measure"].eq(measure) & table["comparison"].eq(comparison) & table["n"].notna()]
    if rows.empty:
        return None
    return int(rows["n"].iloc[0]), str(rows["location"].iloc[0])


def as_outcomes_table(
    package,
    confidence_level: float = 0.95,
    rounding: Rounding = Rounding.HALF_UP,
    audit_table: pd.DataFrame | None = None,
    correlations=CORRELATIONS,
    location: str = "results",
    study: str | None = None,
) -> pd.DataFrame:
    """BASDAI, BASFI, BAS-G, ESR, CRP and IgA: reported means, change, p-values and paired-t bounds.

    One row per comparison the paper reports (week 24 vs baseline for every
    measure, week 8 vs baseline for BASDAI and ESR, each with its own
    baseline), from the place that gives mean and SD (the results section).

    The number of pairs: as stated for the comparison anywhere in the paper
    (Figure 1 and 2 captions: the 8 completers); at the end of the trial
    otherwise the patients stated to have completed it (Figure 2's caption
    describes the secondary measures of the 8 completers); at an earlier week
    the range of patients still in the study by the withdrawal timing
    (:func:`thalbook.core.cohort.patients_in_study`).

    The paired t-test needs the SD of the changes, which the paper does not
    give: ``t_p_min`` and ``t_p_max`` bound its two-sided p over the assumed
    correlations and the range of n (:func:`thalbook.core.stats.paired_t_bounds`),
    and ``r_needed`` is the smallest correlation (in steps of 0.01) giving p
    below the paper's significance level (``alpha``) at the smallest n. ``change_low`` and ``change_high`` are the
    t interval of the mean change at ``confidence_level`` with correlation 0 and the
    smallest n: the widest for any non-negative correlation.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
    confidence_level : float
        Confidence level of the interval of the change.
    rounding : {"half-up", "half-even"}
        For the Wilcoxon lattice and the audit.
    audit_table : pandas.DataFrame, optional
        :func:`thalbook.core.audit.run_audit` output with the same rounding (run if not given).
    correlations : sequence of float
        Assumed baseline/follow-up correlations.
    location : str
        The place the means and SDs are read from.

    Returns
    -------
    pandas.DataFrame
        ``measure, label, unit, comparison, week, baseline, followup`` (text
        as printed, mean ± SD), ``baseline_mean, baseline_sd, followup_mean,
        followup_sd, change, change_percent, change_low, change_high, n_min,
        n_max, n_basis, p_reported, p_text, lattice, matches`` (the (n, W,
        exact p) within the n range), ``audit_status,
        audit_detail, t_p_min, t_p_max, r_needed, alpha``.

    Examples
    --------
    >>> from thalbook.core import data
    >>> t = as_outcomes_table(data.load())
    >>> t.loc[t.measure == "basfi", ["week", "n_min", "lattice"]].to_numpy().tolist()
    [[24, 8, 'n = 8, W = 0 (p = 0.0078125)']]
    """
    study = source_study(package, AS_MEASURES, study)
    table = package.continuous_outcomes[package.continuous_outcomes["study_id"].eq(study)]
    measures = package.measures.drop_duplicates("measure").set_index("measure")
    if audit_table is None:
        audit_table = audit.run_audit(package, rounding)
    completed = fact(package, study, "completed")
    alpha = fact(package, study, "significance_level")
    last_week = int(table["timepoint_week"].max())
    here = table[table["location"].eq(location)]
    records = []
    for (measure, comparison), rows in here.groupby(["measure", "comparison"], sort=False):
        base = rows[rows["timepoint_week"].eq(0)]
        follow = rows[rows["timepoint_week"].gt(0)]
        if len(base) != 1 or len(follow) != 1:
            raise InputError(
                f"continuous_outcomes.csv: {study} {measure} {comparison}: expected one pair at {location}"
            )
        base, follow = base.iloc[0], follow.iloc[0]
        week = int(follow["timepoint_week"])
        stated = _stated_n(table, measure, comparison)
        if stated is not None:
            n_min = n_max = stated[0]
            n_basis = f"{stated[0]}, stated in the {stated[1]}"
        elif week == last_week:
            n_min = n_max = completed
            n_basis = f"{completed}, the patients who completed the trial (not stated for this measure)"
        else:
            n_min, n_max = patients_in_study(package, study, week)
            n_basis = f"not stated: {n_min} to {n_max} still in the study at week {week}"
        mb, sb, ma, sa = (float(x) for x in (base["mean"], base["sd"], follow["mean"], follow["sd"]))
        p_text = printed(follow["p_value"], follow["p_value_decimals"])
        matches = stats.wilcoxon_matches(p_text, int(follow["p_value_decimals"]), range(1, n_max + 1), rounding)
        inside = [m for m in matches if m[0] >= n_min]
        shown = inside or matches
        lattice = "; ".join(f"n = {n}, W = {w} (p = {q:g})" for n, w, q in shown) or (
            f"no exact p with up to {n_max} pairs rounds to it")
        if shown and not inside:
            lattice = f"only with fewer non-zero changes: {lattice}"
        verdict = audit_table[
            audit_table["study"].eq(study)
            & audit_table["subject"].eq(measure)
            & audit_table["week"].eq(str(week))
            & audit_table["comparison"].eq(comparison)
            & audit_table["location"].eq(location)
            & audit_table["check"].eq("wilcoxon-lattice")
        ]
        bounds = pd.concat(
            [stats.paired_t_bounds(mb, sb, ma, sa, n, correlations).assign(n=n) for n in range(n_min, n_max + 1)]
        )
        fine = stats.paired_t_bounds(mb, sb, ma, sa, n_min, np.round(np.arange(0, 1, 0.01), 2))
        below = fine[fine["p"] < alpha]
        sd0 = math.sqrt(sb**2 + sa**2)
        quantile = scipy_stats.t.ppf((1 + confidence_level) / 2, n_min - 1)
        half = quantile * sd0 / math.sqrt(n_min)
        sd_typical = math.sqrt(max(sb**2 + sa**2 - 2 * TYPICAL_CORRELATION * sb * sa, 0.0))
        half_typical = quantile * sd_typical / math.sqrt(n_min)
        unit = measures.loc[measure, "unit"]
        records.append(
            {
                "measure": measure,
                "label": measures.loc[measure, "label"],
                "unit": unit,
                "comparison": comparison,
                "week": week,
                "baseline": f"{printed(mb, base['mean_decimals'])} ± {printed(sb, base['sd_decimals'])}",
                "followup": f"{printed(ma, follow['mean_decimals'])} ± {printed(sa, follow['sd_decimals'])}",
                "baseline_mean": mb,
                "baseline_sd": sb,
                "followup_mean": ma,
                "followup_sd": sa,
                "change": ma - mb,
                "change_percent": 100 * (ma - mb) / mb,
                "change_low": ma - mb - half,
                "change_high": ma - mb + half,
                "change_low_typical": ma - mb - half_typical,
                "change_high_typical": ma - mb + half_typical,
                "n_min": n_min,
                "n_max": n_max,
                "n_basis": n_basis,
                "p_reported": float(follow["p_value"]),
                "p_text": p_text,
                "lattice": lattice,
                "matches": inside,
                "audit_status": verdict["status"].iloc[0] if len(verdict) else "not-checked",
                "audit_detail": verdict["detail"].iloc[0] if len(verdict) else "",
                "t_p_min": float(bounds["p"].min()),
                "t_p_max": float(bounds["p"].max()),
                "r_needed": float(below["correlation"].min()) if len(below) else math.nan,
                "alpha": alpha,
            }
        )
    result = pd.DataFrame.from_records(records)
    order = {m: i for i, m in enumerate(AS_MEASURES)}
    return result.sort_values(
        ["measure", "week"], key=lambda s: s.map(order) if s.name == "measure" else s
    ).reset_index(drop=True)


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
    >>> from thalbook.core import data
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
    >>> from thalbook.core import data
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


# --------------------------------------------------------------------------
# context studies


def _context_rows(package, condition: str, response: str, ci_method: CiMethod, confidence_level: float,
                  rounding: Rounding) -> list[dict]:
    studies = package.studies.set_index("study_id")
    table = package.context_outcomes
    table = table[table["study_id"].map(studies["condition"]).eq(condition)]
    table = table[table["outcome"].isin(CONTEXT_OUTCOMES[response])]
    records = []
    for _, row in table.iterrows():
        population = row["population"] if isinstance(row["population"], str) else ""
        sizes = {
            name: int(row[column])
            for name, column in (
                ("completers", "n_completed"),
                ("randomised", "n_randomised"),
                ("enrolled", "n_enrolled"),
            )
            if not pd.isna(row[column])
        }
        options = []  # (k, n, basis)
        if not pd.isna(row["count"]) and not pd.isna(row["denominator"]):
            k, n = int(row["count"]), int(row["denominator"])
            options.append((k, n, "count and denominator as reported", f"{k}/{n}"))
        elif not pd.isna(row["count"]):
            for name, n in sorted(sizes.items(), key=lambda item: -item[1]):
                k = int(row["count"])
                options.append(
                    (k, n, f"{k} of {n} {name}: denominator not stated", f"{k} of {n} {name} (n not stated)")
                )
        elif not pd.isna(row["percent"]) and (reconciled := reconciled_count(package, row["id"], rounding)):
            # Another paper cites this result: show the count the audit reconciles both places at, over
            # every size it is a percentage of (all recruited, then the set the study's own figure is of).
            convention, k, cited_n, found = reconciled
            percent = printed(row["percent"], row["percent_decimals"])
            names = {"completed": "completers", "enrolled": "enrolled"}
            for n, name in sorted({(cited_n, next(s for s, m in found.sizes.items() if m == cited_n)),
                                   (found.own_n, found.own_set)}, key=lambda pair: -pair[0]):
                said = (f"{percent}% of the {found.own_n} {names[found.own_set]} reported"
                        if n == found.own_n else f"{found.quoted:g}% cited by {study_label(found.citing_study)}")
                options.append((k, n, f"{said}; {k}/{n} {names[name]} is the audit's reconciliation of the two "
                                      f"places ({convention} rounding), an inference",
                                f"inferred {k}/{n} {names[name]}"))
        elif not pd.isna(row["percent"]):
            percent = printed(row["percent"], row["percent_decimals"])
            labelled = sizes.get(population) if population else None
            tried = [labelled] if labelled else []
            tried += [n for n in sizes.values() if n not in tried]
            for n in tried:
                found = stats.percent_to_counts(row["percent"], int(row["percent_decimals"]), n=n, rounding=rounding)
                if found:
                    k = found[0][0]
                    name = next(name for name, m in sizes.items() if m == n)
                    basis = f"{percent}% reported; {k}/{n} of the {name} inferred"
                    if labelled and n != labelled:
                        basis += f" (no k/{labelled} of the {population} gives {percent}%)"
                    options.append((k, n, basis, f"{percent}%, inferred {k}/{n} {name}"))
                    break
            if not options and sizes:
                # no stated size gives the percentage: the largest denominator up to the largest stated size
                # that does, labelled as inferred (fewer patients were assessed than were enrolled)
                bound = max(sizes.values())
                found = stats.percent_to_counts(row["percent"], int(row["percent_decimals"]), n_max=bound,
                                                rounding=rounding)
                if found:
                    k, n = max(found, key=lambda pair: pair[1])
                    basis = (f"{percent}% reported, denominator not stated; {k}/{n} inferred, the largest n up to "
                             f"the {bound} enrolled that gives it")
                    options.append((k, n, basis, f"{percent}%, inferred {k}/{n} (n not stated)"))
        for k, n, basis, count_text in options:
            proportion, low, high = interval(k, n, ci_method, confidence_level)
            design = studies.loc[row["study_id"], "design"]
            arm = row["arm"]
            records.append(
                {
                    "study_id": row["study_id"],
                    "citation_key": studies.loc[row["study_id"], "citation_key"],
                    "label": study_label(row["study_id"]),
                    "year": int(studies.loc[row["study_id"], "year"]),
                    "role": "context",
                    "kind": "placebo" if arm == "placebo" else ("pooled" if arm == "pooled" else "thalidomide"),
                    "design": design,
                    "arm": arm,
                    "outcome": row["outcome"],
                    "outcome_definition": row["outcome_definition"],
                    "timepoint": row["timepoint"] if isinstance(row["timepoint"], str) else "time point not stated",
                    "participants": row["participants"],
                    "dose": row["dose"],
                    "k": k,
                    "n": n,
                    "proportion": proportion,
                    "low": low,
                    "high": high,
                    "basis": basis,
                    "count_text": count_text,
                }
            )
    return records


def _own_estimate(common: dict, row: pd.Series, analysis_set: str, **fields) -> dict:
    """One row of a context table for the book's own study: the estimate under ``analysis_set``."""
    k, n = int(row["k"]), int(row["n"])
    return {
        **common,
        **fields,
        "k": k,
        "n": n,
        "proportion": row["proportion"],
        "low": row["low"],
        "high": row["high"],
        "basis": f"{SET_NAMES[analysis_set]}: {row['basis']}",
        "count_text": f"{k}/{n} {SET_NAMES[analysis_set]}",
    }


def context_table(
    package,
    condition: str,
    analysis_set: AnalysisSet = AnalysisSet.ITT,
    ci_method: CiMethod = CiMethod.WILSON,
    confidence_level: float = 0.95,
    rounding: Rounding = Rounding.HALF_UP,
    study: str | None = None,
) -> pd.DataFrame:
    """The source study's main response beside the context studies' thalidomide results, unpooled.

    For Crohn's disease: clinical remission of He et al. at weeks 8 and 12
    (under ``analysis_set``) and the remission figures of the context
    studies; for AS: ASAS20 and the paper's ASAS-40 of Wei et al. and the
    improvement figures of the context studies. Outcome definitions,
    populations, doses and time points differ; nothing is pooled. Where a
    context study gives no denominator, the row says which set the
    denominator is taken from (and a count without a denominator gives one
    row per stated set size); an inferred count is labelled as inferred.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
    condition : {"crohns", "as"}
    analysis_set : {"itt", "reported", "complete-case"}
        For the source study's rows.
    ci_method, confidence_level, rounding
        Interval method and confidence level; rounding for inferred counts.
    study : str, optional
        The source study, where the condition has more than one.

    Returns
    -------
    pandas.DataFrame
        One row per estimate, source study first, then context studies by
        year: ``study_id, citation_key, label, year, role, kind, design, arm,
        outcome, outcome_definition, timepoint, participants, dose, k, n,
        proportion, low, high, basis, count_text`` (k/n and its basis in a
        few words, for figure labels).

    Examples
    --------
    >>> from thalbook.core import data
    >>> t = context_table(data.load(), "crohns")
    >>> t[["study_id", "kind", "k", "n"]].to_numpy().tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [['he2017', 'source', 11, 47], ['he2017', 'source', 22, 47],
     ['ehrenpreis1999', 'thalidomide', 9, 22], ['ehrenpreis1999', 'thalidomide', 9, 14],
     ['vasiliauskas1999', 'thalidomide', 2, 12], ['vasiliauskas1999', 'thalidomide', 2, 10],
     ['lazzerini2013', 'thalidomide', 13, 28],
     ['lazzerini2013', 'placebo', 3, 26], ['bramuzzo2016', 'pooled', 220, 427]]
    """
    if condition not in set(package.studies["condition"]):
        known = ", ".join(sorted(set(package.studies["condition"])))
        raise ValueError(f"context_table: condition must be one of {known}, got {condition!r}")
    analysis_set = _analysis_set(analysis_set)
    # the response the condition's source study reports decides the rows: remission, or the ASAS responses
    ours = source_studies(package, condition) if study is None else [study]
    reported = set(package.binary_outcomes.loc[package.binary_outcomes["study_id"].isin(ours), "outcome"])
    response = next((o for o in CONTEXT_OUTCOMES if o in reported), REMISSION)
    study = source_study(package, response, study)
    info = package.studies.set_index("study_id").loc[study]
    common = {
        "study_id": study,
        "citation_key": info["citation_key"],
        "label": study_label(study),
        "year": int(info["year"]),
        "role": "source",
        "kind": "source",
        "design": info["design"],
        "arm": "thalidomide",
    }
    records = []
    if response == REMISSION:
        dose = f"{fact(package, study, 'dose_mg_per_day_min')}-{fact(package, study, 'dose_mg_per_day_max')} mg/day"
        remission = remission_table(package, analysis_set, ci_method, confidence_level, rounding, study)
        remission = remission.set_index("week")
        for week in (8, 12):
            row = remission.loc[week]
            records.append(
                _own_estimate(
                    common, row, analysis_set,
                    outcome="clinical_remission",
                    outcome_definition=f"clinical remission (CDAI < {CDAI_REMISSION_THRESHOLD} assumed)",
                    timepoint=f"week {week}",
                    participants="adults with active refractory CD",
                    dose=dose,
                )
            )
    else:
        asas = asas_by_analysis_set(package, ci_method, confidence_level, study)
        dose = (
            f"{fact(package, study, 'dose_mg_per_day_start')} mg/day for "
            f"{fact(package, study, 'dose_start_weeks')} week, then "
            f"{fact(package, study, 'dose_mg_per_day_maintenance')} mg/day"
        )
        for _, row in asas[asas["analysis_set"].eq(analysis_set)].iterrows():
            records.append(
                _own_estimate(
                    common, row, analysis_set,
                    outcome=row["outcome"],
                    outcome_definition="ASAS20 (the paper's paraphrase)"
                    if row["outcome"] == "asas20"
                    else "> 40% improvement (the paper's ASAS-40)",
                    timepoint="week 24",
                    participants="men with refractory AS",
                    dose=dose,
                )
            )
    context = sorted(
        _context_rows(package, condition, response, ci_method, confidence_level, rounding),
        key=lambda r: (r["year"], r["study_id"], {"thalidomide": 0, "placebo": 1, "pooled": 2}[r["kind"]], -r["n"]),
    )
    return pd.DataFrame.from_records(records + context)
