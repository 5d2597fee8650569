"""What the methods chapter shows: the parameters, the four interval methods
side by side on real outcomes, the analysis sets, the Wilcoxon lattice and
how many checks of each kind the audit runs.

What each check compares and assumes is written in the chapter itself; this
module names the checks (:data:`CHECKS`) and counts them.

Examples
--------
>>> table = interval_comparison([("demo", 8, 10)], 0.95)
>>> table["method"].tolist()
['wilson', 'clopper-pearson', 'jeffreys', 'agresti-coull']
>>> lattice(8).head(3)["p"].round(6).tolist()
[0.007812, 0.015625, 0.023438]
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pandas as pd

from thalbook.chapters import diagrams
from thalbook.chapters.data_provenance import raw_tables
from thalbook.chapters.tables import caption, frame_table
from thalbook.chapters.view import View, check_names, check_values
from thalbook.core import notebooks
from thalbook.core.analyses import cohort, efficacy
from thalbook.core.auditing import checks, summary_checks
from thalbook.core.inference import granularity, stats
from thalbook.core.vocabulary import ANALYSIS_SETS, CI_METHODS, EFFECTS, SCHEMA, allowed, allowed_values

#: Every kind of check the audit runs, in the order the methods chapter describes them.
CHECKS = ("percent-to-count", "analysis-set", "grim", "grimmer", "scale-bounds", "reconstruction", "wilcoxon-lattice",
          "test-method",
          "one-method", "cross-place", "parts-sum", "subgroup-size", "withdrawals-total", "withdrawals-vs-events",
          "summary-in-range", "summary-label", "statement", "announced-vs-reported", "cited-vs-source")
#: The parameters the chapter declares.
PARAMETERS = ("confidence_level", "ci_method", "analysis_set")
#: Largest p-value of the Wilcoxon lattice the chapter lists.
LATTICE_P_MAX = 0.2


def check_count_name(check: str) -> str:
    """The glue name of the number of checks of one kind: ``grim`` -> ``checks_grim``.

    Examples
    --------
    >>> check_count_name("percent-to-count")
    'checks_percent_to_count'
    """
    return "checks_" + check.replace("-", "_")


def build(package, params: dict[str, Any]) -> View:
    """The methods chapter's view: glued values, five tables and the interval figure.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        What :func:`thalbook.core.evidence.data.load` returns.
    params : dict
        ``confidence_level``, ``ci_method`` and ``analysis_set``.

    Returns
    -------
    View
        ``values``: the extraction counts (``n_rows``, ``n_files``,
        ``n_places``), the parameters' wording, the worked examples of each
        section and ``fig_methods_intervals`` (the figure the chapter glues),
        and the number of checks of each kind (:func:`check_count_name`).
        ``tables``: ``tbl-methods-parameters``, ``methods-parameter-effects``
        (a definition list), ``tbl-methods-intervals``,
        ``tbl-methods-analysis-sets`` and ``tbl-methods-lattice``.

    Raises
    ------
    TypeError
        If ``params`` does not hold exactly :data:`PARAMETERS`.
    thalbook.core.errors.ParameterError
        If a value is not one the parameter schema allows (as ``thalbook`` says it).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> view = build(data.load(), {"confidence_level": 0.9, "ci_method": "jeffreys", "analysis_set": "itt"})
    >>> view.value("level"), view.value("w8_k"), view.value("w8_n"), view.value("set_n")
    ('90%', 11, 47, 13)
    >>> view.value("lattice_p0"), view.value("esr_up"), view.value("esr_even")
    ('0.007812', '34.3', '34.2')
    """
    check_names("methods", params, PARAMETERS)
    p = check_values(params)
    level_text = f"{100 * p.confidence_level:g}%"
    values: dict[str, Any] = {}
    tables: dict[str, str] = {}

    raw = raw_tables(package.data_dir)
    places = pd.concat([t["location"] for t in raw.values() if "location" in t.columns])
    values.update(n_rows=sum(len(t) for t in raw.values()), n_files=len(raw), n_places=int(places.nunique()))

    defaults = notebooks.defaults()
    values.update(
        ci_methods_list=", ".join(CI_METHODS),
        analysis_sets_list=", ".join(allowed_values("analysis_set")),
        roundings_list=", ".join(allowed_values("rounding")),
        default_level=f"{100 * defaults['confidence_level']:g}%",
        default_method=defaults["ci_method"],
        level=level_text,
        n_params=len(SCHEMA["properties"]),
        n_ci_methods=len(CI_METHODS),
        method=str(p.ci_method),
    )
    tables["tbl-methods-parameters"] = frame_table(
        parameter_table(defaults, notebooks.declared_parameters()),
        caption("tbl-methods-parameters"),
        "tbl-methods-parameters", widths=[22, 30, 14, 34], markup=["parameter", "allowed values", "default"])
    tables["methods-parameter-effects"] = parameter_effects()

    # Intervals: week-8 remission in Crohn's disease (a count inferred from the percentage), ASAS20 as
    # reported, and neuropathy (no events) among all enrolled AS patients.
    outcomes = package.binary_outcomes
    he = cohort.source_study(package, efficacy.REMISSION)
    wei = cohort.source_study(package, efficacy.ASAS)
    remission = outcomes.query(
        "study_id == @he and outcome == @efficacy.REMISSION and timepoint_week == 8").iloc[0]
    (w8_k, w8_n), = granularity.percent_to_counts(remission["percent"], int(remission["percent_decimals"]),
                                            n=int(remission["denominator"]))
    asas = outcomes.query("study_id == @wei and outcome == @efficacy.ASAS and location == 'results'").iloc[0]
    neuro = package.adverse_events.query("study_id == @wei and event == 'neuropathy' and location == 'results'").iloc[0]
    as_enrolled = cohort.enrolled(package, wei)
    asas_k, asas_n = int(asas["count"]), int(asas["denominator"])
    cases = [
        (f"Crohn's disease, remission at week 8: {w8_k}/{w8_n}", w8_k, w8_n),
        (f"AS, ASAS20 as reported: {asas_k}/{asas_n}", asas_k, asas_n),
        (f"AS, neuropathy: {int(neuro['count'])}/{as_enrolled}", int(neuro["count"]), as_enrolled),
    ]
    comparison = interval_comparison(cases, p.confidence_level)
    widths = comparison.groupby("method")["width"].mean()
    zero = comparison[comparison["k"].eq(0)].set_index("method")["high"]
    completed = int(cohort.facts(package, wei)["completed"])
    values.update(
        w8_percent=remission["percent"], w8_k=w8_k, w8_n=w8_n,
        widest_method=widths.idxmax(), narrowest_method=widths.idxmin(),
        zero_high_min=100 * zero.min(), zero_high_max=100 * zero.max(), zero_n=as_enrolled,
        smallest_n=completed, largest_n=cohort.enrolled(package, he),
    )
    tables["tbl-methods-intervals"] = frame_table(
        interval_rows(comparison, p.ci_method),
        caption("tbl-methods-intervals", level=level_text),
        "tbl-methods-intervals", widths=[38, 22, 24, 16], markup=["method"])
    values["fig_methods_intervals"] = diagrams.interval_methods(comparison, p.ci_method, p.confidence_level)

    # Analysis sets: ASAS20 in the AS study.
    sets = analysis_set_table(asas_k, asas_n, as_enrolled, completed, p.ci_method, p.confidence_level)
    values.update(asas_k=asas_k, asas_n=asas_n, as_enrolled=as_enrolled, as_completed=completed,
                  set_in_force=str(p.analysis_set), set_k=int(sets.loc[p.analysis_set, "k"]),
                  set_n=int(sets.loc[p.analysis_set, "n"]))
    tables["tbl-methods-analysis-sets"] = frame_table(
        analysis_set_rows(sets, p.analysis_set, p.ci_method, level_text),
        caption("tbl-methods-analysis-sets"),
        "tbl-methods-analysis-sets", widths=[30, 25, 45], markup=["analysis set"])

    # The audit: checks of each kind, the ESR mean at a rounding tie, the Wilcoxon lattice.
    per_check = checks.run_audit(package)["check"].value_counts()
    values["n_check_kinds"] = len(CHECKS)
    values["reconstruction_nodes"] = summary_checks.RECONSTRUCTION_NODES
    values.update({check_count_name(c): int(per_check.get(c, 0)) for c in CHECKS})
    values.update(rounding_tie(package))
    table = lattice(completed, LATTICE_P_MAX)
    values.update(lattice_n=completed, lattice_patterns=2 ** completed, lattice_p0=f"{table['p'].iloc[0]:.6f}",
                  lattice_p1=f"{table['p'].iloc[1]:.6f}")
    tables["tbl-methods-lattice"] = frame_table(
        lattice_rows(table, completed),
        caption("tbl-methods-lattice", p_max=LATTICE_P_MAX, n=completed), "tbl-methods-lattice")

    values.update(paired_t_example(package))
    return View(dict(params), values, tables)


# --------------------------------------------------------------------------
# parameters


def parameter_table(defaults: dict, declared: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """One row per parameter: allowed values, default and the chapters that use it (MyST cells)."""
    rows = []
    for name in SCHEMA["properties"]:
        users = [chapter for chapter, names in declared.items() if name in names]
        rows.append({
            "parameter": f"`{name}`",
            "allowed values": allowed(name),
            "default": f"`{defaults.get(name, '')}`",
            "chapters that use it": ", ".join(users) or "none",
        })
    return pd.DataFrame(rows)


def parameter_effects() -> str:
    """What each parameter changes, as a MyST definition list (the reproducibility page says the same).

    Examples
    --------
    >>> parameter_effects().splitlines()[0]
    '`confidence_level`'
    """
    return "\n\n".join(f"`{name}`\n: {EFFECTS[name]}" for name in SCHEMA["properties"] if name in EFFECTS)


# --------------------------------------------------------------------------
# intervals


def interval_comparison(cases: list[tuple[str, int, int]], confidence_level: float) -> pd.DataFrame:
    """The interval of every method for each case ``(label, k, n)``.

    Returns
    -------
    pandas.DataFrame
        ``case, k, n, method, low, high, width`` (proportions), methods in
        the order of :data:`thalbook.core.vocabulary.CI_METHODS`.
    """
    rows = []
    for label, k, n in cases:
        for method in CI_METHODS:
            low, high = stats.proportion_ci(k, n, method, confidence_level)
            rows.append({"case": label, "k": k, "n": n, "method": method, "low": low, "high": high,
                         "width": high - low})
    return pd.DataFrame(rows)


def interval_rows(comparison: pd.DataFrame, method_in_force: str) -> pd.DataFrame:
    """:func:`interval_comparison` as the chapter's table shows it, in percent; the method in force in bold."""
    return pd.DataFrame({
        "outcome": comparison["case"],
        "method": [f"**{m}** (in force)" if m == method_in_force else m for m in comparison["method"]],
        "interval": [f"{100 * lo:.1f}% to {100 * hi:.1f}%" for lo, hi in zip(comparison["low"], comparison["high"],
                                                                           strict=True)],
        "width (points)": [f"{100 * w:.1f}" for w in comparison["width"]],
    })


