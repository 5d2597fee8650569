"""What the audit chapter shows: the findings, then the consistency audit by study, inconsistencies first.

What each kind of inconsistency means is written in the chapter itself; this
module counts the findings (one per underlying problem,
:mod:`thalbook.core.findings`), orders and lays out the audit's rows.

Examples
--------
>>> table = pd.DataFrame({"study": ["b", "a", "a"], "status": ["consistent", "consistent", "inconsistent"]})
>>> order_audit(table, ["a", "b"])["status"].tolist()
['inconsistent', 'consistent', 'consistent']
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from thalbook.chapters.data_provenance import study_labels
from thalbook.chapters.tables import escape, frame_table
from thalbook.chapters.view import View, check_names, check_values
from thalbook.core import audit as checks
from thalbook.core import findings as found
from thalbook.core import vocabulary

#: The parameters the chapter declares.
PARAMETERS = ("rounding",)
STATUS_ORDER = ("inconsistent", "not-checkable", "consistent")
#: The name of the display that holds the tables of every context study, one after the other.
CONTEXT_TABLES = "audit-rows-context"


def _finding_keys(audit: pd.DataFrame) -> set[tuple[str, str]]:
    """Each finding as (study, quantity), comparable across rounding conventions."""
    table = found.summary(audit)
    return set(zip(table["study"], table["quantity"], strict=True))


def build(package, params: dict[str, Any]) -> View:
    """The audit chapter's view: counts of findings and checks for the prose, the findings and a table per study.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
        What :func:`thalbook.core.data.load` returns.
    params : dict
        ``rounding``: the rounding convention the audit assumes
        (:data:`thalbook.core.vocabulary.ROUNDINGS`).

    Returns
    -------
    View
        ``values``: ``n_findings`` and ``<study>_findings`` for each source
        study (problems), ``n_checks``, ``n_inconsistent``,
        ``n_not_checkable``, ``n_consistent``, ``n_check_types``,
        ``n_audited_studies`` (checks), ``rounding``, ``other_rounding`` and
        ``n_rounding_sensitive`` (findings that another convention would add
        or remove). ``tables``: ``tbl-audit-summary``, ``tbl-audit-findings``
        (one row per finding), ``audit-rows-<study>`` for every audited study
        and :data:`CONTEXT_TABLES` (the context studies' tables together).

    Raises
    ------
    TypeError
        If ``params`` does not hold exactly :data:`PARAMETERS`.
    InputError
        If ``rounding`` is not a rounding convention the audit knows.

    Examples
    --------
    >>> from thalbook.core import data
    >>> view = build(data.load(), {"rounding": "half-up"})
    >>> view.value("other_rounding")
    'half-even or truncation'
    >>> view.value("he2017_findings"), view.value("n_findings")
    (4, 23)
    >>> list(view.tables)[:3]
    ['tbl-audit-summary', 'tbl-audit-findings', 'audit-rows-he2017']
    """
    check_names("audit", params, PARAMETERS)
    check_values(params)
    rounding = params["rounding"]
    table = checks.run_audit(package, rounding=rounding)
    labels = study_labels(package)
    ordered = order_audit(table, list(package.studies["study_id"]))
    audited = list(dict.fromkeys(ordered["study"]))
    summary = checks.summarise(table).reindex(audited)
    per_study = found.summary(table)["study"].value_counts()
    counts = table["status"].value_counts()
    others = vocabulary.other_roundings(rounding)
    mine = _finding_keys(table)
    changed = set().union(*(mine ^ _finding_keys(checks.run_audit(package, rounding=o)) for o in others))
    values = {
        "n_findings": int(per_study.sum()),
        "n_checks": len(table),
        "n_inconsistent": int(counts.get("inconsistent", 0)),
        "n_not_checkable": int(counts.get("not-checkable", 0)),
        "n_consistent": int(counts.get("consistent", 0)),
        "n_check_types": table["check"].nunique(),
        "n_audited_studies": table["study"].nunique(),
        "n_context_findings": int(per_study.drop(labels=_sources(package), errors="ignore").sum()),
    }
    for study in _sources(package):
        values[f"{study}_findings"] = int(per_study.get(study, 0))
        values[f"{study}_checks"] = int(summary.loc[study].sum())
    values.update(other_rounding=" or ".join(others), rounding=rounding, n_rounding_sensitive=len(changed))

    shown = summary.reset_index()
    shown.insert(1, "findings", shown["study"].map(per_study).fillna(0).astype(int).to_numpy())
    shown.insert(2, "checks", summary.sum(axis=1).to_numpy())
    shown["study"] = shown["study"].map(lambda s: labels.get(s, s))
    tables = {
        "tbl-audit-summary": frame_table(
            shown.astype(str), f"Findings and audit checks by study and verdict ({rounding} rounding).",
            "tbl-audit-summary"),
        "tbl-audit-findings": findings_table(table, labels),
    }
    for study in audited:
        tables[f"audit-rows-{study}"] = audit_table(ordered, study, labels)
    tables[CONTEXT_TABLES] = "\n\n".join(tables[f"audit-rows-{s}"] for s in audited if s not in _sources(package))
    return View(dict(params), values, tables)


def _sources(package) -> list[str]:
    return package.studies.loc[package.studies["role"].eq("source"), "study_id"].tolist()


def order_audit(audit: pd.DataFrame, study_order: list[str]) -> pd.DataFrame:
    """The audit sorted by study (in ``study_order``), then inconsistencies first, then as run."""
    study_rank = {s: i for i, s in enumerate(study_order)}
    status_rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    keyed = audit.assign(
        _study=audit["study"].map(study_rank).fillna(len(study_rank)),
        _status=audit["status"].map(status_rank).fillna(len(status_rank)),
        _row=range(len(audit)),
    )
    return keyed.sort_values(["_study", "_status", "_row"], kind="stable").drop(columns=["_study", "_status", "_row"])


def audit_rows(audit: pd.DataFrame) -> pd.DataFrame:
    """Audit rows as the audit chapter's table shows them (MyST cells, already escaped).

    Columns ``finding`` (its number, empty for rows of no finding),
    ``quantity (where)`` (the quantity, then the place or places of the
    paper), ``reported``, ``check`` and ``verdict`` (the status, in bold
    unless consistent, then the detail and what would reconcile it).
    """
    out = []
    for _, row in audit.iterrows():
        status = row["status"]
        verdict = f"**{status}**" if status != "consistent" else status
        reconcile = f" ({escape(row['reconcile'])})" if row["reconcile"] else ""
        out.append({
            "finding": row["finding"],
            "quantity (where)": f"{escape(row['quantity'])} ({escape(row['location'])})",
            "reported": escape(row["reported"]),
            "check": escape(row["check"]),
            "verdict": f"{verdict}: {escape(row['detail'])}{reconcile}",
        })
    return pd.DataFrame(out, columns=["finding", "quantity (where)", "reported", "check", "verdict"])


def findings_table(audit: pd.DataFrame, labels: dict[str, str]) -> str:
    """MyST of the findings, one row each (``tbl-audit-findings``): what cannot be true together, what would
    reconcile it, and where the rows behind it stand.
    """
    table = found.summary(audit)
    rows = pd.DataFrame({
        "finding": table["finding"],
        "study": table["study"].map(lambda s: escape(labels.get(s, s))),
        "what cannot all be true": [
            f"**{escape(q)}** ({escape(p)}; {c} check{'s' if c != 1 else ''}): {escape(d)}"
            for q, p, c, d in zip(table["quantity"], table["places"], table["checks"], table["problem"],
                                  strict=True)],
        "what would reconcile it": table["reconcile"].map(lambda r: escape(r.removeprefix("would reconcile: "))),
    })
    caption = (f"The audit's {len(rows)} findings, one per problem; the rows behind each carry its number in "
               "the study tables.") if len(rows) else "The audit found no problem."
    return frame_table(rows, caption, "tbl-audit-findings", widths=[8, 14, 48, 30], markup=rows.columns)


def audit_table(audit: pd.DataFrame, study: str, labels: dict[str, str]) -> str:
    """MyST of one study's audit table, named ``audit-rows-<study>`` (the tests count its rows).

    ``audit`` should already be ordered (:func:`order_audit`): the rows are
    shown in its order.
    """
    rows = audit[audit["study"].eq(study)]
    shown = audit_rows(rows)
    return frame_table(
        shown,
        f"Consistency audit of {labels.get(study, study)}: all {len(rows)} checks, inconsistencies first.",
        f"audit-rows-{study}", widths=[7, 27, 15, 12, 39], markup=shown.columns)
