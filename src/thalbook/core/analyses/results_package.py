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
book (:mod:`thalbook.press.results`).

Examples
--------
>>> from thalbook.core.evidence import data
>>> made = tables(data.load(), {"confidence_level": 0.95, "ci_method": "wilson", "analysis_set": "itt",
...                             "rounding": "half-up"})
>>> list(made) == list(RESOURCES)
True
>>> made["certainty"]["certainty"].value_counts().to_dict()
{'very low': 11}
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from thalbook import __version__
from thalbook.core.analyses import changes, cohort, efficacy, grade, instruments, multiverse
from thalbook.core.auditing import checks, findings, verdicts
from thalbook.core.inference import counts
from thalbook.core.vocabulary import AnalysisSet, CiMethod

#: Parameters the results depend on, the build's whole parameter set.
PARAMETERS = ("confidence_level", "ci_method", "analysis_set", "rounding")
#: The study whose counts are inferred from percentages, and the outcomes (as the Crohn's chapter shows them).
INFERRED_OUTCOMES = ("clinical_remission", *efficacy.ENDOSCOPIC_OUTCOMES)
NAME = "thalbook-results"
DESCRIPTOR = "datapackage.json"
SOURCE = "../data/datapackage.json"

#: The descriptor's words (titles, descriptions, licences), beside this module so that a wheel ships them.
TEXT = "results_descriptor.yaml"
#: Resource name -> the columns it publishes, in publication order; their descriptions are in :data:`TEXT`.
COLUMNS: dict[str, tuple[str, ...]] = {
    "inferred_counts": ("study", "outcome", "week", "percent", "stated_n", "searched", "candidates", "k", "n",
                        "reason"),
    "intervals": ("study", "outcome", "week", "analysis_set", "k", "n", "proportion", "low", "high", "ci_method",
                  "confidence_level", "basis"),
    "changes": ("study", "measure", "week", "baseline_mean", "followup_mean", "change", "change_low", "change_high",
                "change_low_typical", "change_high_typical", "n_min", "n_max", "p_reported", "confidence_level"),
    "multiverse": ("outcome", "ci_method", "analysis_set", "confidence_level", "rounding", "k", "n", "proportion",
                   "low", "high", "note"),
    "audit": verdicts.AUDIT_COLUMNS,
    "findings": findings.FINDING_COLUMNS,
    "minors": ("study", "item", "question", "score", "meaning", "reason", "support"),
    "certainty": ("study", "outcome", "patients", "estimate", "width", "start", "risk_of_bias", "indirectness",
                  "imprecision", "inconsistency", "publication_bias", "downgrades", "certainty"),
    "registration": ("study", "record", "first_received", "study_period", "verdict"),
    "harms_reporting": ("study", "item", "question", "met", "reason", "support"),
}


def described(columns: dict[str, tuple[str, ...]], text: dict[str, Any]) -> dict[str, tuple[str, dict[str, str]]]:
    """Each resource's description and its columns' descriptions, the columns in the code's order.

    The placeholders of :data:`TEXT` that name the code's values are filled in here; ``{version}`` and
    ``{settings}``, of the package's description, by :func:`descriptor`.

    Raises
    ------
    ValueError
        On a resource or field the text describes but the code does not make, or the reverse.

    Examples
    --------
    >>> text = {"resources": {"r": {"description": "R.", "fields": {"a": "A.", "b": "B."}}}}
    >>> described({"r": ("b", "a")}, text)
    {'r': ('R.', {'b': 'B.', 'a': 'A.'})}
    >>> described({"r": ("a", "c")}, text)
    Traceback (most recent call last):
    ...
    ValueError: results_descriptor.yaml: field r.b is described but not made
    """
    values = {"typical_correlation": f"{changes.TYPICAL_CORRELATION:g}", "kinds": "; ".join(findings.KINDS),
              "abouts": ", ".join(verdicts.ABOUTS), "all_reasons": verdicts.ALL_REASONS}
    resources = text["resources"]
    _same(list(columns), list(resources), "resource {}")
    out = {}
    for name, made in columns.items():
        fields = resources[name]["fields"]
        _same(list(made), list(fields), f"field {name}.{{}}")
        out[name] = (resources[name]["description"].format_map(values),
                     {c: fields[c].format_map(values) for c in made})
    return out


def _same(made: list[str], text: list[str], what: str) -> None:
    for name in text:
        if name not in made:
            raise ValueError(f"{TEXT}: {what.format(name)} is described but not made")
    for name in made:
        if name not in text:
            raise ValueError(f"{TEXT}: {what.format(name)} is made but not described")


