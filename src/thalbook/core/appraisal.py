"""A systematic reviewer's appraisal of the two studies: risk of bias, certainty, registration, harms reporting.

Each judgement is the book's, made with a published instrument, and each
carries its *support*: the verbatim quote of the data-package row it rests
on, or "not reported". The judgements are written here, as the thresholds
of an analysis are, because no library makes them; the numbers some of them
rest on (losses to follow-up, interval widths, registration dates) are
computed from the data package, so that the judgement follows the data.

* :func:`minors`: MINORS, the eight items for non-comparative studies
  (Slim et al. 2003), each scored 0 (not reported), 1 (reported but
  inadequate) or 2 (reported and adequate), ideal 16. The item wording is a
  paraphrase, not the instrument's text.
* :func:`certainty`: GRADE for each headline outcome: the starting level
  (low, for non-randomised evidence), each reason to rate down, the result.
* :func:`registration` and :func:`harms_reporting`: the registry record
  against the study's dates, and the CONSORT Harms 2022 items that apply to
  a single-group study.

Examples
--------
>>> from thalbook.core import data
>>> table = minors(data.load())
>>> table.groupby("study")["score"].sum().to_dict()
{'he2017': 7, 'wei2003': 8}
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from thalbook.core import cohort, efficacy
from thalbook.core.errors import InputError

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
#: Largest loss to follow-up MINORS accepts.
MINORS_LOSS = 0.05
NOT_REPORTED = "not reported"

# The judgements that rest on reading the papers: (study, item) -> (score, reason, support as (file, row id)).
# The loss to follow-up is not here: it is computed (_loss).
_MINORS = {
    ("he2017", "aim"): (2, "the background states the question the study answers",
                        ("statements.csv", "he2017-aim-abs-background")),
    ("he2017", "consecutive"): (0, "how patients were selected is not said", None),
    ("he2017", "prospective"): (2, "a prospective cohort", ("studies.csv", "he2017")),
    ("he2017", "endpoints"): (1, "clinical remission is named but not defined (no index, no threshold)",
                              ("study_facts.csv", "he2017-primary-endpoint-week-abs-methods")),
    ("he2017", "unbiased"): (0, "open-label; no blinded assessment is reported", ("studies.csv", "he2017")),
    ("he2017", "follow_up"): (2, "24 weeks for induction and early maintenance",
                              ("study_facts.csv", "he2017-endoscopy-week-abs-methods")),
    ("he2017", "size"): (0, "no sample-size calculation is reported", None),
    ("wei2003", "aim"): (2, "the objective is stated", ("statements.csv", "wei2003-aim-abs-objective")),
    ("wei2003", "consecutive"): (0, "how patients were selected is not said", None),
    ("wei2003", "prospective"): (2, "a prospective open-label trial", ("studies.csv", "wei2003")),
    ("wei2003", "endpoints"): (2, "validated indices (BASDAI, BASFI, BAS-G) and ASAS response",
                               ("statements.csv", "wei2003-asas20-definition-methods")),
    ("wei2003", "unbiased"): (0, "open-label, and the main endpoints are reported by the patients",
                              ("studies.csv", "wei2003")),
    ("wei2003", "follow_up"): (2, "24 weeks", ("study_facts.csv", "wei2003-completed-results")),
    ("wei2003", "size"): (0, "no sample-size calculation is reported", None),
}

#: GRADE's levels of certainty, highest first.
GRADE_LEVELS = ("high", "moderate", "low", "very low")
#: The widest interval (in percentage points, or as a fraction of the baseline mean) GRADE calls precise here.
IMPRECISE_WIDTH = 0.30


def _support(package, reference) -> str:
    """The verbatim quote of a data-package row, by (file, id); "not reported" for None."""
    if reference is None:
        return NOT_REPORTED
    file, row_id = reference
    table = getattr(package, file.removesuffix(".csv"))
    key = "study_id" if file == "studies.csv" else "id"
    rows = table[table[key].eq(row_id)]
    if rows.empty:
        raise InputError(f"{file}: no row {row_id!r}, which the appraisal quotes")
    return str(rows["quote"].iloc[0])


def _loss(package, study: str) -> tuple[int, str, str]:
    """MINORS' loss-to-follow-up item, computed: the share of enrolled patients without the final assessment."""
    account = cohort.study_accounts(package)[study]
    enrolled = account.enrolled
    if "completed" in account.facts:
        lost, where = enrolled - account.facts["completed"], ("study_facts.csv", f"{study}-completed-results")
    else:
        lost = sum(count for count, _ in account.withdrawals)
        where = ("withdrawals.csv", package.withdrawals.loc[package.withdrawals["study_id"].eq(study), "id"].iloc[0])
    share = lost / enrolled
    reason = f"{lost} of {enrolled} ({100 * share:.0f}%) did not complete" + (
        "" if "completed" in account.facts else " (discontinued for adverse events; others are not reported)")
    return (2 if share < MINORS_LOSS else 0), reason, _support(package, where)


