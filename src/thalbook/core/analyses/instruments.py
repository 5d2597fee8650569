"""A systematic reviewer's appraisal of the source studies: MINORS, registration, harms, multiplicity.

Each judgement is the book's, made with a published instrument, and each
carries its *support*: the verbatim quote of the data-package row it rests
on, "not reported", or, where no row of the package says it, "the book's
reading". The judgements are rows of the data package (``appraisal.csv``,
:func:`judgements`), one per study and item, each naming the row it rests
on; the numbers they rest on (losses to follow-up, intervals, optimal
information sizes, registration dates) are computed from the package, so
that the judgement follows the data. He et al. 2017 is appraised from its
abstract and record page only: every judgement of it is provisional
(:func:`basis`).

* :func:`minors`: MINORS, the eight items for non-comparative studies
  (Slim et al. 2003), each scored 0 (not reported), 1 (reported but
  inadequate) or 2 (reported and adequate), ideal 16. The item wording is a
  paraphrase, not the instrument's text. The loss to follow-up is computed
  (:func:`loss_score`).
* GRADE, for every outcome of the Summary of findings, is
  :mod:`thalbook.core.analyses.grade`'s, which takes the MINORS totals from here.
* :func:`multiplicity`: the AS paper's p-values in two families, the
  primary outcomes it declares and all its tests, each adjusted by Holm and
  by Bonferroni.
* :func:`registration` and :func:`harms_reporting`: the registry record
  against the study's dates and the ICMJE requirement, and the CONSORT Harms
  2022 items that apply to a single-group study.

Examples
--------
>>> from thalbook.core.evidence import data
>>> table = minors(data.load())
>>> table.groupby("study")["score"].sum().to_dict()
{'he2017': 7, 'wei2003': 8}
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from thalbook.core.analyses import changes, cohort
from thalbook.core.errors import InputError
from thalbook.core.inference import stats

# --------------------------------------------------------------------------
# supports

NOT_REPORTED = "not reported"
#: The support of a judgement that no row of the data package states.
BOOKS_READING = "the book's reading"
#: The support of a judgement whose row the data package lacks.
NO_ROW = "no such row in the data package"


def _support(package, reference, missing: str = NOT_REPORTED) -> str:
    """The verbatim quote of a data-package row, by (file, id); ``missing`` for None.

    A row the package lacks is said so in the support, and the judgement
    still stands: the validator requires only the rows the chapters cannot do
    without (:data:`thalbook.core.evidence.rules.REQUIRED_ROWS`).
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


def judgements(package, instrument: str, missing: str = NOT_REPORTED, fields=None) -> pd.DataFrame:
    """The book's judgements of one instrument (``appraisal.csv``), reasons worded and supports quoted.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    instrument : str
        ``minors``, ``indirectness``, ``risk_of_bias``, ``harms``, ``basis`` or ``headline``.
    missing : str
        The support of a judgement that names no row (:func:`_support`).
    fields : callable, optional
        Study -> further ``{field: value}`` for the reasons, beside the
        study's stated facts (:func:`_worded`).

    Returns
    -------
    pandas.DataFrame
        ``study, item, judgement, short, reason, support``: the source
        studies in the package's order, each study's items in file order.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> judgements(data.load(), "harms").iloc[0][["study", "item", "judgement", "reason"]].tolist()
    ['he2017', 'denominators', 'yes', 'adverse events over all 47 enrolled']
    """
    table = package.appraisal[package.appraisal["instrument"].eq(instrument)]
    rows = []
    for study in cohort.source_studies(package):
        stated = {**cohort.facts(package, study), **(fields(study) if fields else {})}
        for row in table[table["study_id"].eq(study)].to_dict("records"):
            reference = None if pd.isna(row["support_file"]) else (row["support_file"], row["support_id"])
            rows.append((study, row["item"], row["judgement"], "" if pd.isna(row["short"]) else row["short"],
                         _worded(row["reason"], stated), _support(package, reference, missing)))
    return pd.DataFrame(rows, columns=["study", "item", "judgement", "short", "reason", "support"])


def one_judgement(table: pd.DataFrame, study: str, item: str, instrument: str) -> pd.Series:
    """The judgement of ``study`` on ``item`` in :func:`judgements` indexed by both; an error naming them if none.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> table = judgements(data.load(), "minors").set_index(["study", "item"])
    >>> one_judgement(table, "wei2003", "aim", "minors")["judgement"]
    '2'
    """
    if (study, item) not in table.index:
        raise InputError(f"appraisal.csv: no {instrument} judgement of {study} on {item!r}")
    return table.loc[[(study, item)]].iloc[0]


def basis(package) -> dict[str, str]:
    """What each source study's judgements rest on: ``full text``, or what was read and that they are provisional.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> basis(data.load())
    {'he2017': 'abstract only: provisional', 'wei2003': 'full text'}
    """
    table = judgements(package, "basis").set_index(["study", "item"])
    return {study: str(one_judgement(table, study, "source_text", "basis")["judgement"])
            for study in cohort.source_studies(package)}