# --------------------------------------------------------------------------
# analysis sets


def analysis_set_table(count: int, reported: int, enrolled: int, assessed: int, ci_method: str,
                       confidence_level: float) -> pd.DataFrame:
    """A binary outcome under every analysis set, with its interval.

    See :func:`thalbook.core.inference.stats.analysis_sets`.
    """
    table = stats.analysis_sets(count, reported, enrolled, assessed)
    limits = [stats.proportion_ci(int(k), int(n), ci_method, confidence_level) for k, n in zip(table["k"], table["n"],
                                                                                                strict=True)]
    table["low"] = [low for low, _ in limits]
    table["high"] = [high for _, high in limits]
    return table


def analysis_set_rows(sets: pd.DataFrame, analysis_set: str, ci_method: str, level_text: str) -> pd.DataFrame:
    """:func:`analysis_set_table` as the chapter's table shows it: the set in force in bold, bounds marked."""
    return pd.DataFrame({
        "analysis set": [f"**{s}** (in force)" if s == analysis_set else
                         (s if s in ANALYSIS_SETS else f"{s} (bound only)") for s in sets.index],
        "responders / patients": [f"{int(k)}/{int(n)}" for k, n in zip(sets["k"], sets["n"], strict=True)],
        f"proportion ({level_text} {ci_method} interval)": [
            f"{100 * p:.1f}% ({100 * lo:.1f}% to {100 * hi:.1f}%)"
            for p, lo, hi in zip(sets["proportion"], sets["low"], sets["high"], strict=True)],
    })


