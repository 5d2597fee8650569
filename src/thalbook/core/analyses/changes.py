"""The changes of a study's continuous measures between visits: reported means, change, p-values, paired-t bounds.

The AS paper reports BASDAI, BASFI, BAS-G, ESR, CRP and IgA at baseline and
follow-up visits, as means and SDs of the patients it followed, with the
p-values of paired tests. :func:`as_outcomes_table` gives each comparison the
paper reports, with the change and the interval of the mean change that the
printed SDs allow at each assumed correlation between a patient's baseline and
follow-up values (:data:`CORRELATIONS`), since the paper gives no SD of the
change. The efficacy tables of the binary outcomes are in
:mod:`thalbook.core.analyses.efficacy`.

Examples
--------
>>> from thalbook.core.evidence import data
>>> t = as_outcomes_table(data.load())
>>> sorted(set(t["measure"])) == sorted(AS_MEASURES)
True
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from thalbook.core.analyses.cohort import fact, patients_in_study, source_study
from thalbook.core.auditing import checks
from thalbook.core.errors import InputError
from thalbook.core.evidence.data import printed
from thalbook.core.inference import stats
from thalbook.core.vocabulary import Rounding

#: The continuous measures of the AS paper: clinical indices, then laboratory values.
AS_MEASURES = ("basdai", "basfi", "basg", "esr", "crp", "iga")
CLINICAL_MEASURES = ("basdai", "basfi", "basg")
LABORATORY_MEASURES = ("esr", "crp", "iga")
#: Correlations between baseline and follow-up values assumed for the paired-t bounds.
CORRELATIONS = stats.DEFAULT_CORRELATIONS
#: A correlation between a patient's baseline and follow-up values that repeated measures of the same
#: patients commonly reach: an assumption, shown beside r = 0 (the widest interval for any r >= 0).
TYPICAL_CORRELATION = 0.8


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
    (:func:`thalbook.core.analyses.cohort.patients_in_study`).

    The paired t-test needs the SD of the changes, which the paper does not
    give: ``t_p_min`` and ``t_p_max`` bound its two-sided p over the assumed
    correlations and the range of n (:func:`thalbook.core.inference.stats.paired_t_bounds`),
    and ``r_needed`` is the smallest correlation (in steps of 0.01) giving p
    below the paper's significance level (``alpha``) at the smallest n. ``change_low`` and ``change_high`` are the
    t interval of the mean change at ``confidence_level`` with correlation 0 and the
    smallest n: the widest for any non-negative correlation.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    confidence_level : float
        Confidence level of the interval of the change.
    rounding : {"half-up", "half-even"}
        For the Wilcoxon lattice and the audit.
    audit_table : pandas.DataFrame, optional
        :func:`thalbook.core.auditing.checks.run_audit` output with the same rounding (run if not given).
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
    >>> from thalbook.core.evidence import data
    >>> t = as_outcomes_table(data.load())
    >>> t.loc[t.measure == "basfi", ["week", "n_min", "lattice"]].to_numpy().tolist()
    [[24, 8, 'n = 8, W = 0 (p = 0.0078125)']]
    """
    study = source_study(package, AS_MEASURES, study)
    table = package.continuous_outcomes[package.continuous_outcomes["study_id"].eq(study)]
    measures = package.measures.drop_duplicates("measure").set_index("measure")
    if audit_table is None:
        audit_table = checks.run_audit(package, rounding)
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
