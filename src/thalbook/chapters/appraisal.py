"""The appraisal chapter: risk of bias, certainty of the evidence, registration, harms reporting, multiplicity.

The judgements and their support come from :mod:`thalbook.core.analyses.instruments`;
this module lays them out as tables, draws the traffic-light figure and
glues the counts and words the prose cites. The Summary-of-findings
estimates follow the parameters in force (interval method, level, analysis
set).

Examples
--------
>>> from thalbook.core.evidence import data
>>> view = build(data.load(), {"confidence_level": 0.95, "ci_method": "wilson", "analysis_set": "itt"})
>>> view.value("he2017_minors"), view.value("wei2003_minors"), view.value("n_very_low")
(7, 8, 11)
>>> sorted(view.tables)[:3]
['tbl-appraisal-certainty', 'tbl-appraisal-harms', 'tbl-appraisal-imprecision']
"""

from __future__ import annotations

import math
import re
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from thalbook.chapters import diagrams, displays
from thalbook.chapters.data_provenance import study_labels
from thalbook.chapters.tables import caption, escape, frame_table
from thalbook.chapters.view import View, check_names, check_values
from thalbook.core.analyses import changes, cohort, efficacy, grade, instruments, multiverse
from thalbook.core.parameters import Parameters
from thalbook.core.vocabulary import ANALYSIS_SETS, CI_METHODS, ROUNDINGS, SET_NAMES

#: The parameters the chapter declares.
PARAMETERS = ("confidence_level", "ci_method", "analysis_set")


