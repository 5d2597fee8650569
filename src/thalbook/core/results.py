"""The book's derived results as a second Frictionless Data Package: what a reviewer reuses.

``data/`` holds what the papers report; this package holds what the book
derives from it, under the parameters of one build: the counts it infers
from printed percentages (with the inference), the intervals and changes,
every specification of the multiverse, the audit's checks and findings, the
appraisal's judgements with their support, and the Summary of findings.
:func:`tables` computes them with the same functions the chapters call,
:func:`descriptor` describes them (a Table Schema with a description for
every column, the parameters, the source package, each file's SHA-256), and
:func:`csv_bytes` writes a table the way every file of the package is
written. The build floor writes the files and publishes them beside the
book (:mod:`thalbook.build.results`).

Examples
--------
>>> from thalbook.core import data
>>> made = tables(data.load(), {"confidence_level": 0.95, "ci_method": "wilson", "analysis_set": "itt",
...                             "rounding": "half-up"})
>>> list(made) == list(RESOURCES)
True
>>> made["certainty"]["certainty"].value_counts().to_dict()
{'very low': 11}
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from thalbook import __version__
from thalbook.core import appraisal, audit, cohort, counts, efficacy, findings, multiverse, verdicts

#: Parameters the results depend on, the build's whole parameter set.
PARAMETERS = ("confidence_level", "ci_method", "analysis_set", "rounding")
#: The study whose counts are inferred from percentages, and the outcomes (as the Crohn's chapter shows them).
INFERRED_STUDY = "he2017"
INFERRED_OUTCOMES = ("clinical_remission", *efficacy.ENDOSCOPIC_OUTCOMES)
NAME = "thalbook-results"
DESCRIPTOR = "datapackage.json"
SOURCE = "../data/datapackage.json"

_STUDY = "Study id (``studies.csv`` of the data package)."
_OUTCOME = "Outcome id, as in ``binary_outcomes.csv``."
_SET = "Analysis set: itt (all enrolled), reported (the paper's denominator), complete-case, endoscopy."
_K = "Patients with the outcome (inferred where the paper prints only a percentage)."
_N = "Denominator of the analysis set."
_LOW = "Lower bound of the interval (a proportion)."
_HIGH = "Upper bound of the interval (a proportion)."
_SUPPORT = "The verbatim quote of the data-package row the judgement rests on, or 'not reported'."
_FINDING = ("Identifier of the finding, made from its study and what it is about (e.g. "
            "wei2003-asas20-w24-enrolled): the same under every rounding convention, in the book and the audit.")
_KIND = "Kind of finding: " + "; ".join(findings.KINDS) + "."
_CONVENTION = ("Rounding conventions or signed-rank test methods under which the finding's numbers hold "
               "('; ' between them; empty if none does).")
_ORDER = ("Number of the finding among those of every rounding convention, in the audit's order (empty if none); "
          "the same under every convention.")

#: Resource name -> (description, {column: description}), in publication order.
RESOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "inferred_counts": (
        "Whole counts behind the percentages He et al. 2017 print without a count, with the inference: "
        "every count that rounds to the printed percentage over the denominators searched, and the one used.",
        {"study": _STUDY, "outcome": _OUTCOME, "week": "Week of the assessment.",
         "percent": "The percentage as printed.", "stated_n": "The denominator the paper states, if it does.",
         "searched": "The denominators searched, and why.",
         "candidates": "Every count/denominator that rounds to the printed percentage ('; ' between them).",
         "k": "The count used.", "n": "The denominator used.", "reason": "Why that candidate is used."}),
    "intervals": (
        "The proportions the book estimates, with their intervals under the build's parameters "
        "(interval method, level, analysis set).",
        {"study": _STUDY, "outcome": _OUTCOME, "week": "Week of the assessment.", "analysis_set": _SET,
         "k": _K, "n": _N, "proportion": "k / n.", "low": _LOW, "high": _HIGH,
         "ci_method": "Interval method (statsmodels proportion_confint).", "confidence_level": "Interval level.",
         "basis": "How k and n follow from what the paper prints."}),
    "changes": (
        "Wei et al. 2003: the change of each measure from baseline, with its interval at correlation 0 "
        "(the widest for any non-negative within-patient correlation, which the paper does not report) and at "
        f"{efficacy.TYPICAL_CORRELATION:g}, a typical value for repeated measures (an assumption).",
        {"study": _STUDY, "measure": "Measure id, as in ``continuous_outcomes.csv``.",
         "week": "Week of the follow-up.", "baseline_mean": "Mean at baseline, as printed.",
         "followup_mean": "Mean at follow-up, as printed.", "change": "Follow-up less baseline mean.",
         "change_low": "Lower bound of the change, correlation 0.",
         "change_high": "Upper bound of the change, correlation 0.",
         "change_low_typical": f"Lower bound of the change, correlation {efficacy.TYPICAL_CORRELATION:g} (assumed).",
         "change_high_typical": f"Upper bound of the change, correlation {efficacy.TYPICAL_CORRELATION:g} (assumed).",
         "n_min": "Fewest patients the timeline allows at the visit.",
         "n_max": "Most patients the timeline allows at the visit.",
         "p_reported": "The p-value as printed (signed-rank test).", "confidence_level": "Interval level."}),
    "multiverse": (
        "The headline outcomes under every combination of interval method, analysis set, confidence level "
        "and rounding convention (the book's specification curve).",
        {"outcome": "Headline outcome.", "ci_method": "Interval method.", "analysis_set": _SET,
         "confidence_level": "Interval level.",
         "rounding": "Rounding convention assumed when inferring counts from percentages.",
         "k": "Patients with the outcome (empty when no whole count fits).", "n": "Denominator (empty likewise).",
         "proportion": "k / n.", "low": _LOW, "high": _HIGH,
         "note": "Why the specification gives no estimate, if it does not."}),
    "audit": (
        "Every check of the consistency audit, under the build's rounding convention. What each check is about "
        "is given as keys (about, subject, subgroup, arm, week, comparison, analysis_set, part): select rows by "
        "them; quantity and detail are written for readers and may be reworded.",
        {"study": _STUDY, "quantity": "What is checked, in words written from the keys.",
         "location": "Where in the paper it is printed.",
         "reported": "What is printed there.", "check": "The kind of check.",
         "status": "consistent, inconsistent, or not checkable.", "detail": "The reasoning of the check, in words.",
         "reconcile": "What would reconcile an inconsistency, and what the text rules out.",
         "finding": _FINDING + " The row belongs to it (empty if none).",
         "kind": _KIND + " Empty if the row belongs to no finding.",
         "convention": _CONVENTION, "order": _ORDER,
         "about": "What kind of thing the check is about: " + ", ".join(verdicts.ABOUTS) + ".",
         "subject": ("Its id as the data package spells it: an outcome (binary_outcomes.csv, context_outcomes.csv), "
                     "a measure (continuous_outcomes.csv), an adverse event, a study fact, a reason category of "
                     f"withdrawals.csv (or '{verdicts.ALL_REASONS}'), or a topic of statements.csv; empty for "
                     "test-method."),
         "subgroup": "The subgroup of patients, as in binary_outcomes.csv or study_facts.csv (empty if none).",
         "arm": "The arm of a context study, as in context_outcomes.csv (empty if none).",
         "week": "The visit, in weeks (empty if none).",
         "comparison": ("The paired comparison, as in continuous_outcomes.csv (e.g. 'week 8 vs baseline'), or "
                        "'all comparisons' for a check of every p-value of a paper (empty if none)."),
         "analysis_set": "The analysis set the result is labelled with, as in its population column (empty if none).",
         "part": ("The part of the result the check judges alone: the data package's column (count, denominator, "
                  "percent, mean, sd, n, p_value) or subgroups (the parts against their whole); empty when "
                  "it judges the whole."),
         "rounding": "The rounding convention the check was judged under."}),
    "findings": (
        "The audit's findings: one per underlying problem (a quantity or statement topic with an inconsistent "
        "check), each with its kind.",
        {"finding": _FINDING, "study": _STUDY, "quantity": "The quantity of its first failing check.",
         "places": "Where it is printed.", "checks": "How many checks judge it (failing or not).",
         "problem": "What disagrees.", "reconcile": "What would reconcile it, and what the text rules out.",
         "order": _ORDER, "kind": _KIND, "convention": _CONVENTION}),
    "minors": (
        "Risk of bias by MINORS (Slim et al. 2003), the eight items for non-comparative studies "
        "(wording paraphrased): the book's judgement of each item with its support.",
        {"study": _STUDY, "item": "Item number.", "question": "The item (paraphrased).",
         "score": "0 not reported, 1 reported but inadequate, 2 reported and adequate.",
         "meaning": "The score in words.", "reason": "Why that score.", "support": _SUPPORT}),
    "certainty": (
        "The GRADE Summary of findings under the build's parameters: each headline outcome, its estimate, "
        "each reason to rate down and the certainty.",
        {"study": _STUDY, "outcome": "Headline outcome.", "patients": "Patients in the estimate.",
         "estimate": "Estimate with its interval, as the book prints it.",
         "width": ("Interval width (of 100 points for a proportion; of the baseline mean for a change, at the "
                   "typical correlation, an assumption)."),
         "start": "Starting level.", "risk_of_bias": "Rating for risk of bias, with the reason.",
         "indirectness": "Rating for indirectness, with the reason.",
         "imprecision": "Rating for imprecision, with the reason.", "inconsistency": "Rating for inconsistency.",
         "publication_bias": "Rating for publication bias.", "downgrades": "Levels rated down.",
         "certainty": "high, moderate, low or very low."}),
    "registration": (
        "Registration of each study against its dates.",
        {"study": _STUDY, "record": "The registry record, if any.", "first_received": "Date first received.",
         "study_period": "The study period the paper states.", "verdict": "The book's reading."}),
    "harms_reporting": (
        "Reporting of harms against the CONSORT Harms 2022 items that apply to a single-group study "
        "(paraphrased).",
        {"study": _STUDY, "item": "Item id.", "question": "The item (paraphrased).",
         "met": "yes, partly or no.", "reason": "Why.", "support": _SUPPORT}),
}


def _check(params: dict[str, Any]) -> None:
    missing = [p for p in PARAMETERS if p not in params]
    if missing:
        raise TypeError(f"results.tables: parameters missing: {', '.join(missing)}")


def _inferred(package) -> pd.DataFrame:
    table = counts.count_inference(package, INFERRED_STUDY, INFERRED_OUTCOMES)
    table["candidates"] = table["candidates"].map(lambda pairs: "; ".join(f"{k}/{n}" for k, n in pairs))
    table["stated_n"] = table["stated_n"].astype("Int64")
    return table.assign(study=INFERRED_STUDY)


def _intervals(package, method: str, level: float, analysis_set: str) -> pd.DataFrame:
    remission = efficacy.remission_table(package, analysis_set, method, level).assign(
        study="he2017", outcome="clinical_remission")
    endoscopy = efficacy.endoscopy_table(package, analysis_set, method, level).assign(
        study="he2017", week=24, basis="")
    # ASAS response is assessed at the last visit of the schedule the paper states.
    final = int(cohort.study_accounts(package)["wei2003"].final_week)
    asas = efficacy.asas_by_analysis_set(package, method, level)
    asas = asas[asas["analysis_set"].eq(analysis_set)].assign(study="wei2003", week=final)
    table = pd.concat([remission, endoscopy, asas], ignore_index=True)
    return table.assign(ci_method=method, confidence_level=level)


def tables(package, params: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Every resource of the results package under ``params``, columns as :data:`RESOURCES` lists them.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
        What :func:`thalbook.core.data.load` returns.
    params : dict
        The build's parameters (at least :data:`PARAMETERS`).

    Returns
    -------
    dict of str to pandas.DataFrame
        In :data:`RESOURCES` order.
    """
    _check(params)
    level, method = params["confidence_level"], params["ci_method"]
    analysis_set, rounding = params["analysis_set"], params["rounding"]
    checks = audit.run_audit(package, rounding=rounding)
    # The changes are read with the AS chapter's rounding, half-up: the audit is run once when it is that.
    means = efficacy.as_outcomes_table(package, level, "half-up", checks if rounding == "half-up" else None)
    minors = appraisal.minors(package)
    made = {
        "inferred_counts": _inferred(package),
        "intervals": _intervals(package, method, level, analysis_set),
        "changes": means.assign(study="wei2003", confidence_level=level),
        "multiverse": multiverse.multiverse(package),
        "audit": checks,
        "findings": findings.summary(checks),
        "minors": minors,
        "certainty": appraisal.summary_of_findings(package, method, level, analysis_set, minors, means),
        "registration": appraisal.registration(package),
        "harms_reporting": appraisal.harms_reporting(package),
    }
    for name, (_, columns) in RESOURCES.items():
        made[name] = made[name][list(columns)].reset_index(drop=True)
    for column in ("k", "n"):
        made["multiverse"][column] = made["multiverse"][column].astype("Int64")
    return made


