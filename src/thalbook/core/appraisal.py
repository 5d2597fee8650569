"""A systematic reviewer's appraisal of the two studies: risk of bias, certainty, registration, harms, multiplicity.

Each judgement is the book's, made with a published instrument, and each
carries its *support*: the verbatim quote of the data-package row it rests
on, "not reported", or, where no row of the package says it, "the book's
reading". The judgements are written here, as the thresholds of an analysis
are, because no library makes them; the numbers they rest on (losses to
follow-up, intervals, optimal information sizes, registration dates) are
computed from the data package, so that the judgement follows the data.
He et al. 2017 is appraised from its abstract and record page only: every
judgement of it is provisional (:data:`BASIS`).

* :func:`minors`: MINORS, the eight items for non-comparative studies
  (Slim et al. 2003), each scored 0 (not reported), 1 (reported but
  inadequate) or 2 (reported and adequate), ideal 16. The item wording is a
  paraphrase, not the instrument's text. The loss to follow-up is computed
  (:func:`loss_score`).
* :func:`summary_of_findings`: GRADE for every outcome of the Summary of
  findings, benefits and harms (:func:`headline_outcomes`): risk of bias
  (GRADE guidelines 4), indirectness (guidelines 8, :func:`indirectness`),
  imprecision (guidelines 6: whether the decision would differ between the
  interval's limits, against a threshold the book states, and the optimal
  information size, :func:`ois_proportion` and :func:`ois_mean_change`),
  graded by :func:`certainty`.
* :func:`multiplicity`: the AS paper's p-values in two families, the
  primary outcomes it declares and all its tests, each adjusted by Holm and
  by Bonferroni.
* :func:`registration` and :func:`harms_reporting`: the registry record
  against the study's dates and the ICMJE requirement, and the CONSORT Harms
  2022 items that apply to a single-group study.

Examples
--------
>>> from thalbook.core import data
>>> table = minors(data.load())
>>> table.groupby("study")["score"].sum().to_dict()
{'he2017': 7, 'wei2003': 8}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from thalbook.core import cohort, efficacy, safety, stats
from thalbook.core.errors import InputError
from thalbook.core.vocabulary import AnalysisSet, CiMethod

# --------------------------------------------------------------------------
# supports

NOT_REPORTED = "not reported"
#: The support of a judgement that no row of the data package states.
BOOKS_READING = "the book's reading"
#: The support of a judgement whose row the data package lacks.
NO_ROW = "no such row in the data package"
#: What each study's judgements rest on. He et al. is transcribed from its abstract and record page only, so
#: every judgement of it is provisional; the full text could change any of them.
BASIS = {"he2017": "abstract only: provisional", "wei2003": "full text"}


def _support(package, reference, missing: str = NOT_REPORTED) -> str:
    """The verbatim quote of a data-package row, by (file, id); ``missing`` for None.

    A row the package lacks is said so in the support, and the judgement
    still stands: the validator requires only the rows the chapters cannot do
    without (:data:`thalbook.core.validate.REQUIRED_ROWS`).
    """
    if reference is None:
        return missing
    file, row_id = reference
    table = getattr(package, file.removesuffix(".csv"))
    key = "study_id" if file == "studies.csv" else "id"
    rows = table[table[key].eq(row_id)]
    if rows.empty:
        return f"{NO_ROW}: {file}, {row_id}"
    return str(rows["quote"].iloc[0])


class _Stated(dict):
    """A study's stated facts, where a fact the paper does not state reads "not stated"."""

    def __missing__(self, key: str) -> str:
        return "not stated"


def _worded(template: str, stated: dict[str, str]) -> str:
    """A reason with the study's stated facts filled in (``{enrolled}``, ``{study_end}``, ...).

    Examples
    --------
    >>> _worded("{enrolled} of {completed}", {"enrolled": "13"})
    '13 of not stated'
    """
    return template.format_map(_Stated(stated))


# --------------------------------------------------------------------------
# MINORS

#: MINORS items for non-comparative studies (paraphrased), in the instrument's order.
MINORS_ITEMS = {
    "aim": "A clearly stated aim",
    "consecutive": "Inclusion of consecutive patients",
    "prospective": "Prospective collection of data",
    "endpoints": "Endpoints appropriate to the aim",
    "unbiased": "Unbiased assessment of the endpoint",
    "follow_up": "Follow-up period appropriate to the aim",
    "loss": "Loss to follow-up less than 5%",
    "size": "Prospective calculation of the study size",
}
#: What each MINORS score means.
MINORS_SCORES = {0: "not reported", 1: "reported but inadequate", 2: "reported and adequate"}
#: Largest loss to follow-up MINORS accepts (the loss must be below it).
MINORS_LOSS = 0.05
#: The facts that state how many patients had the final assessment, looked for in this order, and what the
#: others did not have (filled with the study's facts).
FINAL_ASSESSMENT = {"completed": "did not complete the trial",
                    "endoscopy_n": "had no endoscopy at week {endoscopy_week}"}

