"""GRADE for every outcome of the Summary of findings: risk of bias, indirectness, imprecision, certainty.

The outcomes, benefits and harms, are those of :func:`headline_outcomes`.
Risk of bias (GRADE guidelines 4) and indirectness (guidelines 8,
:func:`indirectness`) are the book's judgements, rows of the data package
read by :func:`thalbook.core.analyses.instruments.judgements`, with the study's MINORS
total (:func:`thalbook.core.analyses.instruments.minors`); imprecision (guidelines 6)
is computed: whether the decision would differ between the interval's
limits, against a threshold the book states (:func:`thresholds`), and the
optimal information size (:func:`ois_proportion`,
:func:`ois_mean_change`). :func:`certainty` grades them, and
:func:`summary_of_findings` puts it all together.

Examples
--------
>>> from thalbook.core.evidence import data
>>> summary_of_findings(data.load()).groupby("study")["certainty"].first().to_dict()
{'he2017': 'very low', 'wei2003': 'very low'}
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from thalbook.core.analyses import changes, cohort, efficacy, harms
from thalbook.core.analyses.instruments import (
    BOOKS_READING,
    basis,
    declared_primary,
    headline,
    judgements,
    minors,
    minors_totals,
    one_judgement,
)
from thalbook.core.errors import InputError
from thalbook.core.inference import stats
from thalbook.core.vocabulary import AnalysisSet, CiMethod

# --------------------------------------------------------------------------
# GRADE: imprecision (guidelines 6)

#: GRADE's levels of certainty, highest first.
GRADE_LEVELS = ("high", "moderate", "low", "very low")
#: How many levels a domain rates down by.
SERIOUSNESS = {"not serious": 0, "serious": 1, "very serious": 2}
#: Significance level and power of the trial whose size is the optimal information size (GRADE guidelines 6:
#: "an adequately powered individual trial"; conventional values).
OIS_ALPHA = 0.05
OIS_POWER = 0.8
#: The smallest differences that would change a decision: the book's assumptions, one per kind of outcome.
#: Proportions are absolute differences; a change is in points of a 0 to 10 index (negative: better).
BENEFIT_DIFFERENCE = 0.15
HARM_DIFFERENCE = 0.10
CHANGE_DIFFERENCE = -1.0
#: The row of the data package whose placebo rate is the reference for clinical remission.
REMISSION_REFERENCE = "lazzerini2013-remission-w8-placebo"
#: Rates expected without thalidomide where the data package holds none: the book's assumptions.
ASSUMED_REFERENCES = {"mucosal_healing": 0.10, "asas20": 0.25, "any_ae": 0.50, "ae_withdrawal": 0.05}
_BENEFIT_WHY = "the book's assumption: the smallest gain over no treatment that would justify a teratogenic drug"
_HARM_WHY = "the book's assumption: the smallest excess of harm that would weigh against the drug"
_CHANGE_WHY = "the book's assumption: the smallest change of the index a patient would notice"
_ASSUMED = "the book's assumption (no untreated rate in the data package)"


@dataclass(frozen=True)
class Threshold:
    """What the book assumes to judge one outcome's imprecision (GRADE guidelines 6).

    ``reference`` is the value expected without thalidomide, ``difference``
    the smallest difference from it that would change the decision (signed:
    the direction of benefit or harm), each with where it comes from. The
    clinical decision threshold is their sum.

    Examples
    --------
    >>> Threshold("proportion", 0.10, "assumed", 0.15, "assumed").threshold
    0.25
    """

    measure: str
    reference: float
    reference_basis: str
    difference: float
    difference_basis: str

    @property
    def threshold(self) -> float:
        return round(self.reference + self.difference, 12)


def thresholds(package) -> dict[str, Threshold]:
    """The book's threshold for each kind of outcome of the Summary of findings.

    The reference for clinical remission is the placebo rate of the one
    randomised trial in the data package (children and adolescents: the
    book's choice of reference, itself indirect); the other references and
    every difference are the book's assumptions.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> t = thresholds(data.load())["remission"]
    >>> round(t.reference, 4), round(t.threshold, 4)
    (0.1154, 0.2654)
    """
    rows = package.context_outcomes.set_index("id")
    if REMISSION_REFERENCE not in rows.index:
        raise InputError(f"context_outcomes.csv: no row {REMISSION_REFERENCE!r}, the appraisal's reference")
    placebo = rows.loc[REMISSION_REFERENCE]
    k, n = int(placebo["count"]), int(placebo["denominator"])
    remission = (f"placebo arm of {efficacy.study_label(str(placebo['study_id']))}, {k}/{n} "
                 f"({placebo['participants']}, week {int(placebo['timepoint_week'])}): the book's choice")
    made = {"remission": Threshold("proportion", k / n, remission, BENEFIT_DIFFERENCE, _BENEFIT_WHY)}
    for key, why, difference in (("mucosal_healing", _BENEFIT_WHY, BENEFIT_DIFFERENCE),
                                 ("asas20", _BENEFIT_WHY, BENEFIT_DIFFERENCE),
                                 ("any_ae", _HARM_WHY, HARM_DIFFERENCE),
                                 ("ae_withdrawal", _HARM_WHY, HARM_DIFFERENCE)):
        made[key] = Threshold("proportion", ASSUMED_REFERENCES[key], _ASSUMED, difference, why)
    made["change"] = Threshold("mean change", 0.0, "no change: the book's assumption", CHANGE_DIFFERENCE,
                               _CHANGE_WHY)
    return made


def ois_proportion(reference: float, threshold: float, alpha: float = OIS_ALPHA, power: float = OIS_POWER) -> float:
    """Optimal information size for one proportion: the patients a single-group trial needs to tell apart.

    The number of patients a two-sided one-sample test at ``alpha`` needs to
    tell the ``threshold`` rate from the ``reference`` rate with the given
    ``power``, on the arcsine scale (Cohen's h,
    ``statsmodels.stats.proportion.proportion_effectsize``; the normal power
    of ``statsmodels.stats.power.NormalIndPower`` with ``ratio=0``, its one
    sample case). Not rounded: a study meets it with at least its ceiling.

    Examples
    --------
    >>> round(ois_proportion(0.10, 0.25), 1)
    48.2
    """
    for name, value in (("reference", reference), ("threshold", threshold), ("alpha", alpha), ("power", power)):
        if not 0 < value < 1:
            raise ValueError(f"ois_proportion: {name} must lie strictly between 0 and 1, got {value}")
    if reference == threshold:
        raise ValueError("ois_proportion: the threshold must differ from the reference")
    from statsmodels.stats.power import NormalIndPower  # heavy import, only for this
    from statsmodels.stats.proportion import proportion_effectsize

    effect = abs(float(proportion_effectsize(threshold, reference)))
    return float(NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=0))


def ois_mean_change(difference: float, sd_change: float, alpha: float = OIS_ALPHA,
                    power: float = OIS_POWER) -> float:
    """Optimal information size for a mean change: the pairs a paired (one-sample) t-test needs.

    The patients a two-sided one-sample t-test of the change at ``alpha``
    needs to detect a mean change of ``difference`` with the given
    ``power`` when the changes have SD ``sd_change``
    (``statsmodels.stats.power.TTestPower``).

    Examples
    --------
    >>> round(ois_mean_change(-1.0, 2.0), 1)
    33.4
    """
    if difference == 0 or not sd_change > 0:
        raise ValueError(f"ois_mean_change: need a non-zero difference and a positive SD, got {difference}, "
                         f"{sd_change}")
    from statsmodels.stats.power import TTestPower  # heavy import, only for this

    return float(TTestPower().solve_power(effect_size=abs(difference) / sd_change, alpha=alpha, power=power))


def _value_text(value: float, measure: str) -> str:
    return f"{round(100 * value, 1):g}%" if measure == "proportion" else f"{value:.2f} points"


def _interval_text(low: float, high: float, measure: str) -> str:
    if measure == "proportion":
        return f"({_value_text(low, measure)} to {_value_text(high, measure)})"
    return f"({low:.2f} to {high:.2f} points)"


def imprecision(low: float, high: float, threshold: float, patients: int, ois: float,
                measure: str = "proportion") -> tuple[str, str]:
    """GRADE guidelines 6 on one outcome: ``(level, reason)``.

    Serious when the clinical decision would differ between the interval's
    limits (the interval holds values on both sides of ``threshold``), or
    when the patients are fewer than the optimal information size ``ois``
    (rounded up): either criterion suffices.

    Examples
    --------
    >>> imprecision(0.136, 0.372, 0.265, 47, 51.8)[0]
    'serious'
    >>> imprecision(0.33, 0.61, 0.265, 60, 51.8)
    ('not serious', 'the whole interval (33% to 61%) lies above 26.5%; 60 patients, at least the 52 of the OIS')
    """
    low, high = sorted((low, high))
    needed = math.ceil(ois)
    crosses = low < threshold < high
    interval = _interval_text(low, high, measure)
    if crosses:
        decision = f"the interval {interval} holds values on both sides of {_value_text(threshold, measure)}"
    else:
        side = "above" if low >= threshold else "below"
        decision = f"the whole interval {interval} lies {side} {_value_text(threshold, measure)}"
    short = patients < needed
    size = f"{patients} patients, {'fewer than' if short else 'at least'} the {needed} of the OIS"
    return ("serious" if crosses or short else "not serious"), f"{decision}; {size}"


# --------------------------------------------------------------------------
# GRADE: indirectness (guidelines 8)


def _context_doses(package, condition: str) -> str:
    """The doses of the other studies of a condition in the data package, beside the study's own."""
    context = package.context_outcomes.merge(package.studies[["study_id", "condition"]], on="study_id")
    context = context[context["condition"].eq(condition) & context["arm"].eq("thalidomide")]
    doses = context.drop_duplicates("study_id")[["study_id", "dose"]]
    return "; ".join(f"{efficacy.study_label(s)}: {d}" for s, d in doses.to_numpy()) or "no other dose stated"


def indirectness(package) -> pd.DataFrame:
    """GRADE's questions of indirectness (population, setting, intervention, comparator, outcome) per study.

    Returns
    -------
    pandas.DataFrame
        ``study, domain, concern, short`` (the concern in a few words, for
        the Summary of findings), ``rating, support``: the support is the
        quote of the data-package row the concern rests on, or "the book's
        reading"; every rating is the book's judgement.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> table = indirectness(data.load())
    >>> table.groupby("study")["rating"].apply(lambda r: int(r.eq("serious").sum())).to_dict()
    {'he2017': 0, 'wei2003': 2}
    """
    conditions = package.studies.set_index("study_id")["condition"]
    table = judgements(package, "indirectness", BOOKS_READING, lambda study: {
        "dose": harms.dose_text(package, study), "context_doses": _context_doses(package, conditions[study])})
    table = table.rename(columns={"item": "domain", "reason": "concern", "judgement": "rating"})
    return table[["study", "domain", "concern", "short", "rating", "support"]]


def _indirect_summary(table: pd.DataFrame, study: str) -> tuple[str, str]:
    """A study's indirectness: ``(level, reasons)``, serious when one of its domains is (the book's judgement)."""
    mine = table[table["study"].eq(study)]
    if mine.empty:
        raise InputError(f"appraisal.csv: no indirectness judgement of {study}")
    serious = mine["rating"].eq("serious")
    noted = "; ".join(s for s in mine.loc[~serious, "short"] if s)
    if serious.any():
        reasons = "; ".join(mine.loc[serious, "short"])
        return "serious", f"{reasons} (the book's judgement)" + (f"; also {noted}" if noted else "")
    return "not serious", "the patients and outcomes of the question (the book's judgement)" + (
        f"; noted: {noted}" if noted else "")


# --------------------------------------------------------------------------
# GRADE: the outcomes and their certainty


def _proportion_row(study, outcome, key, chosen_by, k, n, ci_method, confidence_level, threshold: Threshold) -> dict:
    proportion, low, high = efficacy.interval(k, n, ci_method, confidence_level)
    return {"study": study, "outcome": outcome, "key": key, "chosen_by": chosen_by, "patients": n,
            "estimate": f"{k}/{n} = {100 * proportion:.0f}% ({100 * low:.0f} to {100 * high:.0f})",
            "low": low, "high": high, "width": high - low, "measure": "proportion",
            "reference": threshold.reference, "threshold": threshold.threshold,
            "ois": ois_proportion(threshold.reference, threshold.threshold)}


@dataclass(frozen=True)
class _Asked:
    """What every headline outcome is computed under: the parameters in force and the thresholds."""

    ci_method: CiMethod
    confidence_level: float
    analysis_set: AnalysisSet
    means: pd.DataFrame | None
    limits: dict[str, Threshold]


def _remission_rows(package, study, head: dict, a: _Asked) -> list[dict]:
    remission = efficacy.remission_table(package, a.analysis_set, a.ci_method, a.confidence_level,
                                         study=study).set_index("week")
    week = head["week"]
    return [_proportion_row(study, f"clinical remission, week {week}", "remission", head["chosen_by"],
                            int(remission.loc[week, "k"]), int(remission.loc[week, "n"]), a.ci_method,
                            a.confidence_level, a.limits["remission"])]


def _healing_rows(package, study, head: dict, a: _Asked) -> list[dict]:
    healing = efficacy.endoscopy_table(package, a.analysis_set, a.ci_method, a.confidence_level,
                                       study=study).set_index("outcome").loc["mucosal_healing"]
    return [_proportion_row(study, f"mucosal healing, week {cohort.facts(package, study)['endoscopy_week']}",
                            "mucosal_healing", head["chosen_by"], int(healing["k"]), int(healing["n"]),
                            a.ci_method, a.confidence_level, a.limits["mucosal_healing"])]


def _any_ae_rows(package, study, head: dict, a: _Asked) -> list[dict]:
    events = harms.adverse_events(package, a.ci_method, a.confidence_level)
    counted = events[events["study"].eq(study) & events["event"].eq("any adverse event") & events["k"].notna()]
    if counted.empty:
        return [_any_ae_bound(package, study, head, a)]
    anyone = harms.event_row(events, study, "any adverse event")
    return [_proportion_row(study, "any adverse event", "any_ae", head["chosen_by"], int(anyone["k"]),
                            int(anyone["n"]), a.ci_method, a.confidence_level, a.limits["any_ae"])]


def _withdrawal_rows(package, study, head: dict, a: _Asked) -> list[dict]:
    left = harms.ae_withdrawals(package, a.ci_method, a.confidence_level).set_index("study").loc[study]
    return [_proportion_row(study, "withdrawal for adverse events", "ae_withdrawal", head["chosen_by"],
                            int(left["k"]), int(left["enrolled"]), a.ci_method, a.confidence_level,
                            a.limits["ae_withdrawal"])]


def _any_ae_bound(package, study, head: dict, a: _Asked) -> dict:
    """Any adverse event in a study whose paper does not count it: bounded from what it does say.

    The patients who withdrew for side effects had one; the completers are
    other patients, and the most common event among them gives the fewest
    who had any. At most, every enrolled patient had one.
    """
    ci_method, confidence_level = a.ci_method, a.confidence_level
    enrolled, completed = cohort.enrolled(package, study), cohort.fact(package, study, "completed")
    left = int(harms.ae_withdrawals(package, ci_method, confidence_level).set_index("study").loc[study, "k"])
    events = harms.adverse_events(package, ci_method, confidence_level)
    among = events[events["study"].eq(study) & events["n"].eq(completed) & events["k"].notna()]
    top = among.loc[among["k"].idxmax()] if len(among) else pd.Series({"k": 0, "event": "no counted event"})
    fewest = left + int(top["k"])
    low = stats.proportion_ci(fewest, enrolled, ci_method, confidence_level)[0]
    high = stats.proportion_ci(enrolled, enrolled, ci_method, confidence_level)[1]
    limit = a.limits["any_ae"]
    return {"study": study, "outcome": "any adverse event", "key": "any_ae", "chosen_by": head["chosen_by"],
            "patients": enrolled,
            "estimate": (f"not counted by the paper: {fewest} to {enrolled} of {enrolled} "
                         f"({100 * fewest / enrolled:.0f}% to {100 * enrolled / enrolled:.0f}%; interval "
                         f"{100 * low:.0f} to {100 * high:.0f}), the book's bound: {left} withdrew for side "
                         f"effects, {int(top['k'])} of the {completed} completers had {top['event']}"),
            "low": low, "high": high, "width": high - low, "measure": "proportion", "reference": limit.reference,
            "threshold": limit.threshold, "ois": ois_proportion(limit.reference, limit.threshold)}


def _change_rows(package, study, head: dict, a: _Asked) -> list[dict]:
    means = a.means
    if means is None or "study" not in means:
        means = changes.as_outcomes_table(package, a.confidence_level, study=study) if means is None else means
    else:
        means = means[means["study"].eq(study)]
    change = a.limits["change"]
    rows = []
    primary = {m for m, _ in declared_primary(package, study)}
    final = int(means["week"].max())  # the end of the trial: the last week the paper compares with baseline
    for measure in changes.CLINICAL_MEASURES:
        m = means.set_index(["measure", "week"]).loc[(measure, final)]
        r = changes.TYPICAL_CORRELATION
        sd = math.sqrt(max(m["baseline_sd"] ** 2 + m["followup_sd"] ** 2
                           - 2 * r * m["baseline_sd"] * m["followup_sd"], 0.0))
        rows.append({
            "study": study, "outcome": f"{m['label']} change, week {final}", "key": "change",
            # the row's reason is for the indices the paper declares primary; any other is the book's choice
            "chosen_by": head["chosen_by"] if measure in primary else "the book",
            "patients": int(m["n_min"]),
            "estimate": (f"{m['change']:+.2f} ({m['change_low_typical']:.2f} to {m['change_high_typical']:.2f} at "
                         f"r = {r:g}, assumed; {m['change_low']:.2f} to {m['change_high']:.2f} at r = 0)"),
            "low": m["change_low_typical"], "high": m["change_high_typical"],
            "width": (m["change_high_typical"] - m["change_low_typical"]) / m["baseline_mean"],
            "measure": "mean change", "reference": change.reference, "threshold": change.threshold,
            "ois": ois_mean_change(change.difference, sd)})
    return rows


def _asas_rows(package, study, head: dict, a: _Asked) -> list[dict]:
    asas = efficacy.asas_by_analysis_set(package, a.ci_method, a.confidence_level, study=study)
    r = asas[asas["outcome"].eq(efficacy.ASAS) & asas["analysis_set"].eq(a.analysis_set)].iloc[0]
    week = efficacy.response_week(package, study)
    return [_proportion_row(study, f"ASAS20 response, week {week}", "asas20", head["chosen_by"], int(r["k"]),
                            int(r["n"]), a.ci_method, a.confidence_level, a.limits["asas20"])]


#: How each kind of headline outcome (the ``item`` of a ``headline`` row of ``appraisal.csv``) is computed.
_HEADLINE_ROWS = {"remission": _remission_rows, "mucosal_healing": _healing_rows, "change": _change_rows,
                  "asas20": _asas_rows, "any_ae": _any_ae_rows, "ae_withdrawal": _withdrawal_rows}


def headline_outcomes(package, ci_method: CiMethod = CiMethod.WILSON, confidence_level: float = 0.95,
                      analysis_set: AnalysisSet = AnalysisSet.ITT,
                      means: pd.DataFrame | None = None) -> pd.DataFrame:
    """The outcomes of the Summary of findings under the given parameters, with what imprecision is judged on.

    Each source study's outcomes are its ``headline`` rows of ``appraisal.csv``
    (:func:`thalbook.core.analyses.instruments.headline`), in their order. In
    the book's package, He et al.: clinical remission at its primary week and at the week its
    conclusion calls optimal, mucosal healing (its title's claim), any
    adverse event and withdrawals for adverse events. Wei et al.: the changes
    of its declared primary outcomes at week 24, whose interval is taken at
    the typical correlation :data:`thalbook.core.analyses.changes.TYPICAL_CORRELATION`
    (an assumption; the bound at correlation 0 beside it), the ASAS20
    response, any adverse event (bounded: the paper does not count it) and
    withdrawals for adverse events. Harms are over every patient exposed,
    whatever the analysis set.

    Returns
    -------
    pandas.DataFrame
        ``study, outcome, key, chosen_by, patients, estimate`` (text),
        ``low, high`` (the interval), ``width`` (of 100 percentage points
        for a proportion, of the baseline mean for a change), ``measure``,
        ``reference, threshold`` (:func:`thresholds`) and ``ois``
        (unrounded).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> table = headline_outcomes(data.load())
    >>> table.iloc[1]["outcome"], table.iloc[1]["estimate"]
    ('clinical remission, week 12', '22/47 = 47% (33 to 61)')
    """
    asked = _Asked(ci_method, confidence_level, analysis_set, means, thresholds(package))
    return pd.DataFrame([row for study in cohort.source_studies(package) for head in headline(package, study)
                         for row in _HEADLINE_ROWS[head["key"]](package, study, head, asked)])


def _risk_of_bias(package, outcomes: pd.DataFrame, scores: dict[str, int]) -> tuple[list[str], list[str]]:
    """Each outcome's risk of bias and why: the design, MINORS, and what its reporting leaves open (the judgement)."""
    judged = judgements(package, "risk_of_bias", fields=lambda study: {
        "cdai_remission_threshold": efficacy.CDAI_REMISSION_THRESHOLD}).set_index(["study", "item"])
    rows = [one_judgement(judged, s, k, "risk_of_bias") for s, k in outcomes[["study", "key"]].to_numpy()]
    reasons = [f"single group, open-label: the change cannot be told from the natural course, regression to the mean "
               f"or co-interventions; MINORS {scores[s]}/16; {row['reason']}"
               for s, row in zip(outcomes["study"], rows, strict=True)]
    return [str(row["judgement"]) for row in rows], reasons


def certainty(outcomes: pd.DataFrame) -> pd.DataFrame:
    """GRADE certainty of each outcome, with every reason to rate down.

    Evidence from a non-randomised study starts at low certainty. Risk of
    bias and indirectness come rated (``risk_of_bias`` and ``indirectness``:
    "not serious", "serious" or "very serious", with ``risk_reasons`` and
    ``indirect_reasons``: judgements); imprecision is computed here by
    :func:`imprecision` from the interval, the threshold, the patients and
    the optimal information size. Inconsistency and publication bias cannot
    be judged from one study each, and are said so, not rated. Nothing is
    rated up: an uncontrolled before-after change cannot show a large effect
    of the drug. Certainty cannot fall below very low: further reasons are
    listed, not counted.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        One row per outcome: ``study, outcome, patients, estimate, low, high,
        measure, threshold, ois, risk_of_bias, risk_reasons, indirectness,
        indirect_reasons``.

    Returns
    -------
    pandas.DataFrame
        The outcomes with ``start`` and, as text with their reasons,
        ``risk_of_bias``, ``indirectness``, ``imprecision``,
        ``inconsistency``, ``publication_bias``; then ``downgrades`` (levels
        rated down, before the floor) and ``certainty``.

    Examples
    --------
    >>> rows = pd.DataFrame({"study": ["s"], "outcome": ["x"], "patients": [10], "estimate": ["50%"],
    ...                      "low": [0.24], "high": [0.76], "measure": ["proportion"], "threshold": [0.3],
    ...                      "ois": [40.0], "risk_of_bias": ["serious"], "risk_reasons": ["open-label"],
    ...                      "indirectness": ["not serious"], "indirect_reasons": ["direct"]})
    >>> certainty(rows)[["downgrades", "certainty"]].values.tolist()
    [[2, 'very low']]
    """
    out = outcomes.copy()
    judged = [imprecision(lo, hi, t, int(n), o, m) for lo, hi, t, n, o, m in
              out[["low", "high", "threshold", "patients", "ois", "measure"]].to_numpy()]
    levels = {"risk_of_bias": out["risk_of_bias"], "indirectness": out["indirectness"],
              "imprecision": pd.Series([lvl for lvl, _ in judged], index=out.index)}
    for name, series in levels.items():
        unknown = set(series) - set(SERIOUSNESS)
        if unknown:
            raise ValueError(f"certainty: {name} must be one of {', '.join(SERIOUSNESS)}, got {sorted(unknown)}")
    down = sum(series.map(SERIOUSNESS) for series in levels.values())
    out["start"] = "low (non-randomised)"
    out["risk_of_bias"] = [f"{lvl}: {why}" for lvl, why in zip(out["risk_of_bias"], out["risk_reasons"], strict=True)]
    out["indirectness"] = [f"{lvl}: {why}"
                           for lvl, why in zip(out["indirectness"], out["indirect_reasons"], strict=True)]
    out["imprecision"] = [f"{lvl}: {why}" for lvl, why in judged]
    out["inconsistency"] = "not assessable: one study"
    out["publication_bias"] = "not assessable: one study"
    out["downgrades"] = down.astype(int)
    start = GRADE_LEVELS.index("low")
    out["certainty"] = [GRADE_LEVELS[min(start + d, len(GRADE_LEVELS) - 1)] for d in out["downgrades"]]
    return out.drop(columns=["risk_reasons", "indirect_reasons"])


def summary_of_findings(package, ci_method: CiMethod = CiMethod.WILSON, confidence_level: float = 0.95,
                        analysis_set: AnalysisSet = AnalysisSet.ITT,
                        minors_table: pd.DataFrame | None = None, means: pd.DataFrame | None = None) -> pd.DataFrame:
    """The GRADE Summary of findings: :func:`headline_outcomes` rated and graded by :func:`certainty`.

    Risk of bias is the book's judgement of each outcome (GRADE guidelines
    4; serious for every one today: a single group, open-label), with the
    MINORS total and what the outcome's reporting leaves open; indirectness
    is the study's (:func:`indirectness`,
    GRADE guidelines 8). ``minors_table`` and ``means`` (:func:`minors`,
    :func:`thalbook.core.analyses.changes.as_outcomes_table`) are computed unless
    given. ``basis`` says which judgements are provisional.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> summary_of_findings(data.load())["certainty"].value_counts().to_dict()
    {'very low': 11}
    """
    minors_table = minors(package) if minors_table is None else minors_table
    outcomes = headline_outcomes(package, ci_method, confidence_level, analysis_set, means)
    indirect = indirectness(package)
    by_study = {study: _indirect_summary(indirect, study) for study in outcomes["study"].unique()}
    outcomes["risk_of_bias"], outcomes["risk_reasons"] = _risk_of_bias(package, outcomes, minors_totals(minors_table))
    outcomes["indirectness"] = outcomes["study"].map(lambda s: by_study[s][0])
    outcomes["indirect_reasons"] = outcomes["study"].map(lambda s: by_study[s][1])
    outcomes["basis"] = outcomes["study"].map(basis(package))
    return certainty(outcomes)
