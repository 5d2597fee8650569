"""The ankylosing spondylitis results chapter (Wei et al. 2003): what it shows, computed without a kernel.

The chapter sets out the trial's patients and withdrawals; the reported
means of BASDAI, BASFI, BAS-G, ESR, CRP and IgA with the change from each
comparison's own baseline; what each reported p-value implies (the exact
Wilcoxon lattice, paired-t bounds over the unknown correlation, and the
audit's GRIM verdicts on the ESR means); the ASAS20 response under each
analysis set; the response by disease subtype; and the other thalidomide
studies of AS side by side, unpooled. :func:`build` returns all of it as a
:class:`~thalbook.chapters.view.View`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from thalbook.chapters import displays, figures
from thalbook.chapters.tables import caption
from thalbook.chapters.view import View, check_names, check_values
from thalbook.core.analyses import changes, cohort, efficacy
from thalbook.core.analyses.context import context_table
from thalbook.core.auditing import checks, number_checks, statement_checks, summary_checks
from thalbook.core.inference import granularity, stats
from thalbook.core.parameters import Parameters
from thalbook.core.vocabulary import SET_LABELS, SET_NAMES

#: The parameters the chapter declares, in the order of its parameters cell.
PARAMETERS = ("confidence_level", "ci_method", "analysis_set")
#: The rounding the chapter's audit verdicts assume (the prose says "halves rounded up").
ROUNDING = "half-up"
#: The other rounding, asked whether it would rescue a mean the audit finds inconsistent.
OTHER_ROUNDING = "half-even"
#: The comparison whose p-values and means the prose discusses (``continuous_outcomes.comparison``).
WEEK_8 = "week 8 vs baseline"

#: Glue name -> study fact of the source study.
_FACTS = {
    "enrolled": "enrolled",
    "completed": "completed",
    "background_months": "stable_background_months",
    "dose_start": "dose_mg_per_day_start",
    "dose_start_weeks": "dose_start_weeks",
    "dose_maintenance": "dose_mg_per_day_maintenance",
    "maintenance_weeks": "dose_maintenance_weeks",
    "duration_weeks": "duration_weeks",
}
#: Glue prefix -> row of withdrawals.csv (the results section's account of who left).
_WITHDRAWALS = {
    "eruption": "wei2003-drug-eruption-results",
    "dizziness": "wei2003-dizziness-drowsiness-results",
    "lack": "wei2003-lack-of-efficacy-results",
}
#: The results section's total of the withdrawals for side effects.
_SIDE_EFFECTS = "wei2003-side-effects-results"
#: The context study whose percentage Wei et al. cite as another, and that citation.
_HUANG = "huang2002-improvement-gt20-12m"
_HUANG_CITED = "wei2003-cited-huang-improved"
#: The context study of the largest series.
_ZHU = "zhu2010"


def build(package, params: Mapping[str, Any]) -> View:
    """Everything the ankylosing spondylitis chapter shows, for one set of parameters.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        What :func:`thalbook.core.evidence.data.load` returns.
    params : mapping
        ``confidence_level`` (of every interval), ``ci_method`` (interval
        method for a proportion) and ``analysis_set`` (denominators of the
        ASAS response), exactly these keys.

    Returns
    -------
    View
        ``values``: every glued value of the prose (text where the prose shows
        text, numbers where it formats them); ``tables``: ``tbl-as-means``,
        ``tbl-as-pvalues``, ``tbl-as-asas``, ``tbl-as-subtypes``,
        ``tbl-as-context`` (MyST); ``figures``: ``fig-as-clinical``,
        ``fig-as-laboratory``, ``fig-as-asas``, ``fig-as-subtypes``,
        ``fig-as-context`` (closed matplotlib figures).

    Raises
    ------
    TypeError
        If ``params`` lacks one of the chapter's parameters or has another.
    thalbook.core.errors.InputError
        If a parameter value is not one the parameter schema allows; the message names it.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> view = build(data.load(), {"confidence_level": 0.95, "ci_method": "wilson", "analysis_set": "itt"})
    >>> view.value("asas_k"), view.value("asas_n"), round(view.value("asas_pct"), 1)
    (8, 13, 61.5)
    >>> view.value("basfi_w24_lattice")
    'n = 8, W = 0 (p = 0.0078125)'
    >>> sorted(view.figures)
    ['fig-as-asas', 'fig-as-clinical', 'fig-as-context', 'fig-as-laboratory', 'fig-as-reconstructed', 'fig-as-subtypes']
    >>> build(data.load(), {"confidence_level": 0.95, "ci_method": "wald", "analysis_set": "itt"})
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: ci_method: 'wald' is not one of ['wilson', 'clopper-pearson', 'jeffreys', \
'agresti-coull']
    """
    p = _checked(params)
    study = cohort.source_study(package, efficacy.ASAS)
    audit_table = checks.run_audit(package, ROUNDING)
    outcomes = changes.as_outcomes_table(package, p.confidence_level, ROUNDING, audit_table)
    asas = efficacy.asas_by_analysis_set(package, p.ci_method, p.confidence_level)
    subtypes = efficacy.response_by_subtype(package)
    context = context_table(package, "as", p.analysis_set, p.ci_method, p.confidence_level)
    interval_text = displays.interval_text(p.ci_method, p.confidence_level)

    values: dict[str, Any] = {name: cohort.fact(package, study, fact) for name, fact in _FACTS.items()}
    values |= {
        "set_name": SET_NAMES[p.analysis_set],
        "set_label": SET_LABELS[p.analysis_set],
        "interval_text": interval_text,
        "level_pct": 100 * p.confidence_level,
        "alpha": cohort.fact(package, study, "significance_level"),
        "r_min": f"{min(changes.CORRELATIONS):g}",
        "r_max": f"{max(changes.CORRELATIONS):g}",
        "n_comparisons": len(outcomes),
        "n_measures": outcomes["measure"].nunique(),
        "typical_r": f"{changes.TYPICAL_CORRELATION:g}",
        "n_cross_zero": int(((outcomes["change_low"] < 0) & (outcomes["change_high"] > 0)).sum()),
        "n_cross_zero_typical": int(((outcomes["change_low_typical"] < 0)
                                     & (outcomes["change_high_typical"] > 0)).sum()),
    }
    values |= _withdrawal_values(package, values["enrolled"], values["completed"])
    values |= _outcome_values(outcomes)
    values |= _grim_values(package, audit_table, study)
    values |= _method_values(audit_table, study)
    reconstructions = _week24_reconstructions(package, study)
    values |= _reconstruction_values(reconstructions)
    values |= _multiplicity_values(outcomes, values["alpha"], values["completed"])
    values |= _asas_values(asas, p.analysis_set, values)
    values |= _subtype_values(subtypes)
    values |= _context_values(package, context)

    tables = {
        "tbl-as-means": displays.markdown_table(
            displays.as_means_display(outcomes),
            "tbl-as-means",
            caption("tbl-as-means", level=f"{100 * p.confidence_level:g}",
                    typical_r=f"{changes.TYPICAL_CORRELATION:g}"),
            widths=(3, 2, 3, 3, 2, 3, 3, 4),
        ),
        "tbl-as-pvalues": displays.markdown_table(
            displays.as_pvalues_display(outcomes),
            "tbl-as-pvalues",
            caption("tbl-as-pvalues"),
            widths=(2, 2, 2, 6, 3, 3, 2),
        ),
        "tbl-as-asas": displays.markdown_table(
            displays.asas_display(asas, p.analysis_set),
            "tbl-as-asas",
            caption("tbl-as-asas", interval=interval_text),
        ),
        "tbl-as-subtypes": displays.markdown_table(
            displays.subtype_display(subtypes),
            "tbl-as-subtypes",
            caption("tbl-as-subtypes"),
        ),
        "tbl-as-context": displays.markdown_table(
            displays.context_display(context),
            "tbl-as-context",
            caption("tbl-as-context", interval=interval_text),
            widths=(3, 6, 4, 5, 3),
            markup=["Study"],
        ),
    }
    shown = {
        "fig-as-clinical": figures.as_means(outcomes, changes.CLINICAL_MEASURES, 10),
        "fig-as-laboratory": figures.as_means(outcomes, changes.LABORATORY_MEASURES),
        "fig-as-asas": figures.asas_sets(asas, p.analysis_set, interval_text),
        "fig-as-subtypes": figures.subtype_responses(subtypes),
        "fig-as-context": figures.forest(context, interval_text, "Responders (%)"),
        "fig-as-reconstructed": figures.reconstructed_trajectories(_reconstructed_examples(reconstructions)),
    }
    for fig in shown.values():
        plt.close(fig)  # drawn only when a display cell shows it
    params = {name: params[name] for name in PARAMETERS}
    return View(params, values, tables, shown)


# --------------------------------------------------------------------------
# parameters


def _checked(params: Mapping[str, Any]) -> Parameters:
    """The parameter values, checked against the schema the build validates with."""
    check_names("as_results", params, PARAMETERS)
    return check_values(params)


# --------------------------------------------------------------------------
# glued values, section by section


def _withdrawal_values(package, enrolled: int, completed: int) -> dict[str, Any]:
    """Who left, why and when, as the results section tells it."""
    withdrawals = package.withdrawals.set_index("id")
    values: dict[str, Any] = {}
    for name, row_id in _WITHDRAWALS.items():
        row = withdrawals.loc[row_id]
        values[f"{name}_k"] = int(row["count"])
        if not pd.isna(row["week"]):  # "1 week later" has no week of its own
            values[f"{name}_week"] = int(row["week"])
    values["ae_k"] = int(withdrawals.loc[_SIDE_EFFECTS, "count"])
    values["left_k"] = enrolled - completed
    return values


def _outcome_values(outcomes: pd.DataFrame) -> dict[str, Any]:
    """One family of values per reported comparison, named ``<measure>_w<week>_...``."""
    values: dict[str, Any] = {}
    for _, row in outcomes.iterrows():
        key = f"{row['measure']}_w{row['week']}"
        values |= {
            f"{key}_week": int(row["week"]),
            f"{key}_base": row["baseline"],
            f"{key}_follow": row["followup"],
            f"{key}_change": row["change"],
            f"{key}_change_pct": row["change_percent"],
            f"{key}_change_low": row["change_low"],
            f"{key}_change_high": row["change_high"],
            f"{key}_p": row["p_text"],
            f"{key}_n_min": int(row["n_min"]),
            f"{key}_n_max": int(row["n_max"]),
            f"{key}_t_p_min": row["t_p_min"],
            f"{key}_t_p_max": row["t_p_max"],
            f"{key}_r_needed": "none" if pd.isna(row["r_needed"]) else f"{row['r_needed']:.2f}",
            f"{key}_r_sentence": _least_r_sentence(row["r_needed"], row["alpha"]),
            f"{key}_lattice": row["lattice"],
        }
        if row["matches"]:
            n, w, p = row["matches"][0]
            values |= {f"{key}_lattice_n": n, f"{key}_lattice_w": w, f"{key}_lattice_p": p}
    return values


def _least_r_sentence(r_needed: float, alpha: float) -> str:
    """Whether, and from which correlation on, the paired-t p falls below the significance level."""
    if pd.isna(r_needed):
        return f"It stays above {alpha:g} for every r below 1."
    if r_needed == 0:
        return f"It falls below {alpha:g} for every r of 0 or more."
    return f"It falls below {alpha:g} only if r is at least {r_needed:.2f}."


def _grim_values(package, audit_table: pd.DataFrame, study: str) -> dict[str, Any]:
    """The audit's GRIM verdicts on the ESR means, and which of them the other rounding would rescue."""
    grim = displays.grim_findings(audit_table, study, "esr")
    other = displays.grim_findings(checks.run_audit(package, OTHER_ROUNDING), study, "esr")
    passing = set(zip(*(other.loc[other["status"].eq("consistent"), key] for key in ("week", "comparison")),
                      strict=True))
    failing = grim[grim["status"].eq("inconsistent")]
    rescued = failing[[key in passing for key in zip(failing["week"], failing["comparison"], strict=True)]]
    week8 = [Decimal(v) for v in failing.loc[failing["comparison"].eq(WEEK_8), "reported"]]
    fits_all = next((n for n in range(1, 1000) if all(granularity.grim(m, stats.places(m), n, ROUNDING).consistent
                                                     for m in week8)), None) if week8 else None
    return {
        "esr_w8_grim_least_n": fits_all or "none below 1000",
        "esr_grim_fail": ", ".join(failing["reported"]) or "none",
        "esr_grim_k": len(failing),
        "esr_grim_total": len(grim),
        "esr_half_even": ", ".join(rescued["reported"]) or "none",
    }


