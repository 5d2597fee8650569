"""The source study's main response beside the context studies' results, unpooled, as the table the chapters show.

:func:`context_table` reads the validated data package
(:func:`thalbook.core.evidence.data.load`): the source study's rows come from its own
tables in :mod:`thalbook.core.analyses.efficacy` under the chosen analysis set, the
context studies' rows from ``context_outcomes.csv``, with a count the paper
gives only as a percentage inferred again each time
(:func:`thalbook.core.inference.granularity.percent_to_counts`) or reconciled with the paper
that cites it (:func:`thalbook.core.auditing.statement_checks.reconciled_count`). The
chapters draw the table as a forest plot (:func:`thalbook.chapters.figures.forest`).

Examples
--------
>>> from thalbook.core.evidence import data
>>> context_table(data.load(), "as")[["study_id", "kind", "k", "n"]].to_numpy().tolist()[:2]
[['wei2003', 'source', 8, 13], ['wei2003', 'source', 4, 13]]
"""

from __future__ import annotations

import pandas as pd

from thalbook.core.analyses.cohort import fact, source_studies, source_study
from thalbook.core.analyses.efficacy import (
    ASAS,
    CDAI_REMISSION_THRESHOLD,
    REMISSION,
    asas_by_analysis_set,
    checked_analysis_set,
    interval,
    remission_table,
    study_label,
)
from thalbook.core.analyses.instruments import headline
from thalbook.core.auditing.statement_checks import reconciled_count
from thalbook.core.evidence.data import printed
from thalbook.core.inference import granularity
from thalbook.core.vocabulary import SET_NAMES, AnalysisSet, CiMethod, Rounding

#: Context outcomes that are efficacy outcomes comparable in kind with a source study's response outcome.
CONTEXT_OUTCOMES = {
    REMISSION: ("clinical_remission",),
    ASAS: ("improvement_gt20_4_of_7", "basdai_and_pain_improvement_gt50"),
}


