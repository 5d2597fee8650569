"""The safety chapter: what the two source studies report of harm.

Every adverse-event statement of the two papers with the count and
denominator used and an interval; the withdrawals for adverse events beside
each study's dose (with the context studies that report them); and who left
the ankylosing spondylitis study, when and why, as a flow diagram and as the
places of the paper tell it. :func:`build` computes every value the prose
glues, every table and both figures; the notebook only glues and shows them.

The two figures are glued values, not shown ones: the prose places them with
``{glue:figure}``, whose captions carry glued text.

Examples
--------
>>> from thalbook.core.evidence import data
>>> view = build(data.load(), {"confidence_level": 0.95, "ci_method": "wilson"})
>>> view.value("he_ae_k"), view.value("he_ae_n"), view.value("he_ae_pct")
(27, 47, '57.4%')
>>> view.value("level"), view.value("ci_method_name")
('95%', 'Wilson')
>>> view.value("as_remaining"), view.value("as_completed")
(8, 8)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from thalbook.chapters import data_provenance, diagrams, displays, tables
from thalbook.chapters.view import View, check_names, check_values
from thalbook.core.analyses import cohort, harms
from thalbook.core.auditing.statement_checks import statement_rows
from thalbook.core.inference import stats
from thalbook.core.parameters import Parameters

#: The parameters the chapter declares, as its notebook's parameters cell does.
PARAMETERS = ("confidence_level", "ci_method")
#: The AS paper's common side effects, which it counts among completers: glue name -> event as worded.
COMMON_EVENTS = {"dry_mouth": "dry mouth", "constipation": "constipation", "dizziness": "dizziness",
                 "drowsy": "daytime drowsiness"}


def _checked(params: Mapping[str, Any]) -> Parameters:
    """The parameter values, checked as ``thalbook`` checks them (:func:`thalbook.chapters.view.check_values`)."""
    check_names("safety", params, PARAMETERS)
    return check_values(params)


def _percent(proportion: float, digits: int = 1) -> str:
    return f"{100 * proportion:.{digits}f}%"


def _closed(fig):
    """The figure, closed, so that the cell that builds the view shows nothing; it is drawn when glued."""
    plt.close(fig)
    return fig


def build(package, params: Mapping[str, Any]) -> View:
    """Everything the safety chapter glues and shows.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        The loaded data package (:func:`thalbook.core.evidence.data.load`).
    params : mapping
        ``confidence_level`` and ``ci_method`` (exactly these; :data:`PARAMETERS`),
        the interval of every proportion.

    Returns
    -------
    View
        ``values``: counts as ``int``, percentages and labels as text (``"57.4%"``),
        and the two glued figures ``fig_safety_events`` and ``fig_safety_as_flow``;
        ``tables``: ``tbl-safety-events-<study>`` (one per source study),
        ``tbl-safety-withdrawals``, ``tbl-safety-as-steps`` and ``tbl-safety-as-places``.

    Raises
    ------
    TypeError
        If ``params`` lacks one of the chapter's parameters or has another.
    thalbook.core.errors.ParameterError
        If a parameter value is not allowed (:data:`thalbook.core.vocabulary.SCHEMA`).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> view = build(data.load(), {"confidence_level": 0.9, "ci_method": "clopper-pearson"})
    >>> view.params
    {'confidence_level': 0.9, 'ci_method': 'clopper-pearson'}
    >>> view.value("neuro_k"), view.value("neuro_n"), view.value("neuro_high")
    (0, 13, '21%')
    >>> sorted(view.tables)[:2]
    ['tbl-safety-as-places', 'tbl-safety-as-steps']
    >>> build(data.load(), {"confidence_level": 0.3, "ci_method": "wilson"})
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: confidence_level: 0.3 is less than the minimum of 0.5
    """
    p = _checked(params)
    events = harms.adverse_events(package, p.ci_method, p.confidence_level)
    level_text = f"{100 * p.confidence_level:g}%"
    interval = f"{level_text} {p.ci_method.label}"
    labels = data_provenance.study_labels(package, with_disease=True)
    view = View({name: params[name] for name in PARAMETERS}, {"level": level_text, "ci_method_name": p.ci_method.label})
    _events(view, events, labels, p.confidence_level, interval, displays.source_pair(package))
    _withdrawals(view, package, p, labels, level_text, interval)
    _as_withdrawals(view, package, events)
    _neuropathy_and_somnolence(view, package, p, events)
    return view


def _events(view: View, events: pd.DataFrame, labels: dict[str, str], confidence_level: float,
            interval: str, studies: tuple[str, str]) -> None:
    """Adverse events in both studies: the two tables, the dot plot and the numbers the prose quotes."""
    he, wei = studies
    he_any = harms.event_row(events, he, "any adverse event")
    he_stop = harms.event_row(events, he, "adverse event necessitating therapy discontinuation")
    common = {name: harms.event_row(events, wei, event, "results") for name, event in COMMON_EVENTS.items()}
    dry = common["dry_mouth"]
    view.values.update({
        "n_event_rows": len(events),
        "he_event_rows": int(events["study"].eq(he).sum()),
        "he_ae_k": int(he_any["k"]),
        "he_ae_n": int(he_any["n"]),
        "he_ae_pct": _percent(he_any["k"] / he_any["n"]),
        "he_ae_low": _percent(he_any["low"]),
        "he_ae_high": _percent(he_any["high"]),
        "he_stop_k": int(he_stop["k"]),
        "he_stop_n": int(he_stop["n"]),
        "wei_common_n": int(dry["n"]),
        "wei_enrolled": int(dry["enrolled"]),
        "wei_completer_gap": int(dry["enrolled"] - dry["n"]),
        "wei_dry_mouth_low": int(dry["enrolled_low"]),
        "wei_dry_mouth_high": int(dry["enrolled_high"]),
        **{f"wei_{name}_k": int(row["k"]) for name, row in common.items()},
    })
    for study in dict.fromkeys(events["study"]):
        name = f"tbl-safety-events-{study}"
        view.tables[name] = tables.frame_table(
            harms.adverse_event_table(events[events["study"].eq(study)], confidence_level),
            tables.caption("tbl-safety-events-<study>", study=labels[study], interval=interval),
            name, widths=[22, 12, 12, 20, 17, 17])
    view.values["fig_safety_events"] = _closed(diagrams.events_figure(events, labels, confidence_level))


def _withdrawals(view: View, package, p: Parameters, labels: dict[str, str], level_text: str,
                 interval: str) -> None:
    """Withdrawals for adverse events beside the dose: the table and each source study's numbers."""
    he, wei = displays.source_pair(package)
    source = harms.ae_withdrawals(package, p.ci_method, p.confidence_level)
    context = harms.context_ae_withdrawals(package, p.ci_method, p.confidence_level)
    for study, key in ((he, "he"), (wei, "wei")):
        row = source.set_index("study").loc[study]
        view.values.update({
            f"{key}_wd_k": int(row["k"]),
            f"{key}_wd_n": int(row["enrolled"]),
            f"{key}_wd_pct": _percent(row["k"] / row["enrolled"]),
            f"{key}_wd_low": _percent(row["low"]),
            f"{key}_wd_high": _percent(row["high"]),
            f"{key}_dose": row["dose"],
        })
    view.values["n_context_wd"] = len(context)
    both = pd.concat([source.assign(shown=[labels.get(s, s) for s in source["study"]]),
                      context.assign(shown=[f"{labels.get(s, s)} (context only)" for s in context["study"]])],
                     ignore_index=True)
    shown = pd.DataFrame({
        "study": both["shown"],
        "dose": both["dose"],
        "treatment": both["duration"],
        "withdrew for adverse events": [f"{k}/{n}" for k, n in zip(both["k"], both["enrolled"], strict=True)],
        f"proportion ({level_text} interval)": [
            f"{_percent(k / n)} ({_percent(low)} to {_percent(high)})"
            for k, n, low, high in zip(both["k"], both["enrolled"], both["low"], both["high"], strict=True)],
        "stated in": both["places"],
    })
    view.tables["tbl-safety-withdrawals"] = tables.frame_table(
        shown, tables.caption("tbl-safety-withdrawals", interval=interval),
        "tbl-safety-withdrawals", widths=[18, 26, 12, 12, 16, 16])