# The judgements that rest on reading the papers: (study, item) -> (score, reason, support as (file, row id)).
# A reason's {fields} are the study's stated facts. The loss to follow-up is not here: it is computed (_loss).
_MINORS = {
    ("he2017", "aim"): (2, "the background states the question the study answers",
                        ("statements.csv", "he2017-aim-abs-background")),
    ("he2017", "consecutive"): (0, "the abstract does not say how patients were selected", None),
    ("he2017", "prospective"): (
        1, "unclear: the journal abstract calls the cohort prospective, the congress abstract calls it a "
           "'prospective observational' study, and the registry record was first received on "
           "{registration_first_received}, after the study ended ({study_end}): no protocol fixed before the "
           "start is on record",
        ("statements.csv", "he2017-design-conference")),
    ("he2017", "endpoints"): (1, "clinical remission, the primary outcome, is counted over all {enrolled} "
                                 "(intention to treat) but not defined in the abstract: no index, no threshold",
                              ("study_facts.csv", "he2017-primary-endpoint-week-abs-methods")),
    ("he2017", "unbiased"): (0, "open-label; the abstract reports no blinded assessment, nor why there was none",
                             ("studies.csv", "he2017")),
    ("he2017", "follow_up"): (2, "remission and endoscopy assessed to week {endoscopy_week}",
                              ("study_facts.csv", "he2017-endoscopy-week-abs-methods")),
    ("he2017", "size"): (0, "the abstract reports no sample-size calculation", None),
    ("wei2003", "aim"): (2, "the objective is stated", ("statements.csv", "wei2003-aim-abs-objective")),
    ("wei2003", "consecutive"): (0, "how patients were selected is not said", None),
    ("wei2003", "prospective"): (2, "a trial whose methods fix the visits at which every measure was recorded",
                                 ("study_facts.csv", "wei2003-assessment-weeks-methods")),
    ("wei2003", "endpoints"): (1, "validated indices (BASDAI, BASFI, BAS-G) and the ASAS response, but analysed in "
                                  "the {completed} completers only, where MINORS asks for an intention-to-treat "
                                  "assessment", ("study_facts.csv", "wei2003-completed-fig1")),
    ("wei2003", "unbiased"): (0, "open-label, and the main endpoints are reported by the patients; no blinded "
                                 "assessment, nor why there was none", ("studies.csv", "wei2003")),
    ("wei2003", "follow_up"): (2, "{duration_months} months of treatment, assessed at its end",
                               ("study_facts.csv", "wei2003-completed-results")),
    ("wei2003", "size"): (0, "no sample-size calculation is reported", None),
}


def loss_score(lost: int | None, enrolled: int, accounted: bool = True) -> int:
    """MINORS' loss-to-follow-up item on its own scale.

    0 (not reported) when no loss is reported (``lost`` None); 1 (reported
    but inadequate) when the losses reach :data:`MINORS_LOSS` of the
    enrolled, or are not accounted for; 2 (reported and adequate) when they
    stay below it.

    Examples
    --------
    >>> loss_score(15, 47), loss_score(2, 47), loss_score(None, 47), loss_score(1, 47, accounted=False)
    (1, 2, 0, 1)
    """
    if enrolled < 1:
        raise ValueError(f"loss_score: enrolled must be at least 1, got {enrolled}")
    if lost is None:
        return 0
    if not 0 <= lost <= enrolled:
        raise ValueError(f"loss_score: need 0 <= lost <= enrolled, got lost={lost}, enrolled={enrolled}")
    return 2 if accounted and lost / enrolled < MINORS_LOSS else 1


def _withdrawn(package, study: str) -> int:
    """Patients a paper says left, and why, at the place that accounts for the most of them."""
    account = cohort.study_accounts(package)[study]
    return sum(count for count, _ in account.withdrawals)