def minors(package) -> pd.DataFrame:
    """MINORS for both source studies: one row per study and item.

    Returns
    -------
    pandas.DataFrame
        ``study, item, question, score, meaning, reason, support``: the
        support is the quote the judgement rests on, or "not reported".

    Examples
    --------
    >>> from thalbook.core import data
    >>> table = minors(data.load()).set_index(["study", "item"])
    >>> int(table.loc[("wei2003", "loss"), "score"]), table.loc[("wei2003", "loss"), "reason"]
    (0, '5 of 13 (38%) did not complete')
    """
    rows = []
    for study in ("he2017", "wei2003"):
        for item, question in MINORS_ITEMS.items():
            if item == "loss":
                score, reason, support = _loss(package, study)
            else:
                score, reason, reference = _MINORS[(study, item)]
                support = _support(package, reference)
            rows.append((study, item, question, score, MINORS_SCORES[score], reason, support))
    return pd.DataFrame(rows, columns=["study", "item", "question", "score", "meaning", "reason", "support"])


#: Why each headline outcome is indirect, if it is (the book's reading of the definitions).
INDIRECT = {
    "he2017": "the record does not define remission; CDAI < 150 is the book's assumption",
    "asas20": "the paper paraphrases ASAS20 as 'more than 3 of 4 domains'",
}


def headline_outcomes(package, method: str = "wilson", level: float = 0.95, analysis_set: str = "itt",
                      means: pd.DataFrame | None = None) -> pd.DataFrame:
    """The headline outcomes of both studies under the given parameters, with their interval widths.

    Clinical remission at weeks 8 and 12 (He et al.), the ASAS20 response and
    the week-24 changes of BASDAI and BASFI (Wei et al.), in the form
    :func:`certainty` grades: ``study, outcome, patients, estimate`` (text),
    ``width`` (of 100 percentage points for a proportion, of the baseline mean
    for a change, whose interval is taken at the typical correlation
    :data:`thalbook.core.efficacy.TYPICAL_CORRELATION`, an assumption, with the
    bound at correlation 0 beside it) and ``indirect``.

    Examples
    --------
    >>> from thalbook.core import data
    >>> table = headline_outcomes(data.load())
    >>> table.iloc[1]["outcome"], table.iloc[1]["estimate"]
    ('clinical remission, week 12', '22/47 = 47% (33 to 61)')
    """
    means = efficacy.as_outcomes_table(package, level) if means is None else means
    rows = []
    remission = efficacy.remission_table(package, analysis_set, method, level).set_index("week")
    for week in (8, 12):
        r = remission.loc[week]
        rows.append(("he2017", f"clinical remission, week {week}", int(r["n"]),
                     f"{r['k']}/{r['n']} = {100 * r['proportion']:.0f}% ({100 * r['low']:.0f} to "
                     f"{100 * r['high']:.0f})", r["high"] - r["low"], INDIRECT["he2017"]))
    asas = efficacy.asas_by_analysis_set(package, method, level)
    r = asas[asas["outcome"].eq("asas20") & asas["analysis_set"].eq(analysis_set)].iloc[0]
    rows.append(("wei2003", "ASAS20 response, week 24", int(r["n"]),
                 f"{r['k']}/{r['n']} = {100 * r['proportion']:.0f}% ({100 * r['low']:.0f} to "
                 f"{100 * r['high']:.0f})", r["high"] - r["low"], INDIRECT["asas20"]))
    for measure in ("basdai", "basfi"):
        m = means.set_index(["measure", "week"]).loc[(measure, 24)]
        # The interval at a typical correlation (an assumption), the one at r = 0 as its bound: the
        # paper gives no correlation. Imprecision is judged on the narrower one, the benefit of the doubt.
        r = efficacy.TYPICAL_CORRELATION
        rows.append(("wei2003", f"{m['label']} change, week 24", int(m["n_min"]),
                     f"{m['change']:+.2f} ({m['change_low_typical']:.2f} to {m['change_high_typical']:.2f} at "
                     f"r = {r:g}, assumed; {m['change_low']:.2f} to {m['change_high']:.2f} at r = 0)",
                     (m["change_high_typical"] - m["change_low_typical"]) / m["baseline_mean"], ""))
    return pd.DataFrame(rows, columns=["study", "outcome", "patients", "estimate", "width", "indirect"])


def minors_totals(table: pd.DataFrame) -> dict[str, int]:
    """Study -> MINORS total, from :func:`minors`."""
    return table.groupby("study")["score"].sum().astype(int).to_dict()


