"""The appraisal chapter: risk of bias, certainty of the evidence, registration, harms reporting, multiplicity.

The judgements and their support come from :mod:`thalbook.core.appraisal`;
this module lays them out as tables, draws the traffic-light figure and
glues the counts the prose cites. The Summary-of-findings estimates follow
the parameters in force (interval method, level, analysis set).

Examples
--------
>>> from thalbook.core import data
>>> view = build(data.load(), {"confidence_level": 0.95, "ci_method": "wilson", "analysis_set": "itt"})
>>> view.value("he2017_minors"), view.value("wei2003_minors"), view.value("n_very_low")
(7, 8, 5)
>>> sorted(view.tables)[:3]
['tbl-appraisal-certainty', 'tbl-appraisal-harms', 'tbl-appraisal-minors']
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from thalbook.chapters import figures, results
from thalbook.chapters.data_provenance import study_labels
from thalbook.chapters.tables import escape, frame_table
from thalbook.chapters.view import View, check_names, check_values
from thalbook.core import appraisal, cohort, efficacy, multiverse, stats
from thalbook.core.vocabulary import ANALYSIS_SETS, CI_METHODS, ROUNDINGS, SET_NAMES

#: The parameters the chapter declares.
PARAMETERS = ("confidence_level", "ci_method", "analysis_set")


def build(package, params: dict[str, Any]) -> View:
    """The appraisal chapter's view.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
        What :func:`thalbook.core.data.load` returns.
    params : dict
        ``confidence_level``, ``ci_method`` and ``analysis_set``.

    Returns
    -------
    View
        ``values``: ``<study>_minors`` (MINORS totals), ``n_very_low`` and
        ``n_outcomes`` (certainty), ``he2017_record``, ``he2017_received``,
        ``he2017_period``, ``registration_verdict``, ``n_holm``,
        ``n_bonferroni``, ``n_pvalues``, ``smallest_exact_p``,
        ``bonferroni_threshold``; ``tables``: ``tbl-appraisal-minors``,
        ``tbl-appraisal-certainty``, ``tbl-appraisal-registration``,
        ``tbl-appraisal-harms``, ``tbl-appraisal-multiplicity``;
        ``figures``: ``fig-appraisal-minors``, ``fig-appraisal-multiverse`` and ``fig-appraisal-multiverse-as``
        (the specification curves of each study); the
        multiverse values ``n_specifications``, ``multiverse_everywhere``, ``multiverse_depends``,
        ``n_uncomputable`` and ``uncomputable_rounding``.

    Raises
    ------
    TypeError
        If ``params`` does not hold exactly :data:`PARAMETERS`.
    thalbook.core.errors.InputError
        If a value is not one the parameter schema allows.
    """
    check_names("appraisal", params, PARAMETERS)
    check_values(params)
    level, method, analysis_set = params["confidence_level"], params["ci_method"], params["analysis_set"]
    labels = study_labels(package)
    minors = appraisal.minors(package)
    totals = appraisal.minors_totals(minors)
    pvalues = efficacy.as_outcomes_table(package, level)
    graded = appraisal.summary_of_findings(package, method, level, analysis_set, minors, pvalues)
    reg = appraisal.registration(package)
    registry = reg.set_index("study")
    harms = appraisal.harms_reporting(package)
    alpha = cohort.fact(package, "wei2003", "significance_level")
    adjusted = stats.adjusted_pvalues(pvalues["p_reported"], alpha)
    pairs = cohort.fact(package, "wei2003", "completed")

    values = {f"{study}_minors": total for study, total in totals.items()}
    values |= {
        "n_outcomes": len(graded),
        "n_minors_items": len(appraisal.MINORS_ITEMS),
        "minors_best": 2 * len(appraisal.MINORS_ITEMS),
        "minors_loss_pct": f"{100 * appraisal.MINORS_LOSS:g}%",
        "imprecise_pct": f"{100 * appraisal.IMPRECISE_WIDTH:g}",
        "levels_text": ", ".join(f"{level:g}" for level in multiverse.LEVELS),
        "n_levels": len(multiverse.LEVELS),
        "he2017_enrolled": cohort.enrolled(package, "he2017"),
        "n_very_low": int(graded["certainty"].eq("very low").sum()),
        "set_name": SET_NAMES[analysis_set],
        "interval_text": results.interval_text(method, level),
        "he2017_record": registry.loc["he2017", "record"],
        "he2017_received": registry.loc["he2017", "first_received"],
        "he2017_period": registry.loc["he2017", "study_period"],
        "registration_verdict": registry.loc["he2017", "verdict"],
        "wei2003_registration": registry.loc["wei2003", "verdict"],
        "n_pvalues": len(adjusted),
        "n_raw": int((adjusted["p"] < alpha).sum()),
        "n_holm": int(adjusted["holm_reject"].sum()),
        "n_bonferroni": int(adjusted["bonferroni_reject"].sum()),
        "bonferroni_threshold": f"{alpha / len(adjusted):.4f}",
        "smallest_exact_p": f"{2 / 2**pairs:.4f}",
        "exact_pairs": pairs,
        "bonferroni_sentence": (
            "with this design and this many comparisons, no single comparison could have passed it"
            if alpha / len(adjusted) < 2 / 2**pairs
            else "a comparison in which every patient changed the same way could have passed it"),
    }
    minors_shown = pd.DataFrame({
        "study": minors["study"].map(labels), "item": minors["question"],
        "score": [f"{s} ({m})" for s, m in zip(minors["score"], minors["meaning"], strict=True)],
        "reason": minors["reason"],
        "support": minors["support"].map(lambda q: q if q == appraisal.NOT_REPORTED else f"\u201c{q}\u201d"),
    })
    certainty_shown = pd.DataFrame({
        "outcome": graded["study"].map(labels) + ": " + graded["outcome"],
        "patients": graded["patients"].astype(str), "estimate (interval)": graded["estimate"],
        "certainty": graded["certainty"],
        "reasons": [f"starts {s}; risk of bias {r}; indirectness {i}; imprecision {p}; inconsistency and "
                    "publication bias not assessable (one study)"
                    for s, r, i, p in graded[["start", "risk_of_bias", "indirectness", "imprecision"]].to_numpy()],
    })
    reg_shown = pd.DataFrame({"study": reg["study"].map(labels), "registration": reg["record"],
                              "first received": reg["first_received"], "study period": reg["study_period"],
                              "verdict": reg["verdict"]})
    harms_shown = pd.DataFrame({
        "study": harms["study"].map(labels), "item": harms["question"], "met": harms["met"],
        "reason": harms["reason"],
        "support": harms["support"].map(lambda q: q if q == appraisal.NOT_REPORTED else f"\u201c{q}\u201d")})
    multiplicity = pd.DataFrame({
        "comparison": pvalues["label"] + " week " + pvalues["week"].astype(str),
        "p as printed": pvalues["p_text"], "Holm": adjusted["holm"].map(lambda p: f"{p:.3f}"),
        "Bonferroni": adjusted["bonferroni"].map(lambda p: f"{p:.3f}"),
    })
    tables = {
        "tbl-appraisal-minors": frame_table(
            minors_shown, "Risk of bias by MINORS (non-comparative items; item wording paraphrased): each "
            "judgement with its support, the quote of the data package it rests on, or 'not reported'.",
            "tbl-appraisal-minors", widths=[12, 18, 14, 24, 32]),
        "tbl-appraisal-certainty": frame_table(
            certainty_shown, f"Summary of findings (GRADE): each headline outcome under the {SET_NAMES[analysis_set]} "
            f"set, {results.interval_text(method, level)}, its certainty and the reasons.",
            "tbl-appraisal-certainty", widths=[20, 9, 22, 10, 39]),
        "tbl-appraisal-registration": frame_table(
            reg_shown, "Registration of the two studies against their dates.", "tbl-appraisal-registration",
            widths=[18, 16, 16, 22, 28]),
        "tbl-appraisal-harms": frame_table(
            harms_shown, "Reporting of harms against the CONSORT Harms 2022 items that apply to a single-group "
            "study (paraphrased).", "tbl-appraisal-harms", widths=[12, 22, 8, 26, 32]),
        "tbl-appraisal-multiplicity": frame_table(
            multiplicity, f"The AS paper's {len(adjusted)} p-values as one family, adjusted by Holm and by "
            "Bonferroni (statsmodels).", "tbl-appraisal-multiplicity", widths=[40, 20, 20, 20]),
    }
    for name in tables:
        tables[name] = tables[name].replace(escape("\u201c"), "\u201c")
    figure = figures.traffic_light(minors.assign(study=minors["study"].map(labels)), appraisal.MINORS_SCORES)
    specifications = multiverse.multiverse(package)
    values |= _multiverse_values(specifications)
    choices = {"ci_method": list(CI_METHODS), "analysis_set": list(ANALYSIS_SETS),
               "confidence_level": list(multiverse.LEVELS), "rounding": list(ROUNDINGS)}
    shown = {"fig-appraisal-minors": figure}
    for study, name in (("he2017", "fig-appraisal-multiverse"), ("wei2003", "fig-appraisal-multiverse-as")):
        shown[name] = figures.specification_curve(
            specifications[specifications["outcome"].isin(multiverse.OUTCOMES[study])], choices)
    for fig in shown.values():
        plt.close(fig)  # drawn only when a display cell shows it
    return View(dict(params), values, tables, shown)


def _multiverse_values(specifications: pd.DataFrame) -> dict[str, Any]:
    """The multiverse in words: what holds under every specification, what never, what depends on a choice."""
    found = multiverse.conclusions(specifications)

    def listed(rows: pd.DataFrame) -> str:
        return "; ".join(f"{o}: {s}" for o, s in zip(rows["outcome"], rows["statement"], strict=True)) or "none"

    depends = found[found["holds"].eq("depends")]
    dropped = specifications[specifications["note"].ne("")]
    return {
        "n_specifications": len(specifications) // specifications["outcome"].nunique(),
        "multiverse_everywhere": listed(found[found["holds"].eq("everywhere")]),
        "multiverse_depends": "; ".join(
            f"{o}: {s} (in {100 * share:.0f}% of specifications; {d.replace('_', ' ')} alone can change it)"
            for o, s, share, d in depends[["outcome", "statement", "share", "depends_on"]].to_numpy()) or "none",
        "n_uncomputable": len(dropped),
        "uncomputable_rounding": ", ".join(sorted(set(dropped["rounding"]))) or "none",
    }