def _loss(package, study: str) -> tuple[int, str, str]:
    """MINORS' loss item, computed: the enrolled patients without the final assessment."""
    stated = cohort.facts(package, study)
    enrolled = cohort.enrolled(package, study)
    table = package.study_facts
    for name, words in FINAL_ASSESSMENT.items():
        if name not in stated:
            continue
        lost = enrolled - cohort.fact(package, study, name)
        explained = _withdrawn(package, study)
        accounted = explained == lost
        score = loss_score(lost, enrolled, accounted)
        why = ("each with the reason" if accounted else
               f"a reason is given for {explained} patients who stopped treatment, not whether they are among them"
               if explained else "no reason is given")
        verdict = "below" if lost / enrolled < MINORS_LOSS else "reported, but not below"
        reason = (f"{lost} of {enrolled} ({100 * lost / enrolled:.0f}%) {_worded(words, stated)}, {why}: "
                  f"{verdict} the {100 * MINORS_LOSS:g}% MINORS requires")
        places = table[table["study_id"].eq(study) & table["fact"].eq(name)]
        # the body of the paper before its abstract: it says most
        row = places.sort_values("location", key=lambda s: s.str.startswith("abstract"), kind="stable")["id"].iloc[0]
        return score, reason, _support(package, ("study_facts.csv", row))
    explained = _withdrawn(package, study)
    if explained:
        rows = package.withdrawals.loc[package.withdrawals["study_id"].eq(study), "id"]
        return (loss_score(explained, enrolled, accounted=False),
                f"{explained} withdrawals reported, but not how many patients had the final assessment",
                _support(package, ("withdrawals.csv", rows.iloc[0])))
    return 0, "no loss to follow-up is reported", NOT_REPORTED


def minors(package) -> pd.DataFrame:
    """MINORS for both source studies: one row per study and item.

    Returns
    -------
    pandas.DataFrame
        ``study, item, question, score, meaning, reason, support, basis``:
        the support is the quote the judgement rests on, or "not reported";
        the basis says whether the judgement rests on the full text or is
        provisional (:data:`BASIS`).

    Examples
    --------
    >>> from thalbook.core import data
    >>> table = minors(data.load()).set_index(["study", "item"])
    >>> int(table.loc[("he2017", "loss"), "score"]), table.loc[("he2017", "loss"), "reason"][:46]
    (1, '15 of 47 (32%) had no endoscopy at week 24, a ')
    """
    rows = []
    for study in ("he2017", "wei2003"):
        stated = cohort.facts(package, study)
        for item, question in MINORS_ITEMS.items():
            if item == "loss":
                score, reason, support = _loss(package, study)
            else:
                score, template, reference = _MINORS[(study, item)]
                reason, support = _worded(template, stated), _support(package, reference)
            rows.append((study, item, question, score, MINORS_SCORES[score], reason, support, BASIS[study]))
    return pd.DataFrame(rows, columns=["study", "item", "question", "score", "meaning", "reason", "support",
                                       "basis"])


def minors_totals(table: pd.DataFrame) -> dict[str, int]:
    """Study -> MINORS total, from :func:`minors`."""
    return table.groupby("study")["score"].sum().astype(int).to_dict()


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
    >>> from thalbook.core import data
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