# --------------------------------------------------------------------------
# the audit's worked examples


def rounding_tie(package) -> dict[str, Any]:
    """The week-24 mean ESR of the AS study: the two whole totals around it and how each rounds.

    Returns
    -------
    dict
        ``esr_mean`` (as printed), ``esr_n``, ``esr_t1`` and ``esr_t2`` (the
        totals), ``esr_m1`` and ``esr_m2`` (their means), ``esr_up`` and
        ``esr_even`` (the second mean rounded half-up and half-even).
    """
    continuous = package.continuous_outcomes
    esr = continuous.query("id == 'wei2003-esr-w24-results'").iloc[0]
    n = int(continuous.query("id == 'wei2003-esr-w24-fig2'").iloc[0]["n"])
    mean = stats.reported_value("methods", esr["mean"], int(esr["mean_decimals"]))
    low = math.floor(mean * n)
    tie = Fraction(low + 1, n)
    return {"esr_mean": str(mean), "esr_n": n, "esr_t1": low, "esr_t2": low + 1, "esr_m1": str(low / n),
            "esr_m2": str((low + 1) / n), "esr_up": str(stats.round_decimal(tie, 1, "half-up")),
            "esr_even": str(stats.round_decimal(tie, 1, "half-even"))}


def lattice(n: int, p_max: float = LATTICE_P_MAX) -> pd.DataFrame:
    """The exact two-sided Wilcoxon signed-rank p-values for n pairs, up to ``p_max``.

    Returns
    -------
    pandas.DataFrame
        ``W, p`` (exact) and ``count`` (sign patterns with W+ <= W, of 2^n).
    """
    values = stats.wilcoxon_pvalues(n)
    rows = [{"W": w, "p": p, "count": round(p * 2**n / 2)} for w, p in values.items() if p <= p_max]
    return pd.DataFrame(rows)