_TEXT = yaml.safe_load(Path(__file__).with_name(TEXT).read_text(encoding="utf-8"))
#: Resource name -> (description, {column: description}), in publication order.
RESOURCES: dict[str, tuple[str, dict[str, str]]] = described(COLUMNS, _TEXT)


def _check(params: dict[str, Any]) -> None:
    missing = [p for p in PARAMETERS if p not in params]
    if missing:
        raise TypeError(f"results.tables: parameters missing: {', '.join(missing)}")


def _inferred(package) -> pd.DataFrame:
    table = pd.concat([counts.count_inference(package, study, INFERRED_OUTCOMES).assign(study=study)
                       for study in cohort.source_studies(package, reports=INFERRED_OUTCOMES)], ignore_index=True)
    table["candidates"] = table["candidates"].map(lambda pairs: "; ".join(f"{k}/{n}" for k, n in pairs))
    table["stated_n"] = table["stated_n"].astype("Int64")
    return table


def _intervals(package, ci_method: CiMethod, confidence_level: float, analysis_set: AnalysisSet) -> pd.DataFrame:
    def each(reports, table) -> list[pd.DataFrame]:
        return [table(study).assign(study=study) for study in cohort.source_studies(package, reports=reports)]

    accounts = cohort.study_accounts(package)
    table = pd.concat([
        *each(efficacy.REMISSION, lambda study: efficacy.remission_table(
            package, analysis_set, ci_method, confidence_level, study=study).assign(outcome=efficacy.REMISSION)),
        *each(efficacy.ENDOSCOPIC_OUTCOMES, lambda study: efficacy.endoscopy_table(
            package, analysis_set, ci_method, confidence_level, study=study).assign(
                week=int(cohort.fact(package, study, "endoscopy_week")), basis="")),
        # the ASAS response is assessed at the last visit of the schedule the paper states
        *each(efficacy.ASAS, lambda study: efficacy.asas_by_analysis_set(
            package, ci_method, confidence_level, study=study).loc[lambda t: t["analysis_set"].eq(analysis_set)].assign(
                week=int(accounts[study].final_week))),
    ], ignore_index=True)
    return table.assign(ci_method=ci_method, confidence_level=confidence_level)


def tables(package, params: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Every resource of the results package under ``params``, columns as :data:`RESOURCES` lists them.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        What :func:`thalbook.core.evidence.data.load` returns.
    params : dict
        The build's parameters (at least :data:`PARAMETERS`).

    Returns
    -------
    dict of str to pandas.DataFrame
        In :data:`RESOURCES` order.
    """
    _check(params)
    confidence_level, ci_method = params["confidence_level"], params["ci_method"]
    analysis_set, rounding = params["analysis_set"], params["rounding"]
    audited = checks.run_audit(package, rounding=rounding)
    # The changes are read with the AS chapter's rounding, half-up: the audit is run once when it is that.
    reused = audited if rounding == "half-up" else None
    means = pd.concat([changes.as_outcomes_table(package, confidence_level, "half-up", reused, study=study).assign(
        study=study) for study in cohort.source_studies(package, reports=changes.AS_MEASURES)], ignore_index=True)
    minors = instruments.minors(package)
    made = {
        "inferred_counts": _inferred(package),
        "intervals": _intervals(package, ci_method, confidence_level, analysis_set),
        "changes": means.assign(confidence_level=confidence_level),
        "multiverse": multiverse.multiverse(package),
        "audit": audited,
        "findings": findings.summary(audited),
        "minors": minors,
        "certainty": grade.summary_of_findings(package, ci_method, confidence_level, analysis_set, minors, means),
        "registration": instruments.registration(package),
        "harms_reporting": instruments.harms_reporting(package),
    }
    for name, (_, columns) in RESOURCES.items():
        made[name] = made[name][list(columns)].reset_index(drop=True)
    for column in ("k", "n"):
        made["multiverse"][column] = made["multiverse"][column].astype("Int64")
    return made


def csv_bytes(table: pd.DataFrame) -> bytes:
    r"""A table as the package's CSV: UTF-8, ``\n`` line ends, missing values empty, floats in full.

    Written by :func:`thalbook.core.auditing.checks.csv_text`: the tables carry the
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
    return checks.csv_text(table).encode("utf-8")


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
        "title": _TEXT["title"],
        "description": _TEXT["description"].format(version=__version__, settings=settings),
        "version": __version__,
        "licenses": [dict(licence) for licence in _TEXT["licenses"]],
        "sources": [{**source, "path": SOURCE} for source in _TEXT["sources"]],
        "parameters": dict(sorted(params.items())),
        "resources": resources,
    }