# (study, domain) -> (concern, in short, rating, support as (file, row id) or None: the book's reading). A
# concern's {fields} are the study's stated facts and {dose}, {context_doses}.
_INDIRECT = {
    ("he2017", "population"): (
        "adults with active Crohn's disease dependent on, resistant or intolerant to corticosteroids, "
        "immunomodulators or biologics: the patients the question is about", "", "not serious",
        ("statements.csv", "he2017-population-abs-methods")),
    ("he2017", "setting"): (
        "one country, and probably one centre: the book's reading of the funder on the record page and of the "
        "registry record, which names one hospital (research notes); no reason to expect another effect "
        "elsewhere", "one country, probably one centre", "not serious",
        ("statements.csv", "he2017-funder-record-page")),
    ("he2017", "intervention"): (
        "{dose}, the low end of the doses in the data package ({context_doses}): the question answered is that "
        "of low-dose thalidomide", "a low dose", "not serious",
        ("study_facts.csv", "he2017-dose-mg-per-day-min-abs-methods")),
    ("he2017", "comparator"): (
        "none: each patient against the state at entry (rated under risk of bias)", "", "not serious", None),
    ("he2017", "outcome"): (
        "clinical remission, and mucosal healing, an endoscopic finding that stands for the later course of the "
        "disease: both outcomes the question is about", "", "not serious", None),
    ("wei2003", "population: sex"): (
        "men only ({male} of {enrolled}), all HLA-B27 positive; the effect need not differ in women, but the "
        "decision does, for a drug that harms an unborn child", "men only", "not serious",
        ("study_facts.csv", "wei2003-hla-b27-positive-results")),
    ("wei2003", "population: era"): (
        "resistant to conventional non-biologic therapy; the book reads them as never given a biologic, the paper "
        "naming none among the treatments they had failed; a patient today is weighed for an anti-TNF agent "
        "first, or has failed one, and may respond otherwise",
        "patients who had failed conventional, not biologic, therapy (the book's reading)", "serious",
        ("statements.csv", "wei2003-population-abs-methods")),
    ("wei2003", "comparator"): (
        "none (rated under risk of bias); the alternative a reader weighs today, an anti-TNF agent, is not "
        "compared, and the paper calls such agents not available or affordable in most Asian countries",
        "not compared with anti-TNF agents", "serious",
        ("statements.csv", "wei2003-anti-tnf-access-discussion")),
    ("wei2003", "setting"): (
        "one centre, the book's reading of the one institute's committee that approved it; the country is not "
        "stated", "one centre", "not serious", ("statements.csv", "wei2003-setting-methods")),
    ("wei2003", "intervention"): (
        "{dose}, added after fixed-dose background NSAIDs and DMARDs, with NSAIDs used as necessary during the "
        "trial: the question answered is that of thalidomide added to them", "", "not serious",
        ("statements.csv", "wei2003-background-treatment-methods")),
    ("wei2003", "outcome"): (
        "disease activity, function and response as the patients report them: outcomes the question is about", "",
        "not serious", None),
}


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
    >>> from thalbook.core import data
    >>> table = indirectness(data.load())
    >>> table.groupby("study")["rating"].apply(lambda r: int(r.eq("serious").sum())).to_dict()
    {'he2017': 0, 'wei2003': 2}
    """
    rows = []
    for (study, domain), (template, short, rating, reference) in _INDIRECT.items():
        condition = package.studies.set_index("study_id").loc[study, "condition"]
        stated = {**cohort.facts(package, study), "dose": safety.dose_text(package, study),
                  "context_doses": _context_doses(package, condition)}
        rows.append((study, domain, _worded(template, stated), short, rating,
                     _support(package, reference, BOOKS_READING)))
    return pd.DataFrame(rows, columns=["study", "domain", "concern", "short", "rating", "support"])


def _indirect_summary(table: pd.DataFrame, study: str) -> tuple[str, str]:
    """A study's indirectness: ``(level, reasons)``, serious when one of its domains is (the book's judgement)."""
    mine = table[table["study"].eq(study)]
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


def _he_rows(package, ci_method, confidence_level, analysis_set, limits) -> list[dict]:
    study = "he2017"
    stated = cohort.facts(package, study)
    primary = cohort.fact(package, study, "primary_endpoint_week")
    optimal = cohort.fact(package, study, "suggested_optimal_induction_week")
    remission = efficacy.remission_table(package, analysis_set, ci_method, confidence_level).set_index("week")
    rows = []
    for week, chosen in ((primary, "the paper: its primary outcome"),
                         (optimal, "the book: the week the authors' conclusion calls optimal")):
        r = remission.loc[week]
        rows.append(_proportion_row(study, f"clinical remission, week {week}", "remission", chosen, int(r["k"]),
                                    int(r["n"]), ci_method, confidence_level, limits["remission"]))
    healing = efficacy.endoscopy_table(package, analysis_set, ci_method, confidence_level).set_index("outcome").loc[
        "mucosal_healing"]
    rows.append(_proportion_row(study, f"mucosal healing, week {stated['endoscopy_week']}", "mucosal_healing",
                                "the book: the claim of the paper's title", int(healing["k"]), int(healing["n"]),
                                ci_method, confidence_level, limits["mucosal_healing"]))
    events = safety.adverse_events(package, ci_method, confidence_level)
    anyone = safety.event_row(events, study, "any adverse event")
    rows.append(_proportion_row(study, "any adverse event", "any_ae", "the book: harms", int(anyone["k"]),
                                int(anyone["n"]), ci_method, confidence_level, limits["any_ae"]))
    rows.append(_withdrawal_row(package, study, ci_method, confidence_level, limits))
    return rows


def _withdrawal_row(package, study, ci_method, confidence_level, limits) -> dict:
    left = safety.ae_withdrawals(package, ci_method, confidence_level).set_index("study").loc[study]
    return _proportion_row(study, "withdrawal for adverse events", "ae_withdrawal", "the book: harms",
                           int(left["k"]), int(left["enrolled"]), ci_method, confidence_level, limits["ae_withdrawal"])


def _wei_any_ae(package, ci_method, confidence_level, limits) -> dict:
    """Any adverse event in the AS study, which the paper does not count: bounded from what it does say.

    The patients who withdrew for side effects had one; the completers are
    other patients, and the most common event among them gives the fewest
    who had any. At most, every enrolled patient had one.
    """
    study = "wei2003"
    enrolled, completed = cohort.enrolled(package, study), cohort.fact(package, study, "completed")
    left = int(safety.ae_withdrawals(package, ci_method, confidence_level).set_index("study").loc[study, "k"])
    events = safety.adverse_events(package, ci_method, confidence_level)
    among = events[events["study"].eq(study) & events["n"].eq(completed) & events["k"].notna()]
    top = among.loc[among["k"].idxmax()] if len(among) else pd.Series({"k": 0, "event": "no counted event"})
    fewest = left + int(top["k"])
    low = stats.proportion_ci(fewest, enrolled, ci_method, confidence_level)[0]
    high = stats.proportion_ci(enrolled, enrolled, ci_method, confidence_level)[1]
    limit = limits["any_ae"]
    return {"study": study, "outcome": "any adverse event", "key": "any_ae", "chosen_by": "the book: harms",
            "patients": enrolled,
            "estimate": (f"not counted by the paper: {fewest} to {enrolled} of {enrolled} "
                         f"({100 * fewest / enrolled:.0f}% to {100 * enrolled / enrolled:.0f}%; interval "
                         f"{100 * low:.0f} to {100 * high:.0f}), the book's bound: {left} withdrew for side "
                         f"effects, {int(top['k'])} of the {completed} completers had {top['event']}"),
            "low": low, "high": high, "width": high - low, "measure": "proportion", "reference": limit.reference,
            "threshold": limit.threshold, "ois": ois_proportion(limit.reference, limit.threshold)}


def _wei_rows(package, ci_method, confidence_level, analysis_set, means, limits) -> list[dict]:
    study = "wei2003"
    change = limits["change"]
    rows = []
    primary = {m for m, _ in declared_primary(package)}
    final = int(means["week"].max())  # the end of the trial: the last week the paper compares with baseline
    for measure in efficacy.CLINICAL_MEASURES:
        m = means.set_index(["measure", "week"]).loc[(measure, final)]
        r = efficacy.TYPICAL_CORRELATION
        sd = math.sqrt(max(m["baseline_sd"] ** 2 + m["followup_sd"] ** 2
                           - 2 * r * m["baseline_sd"] * m["followup_sd"], 0.0))
        rows.append({
            "study": study, "outcome": f"{m['label']} change, week {final}", "key": "change",
            "chosen_by": "the paper: a declared primary outcome" if measure in primary else "the book",
            "patients": int(m["n_min"]),
            "estimate": (f"{m['change']:+.2f} ({m['change_low_typical']:.2f} to {m['change_high_typical']:.2f} at "
                         f"r = {r:g}, assumed; {m['change_low']:.2f} to {m['change_high']:.2f} at r = 0)"),
            "low": m["change_low_typical"], "high": m["change_high_typical"],
            "width": (m["change_high_typical"] - m["change_low_typical"]) / m["baseline_mean"],
            "measure": "mean change", "reference": change.reference, "threshold": change.threshold,
            "ois": ois_mean_change(change.difference, sd)})
    asas = efficacy.asas_by_analysis_set(package, ci_method, confidence_level)
    a = asas[asas["outcome"].eq("asas20") & asas["analysis_set"].eq(analysis_set)].iloc[0]
    rows.append(_proportion_row(study, f"ASAS20 response, week {final}", "asas20",
                                "the book: the paper's response criterion, not declared primary", int(a["k"]),
                                int(a["n"]), ci_method, confidence_level, limits["asas20"]))
    rows.append(_wei_any_ae(package, ci_method, confidence_level, limits))
    rows.append(_withdrawal_row(package, study, ci_method, confidence_level, limits))
    return rows


def headline_outcomes(package, ci_method: CiMethod = CiMethod.WILSON, confidence_level: float = 0.95,
                      analysis_set: AnalysisSet = AnalysisSet.ITT,
                      means: pd.DataFrame | None = None) -> pd.DataFrame:
    """The outcomes of the Summary of findings under the given parameters, with what imprecision is judged on.

    He et al.: clinical remission at its primary week and at the week its
    conclusion calls optimal, mucosal healing (its title's claim), any
    adverse event and withdrawals for adverse events. Wei et al.: the changes
    of its declared primary outcomes at week 24, whose interval is taken at
    the typical correlation :data:`thalbook.core.efficacy.TYPICAL_CORRELATION`
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
    >>> from thalbook.core import data
    >>> table = headline_outcomes(data.load())
    >>> table.iloc[1]["outcome"], table.iloc[1]["estimate"]
    ('clinical remission, week 12', '22/47 = 47% (33 to 61)')
    """
    means = efficacy.as_outcomes_table(package, confidence_level) if means is None else means
    limits = thresholds(package)
    rows = _he_rows(package, ci_method, confidence_level, analysis_set, limits) + _wei_rows(
        package, ci_method, confidence_level, analysis_set, means, limits)
    return pd.DataFrame(rows)


def _risk_reasons(package, outcomes: pd.DataFrame, scores: dict[str, int]) -> list[str]:
    """Why each outcome is at serious risk of bias: the design, MINORS, and what its reporting leaves open."""
    he, wei = _Stated(cohort.facts(package, "he2017")), _Stated(cohort.facts(package, "wei2003"))
    specific = {
        ("he2017", "remission"): f"remission not defined in the abstract (CDAI < "
                                 f"{efficacy.CDAI_REMISSION_THRESHOLD} is the book's assumption)",
        ("he2017", "mucosal_healing"): f"endoscopy only in the {he['endoscopy_n']} of {he['enrolled']} who consented",
        ("he2017", "any_ae"): "how harms were collected, graded and timed is not described",
        ("he2017", "ae_withdrawal"): "when the patients stopped is not given",
        ("wei2003", "change"): f"completers only ({wei['completed']} of {wei['enrolled']})",
        ("wei2003", "asas20"): "the paper paraphrases ASAS20 as 'more than 3 of 4 domains'",
        ("wei2003", "any_ae"): f"event frequencies over the {wei['completed']} completers only",
        ("wei2003", "ae_withdrawal"): "the places of the paper name different reasons",
    }
    return [f"single group, open-label: the change cannot be told from the natural course, regression to the mean "
            f"or co-interventions; MINORS {scores[s]}/16; {specific[(s, k)]}"
            for s, k in outcomes[["study", "key"]].to_numpy()]


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

    Risk of bias is serious for every outcome (a single group, open-label;
    GRADE guidelines 4), with the MINORS total and what the outcome's
    reporting leaves open; indirectness is the study's (:func:`indirectness`,
    GRADE guidelines 8). ``minors_table`` and ``means`` (:func:`minors`,
    :func:`thalbook.core.efficacy.as_outcomes_table`) are computed unless
    given. ``basis`` says which judgements are provisional.

    Examples
    --------
    >>> from thalbook.core import data
    >>> summary_of_findings(data.load())["certainty"].value_counts().to_dict()
    {'very low': 11}
    """
    minors_table = minors(package) if minors_table is None else minors_table
    outcomes = headline_outcomes(package, ci_method, confidence_level, analysis_set, means)
    indirect = indirectness(package)
    by_study = {study: _indirect_summary(indirect, study) for study in outcomes["study"].unique()}
    outcomes["risk_of_bias"] = "serious"
    outcomes["risk_reasons"] = _risk_reasons(package, outcomes, minors_totals(minors_table))
    outcomes["indirectness"] = outcomes["study"].map(lambda s: by_study[s][0])
    outcomes["indirect_reasons"] = outcomes["study"].map(lambda s: by_study[s][1])
    outcomes["basis"] = outcomes["study"].map(BASIS)
    return certainty(outcomes)


# --------------------------------------------------------------------------
# multiplicity

#: The statement in which the AS paper declares its primary outcomes.
PRIMARY_DECLARATION = ("statements.csv", "wei2003-primary-outcome-measures-methods")


def declared_primary(package) -> list[tuple[str, int]]:
    """The AS paper's declared primary outcomes, as ``(measure, week)``, where it reports them as such.

    The methods declare the primary outcome measures
    (:data:`PRIMARY_DECLARATION`); Figure 1's caption reports them, at week
    24, as "Mean primary outcome measures": the rows whose quote says so.

    Examples
    --------
    >>> from thalbook.core import data
    >>> declared_primary(data.load())
    [('basdai', 24), ('basfi', 24), ('basg', 24)]
    """
    study = cohort.source_study(package, "as")
    table = package.continuous_outcomes
    rows = table[table["study_id"].eq(study) & table["timepoint_week"].gt(0)
                 & table["quote"].str.contains("primary outcome measures", case=False, regex=False)]
    if rows.empty:
        raise InputError(f"continuous_outcomes.csv: {study}: no row reports the primary outcome measures")
    return list(dict.fromkeys((str(m), int(w)) for m, w in rows[["measure", "timepoint_week"]].to_numpy()))


def primary_declaration(package) -> str:
    """The AS paper's words declaring its primary outcomes (:data:`PRIMARY_DECLARATION`), verbatim.

    Examples
    --------
    >>> from thalbook.core import data
    >>> primary_declaration(data.load())[:30]
    'Primary outcome measurements i'
    """
    return _support(package, PRIMARY_DECLARATION)


#: The two families of tests: (key, name, whose choice).
FAMILIES = (("declared", "the paper's declared primary outcomes", "the paper's declaration"),
            ("all", "all the paper's tests", "the book's choice"))


def multiplicity(package, means: pd.DataFrame | None = None, confidence_level: float = 0.95) -> pd.DataFrame:
    """The AS paper's p-values in two families, each adjusted by Holm and by Bonferroni (statsmodels).

    The declared family is the primary outcomes the paper declares, at the
    week it reports them as primary (:func:`declared_primary`); the other
    family is every p-value the paper prints, the book's choice. Each is
    adjusted on its own, at the paper's significance level.

    Returns
    -------
    pandas.DataFrame
        One row per comparison: ``measure, label, week, p_text, p``, then
        for each family key of :data:`FAMILIES` ``<key>`` (a member or
        not), ``<key>_holm``, ``<key>_holm_reject``, ``<key>_bonferroni``,
        ``<key>_bonferroni_reject`` (NaN and False outside the family).

    Examples
    --------
    >>> from thalbook.core import data
    >>> table = multiplicity(data.load())
    >>> int(table["declared"].sum()), int(table["declared_holm_reject"].sum()), int(table["all_holm_reject"].sum())
    (3, 3, 0)
    """
    study = cohort.source_study(package, "as")
    alpha = cohort.fact(package, study, "significance_level")
    means = efficacy.as_outcomes_table(package, confidence_level) if means is None else means
    primary = set(declared_primary(package))
    out = pd.DataFrame({"measure": means["measure"], "label": means["label"], "week": means["week"].astype(int),
                        "p_text": means["p_text"], "p": means["p_reported"].astype(float)})
    members = {"declared": [(m, w) in primary for m, w in out[["measure", "week"]].to_numpy()],
               "all": [True] * len(out)}
    for key, _, _ in FAMILIES:
        inside = pd.Series(members[key], index=out.index)
        out[key] = inside
        adjusted = stats.adjusted_pvalues(out.loc[inside, "p"], alpha)
        adjusted.index = out.index[inside]
        for method in ("holm", "bonferroni"):
            out[f"{key}_{method}"] = adjusted[method].reindex(out.index)
            out[f"{key}_{method}_reject"] = adjusted[f"{method}_reject"].reindex(out.index, fill_value=False).astype(
                bool)
    return out


# --------------------------------------------------------------------------
# registration

#: Trials that begin enrolling on or after this day must be registered before the first patient to be
#: considered by ICMJE journals (De Angelis et al. 2004).
ICMJE_REGISTRATION_FROM = date(2005, 7, 1)


def _date(text: str) -> datetime:
    for pattern in ("%B %d, %Y", "%B %Y", "%d %B %Y"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise InputError(f"study_facts.csv: {text!r} is no date the appraisal can read")


def icmje_text() -> str:
    """The day from which the ICMJE required registration, as the book writes it.

    Examples
    --------
    >>> icmje_text()
    'July 1, 2005'
    """
    when = ICMJE_REGISTRATION_FROM
    return f"{when:%B} {when.day}, {when.year}"


def registration_verdict(record: str | None, first_received: str | None, study_start: str | None,
                         study_end: str | None, published: int) -> tuple[str, str]:
    """Whether the ICMJE requirement applied to a study, and the verdict on its registration, in its time.

    The requirement applies to trials that began enrolling on or after
    :data:`ICMJE_REGISTRATION_FROM`; a study published before that year
    enrolled before it. A study the requirement did not yet reach is not
    faulted for lacking a record.

    Returns
    -------
    tuple of str
        ``(icmje, verdict)``.

    Examples
    --------
    >>> registration_verdict(None, None, None, None, 2003)[1].split(": ")[1]
    'an absence of registration was then the norm, not a flaw of this paper'
    >>> registration_verdict("NCT1", "May 20, 2015", "January 2013", "April 2015", 2017)
    ('applies: enrolment began January 2013', 'registered after the study had ended')
    """
    start = _date(study_start).date() if study_start else None
    if start is not None:
        applies = start >= ICMJE_REGISTRATION_FROM
        icmje = f"{'applies' if applies else 'did not yet apply'}: enrolment began {study_start}"
    elif published < ICMJE_REGISTRATION_FROM.year:
        applies, icmje = False, f"did not yet apply: published in {published}"
    else:
        applies, icmje = None, "not known: the enrolment dates are not stated"
    if not record:
        if applies is False:
            return icmje, ("no registration stated; none was then required (the ICMJE requirement came later): an "
                           "absence of registration was then the norm, not a flaw of this paper")
        if applies:
            return icmje, "no registration stated, although the ICMJE required it"
        return icmje, "no registration stated"
    if not (first_received and study_end):
        return icmje, "registration date not known"
    received = _date(first_received)
    if received > _date(study_end):
        return icmje, "registered after the study had ended"
    if start is not None and received.date() <= start:
        return icmje, "registered before enrolment began"
    return icmje, "registered while the study ran"


def registration(package) -> pd.DataFrame:
    """Each source study's registration: the record, when it was made, against the study's dates and the ICMJE.

    Examples
    --------
    >>> from thalbook.core import data
    >>> registration(data.load())["verdict"].str[:36].tolist()
    ['registered after the study had ended', 'no registration stated; none was the']
    """
    rows = []
    studies = package.studies.set_index("study_id")
    for study in ("he2017", "wei2003"):
        record = studies.loc[study, "registration"]
        record = str(record).strip() if not pd.isna(record) and str(record).strip() else None
        stated = cohort.facts(package, study)
        received, start, end = (stated.get(f) for f in ("registration_first_received", "study_start", "study_end"))
        icmje, verdict = registration_verdict(record, received, start, end, int(studies.loc[study, "year"]))
        period = f"{start or '?'} to {end or '?'}" if start or end else NOT_REPORTED
        rows.append((study, record or "none stated", received or NOT_REPORTED, period, icmje, verdict))
    return pd.DataFrame(rows, columns=["study", "record", "first_received", "study_period", "icmje", "verdict"])


# --------------------------------------------------------------------------
# harms reporting

#: CONSORT Harms 2022 items that apply to a single-group study (paraphrased).
HARMS_ITEMS = {
    "denominators": "Harms given over the patients exposed",
    "collection": "How harms were collected (systematically or not)",
    "severity": "How severity was graded",
    "timing": "When harms occurred",
}
# (study, item) -> (met: "yes" | "partly" | "no", reason, support as (file, row id) or None)
_HARMS = {
    ("he2017", "denominators"): ("yes", "adverse events over all 47 enrolled",
                                 ("adverse_events.csv", "he2017-any-ae-abs-results")),
    ("he2017", "collection"): ("no", "not described", None),
    ("he2017", "severity"): ("no", "no grading", None),
    ("he2017", "timing"): ("no", "not given", None),
    ("wei2003", "denominators"): ("no", "frequencies over the 8 completers, not the 13 who took the drug",
                                  ("statements.csv", "wei2003-safety-questionnaires-results")),
    ("wei2003", "collection"): ("yes", "a questionnaire at every visit",
                                ("statements.csv", "wei2003-safety-questionnaires-methods")),
    ("wei2003", "severity"): ("partly", "'severe' and 'minor' are used without a grading scale",
                              ("statements.csv", "wei2003-severe-events-results")),
    ("wei2003", "timing"): ("partly", "the withdrawals are dated; other events only as 'the first 4 weeks'",
                            ("adverse_events.csv", "wei2003-minor-side-effects-results")),
}


def harms_reporting(package) -> pd.DataFrame:
    """The CONSORT Harms 2022 items that apply to a single-group study, met or not, with their support.

    Examples
    --------
    >>> from thalbook.core import data
    >>> table = harms_reporting(data.load())
    >>> table.groupby("study")["met"].apply(list).to_dict()["wei2003"]
    ['no', 'yes', 'partly', 'partly']
    """
    rows = [(study, item, question, *_HARMS[(study, item)][:2], _support(package, _HARMS[(study, item)][2]))
            for study in ("he2017", "wei2003") for item, question in HARMS_ITEMS.items()]
    return pd.DataFrame(rows, columns=["study", "item", "question", "met", "reason", "support"])