def _week24_reconstructions(package, study: str) -> pd.DataFrame:
    """The audit's reconstructions of the comparisons of the results at the last week, with the measures' labels."""
    found = number_checks.reconstructed(package, ROUNDING)
    found = found[found["study"].eq(study) & found["location"].eq("results") & found["week"].eq(found["week"].max())]
    measures = package.measures.drop_duplicates("measure").set_index("measure")
    return found.assign(label=found["measure"].map(measures["label"]), unit=found["measure"].map(measures["unit"]))


def _reconstructed_examples(found: pd.DataFrame) -> pd.DataFrame:
    """The week-24 comparisons for which a data set reproduces every printed summary jointly, with that data set."""
    rows = []
    for _, row in found.iterrows():
        feasible = [r for _, _, r, _ in row["outcomes"] if r.verdict == "feasible"]
        if feasible:
            rows.append({"label": row["label"], "unit": row["unit"], "week": int(row["week"]),
                         "baseline": feasible[0].example[0], "followup": feasible[0].example[1],
                         "means": tuple(m for m, _ in row["printed"])})
    return pd.DataFrame(rows)


def _reconstruction_values(found: pd.DataFrame) -> dict[str, Any]:
    """Which week-24 comparisons can, and which cannot, be reproduced jointly by some data set."""
    verdicts = {row["label"]: ([r.verdict for _, _, r, _ in row["outcomes"]] or ["none"])[0]
                for _, row in found.iterrows()}
    return {
        "reconstructed_feasible": ", ".join(k for k, v in verdicts.items() if v == "feasible") or "none",
        "reconstructed_infeasible": ", ".join(k for k, v in verdicts.items() if v == "infeasible") or "none",
        "reconstructed_unchecked": ", ".join(k for k, v in verdicts.items() if v not in ("feasible", "infeasible"))
        or "none",
    }