def headline(package, study: str) -> list[dict]:
    """A study's headline outcomes as its ``headline`` rows declare them, in file order.

    Each row names the outcome's key (``remission``, ``mucosal_healing``,
    ``change``, ``asas20``, ``any_ae``, ``ae_withdrawal``), whether it is a
    benefit or a harm, and whose choice it is; clinical remission is at the
    week its supporting study fact states (the paper's primary week, the week
    its conclusion calls optimal).

    Returns
    -------
    list of dict
        ``key, kind, chosen_by`` and ``week`` (for remission; else None).

    Raises
    ------
    InputError
        If a remission row does not rest on a study fact stating a week.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> [(h["key"], h["week"]) for h in headline(data.load(), "he2017")][:3]
    [('remission', 8), ('remission', 12), ('mucosal_healing', None)]
    """
    table = package.appraisal
    rows = table[table["instrument"].eq("headline") & table["study_id"].eq(study)]
    facts = package.study_facts.set_index("id")
    found = []
    for row in rows.to_dict("records"):
        week = None
        if row["item"] == "remission":
            if row["support_file"] != "study_facts.csv" or row["support_id"] not in facts.index:
                raise InputError(f"appraisal.csv: {row['id']}: support_id must name the study fact stating the week")
            week = int(facts.loc[row["support_id"], "value"])
        found.append({"key": row["item"], "kind": row["judgement"],
                      "chosen_by": _worded(row["reason"], cohort.facts(package, study)), "week": week})
    return found


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
    """MINORS for every source study: one row per study and item.

    Returns
    -------
    pandas.DataFrame
        ``study, item, question, score, meaning, reason, support, basis``:
        the support is the quote the judgement rests on, or "not reported";
        the basis says whether the judgement rests on the full text or is
        provisional (:func:`basis`).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> table = minors(data.load()).set_index(["study", "item"])
    >>> int(table.loc[("he2017", "loss"), "score"]), table.loc[("he2017", "loss"), "reason"][:46]
    (1, '15 of 47 (32%) had no endoscopy at week 24, a ')
    """
    judged = judgements(package, "minors").set_index(["study", "item"])
    bases = basis(package)
    rows = []
    for study in cohort.source_studies(package):
        for item, question in MINORS_ITEMS.items():
            if item == "loss":
                score, reason, support = _loss(package, study)
            else:
                row = one_judgement(judged, study, item, "minors")
                score, reason, support = int(row["judgement"]), row["reason"], row["support"]
            rows.append((study, item, question, score, MINORS_SCORES[score], reason, support, bases[study]))
    return pd.DataFrame(rows, columns=["study", "item", "question", "score", "meaning", "reason", "support",
                                       "basis"])


def minors_totals(table: pd.DataFrame) -> dict[str, int]:
    """Study -> MINORS total, from :func:`minors`."""
    return table.groupby("study")["score"].sum().astype(int).to_dict()


# --------------------------------------------------------------------------
# multiplicity

#: The topic of the statement in which a paper declares its primary outcomes (``statements.csv``).
PRIMARY_DECLARATION = "primary-outcome-measures"


def declared_primary(package, study: str | None = None) -> list[tuple[str, int]]:
    """The AS paper's declared primary outcomes, as ``(measure, week)``, where it reports them as such.

    The methods declare the primary outcome measures
    (:data:`PRIMARY_DECLARATION`); Figure 1's caption reports them, at week
    24, as "Mean primary outcome measures": the rows whose quote says so.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> declared_primary(data.load())
    [('basdai', 24), ('basfi', 24), ('basg', 24)]
    """
    study = cohort.source_study(package, changes.AS_MEASURES, study)
    table = package.continuous_outcomes
    rows = table[table["study_id"].eq(study) & table["timepoint_week"].gt(0)
                 & table["quote"].str.contains("primary outcome measures", case=False, regex=False)]
    if rows.empty:
        raise InputError(f"continuous_outcomes.csv: {study}: no row reports the primary outcome measures")
    return list(dict.fromkeys((str(m), int(w)) for m, w in rows[["measure", "timepoint_week"]].to_numpy()))


def primary_declaration(package, study: str | None = None) -> str:
    """The AS paper's words declaring its primary outcomes (the statement of :data:`PRIMARY_DECLARATION`), verbatim.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> primary_declaration(data.load())[:30]
    'Primary outcome measurements i'
    """
    study = cohort.source_study(package, changes.AS_MEASURES, study)
    table = package.statements
    rows = table[table["study_id"].eq(study) & table["topic"].eq(PRIMARY_DECLARATION)]
    return str(rows["quote"].iloc[0]) if len(rows) else f"{NO_ROW}: statements.csv, {study} {PRIMARY_DECLARATION}"


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
    >>> from thalbook.core.evidence import data
    >>> table = multiplicity(data.load())
    >>> int(table["declared"].sum()), int(table["declared_holm_reject"].sum()), int(table["all_holm_reject"].sum())
    (3, 3, 0)
    """
    study = cohort.source_study(package, changes.AS_MEASURES)
    alpha = cohort.fact(package, study, "significance_level")
    means = changes.as_outcomes_table(package, confidence_level) if means is None else means
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
    >>> from thalbook.core.evidence import data
    >>> registration(data.load())["verdict"].str[:36].tolist()
    ['registered after the study had ended', 'no registration stated; none was the']
    """
    rows = []
    studies = package.studies.set_index("study_id")
    for study in cohort.source_studies(package):
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


def harms_reporting(package) -> pd.DataFrame:
    """The CONSORT Harms 2022 items that apply to a single-group study, met or not, with their support.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> table = harms_reporting(data.load())
    >>> table.groupby("study")["met"].apply(list).to_dict()["wei2003"]
    ['no', 'yes', 'partly', 'partly']
    """
    judged = judgements(package, "harms").set_index(["study", "item"])
    rows = [(study, item, question, *one_judgement(judged, study, item, "harms")[["judgement", "reason", "support"]])
            for study in cohort.source_studies(package) for item, question in HARMS_ITEMS.items()]
    return pd.DataFrame(rows, columns=["study", "item", "question", "met", "reason", "support"])