def build(package, params: dict[str, Any]) -> View:
    """The appraisal chapter's view.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        What :func:`thalbook.core.evidence.data.load` returns.
    params : dict
        ``confidence_level``, ``ci_method`` and ``analysis_set``.

    Returns
    -------
    View
        ``values``: the MINORS totals and patterns (``<study>_minors``,
        ``minors_both_0`` ... ``minors_differ``, the losses), the certainty
        (``n_very_low``, ``n_outcomes``), the assumptions and results of the
        imprecision judgement (``ois_alpha``, ``ois_power``, the differences,
        the remission reference, threshold and OIS), registration
        (``he2017_record``, ``he2017_received``, ``he2017_period``,
        ``registration_verdict``, ``wei2003_registration``, ``icmje_date``),
        multiplicity (``n_declared``, ``n_declared_holm`` ... ``n_holm``,
        ``n_bonferroni``, ``n_pvalues``, ``smallest_exact_p``,
        ``bonferroni_threshold``) and the multiverse (``n_specifications``,
        ``multiverse_everywhere``, ``multiverse_depends``,
        ``n_uncomputable``, ``uncomputable_rounding``); ``tables``:
        ``tbl-appraisal-minors``, ``tbl-appraisal-certainty``,
        ``tbl-appraisal-imprecision``, ``tbl-appraisal-indirectness``,
        ``tbl-appraisal-registration``, ``tbl-appraisal-harms``,
        ``tbl-appraisal-multiplicity``; ``figures``: ``fig-appraisal-minors``,
        ``fig-appraisal-multiverse`` and ``fig-appraisal-multiverse-as`` (the
        specification curves of each study).

    Raises
    ------
    TypeError
        If ``params`` does not hold exactly :data:`PARAMETERS`.
    thalbook.core.errors.InputError
        If a value is not one the parameter schema allows.
    """
    check_names("appraisal", params, PARAMETERS)
    p = check_values(params)
    he, wei = displays.source_pair(package)
    labels = study_labels(package)
    minors = instruments.minors(package)
    means = changes.as_outcomes_table(package, p.confidence_level)
    graded = grade.summary_of_findings(package, p.ci_method, p.confidence_level, p.analysis_set, minors, means)
    indirect = grade.indirectness(package)
    reg = instruments.registration(package)
    harms = instruments.harms_reporting(package)
    families = instruments.multiplicity(package, means, p.confidence_level)

    values = {
        "n_outcomes": len(graded),
        "n_very_low": int(graded["certainty"].eq("very low").sum()),
        "set_name": SET_NAMES[p.analysis_set],
        "interval_text": displays.interval_text(p.ci_method, p.confidence_level),
        "levels_text": ", ".join(f"{level:g}" for level in multiverse.LEVELS),
        "n_levels": len(multiverse.LEVELS),
        f"{he}_enrolled": cohort.enrolled(package, he),
    }
    values |= _minors_values(package, minors)
    values |= _certainty_values(package, graded, indirect)
    values |= bottom_line_values(graded)
    values |= _registration_values(package, reg)
    values |= _multiplicity_values(package, families)
    tables = {
        "tbl-appraisal-minors": _minors_table(minors, labels),
        "tbl-appraisal-certainty": _certainty_table(graded, labels, p),
        "tbl-appraisal-imprecision": _imprecision_table(package, graded, labels),
        "tbl-appraisal-indirectness": frame_table(
            pd.DataFrame({"study": indirect["study"].map(labels), "question": indirect["domain"],
                          "concern": indirect["concern"], "rating": indirect["rating"],
                          "support": indirect["support"].map(_quoted)}),
            caption("tbl-appraisal-indirectness"), "tbl-appraisal-indirectness", widths=[12, 14, 38, 10, 26]),
        "tbl-appraisal-registration": frame_table(
            pd.DataFrame({"study": reg["study"].map(labels), "registration": reg["record"],
                          "first received": reg["first_received"], "study period": reg["study_period"],
                          "ICMJE requirement": reg["icmje"], "verdict": reg["verdict"]}),
            caption("tbl-appraisal-registration", icmje=instruments.icmje_text()),
            "tbl-appraisal-registration", widths=[14, 14, 12, 16, 18, 26]),
        "tbl-appraisal-harms": frame_table(
            pd.DataFrame({"study": harms["study"].map(labels), "item": harms["question"], "met": harms["met"],
                          "reason": harms["reason"], "support": harms["support"].map(_quoted)}),
            caption("tbl-appraisal-harms"), "tbl-appraisal-harms", widths=[12, 22, 8, 26, 32]),
        "tbl-appraisal-multiplicity": _multiplicity_table(families),
    }
    for name in tables:
        tables[name] = tables[name].replace(escape("\u201c"), "\u201c")
    figure = diagrams.traffic_light(minors.assign(study=minors["study"].map(labels)), instruments.MINORS_SCORES)
    specifications = multiverse.multiverse(package)
    values |= _multiverse_values(specifications)
    choices = {"ci_method": list(CI_METHODS), "analysis_set": list(ANALYSIS_SETS),
               "confidence_level": list(multiverse.LEVELS), "rounding": list(ROUNDINGS)}
    shown = {"fig-appraisal-minors": figure}
    for study, name in ((he, "fig-appraisal-multiverse"), (wei, "fig-appraisal-multiverse-as")):
        shown[name] = diagrams.specification_curve(
            specifications[specifications["outcome"].isin(multiverse.outcomes(package)[study])], choices)
    for fig in shown.values():
        plt.close(fig)  # drawn only when a display cell shows it
    return View(dict(params), values, tables, shown)


def _quoted(support: str) -> str:
    """A support as the tables show it: a quote in quotation marks, "not reported" or the book's reading as is."""
    return support if support in (instruments.NOT_REPORTED, instruments.BOOKS_READING) else f"\u201c{support}\u201d"