def _multiplicity_values(outcomes: pd.DataFrame, alpha: float, pairs: int) -> dict[str, Any]:
    """The paper's p-values as one family: what survives Holm and Bonferroni, and what the exact test can reach."""
    adjusted = stats.adjusted_pvalues(outcomes["p_reported"], alpha)
    smallest = 2 / 2**pairs
    threshold = alpha / len(adjusted)
    return {
        "n_raw_significant": int((adjusted["p"] < alpha).sum()),
        "n_holm_significant": int(adjusted["holm_reject"].sum()),
        "n_bonferroni_significant": int(adjusted["bonferroni_reject"].sum()),
        "bonferroni_threshold": f"{threshold:.4f}",
        "smallest_exact_p": f"{smallest:.4f}",
        "bonferroni_reach": "below" if threshold < smallest else "not below",
    }


def _method_values(audit_table: pd.DataFrame, study: str) -> dict[str, Any]:
    """What the audit's test-method checks say of the week-8 p-values: which methods give each, and both.

    Read from the rows' keys and the methods they found, in the audit's own words
    (:func:`thalbook.core.auditing.summary_checks.reproduced_text`,
    :func:`~thalbook.core.auditing.summary_checks.explained_text`).
    """
    rows = audit_table[audit_table["study"].eq(study) & audit_table["comparison"].eq(WEEK_8)]
    basdai = rows[rows["check"].eq("test-method") & rows["subject"].eq("basdai") & rows["week"].eq("8")].iloc[0]
    together = rows[rows["check"].eq("one-method")].iloc[0]
    return {
        "basdai_w8_methods": summary_checks.reproduced_text(basdai["methods"]),
        "week8_one_method": summary_checks.explained_text(together["comparison"], together["methods"]).capitalize(),
        "week8_one_method_finding": together["finding"] or "none",
    }