#: The topics of ``statements.csv`` in the AS paper whose places the prose says disagree.
_DISAGREEMENTS = ("withdrawal-reasons", "severe-adverse-events")


def _audit_on_places(package) -> str:
    """What the consistency audit says of the two disagreements the prose describes, from its own verdicts."""
    _, wei = displays.source_pair(package)
    verdicts = {r["subject"]: r["status"] for r in statement_rows(package, "half-up")
                if r["study"] == wei and r["about"] == "statement"}
    judged = [topic for topic in _DISAGREEMENTS if verdicts.get(topic) == "inconsistent"]
    if len(judged) == len(_DISAGREEMENTS):
        return "The consistency audit judges both disagreements, each a finding of its own."
    if judged:
        return "The consistency audit judges one of them as a finding; it finds the other consistent."
    return "The consistency audit finds neither in its statement checks."


def _as_withdrawals(view: View, package, events: pd.DataFrame) -> None:
    """Who left the AS study, when and why: the flow diagram, its two tables and the story the prose tells."""
    _, wei = displays.source_pair(package)
    steps = harms.as_accounting(package, wei)
    facts = cohort.facts(package, wei)
    enrolled, completed = cohort.enrolled(package, wei), int(facts["completed"])
    first, second, third = (steps.iloc[i] for i in range(3))
    withdrawals = package.withdrawals
    rash = withdrawals[withdrawals["study_id"].eq(wei) & withdrawals["location"].eq("abstract: results")
                       & withdrawals["reason"].eq("rash")]
    severe = harms.severe_events(events, wei)
    view.values.update({
        "as_enrolled": enrolled,
        "as_completed": completed,
        "as_left": int(steps["left"].sum()),
        "as_remaining": int(steps["remaining"].iloc[-1]),
        "as_steps_place": steps["location"].iloc[0],
        "as_first_k": int(first["left"]),
        "as_first_when": first["when"],
        "as_second_k": int(second["left"]),
        "as_second_when": second["when"],
        "as_third_k": int(third["left"]),
        "as_third_when": third["when"],
        "rash_weeks": facts["rash_resolution_weeks"],
        "dizzy_days": facts["dizziness_resolution_days"],
        "abstract_rash_k": int(rash["count"].iloc[0]),
        "n_severe_rows": len(severe),
        "n_severe_patients": int(severe["k"].sum()),
        "audit_on_places": _audit_on_places(package),
        "fig_safety_as_flow": _closed(diagrams.flow_figure(steps, enrolled, completed, harms.dose_text(package, wei),
                                                          f"week {facts['duration_weeks']}")),
    })
    steps_shown = pd.DataFrame({
        "step": steps["step"].astype(str), "when": steps["when"], "left": steps["left"].astype(str),
        "reason (as written)": steps["reason"], "category": steps["category"],
        "still in the study": steps["remaining"].astype(str)})
    view.tables["tbl-safety-as-steps"] = tables.frame_table(
        steps_shown, tables.caption("tbl-safety-as-steps"), "tbl-safety-as-steps", widths=[7, 22, 8, 31, 17, 15])
    view.tables["tbl-safety-as-places"] = tables.frame_table(
        harms.accounting_by_place(package, wei).astype(str), tables.caption("tbl-safety-as-places"),
        "tbl-safety-as-places")


