"""The Crohn's disease results chapter: clinical and endoscopic outcomes of He et al. 2017.

The chapter recovers the counts behind the percentages the paper prints,
gives clinical remission at each visit and the three endoscopic outcomes at
week 24 under each analysis set with intervals, brackets what the patients
without endoscopy could do to each endoscopic rate, and sets the results
beside the other thalidomide studies in Crohn's disease, unpooled.
:func:`build` computes all of it from the data package (through
:mod:`thalbook.core.analyses.efficacy`) as the chapter's :class:`~thalbook.chapters.view.View`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from thalbook.chapters import displays, figures
from thalbook.chapters.tables import caption
from thalbook.chapters.view import View, check_names, check_values
from thalbook.core.analyses import cohort, efficacy
from thalbook.core.analyses.context import context_table
from thalbook.core.inference import counts
from thalbook.core.vocabulary import SET_LABELS, SET_NAMES

#: The chapter's parameters, as its parameters cell declares them.
PARAMETERS = ("confidence_level", "ci_method", "analysis_set")
#: Outcomes whose printed percentages the chapter turns back into counts.
OUTCOMES = ("clinical_remission", *efficacy.ENDOSCOPIC_OUTCOMES)
#: Glue name -> numeric fact of the source study.
FACTS = {
    "enrolled": "enrolled",
    "endoscoped": "endoscopy_n",
    "dose_min": "dose_mg_per_day_min",
    "dose_max": "dose_mg_per_day_max",
    "primary_week": "primary_endpoint_week",
    "endoscopy_week": "endoscopy_week",
    "optimal_week": "suggested_optimal_induction_week",
    "er_drop": "endoscopic_response_cdeis_decrease_gt",
    "er_baseline_min": "endoscopic_response_baseline_cdeis_min",
    "cer_below": "complete_endoscopic_remission_cdeis_lt",
}
#: Glue prefix of each endoscopic outcome.
SHORT = {"endoscopic_response": "er", "complete_endoscopic_remission": "cer", "mucosal_healing": "mh"}


def build(package, params: Mapping[str, Any]) -> View:
    """Everything the Crohn's results chapter shows, for one set of parameters.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        The validated data package (:func:`thalbook.core.evidence.data.load`).
    params : mapping
        ``confidence_level``, ``ci_method`` and ``analysis_set`` (exactly
        these; :data:`PARAMETERS`).

    Returns
    -------
    View
        Glued values (counts as ``int``, percentages as ``float`` in percent
        for the prose to format, words and sentences as text); the tables
        ``tbl-crohns-counts``, ``tbl-crohns-remission``, ``tbl-crohns-endoscopy``
        and ``tbl-crohns-context``; the figures ``fig-crohns-remission``,
        ``fig-crohns-endoscopy`` and ``fig-crohns-context`` (closed).

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
    >>> view.value("w8_k"), view.value("w8_n"), round(view.value("w8_low"), 1), view.value("cer_candidates")
    (11, 47, 13.6, '7/16, 14/32')
    >>> view.value("span_sentence")
    'The patients who were not endoscoped weigh more than sampling error.'
    >>> sorted(view.figures)
    ['fig-crohns-context', 'fig-crohns-endoscopy', 'fig-crohns-remission']
    """
    check_names("crohns_results", params, PARAMETERS)
    p = check_values(params)
    study = cohort.source_study(package, efficacy.REMISSION)
    interval_text = displays.interval_text(p.ci_method, p.confidence_level)
    inference = counts.count_inference(package, study, OUTCOMES)
    remission = efficacy.remission_table(package, p.analysis_set, p.ci_method, p.confidence_level)
    remission_sets = efficacy.remission_by_set(package, p.ci_method, p.confidence_level)
    endoscopy = efficacy.endoscopy_table(package, p.analysis_set, p.ci_method, p.confidence_level)
    endoscopy_sets = efficacy.endoscopy_by_set(package, p.ci_method, p.confidence_level)
    context = context_table(package, "crohns", p.analysis_set, p.ci_method, p.confidence_level)

    values = {name: cohort.fact(package, study, fact) for name, fact in FACTS.items()}
    values |= {
        "cdai_threshold": efficacy.CDAI_REMISSION_THRESHOLD,
        "set_name": SET_NAMES[p.analysis_set],
        "set_label": SET_LABELS[p.analysis_set],
        "interval_text": interval_text,
        "n_inferred": len(inference),
        "half_even_changes": counts.rounding_changes(package, study, OUTCOMES, "half-even"),
    }
    values |= _remission_values(remission, remission_sets, values["enrolled"])
    values |= _endoscopy_values(endoscopy, inference, values["endoscoped"])
    values |= _context_values(context)

    tables = {
        "tbl-crohns-counts": displays.markdown_table(
            displays.counts_display(inference),
            "tbl-crohns-counts",
            caption("tbl-crohns-counts"),
        ),
        "tbl-crohns-remission": displays.markdown_table(
            displays.remission_display(remission_sets, p.analysis_set),
            "tbl-crohns-remission",
            caption("tbl-crohns-remission", interval=interval_text),
        ),
        "tbl-crohns-endoscopy": displays.markdown_table(
            displays.endoscopy_display(endoscopy_sets, p.analysis_set),
            "tbl-crohns-endoscopy",
            caption("tbl-crohns-endoscopy", interval=interval_text),
        ),
        "tbl-crohns-context": displays.markdown_table(
            displays.context_display(context),
            "tbl-crohns-context",
            caption("tbl-crohns-context", interval=interval_text),
            widths=(3, 6, 4, 5, 3),
            markup=["Study"],
        ),
    }
    made = {
        "fig-crohns-remission": figures.remission_over_time(remission, interval_text),
        "fig-crohns-endoscopy": figures.endoscopy_ranges(endoscopy, interval_text, SET_NAMES[p.analysis_set]),
        "fig-crohns-context": figures.forest(context, interval_text, "Patients in remission (%)"),
    }
    for figure in made.values():
        plt.close(figure)  # drawn only where the chapter shows it
    return View(dict(params), values, tables, made)


def _remission_values(remission: pd.DataFrame, by_set: pd.DataFrame, enrolled: int) -> dict[str, Any]:
    """Remission at each week under the set in force, and the complete-case bound."""
    values: dict[str, Any] = {}
    for _, row in remission.iterrows():
        w = f"w{row['week']}"
        values |= {
            f"{w}_week": int(row["week"]),
            f"{w}_reported": row["percent"],
            f"{w}_k": int(row["k"]),
            f"{w}_n": int(row["n"]),
            f"{w}_pct": 100 * row["proportion"],
            f"{w}_low": 100 * row["low"],
            f"{w}_high": 100 * row["high"],
            f"{w}_max": 100 * row["proportion_max"],
        }
    complete = by_set[by_set["analysis_set"].eq("complete-case")]
    assessed = int(complete["n_min"].min())
    values |= {
        "n_assessed_min": assessed,
        "withdrew_ae": enrolled - assessed,
        "w8_cc_max": 100 * float(complete.loc[complete["week"].eq(8), "proportion_max"].iloc[0]),
    }
    return values


def _endoscopy_values(endoscopy: pd.DataFrame, inference: pd.DataFrame, endoscoped: int) -> dict[str, Any]:
    """Each endoscopic outcome as reported, under the set in force, and at its best and worst case."""
    values: dict[str, Any] = {}
    candidates = inference.set_index("outcome")["candidates"]
    for _, row in endoscopy.iterrows():
        o = SHORT[row["outcome"]]
        values[f"{o}_reported"] = row["percent"]
        for column in ("k_reported", "n_reported", "k", "n", "worst_k", "worst_n", "best_k", "best_n"):
            values[f"{o}_{column}"] = int(row[column])
        for column in ("proportion", "low", "high", "worst", "best"):
            values[f"{o}_{column}"] = 100 * row[column]
        values[f"{o}_candidates"] = displays.candidates_text(candidates[row["outcome"]])
        values[f"{o}_span"] = 100 * (row["best"] - row["worst"])
        values[f"{o}_width"] = 100 * (row["high"] - row["low"])
    response = endoscopy.set_index("outcome").loc["endoscopic_response"]
    values |= {
        "not_endoscoped": int(endoscopy["not_endoscoped"].iloc[0]),
        "er_ineligible": endoscoped - int(response["n_reported"]),
        "span_sentence": _span_sentence(endoscopy),
    }
    return values


def _span_sentence(endoscopy: pd.DataFrame) -> str:
    """Whether the patients without endoscopy move each rate more than its interval is wide."""
    wider = (endoscopy["best"] - endoscopy["worst"]) > (endoscopy["high"] - endoscopy["low"])
    subject = "The patients who were not endoscoped weigh"
    if wider.all():
        return f"{subject} more than sampling error."
    if not wider.any():
        return f"{subject} no more than sampling error."
    more, less = _in_words(endoscopy["label"][wider], "and"), _in_words(endoscopy["label"][~wider], "or")
    return f"{subject} more than sampling error for {more}, but not for {less}."


def _in_words(items: Sequence[str], conjunction: str) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _context_values(context: pd.DataFrame) -> dict[str, Any]:
    """The randomised trial's two arms and the number of other studies."""
    placebo = context[context["kind"].eq("placebo")].iloc[0]
    trial = context[context["study_id"].eq(placebo["study_id"]) & context["kind"].eq("thalidomide")].iloc[0]
    return {
        "rct_k": int(trial["k"]),
        "rct_n": int(trial["n"]),
        "rct_pct": 100 * trial["proportion"],
        "placebo_k": int(placebo["k"]),
        "placebo_n": int(placebo["n"]),
        "placebo_pct": 100 * placebo["proportion"],
        "placebo_low": 100 * placebo["low"],
        "placebo_high": 100 * placebo["high"],
        "n_context_studies": int(context.loc[context["role"].eq("context"), "study_id"].nunique()),
    }
