"""What the audit chapter shows: the consistency audit by study, inconsistencies first.

What each kind of inconsistency means is written in the chapter itself; this
module counts, orders and lays out the audit's rows.

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
from thalbook.core import vocabulary

#: The parameters the chapter declares.
PARAMETERS = ("rounding",)
STATUS_ORDER = ("inconsistent", "not-checkable", "consistent")
#: The name of the display that holds the tables of every context study, one after the other.
CONTEXT_TABLES = "audit-rows-context"


def build(package, params: dict[str, Any]) -> View:
    """The audit chapter's view: counts for the prose, the summary, the findings and a table per study.

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
        ``values``: ``n_checks``, ``n_inconsistent``, ``n_not_checkable``,
        ``n_consistent``, ``n_check_types``, ``n_audited_studies``,
        ``<study>_checks`` and ``<study>_inconsistent`` for each source study,
        ``rounding``, ``other_rounding`` and ``n_rounding_sensitive`` (verdicts
        another convention would change). ``tables``: ``tbl-audit-summary``,
        ``audit-findings`` (every inconsistency, numbered, grouped by check),
        ``audit-rows-<study>`` for every audited study and
        :data:`CONTEXT_TABLES` (the context studies' tables together).

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
    >>> view.value("he2017_checks"), view.value("he2017_inconsistent")
    (19, 1)
    >>> list(view.tables)[:3]
    ['tbl-audit-summary', 'audit-findings', 'audit-rows-he2017']
    """
    check_names("audit", params, PARAMETERS)
    check_values(params)
    rounding = params["rounding"]
    table = checks.run_audit(package, rounding=rounding)
    labels = study_labels(package)
    ordered = order_audit(table, list(package.studies["study_id"]))
    audited = list(dict.fromkeys(ordered["study"]))
    summary = checks.summarise(table).reindex(audited)
    counts = table["status"].value_counts()
    others = vocabulary.other_roundings(rounding)
    flipped = sum(checks.run_audit(package, rounding=other)["status"].to_numpy() != table["status"].to_numpy()
                  for other in others).astype(bool)
    values = {
        "n_checks": len(table),
        "n_inconsistent": int(counts.get("inconsistent", 0)),
        "n_not_checkable": int(counts.get("not-checkable", 0)),
        "n_consistent": int(counts.get("consistent", 0)),
        "n_check_types": table["check"].nunique(),
        "n_audited_studies": table["study"].nunique(),
    }
    sources = package.studies.loc[package.studies["role"].eq("source"), "study_id"].tolist()
    for study in sources:
        values[f"{study}_checks"] = int(summary.loc[study].sum())
        values[f"{study}_inconsistent"] = int(summary.loc[study, "inconsistent"])
    values.update(other_rounding=" or ".join(others), rounding=rounding, n_rounding_sensitive=int(flipped.sum()))

    shown = summary.reset_index()
    shown.insert(1, "checks", summary.sum(axis=1).to_numpy())
    shown["study"] = shown["study"].map(lambda s: labels.get(s, s))
    tables = {
        "tbl-audit-summary": frame_table(shown.astype(str), f"Audit checks by study and verdict ({rounding} rounding).",
                                         "tbl-audit-summary"),
        "audit-findings": findings(ordered, labels),
    }
    for study in audited:
        tables[f"audit-rows-{study}"] = audit_table(ordered, study, labels)
    tables[CONTEXT_TABLES] = "\n\n".join(tables[f"audit-rows-{s}"] for s in audited if s not in sources)
    return View(dict(params), values, tables)


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

    Columns ``quantity (where)`` (the quantity, then the place or places of
    the paper), ``reported``, ``check`` and ``verdict`` (the status, in bold
    unless consistent, then the detail). Every column of the audit is there.
    """
    out = []
    for _, row in audit.iterrows():
        status = row["status"]
        verdict = f"**{status}**" if status != "consistent" else status
        out.append({
            "quantity (where)": f"{escape(row['quantity'])} ({escape(row['location'])})",
            "reported": escape(row["reported"]),
            "check": escape(row["check"]),
            "verdict": f"{verdict}: {escape(row['detail'])}",
        })
    return pd.DataFrame(out, columns=["quantity (where)", "reported", "check", "verdict"])


def findings(audit: pd.DataFrame, labels: dict[str, str]) -> str:
    """Every inconsistency, as MyST: grouped by check (each group headed by the check and its count).

    Items are numbered through the whole list, in the audit's order of checks;
    what each check means is written in the chapter.
    """
    bad = audit[audit["status"].eq("inconsistent")]
    if bad.empty:
        return "The audit found no inconsistency."
    blocks, number = [], 0
    for check, rows in bad.groupby("check", sort=False):
        items = []
        for _, row in rows.iterrows():
            number += 1
            study = labels.get(row["study"], row["study"])
            items.append(
                f"{number}. **{escape(study)}: {escape(row['quantity'])}**, {escape(row['location'])}, "
                f"reported {escape(row['reported'])}. {escape(row['detail'])}."
            )
        blocks.append(f"**`{check}`** ({len(rows)})\n\n" + "\n".join(items))
    return "\n\n".join(blocks)


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
        f"audit-rows-{study}", widths=[30, 17, 13, 40], markup=shown.columns)