def _context_rows(package, condition: str, response: str, ci_method: CiMethod, confidence_level: float,
                  rounding: Rounding) -> list[dict]:
    studies = package.studies.set_index("study_id")
    table = package.context_outcomes
    table = table[table["study_id"].map(studies["condition"]).eq(condition)]
    table = table[table["outcome"].isin(CONTEXT_OUTCOMES[response])]
    records = []
    for _, row in table.iterrows():
        population = row["population"] if isinstance(row["population"], str) else ""
        sizes = {
            name: int(row[column])
            for name, column in (
                ("completers", "n_completed"),
                ("randomised", "n_randomised"),
                ("enrolled", "n_enrolled"),
            )
            if not pd.isna(row[column])
        }
        options = []  # (k, n, basis)
        if not pd.isna(row["count"]) and not pd.isna(row["denominator"]):
            k, n = int(row["count"]), int(row["denominator"])
            options.append((k, n, "count and denominator as reported", f"{k}/{n}"))
        elif not pd.isna(row["count"]):
            for name, n in sorted(sizes.items(), key=lambda item: -item[1]):
                k = int(row["count"])
                options.append(
                    (k, n, f"{k} of {n} {name}: denominator not stated", f"{k} of {n} {name} (n not stated)")
                )
        elif not pd.isna(row["percent"]) and (reconciled := reconciled_count(package, row["id"], rounding)):
            # Another paper cites this result: show the count the audit reconciles both places at, over
            # every size it is a percentage of (all recruited, then the set the study's own figure is of).
            convention, k, cited_n, found = reconciled
            percent = printed(row["percent"], row["percent_decimals"])
            names = {"completed": "completers", "enrolled": "enrolled"}
            for n, name in sorted({(cited_n, next(s for s, m in found.sizes.items() if m == cited_n)),
                                   (found.own_n, found.own_set)}, key=lambda pair: -pair[0]):
                said = (f"{percent}% of the {found.own_n} {names[found.own_set]} reported"
                        if n == found.own_n else f"{found.quoted:g}% cited by {study_label(found.citing_study)}")
                options.append((k, n, f"{said}; {k}/{n} {names[name]} is the audit's reconciliation of the two "
                                      f"places ({convention} rounding), an inference",
                                f"inferred {k}/{n} {names[name]}"))
        elif not pd.isna(row["percent"]):
            percent = printed(row["percent"], row["percent_decimals"])
            labelled = sizes.get(population) if population else None
            tried = [labelled] if labelled else []
            tried += [n for n in sizes.values() if n not in tried]
            for n in tried:
                found = granularity.percent_to_counts(row["percent"], int(row["percent_decimals"]), n=n,
                                                      rounding=rounding)
                if found:
                    k = found[0][0]
                    name = next(name for name, m in sizes.items() if m == n)
                    basis = f"{percent}% reported; {k}/{n} of the {name} inferred"
                    if labelled and n != labelled:
                        basis += f" (no k/{labelled} of the {population} gives {percent}%)"
                    options.append((k, n, basis, f"{percent}%, inferred {k}/{n} {name}"))
                    break
            if not options and sizes:
                # no stated size gives the percentage: the largest denominator up to the largest stated size
                # that does, labelled as inferred (fewer patients were assessed than were enrolled)
                bound = max(sizes.values())
                found = granularity.percent_to_counts(row["percent"], int(row["percent_decimals"]), n_max=bound,
                                                      rounding=rounding)
                if found:
                    k, n = max(found, key=lambda pair: pair[1])
                    basis = (f"{percent}% reported, denominator not stated; {k}/{n} inferred, the largest n up to "
                             f"the {bound} enrolled that gives it")
                    options.append((k, n, basis, f"{percent}%, inferred {k}/{n} (n not stated)"))
        for k, n, basis, count_text in options:
            proportion, low, high = interval(k, n, ci_method, confidence_level)
            design = studies.loc[row["study_id"], "design"]
            arm = row["arm"]
            records.append(
                {
                    "study_id": row["study_id"],
                    "citation_key": studies.loc[row["study_id"], "citation_key"],
                    "label": study_label(row["study_id"]),
                    "year": int(studies.loc[row["study_id"], "year"]),
                    "role": "context",
                    "kind": "placebo" if arm == "placebo" else ("pooled" if arm == "pooled" else "thalidomide"),
                    "design": design,
                    "arm": arm,
                    "outcome": row["outcome"],
                    "outcome_definition": row["outcome_definition"],
                    "timepoint": row["timepoint"] if isinstance(row["timepoint"], str) else "time point not stated",
                    "participants": row["participants"],
                    "dose": row["dose"],
                    "k": k,
                    "n": n,
                    "proportion": proportion,
                    "low": low,
                    "high": high,
                    "basis": basis,
                    "count_text": count_text,
                }
            )
    return records


def _own_estimate(common: dict, row: pd.Series, analysis_set: str, **fields) -> dict:
    """One row of a context table for the book's own study: the estimate under ``analysis_set``."""
    k, n = int(row["k"]), int(row["n"])
    return {
        **common,
        **fields,
        "k": k,
        "n": n,
        "proportion": row["proportion"],
        "low": row["low"],
        "high": row["high"],
        "basis": f"{SET_NAMES[analysis_set]}: {row['basis']}",
        "count_text": f"{k}/{n} {SET_NAMES[analysis_set]}",
    }