def summary_of_findings(package, method: str = "wilson", level: float = 0.95, analysis_set: str = "itt",
                        minors_table: pd.DataFrame | None = None, means: pd.DataFrame | None = None) -> pd.DataFrame:
    """The GRADE Summary of findings: :func:`headline_outcomes` graded by :func:`certainty`.

    ``minors_table`` and ``means`` (:func:`minors`,
    :func:`thalbook.core.efficacy.as_outcomes_table`) are computed unless given.

    Examples
    --------
    >>> from thalbook.core import data
    >>> summary_of_findings(data.load())["certainty"].value_counts().to_dict()
    {'very low': 5}
    """
    minors_table = minors(package) if minors_table is None else minors_table
    return certainty(headline_outcomes(package, method, level, analysis_set, means), minors_totals(minors_table))


def certainty(outcomes: pd.DataFrame, minors_scores: dict[str, int]) -> pd.DataFrame:
    """GRADE certainty of each headline outcome, with every reason to rate down.

    Evidence from a non-randomised study starts at low certainty. Here it is
    rated down for risk of bias when the study's MINORS score is below 12 of
    16 (open-label, uncontrolled, with the items it misses); for
    indirectness when ``indirect`` gives a reason; and for imprecision when
    the interval is wider than :data:`IMPRECISE_WIDTH` (of 100 percentage
    points for a proportion, of the baseline mean for a change). Consistency
    and publication bias cannot be judged from one study each, and are said
    so, not rated. Nothing is rated up: an uncontrolled before-after change
    cannot show a large effect of the drug.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        One row per outcome: ``study, outcome, patients, estimate`` (text),
        ``width`` (relative, as above) and ``indirect`` (a reason, or "").
    minors_scores : dict
        Study -> MINORS total.

    Returns
    -------
    pandas.DataFrame
        The outcomes with ``start``, ``risk_of_bias``, ``indirectness``,
        ``imprecision``, ``inconsistency``, ``publication_bias``, ``downgrades``
        and ``certainty``.

    Examples
    --------
    >>> rows = pd.DataFrame({"study": ["s"], "outcome": ["x"], "patients": [10], "estimate": ["50%"],
    ...                      "width": [0.6], "indirect": [""]})
    >>> certainty(rows, {"s": 8})[["downgrades", "certainty"]].values.tolist()
    [[2, 'very low']]
    """
    out = outcomes.copy()
    out["start"] = "low (non-randomised)"
    out["risk_of_bias"] = out["study"].map(
        lambda s: f"serious: open-label, uncontrolled, MINORS {minors_scores[s]}/16" if minors_scores[s] < 12
        else "not serious")
    out["indirectness"] = out["indirect"].map(lambda r: f"serious: {r}" if r else "not serious")
    out["imprecision"] = out["width"].map(
        lambda w: f"serious: interval {100 * w:.0f}% wide" if w > IMPRECISE_WIDTH else "not serious")
    out["inconsistency"] = "not assessable: one study"
    out["publication_bias"] = "not assessable: one study"
    down = sum(out[c].str.startswith("serious").astype(int) for c in ("risk_of_bias", "indirectness", "imprecision"))
    out["downgrades"] = down
    start = GRADE_LEVELS.index("low")
    out["certainty"] = [GRADE_LEVELS[min(start + d, len(GRADE_LEVELS) - 1)] for d in down]
    return out.drop(columns=["indirect"])


def _date(text: str) -> datetime:
    for pattern in ("%B %d, %Y", "%B %Y", "%d %B %Y"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise InputError(f"study_facts.csv: {text!r} is no date the appraisal can read")


def registration(package) -> pd.DataFrame:
    """Each source study's registration: the record, when it was made, and when against the study's dates.

    Examples
    --------
    >>> from thalbook.core import data
    >>> registration(data.load())["verdict"].tolist()
    ['registered after the study had ended', 'no registration stated']
    """
    rows = []
    studies = package.studies.set_index("study_id")
    for study in ("he2017", "wei2003"):
        record = studies.loc[study, "registration"]
        stated = cohort.facts(package, study)
        if pd.isna(record) or not str(record).strip():
            rows.append((study, "none stated", NOT_REPORTED, NOT_REPORTED, "no registration stated"))
            continue
        received, end = stated.get("registration_first_received"), stated.get("study_end")
        if received and end:
            after = _date(received) > _date(end)
            verdict = "registered after the study had ended" if after else "registered before the study ended"
        else:
            verdict = "registration date not known"
        rows.append((study, str(record), received or NOT_REPORTED,
                     f"{stated.get('study_start', '?')} to {end or '?'}", verdict))
    return pd.DataFrame(rows, columns=["study", "record", "first_received", "study_period", "verdict"])


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