def _listed(items: list[str], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c`` (or ``last`` for "and"); "no item" when there is none.

    Examples
    --------
    >>> _listed(["x", "y", "z"]), _listed(["x", "y"], "or"), _listed([])
    ('x, y and z', 'x or y', 'no item')
    """
    if not items:
        return "no item"
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _minors_values(package, minors: pd.DataFrame) -> dict[str, Any]:
    """MINORS in numbers and in words: the totals, the items both studies score alike, those they differ on."""
    he, wei = displays.source_pair(package)
    scores = minors.pivot(index="item", columns="study", values="score").reindex(list(instruments.MINORS_ITEMS))
    questions = {item: q[0].lower() + q[1:] for item, q in instruments.MINORS_ITEMS.items()}
    alike = scores[he].eq(scores[wei])
    values: dict[str, Any] = {f"{study}_minors": total for study, total in instruments.minors_totals(minors).items()}
    for score in instruments.MINORS_SCORES:
        both = scores.index[alike & scores[he].eq(score)]
        values[f"minors_both_{score}"] = _listed([questions[i] for i in both])
    short = {s: efficacy.study_label(s, year=False) for s in (he, wei)}
    values["minors_differ"] = _listed([f"{questions[i]} ({short[he]} {scores.loc[i, he]}, {short[wei]} "
                                       f"{scores.loc[i, wei]})" for i in scores.index[~alike]])
    values |= {
        "n_minors_items": len(instruments.MINORS_ITEMS),
        "minors_best": 2 * len(instruments.MINORS_ITEMS),
        "minors_loss_pct": f"{100 * instruments.MINORS_LOSS:g}%",
        "minors_scale": _listed([f"{score} ({meaning})" for score, meaning in instruments.MINORS_SCORES.items()],
                                "or"),
        f"{he}_basis": instruments.basis(package)[he],
    }
    for study, assessed in ((he, "endoscopy_n"), (wei, "completed")):
        enrolled, final = cohort.enrolled(package, study), cohort.fact(package, study, assessed)
        values |= {f"{study}_assessed": final, f"{study}_lost": enrolled - final,
                   f"{study}_lost_pct": f"{100 * (enrolled - final) / enrolled:.0f}%",
                   f"{study}_loss_score": int(minors.set_index(["study", "item"]).loc[(study, "loss"), "score"])}
    values[f"{wei}_enrolled"] = cohort.enrolled(package, wei)
    values["endoscopy_week"] = cohort.fact(package, he, "endoscopy_week")
    return values


def _minors_table(minors: pd.DataFrame, labels: dict[str, str]) -> str:
    shown = pd.DataFrame({
        "study": minors["study"].map(labels), "item": minors["question"],
        "score": [f"{s} ({m})" for s, m in zip(minors["score"], minors["meaning"], strict=True)],
        "reason": minors["reason"], "support": minors["support"].map(_quoted), "basis": minors["basis"],
    })
    return frame_table(
        shown, caption("tbl-appraisal-minors"), "tbl-appraisal-minors", widths=[10, 14, 11, 27, 27, 11])


def _certainty_values(package, graded: pd.DataFrame, indirect: pd.DataFrame) -> dict[str, Any]:
    """The assumptions of the imprecision judgement and what it found, for the prose."""
    he, _ = displays.source_pair(package)
    limits = grade.thresholds(package)
    remission = limits["remission"]
    placebo = package.context_outcomes.set_index("id").loc[grade.REMISSION_REFERENCE]
    first = graded.iloc[0]
    serious = graded["imprecision"].str.startswith("serious")
    crossing = [lo < t < hi for lo, hi, t in graded[["low", "high", "threshold"]].to_numpy()]
    short = [n < math.ceil(o) for n, o in graded[["patients", "ois"]].to_numpy()]
    return {
        "ois_alpha": f"{grade.OIS_ALPHA:g}",
        "ois_power": f"{grade.OIS_POWER:g}",
        "benefit_difference": f"{100 * grade.BENEFIT_DIFFERENCE:g}",
        "harm_difference": f"{100 * grade.HARM_DIFFERENCE:g}",
        "change_difference": f"{abs(grade.CHANGE_DIFFERENCE):g}",
        "remission_reference": f"{round(100 * remission.reference, 1):g}%",
        "remission_reference_k": int(placebo["count"]),
        "remission_reference_n": int(placebo["denominator"]),
        "remission_reference_study": efficacy.study_label(str(placebo["study_id"])),
        "remission_threshold": f"{round(100 * remission.threshold, 1):g}%",
        "remission_ois": math.ceil(first["ois"]),
        "remission_patients": int(first["patients"]),
        "typical_r": f"{changes.TYPICAL_CORRELATION:g}",
        "n_imprecise": int(serious.sum()),
        "n_crossing": int(sum(crossing)),
        "n_short": int(sum(short)),
        "n_indirect": int(graded["indirectness"].str.startswith("serious").sum()),
        "indirect_studies": _listed(sorted({efficacy.study_label(s) for s in
                                            indirect.loc[indirect["rating"].eq("serious"), "study"]})),
        "he_primary_week": cohort.fact(package, he, "primary_endpoint_week"),
        "he_optimal_week": cohort.fact(package, he, "suggested_optimal_induction_week"),
        "cdai_threshold": efficacy.CDAI_REMISSION_THRESHOLD,
    }


def _certainty_table(graded: pd.DataFrame, labels: dict[str, str], p: Parameters) -> str:
    shown = pd.DataFrame({
        "outcome": graded["study"].map(labels) + ": " + graded["outcome"],
        "chosen by": graded["chosen_by"],
        "patients": graded["patients"].astype(str), "estimate (interval)": graded["estimate"],
        "certainty": [c if b == "full text" else f"{c} ({b})" for c, b in zip(graded["certainty"], graded["basis"],
                                                                              strict=True)],
        "reasons": [f"starts {s}; risk of bias {r}; indirectness {i}; imprecision {p}; inconsistency and "
                    "publication bias not assessable (one study)"
                    for s, r, i, p in graded[["start", "risk_of_bias", "indirectness", "imprecision"]].to_numpy()],
    })
    return frame_table(
        shown, caption("tbl-appraisal-certainty", set=SET_NAMES[p.analysis_set],
                       interval=displays.interval_text(p.ci_method, p.confidence_level)),
        "tbl-appraisal-certainty", widths=[15, 13, 7, 20, 10, 35])


def _imprecision_table(package, graded: pd.DataFrame, labels: dict[str, str]) -> str:
    limits = grade.thresholds(package)
    rows = []
    for _, g in graded.iterrows():
        limit = limits[g["key"]]
        if limit.measure == "proportion":
            reference = f"{round(100 * limit.reference, 1):g}%: {limit.reference_basis}"
            difference = f"{100 * limit.difference:+g} points: {limit.difference_basis}"
            threshold = f"{round(100 * limit.threshold, 1):g}%"
        else:
            reference = f"{limit.reference:g} points: {limit.reference_basis}"
            difference = f"{limit.difference:+g} point: {limit.difference_basis}"
            threshold = f"{limit.threshold:+g} point"
        level, _, why = g["imprecision"].partition(": ")
        rows.append({"outcome": f"{labels[g['study']]}: {g['outcome']}", "reference (without the drug)": reference,
                     "difference that matters": difference, "threshold": threshold,
                     "optimal information size": f"{math.ceil(g['ois'])} ({g['patients']} in the study)",
                     "imprecision": f"{level}: {why}"})
    return frame_table(
        pd.DataFrame(rows), caption("tbl-appraisal-imprecision", ois_alpha=f"{grade.OIS_ALPHA:g}",
                                    ois_power=f"{grade.OIS_POWER:g}",
                                    typical_r=f"{changes.TYPICAL_CORRELATION:g}"),
        "tbl-appraisal-imprecision", widths=[16, 20, 20, 9, 11, 24])


def _registration_values(package, reg: pd.DataFrame) -> dict[str, Any]:
    he, wei = displays.source_pair(package)
    registry = reg.set_index("study")
    return {
        f"{he}_record": registry.loc[he, "record"],
        f"{he}_received": registry.loc[he, "first_received"],
        f"{he}_period": registry.loc[he, "study_period"],
        "registration_verdict": registry.loc[he, "verdict"],
        f"{wei}_registration": registry.loc[wei, "verdict"],
        f"{wei}_published": int(package.studies.set_index("study_id").loc[wei, "year"]),
        "icmje_date": instruments.icmje_text(),
    }


def _multiplicity_values(package, families: pd.DataFrame) -> dict[str, Any]:
    _, wei = displays.source_pair(package)
    alpha = cohort.fact(package, wei, "significance_level")
    pairs = cohort.fact(package, wei, "completed")
    declared = families[families["declared"]]
    total = len(families)
    return {
        "alpha": f"{alpha:g}",
        "n_pvalues": total,
        "n_raw": int((families["p"] < alpha).sum()),
        "n_holm": int(families["all_holm_reject"].sum()),
        "n_bonferroni": int(families["all_bonferroni_reject"].sum()),
        "bonferroni_threshold": f"{alpha / total:.4f}",
        "n_declared": len(declared),
        "declared_labels": _listed(list(declared["label"])),
        "declared_week": _listed([str(w) for w in dict.fromkeys(declared["week"])]),
        "n_declared_holm": int(declared["declared_holm_reject"].sum()),
        "n_declared_bonferroni": int(declared["declared_bonferroni_reject"].sum()),
        "declared_threshold": f"{alpha / len(declared):.4f}",
        "declared_quote": instruments.primary_declaration(package),
        "smallest_exact_p": f"{2 / 2**pairs:.4f}",
        "exact_pairs": pairs,
        "bonferroni_sentence": (
            f"no comparison on the {pairs} completers could have passed it (the week-8 comparisons, whose n the "
            "paper does not state, may rest on more pairs)"
            if alpha / total < 2 / 2**pairs
            else "a comparison in which every patient changed the same way could have passed it"),
    }


#: GRADE's informative statements (Santesso et al. 2020, GRADE guidelines 26), by certainty: how the words
#: carry it. For one treated group they describe what was observed, never an effect against a comparator.
INFORMATIVE = {
    "high": "what was observed is very likely what such patients would see",
    "moderate": "what was observed is probably what such patients would see",
    "low": "what was observed may be what such patients would see",
    "very low": "the evidence is very uncertain about what thalidomide does for these outcomes",
}


def outcome_slug(study: str, outcome: str) -> str:
    """The glue name of one Summary-of-findings outcome, from its study and words.

    Examples
    --------
    >>> outcome_slug("he2017", "clinical remission, week 8")
    'he2017_clinical_remission_week_8'
    """
    return f"{study}_{re.sub('[^a-z0-9]+', '_', outcome.lower()).strip('_')}"


def bottom_line_values(graded: pd.DataFrame) -> dict[str, str]:
    """Each graded outcome's estimate and certainty, and each study's certainty in GRADE's words, for the
    landing page's bottom line (``bl_<study>_<outcome>_estimate`` and ``_certainty``, ``bl_<study>_words``).

    Examples
    --------
    >>> rows = pd.DataFrame({"study": ["s", "s"], "outcome": ["x, week 8", "y"], "estimate": ["1/2", "3/4"],
    ...                      "certainty": ["very low", "low"]})
    >>> values = bottom_line_values(rows)
    >>> values["bl_s_x_week_8_estimate"], values["bl_s_certainty"], values["bl_s_words"][:30]
    ('1/2', 'very low to low', 'the evidence is very uncertain')
    """
    values = {}
    for _, row in graded.iterrows():
        slug = outcome_slug(row["study"], row["outcome"])
        values[f"bl_{slug}_estimate"] = row["estimate"]
        values[f"bl_{slug}_certainty"] = row["certainty"]
    for study, rows in graded.groupby("study", sort=False):
        levels = sorted(set(rows["certainty"]), key=grade.GRADE_LEVELS.index, reverse=True)
        values[f"bl_{study}_certainty"] = " to ".join(dict.fromkeys([levels[0], levels[-1]]))
        # the statement of the least certain outcome: the bottom line claims no more than its weakest part
        values[f"bl_{study}_words"] = INFORMATIVE[levels[0]]
    values["bl_least_certainty"] = max(graded["certainty"], key=grade.GRADE_LEVELS.index)
    values["bl_least_words"] = INFORMATIVE[values["bl_least_certainty"]]
    return values


def _multiplicity_table(families: pd.DataFrame) -> str:
    def adjusted(key: str, method: str) -> list[str]:
        return ["not in the family" if not inside else f"{p:.4f}" + (" (below alpha)" if reject else "")
                for inside, p, reject in families[[key, f"{key}_{method}", f"{key}_{method}_reject"]].to_numpy()]

    (declared, declared_name, declared_whose), (everything, all_name, all_whose) = instruments.FAMILIES
    shown = pd.DataFrame({
        "comparison": families["label"] + " week " + families["week"].astype(str),
        "p as printed": families["p_text"],
        f"Holm, {declared_name}": adjusted(declared, "holm"),
        f"Bonferroni, {declared_name}": adjusted(declared, "bonferroni"),
        f"Holm, {all_name}": adjusted(everything, "holm"),
        f"Bonferroni, {all_name}": adjusted(everything, "bonferroni"),
    })
    return frame_table(
        shown, caption("tbl-appraisal-multiplicity", declared_name=declared_name, declared_whose=declared_whose,
                       all_name=all_name, all_whose=all_whose),
        "tbl-appraisal-multiplicity", widths=[16, 12, 18, 18, 18, 18])


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
