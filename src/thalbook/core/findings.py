"""From audit rows to findings: one finding per underlying problem, with every place and check behind it.

A number printed in three places fails its check three times; one
denominator printed twice fails twice; a mean that fails GRIM also leaves its
SD uncheckable. Counting rows would count each such problem several times.
So the rows of the consistency audit (:mod:`thalbook.core.audit`) are
grouped by their *topic*, the underlying quantity a check is about (a
result's count, denominator and percentage; the values of one measure in
one comparison; its p-values; one topic of ``statements.csv``): a topic with
at least one inconsistent row is a finding, numbered ``F1``, ``F2``, ... in
the audit's order, and every row of that topic carries its number, the
consistent and not-checkable ones included. A topic with no inconsistent
row is no finding.

Examples
--------
>>> audit = pd.DataFrame({"study": ["s", "s", "s"], "quantity": ["m: count", "m: percent", "q"],
...     "location": ["abstract", "results", "table"], "reported": ["1", "2", "3"], "check": ["x"] * 3,
...     "status": ["inconsistent", "inconsistent", "consistent"], "detail": ["d1", "d2", "d3"],
...     "reconcile": ["r", "r", ""], "finding": [""] * 3, "topic": ["m", "m", "q"]})
>>> assign(audit)["finding"].tolist()
['F1', 'F1', '']
>>> summary(assign(audit))[["finding", "checks", "places"]].values.tolist()
[['F1', 2, 'abstract; results']]
"""

from __future__ import annotations

import pandas as pd

#: The columns of :func:`summary`, one row per finding.
FINDING_COLUMNS = ("finding", "study", "quantity", "places", "checks", "problem", "reconcile")


def assign(audit: pd.DataFrame) -> pd.DataFrame:
    """Number the findings and write each row's into ``finding``; drop the ``topic`` column.

    Parameters
    ----------
    audit : pandas.DataFrame
        Audit rows with a ``topic`` column (see :func:`thalbook.core.verdicts.verdict`).

    Returns
    -------
    pandas.DataFrame
        The same rows, ``finding`` filled (``""`` for rows of no finding),
        without ``topic``.
    """
    keys = list(zip(audit["study"], audit["topic"], strict=True))
    failing = list(dict.fromkeys(k for k, status in zip(keys, audit["status"], strict=True)
                                 if status == "inconsistent"))
    number = {key: f"F{i}" for i, key in enumerate(failing, start=1)}
    return audit.assign(finding=[number.get(k, "") for k in keys]).drop(columns="topic")


def summary(audit: pd.DataFrame) -> pd.DataFrame:
    """One row per finding: where it stands, how many checks show it, what fails and what would reconcile it.

    ``quantity`` and ``problem`` are those of the finding's first
    inconsistent row; ``places`` joins every place of its rows;
    ``reconcile`` joins the distinct reconciliations its rows offer.

    Parameters
    ----------
    audit : pandas.DataFrame
        What :func:`thalbook.core.audit.run_audit` returns.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FINDING_COLUMNS`, in the order of the findings' numbers.
    """
    rows = []
    found = audit[audit["finding"].ne("")]
    for finding, group in found.groupby("finding", sort=False):
        first = group[group["status"].eq("inconsistent")].iloc[0]
        places = dict.fromkeys(p for cell in group["location"] for p in str(cell).split("; "))
        reconcile = dict.fromkeys(r for r in group["reconcile"] if r)
        rows.append((finding, first["study"], first["quantity"], "; ".join(places), len(group),
                     first["detail"], " | ".join(reconcile)))
    table = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    order = table["finding"].str[1:].astype(int).argsort(kind="stable") if len(table) else []
    return table.iloc[order].reset_index(drop=True)


def format_findings(audit: pd.DataFrame) -> str:
    """One line per finding, for ``thalbook audit --findings``.

    Examples
    --------
    >>> audit = pd.DataFrame({"study": ["s"], "quantity": ["m"], "location": ["results"], "reported": ["1"],
    ...     "check": ["x"], "status": ["inconsistent"], "detail": ["cannot be"], "reconcile": ["would reconcile: y"],
    ...     "finding": ["F1"]})
    >>> print(format_findings(audit), end="")
    F1  s  m  (1 check; results): cannot be; would reconcile: y
    """
    table = summary(audit)
    if table.empty:
        return "no findings\n"
    lines = []
    for _, f in table.iterrows():
        checks = f"{f['checks']} check{'s' if f['checks'] != 1 else ''}"
        tail = f"; {f['reconcile']}" if f["reconcile"] else ""
        lines.append(f"{f['finding']}  {f['study']}  {f['quantity']}  ({checks}; {f['places']}): {f['problem']}{tail}")
    return "\n".join(lines) + "\n"