def lattice_rows(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """:func:`lattice` as the chapter's table shows it, with each p as printed to 4 decimals (half-up)."""
    return pd.DataFrame({
        "W (smaller rank sum)": table["W"].astype(str),
        "sign patterns with W+ ≤ W": table["count"].astype(str),
        "exact two-sided p": [f"{p:.6f}" for p in table["p"]],
        "printed to 4 decimals (half-up)": [str(stats.round_decimal(Fraction(2 * int(c), 2**n), 4))
                                            for c in table["count"]],
    })


def paired_t_example(package) -> dict[str, Any]:
    """The week-24 BASDAI change of the AS study as a paired t-test, over the unknown correlation.

    Returns
    -------
    dict
        ``t_p_min``, ``t_p_max`` (the range of p), ``t_r_min``, ``t_r_max``
        (of the correlations tried) and ``basdai_p`` (the paper's Wilcoxon p,
        as printed).
    """
    basdai = package.continuous_outcomes.query(
        "id in ['wei2003-basdai-baseline-for-w24-fig1', 'wei2003-basdai-w24-fig1']")
    before, after = basdai.sort_values("timepoint_week").to_dict("records")
    bounds = stats.paired_t_bounds(before["mean"], before["sd"], after["mean"], after["sd"], int(after["n"]))
    return {"t_p_min": float(bounds["p"].min()), "t_p_max": float(bounds["p"].max()),
            "t_r_min": float(bounds["correlation"].min()), "t_r_max": float(bounds["correlation"].max()),
            "basdai_p": str(stats.reported_value("methods", after["p_value"], int(after["p_value_decimals"])))}