def csv_bytes(table: pd.DataFrame) -> bytes:
    r"""A table as the package's CSV: UTF-8, ``\n`` line ends, missing values empty, floats in full.

    Written by :func:`thalbook.core.audit.csv_text`: the tables carry the
    data package's text (quotes, printed values), so a text cell a
    spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``, tab, carriage
    return first) is prefixed with ``'``; numbers stay as they are.

    Examples
    --------
    >>> csv_bytes(pd.DataFrame({"a": [1, None], "b": ["x", "y"]}).astype({"a": "Int64"}))
    b'a,b\n1,x\n,y\n'
    >>> csv_bytes(pd.DataFrame({"quote": ["=1+1"], "change": [-1.87]}))
    b"quote,change\n'=1+1,-1.87\n"
    """
    return audit.csv_text(table).encode("utf-8")


def _field_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "number"
    return "string"


def descriptor(made: dict[str, pd.DataFrame], params: dict[str, Any]) -> dict[str, Any]:
    """The ``datapackage.json`` of the results :func:`tables` made under ``params``.

    Every resource is ``<name>.csv`` with its Table Schema (a type and a
    description for every column), its size and its SHA-256, so that
    ``frictionless validate`` checks the bytes as well as the shape.

    Examples
    --------
    >>> made = {"findings": pd.DataFrame({c: ["x"] for c in RESOURCES["findings"][1]})}
    >>> meta = descriptor(made, {"rounding": "half-up"})
    >>> meta["resources"][0]["path"], meta["resources"][0]["schema"]["fields"][0]["description"][:46]
    ('findings.csv', 'Identifier of the finding, made from its study')
    """
    settings = ", ".join(f"{k} = {v}" for k, v in sorted(params.items()))
    resources = []
    for name, table in made.items():
        text, columns = RESOURCES[name]
        body = csv_bytes(table)
        resources.append({
            "name": name, "path": f"{name}.csv", "title": name.replace("_", " "), "description": text,
            "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "bytes": len(body), "hash": f"sha256:{hashlib.sha256(body).hexdigest()}",
            "schema": {"fields": [{"name": c, "type": _field_type(table[c]), "description": columns[c]}
                                  for c in table.columns]},
        })
    return {
        "name": NAME,
        "title": "Derived results of the thalidomide re-analysis",
        "description": ("What the book derives from its data package (sources: the data package beside it), "
                        f"computed with thalbook {__version__} under {settings}. Judgements (MINORS, GRADE, "
                        "registration, harms reporting) are the book's; the support columns quote the papers, "
                        "whose text stays under the papers' copyright."),
        "version": __version__,
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
                      "title": "Creative Commons Attribution 4.0 (the derived numbers and judgements)"}],
        "sources": [{"title": "Reported results of two open-label thalidomide studies (the book's data package)",
                     "path": SOURCE}],
        "parameters": dict(sorted(params.items())),
        "resources": resources,
    }