def _neuropathy_and_somnolence(view: View, package, p: Parameters, events: pd.DataFrame) -> None:
    """The numbers of the section on neuropathy and somnolence."""
    _, wei = displays.source_pair(package)
    neuro = harms.event_row(events, wei, "neuropathy")
    numb = harms.event_row(events, wei, "numbness of the hands")
    drowsy = harms.event_row(events, wei, "severe drowsiness under the twice-daily regimen")
    facts = cohort.facts(package, wei)
    # the patients exposed for the whole study: those still in it at its final visit
    account = cohort.study_accounts(package)[wei]
    whole, _ = cohort.patients_in_study(package, wei, account.final_week)
    left = sorted({w for _, w in account.withdrawals if w is not None})
    left_text = " or ".join(filter(None, [", ".join(map(cohort.week_text, left[:-1])),
                                          cohort.week_text(left[-1]) if left else "an unstated week"]))
    whole_high = stats.proportion_ci(int(neuro["k"]), whole, p.ci_method, p.confidence_level)[1]
    view.values.update({
        "neuro_k": int(neuro["k"]),
        "neuro_n": int(neuro["n"]),
        "neuro_high": _percent(neuro["high"], 0),
        "neuro_whole_n": whole,
        "neuro_whole_high": _percent(whole_high, 0),
        "neuro_short_n": int(neuro["n"]) - whole,
        "neuro_left_weeks": left_text,
        "numb_k": int(numb["k"]),
        "numb_weeks": facts["numbness_resolution_weeks"],
        "severe_drowsy_k": int(drowsy["k"]),
        "bedtime_mg": facts["bedtime_dose_mg"],
        "as_months": facts["duration_months"],
    })