def context_table(
    package,
    condition: str,
    analysis_set: AnalysisSet = AnalysisSet.ITT,
    ci_method: CiMethod = CiMethod.WILSON,
    confidence_level: float = 0.95,
    rounding: Rounding = Rounding.HALF_UP,
    study: str | None = None,
) -> pd.DataFrame:
    """The source study's main response beside the context studies' thalidomide results, unpooled.

    For Crohn's disease: clinical remission of He et al. at weeks 8 and 12
    (under ``analysis_set``) and the remission figures of the context
    studies; for AS: ASAS20 and the paper's ASAS-40 of Wei et al. and the
    improvement figures of the context studies. Outcome definitions,
    populations, doses and time points differ; nothing is pooled. Where a
    context study gives no denominator, the row says which set the
    denominator is taken from (and a count without a denominator gives one
    row per stated set size); an inferred count is labelled as inferred.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
    condition : {"crohns", "as"}
    analysis_set : {"itt", "reported", "complete-case"}
        For the source study's rows.
    ci_method, confidence_level, rounding
        Interval method and confidence level; rounding for inferred counts.
    study : str, optional
        The source study, where the condition has more than one.

    Returns
    -------
    pandas.DataFrame
        One row per estimate, source study first, then context studies by
        year: ``study_id, citation_key, label, year, role, kind, design, arm,
        outcome, outcome_definition, timepoint, participants, dose, k, n,
        proportion, low, high, basis, count_text`` (k/n and its basis in a
        few words, for figure labels).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> t = context_table(data.load(), "crohns")
    >>> t[["study_id", "kind", "k", "n"]].to_numpy().tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [['he2017', 'source', 11, 47], ['he2017', 'source', 22, 47],
     ['ehrenpreis1999', 'thalidomide', 9, 22], ['ehrenpreis1999', 'thalidomide', 9, 14],
     ['vasiliauskas1999', 'thalidomide', 2, 12], ['vasiliauskas1999', 'thalidomide', 2, 10],
     ['lazzerini2013', 'thalidomide', 13, 28],
     ['lazzerini2013', 'placebo', 3, 26], ['bramuzzo2016', 'pooled', 220, 427]]
    """
    if condition not in set(package.studies["condition"]):
        known = ", ".join(sorted(set(package.studies["condition"])))
        raise ValueError(f"context_table: condition must be one of {known}, got {condition!r}")
    analysis_set = checked_analysis_set(analysis_set)
    # the response the condition's source study reports decides the rows: remission, or the ASAS responses
    ours = source_studies(package, condition) if study is None else [study]
    reported = set(package.binary_outcomes.loc[package.binary_outcomes["study_id"].isin(ours), "outcome"])
    response = next((o for o in CONTEXT_OUTCOMES if o in reported), REMISSION)
    study = source_study(package, response, study)
    info = package.studies.set_index("study_id").loc[study]
    common = {
        "study_id": study,
        "citation_key": info["citation_key"],
        "label": study_label(study),
        "year": int(info["year"]),
        "role": "source",
        "kind": "source",
        "design": info["design"],
        "arm": "thalidomide",
    }
    records = []
    if response == REMISSION:
        dose = f"{fact(package, study, 'dose_mg_per_day_min')}-{fact(package, study, 'dose_mg_per_day_max')} mg/day"
        remission = remission_table(package, analysis_set, ci_method, confidence_level, rounding, study)
        remission = remission.set_index("week")
        for week in [h["week"] for h in headline(package, study) if h["key"] == "remission"]:
            row = remission.loc[week]
            records.append(
                _own_estimate(
                    common, row, analysis_set,
                    outcome="clinical_remission",
                    outcome_definition=f"clinical remission (CDAI < {CDAI_REMISSION_THRESHOLD} assumed)",
                    timepoint=f"week {week}",
                    participants="adults with active refractory CD",
                    dose=dose,
                )
            )
    else:
        asas = asas_by_analysis_set(package, ci_method, confidence_level, study)
        dose = (
            f"{fact(package, study, 'dose_mg_per_day_start')} mg/day for "
            f"{fact(package, study, 'dose_start_weeks')} week, then "
            f"{fact(package, study, 'dose_mg_per_day_maintenance')} mg/day"
        )
        for _, row in asas[asas["analysis_set"].eq(analysis_set)].iterrows():
            records.append(
                _own_estimate(
                    common, row, analysis_set,
                    outcome=row["outcome"],
                    outcome_definition="ASAS20 (the paper's paraphrase)"
                    if row["outcome"] == "asas20"
                    else "> 40% improvement (the paper's ASAS-40)",
                    timepoint="week 24",
                    participants="men with refractory AS",
                    dose=dose,
                )
            )
    context = sorted(
        _context_rows(package, condition, response, ci_method, confidence_level, rounding),
        key=lambda r: (r["year"], r["study_id"], {"thalidomide": 0, "placebo": 1, "pooled": 2}[r["kind"]], -r["n"]),
    )
    return pd.DataFrame.from_records(records + context)