def _asas_values(asas: pd.DataFrame, analysis_set: str, known: dict[str, Any]) -> dict[str, Any]:
    """ASAS20 and ASAS-40 under every set (``<outcome>_<set>_...``), the set in force, and the paper's denominator."""
    values: dict[str, Any] = {}
    for _, row in asas.iterrows():
        key = f"{row['outcome']}_{row['analysis_set'].replace('-', '_')}"
        values |= {
            f"{key}_k": int(row["k"]),
            f"{key}_n": int(row["n"]),
            f"{key}_pct": 100 * row["proportion"],
            f"{key}_low": 100 * row["low"],
            f"{key}_high": 100 * row["high"],
        }
    in_force = f"asas20_{analysis_set.replace('-', '_')}"
    values |= {f"asas_{part}": values[f"{in_force}_{part}"] for part in ("k", "n", "pct", "low", "high")}
    without_ae = known["enrolled"] - known["ae_k"]
    values["reported_minus_ae"] = without_ae
    if values["asas20_reported_n"] == without_ae:
        sentence = (
            f"It is exactly the enrolled minus the {known['ae_k']} who withdrew for side effects ({without_ae}). "
            f"In other words, the {known['lack_k']} patients who left for lack of efficacy count as "
            "non-responders and those who left for side effects are dropped. The paper does not say so."
        )
    else:
        sentence = (
            f"Nor is it the enrolled minus the {known['ae_k']} who withdrew for side effects ({without_ae}), "
            "and the paper does not say how it was counted."
        )
    values["asas_denominator_sentence"] = sentence
    return values


def _subtype_values(subtypes: pd.DataFrame) -> dict[str, Any]:
    """Counts by subtype (``<subtype>_...``), their totals, and whether abstract and results agree."""
    values: dict[str, Any] = {}
    for _, row in subtypes.iterrows():
        for column in ("n", "gt40", "from20to40", "other", "responders"):
            values[f"{row['subtype']}_{column}"] = int(row[column])
    differ = subtypes[
        subtypes["gt40"].ne(subtypes["gt50_abstract"]) | subtypes["from20to40"].ne(subtypes["from20to50_abstract"])
    ]
    if differ.empty:
        sentence = "The abstract and the results give the same counts under their different labels."
    else:
        sentence = f"The abstract and the results give different counts for {', '.join(differ['label'])}."
    values |= {
        "subtype_sources_sentence": sentence,
        "gt40_total": int(subtypes["gt40"].sum()),
        "subtype_n_min": int(subtypes["n"].min()),
        "subtype_n_max": int(subtypes["n"].max()),
        "mid_total": int(subtypes["from20to40"].sum()),
    }
    return values


def _context_values(package, context: pd.DataFrame, rounding: str = "half-up") -> dict[str, Any]:
    """The other AS studies: Huang et al.'s percentage and the count the audit reconciles it at, Zhu et al.'s count.

    Wei et al. cite Huang et al.'s result as another percentage than Huang et
    al. print; the count shown is the one the audit's finding reconciles both
    at (:func:`thalbook.core.auditing.statement_checks.reconciled_count`), never one
    of the chapter's own.
    """
    others = context[context["role"].eq("context")]
    huang_row = package.context_outcomes.set_index("id").loc[_HUANG]
    zhu = others.set_index("study_id").loc[_ZHU]
    cited = package.cited_results.set_index("id").loc[_HUANG_CITED, "value"]
    convention, k, cited_n, found = statement_checks.reconciled_count(package, _HUANG, rounding)
    return {
        "huang_pct": f"{huang_row['percent']:g}",
        "huang_completed": int(huang_row["n_completed"]),
        "huang_enrolled": int(huang_row["n_enrolled"]),
        "huang_k": k,
        "huang_n": cited_n,
        "huang_itt_pct": f"{100 * k / cited_n:.1f}",
        "huang_completers_pct": f"{100 * k / found.own_n:.1f}",
        "huang_rounding": convention,
        "huang_definition": huang_row["outcome_definition"],
        "huang_time": huang_row["timepoint"],
        "huang_cited": f"{cited:g}",
        "zhu_k": int(zhu["k"]),
        "zhu_n": int(zhu["n"]),
        "zhu_pct": 100 * zhu["proportion"],
        "n_context_studies": int(others["study_id"].nunique()),
    }
