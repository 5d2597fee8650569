"""The shape of one verdict of the consistency audit, shared by every family of checks.

Every check of :mod:`thalbook.core.audit`, :mod:`thalbook.core.summary_checks`
and :mod:`thalbook.core.statement_checks` gives rows of :data:`COLUMNS`,
made by :func:`verdict`, with a status of :data:`STATUSES`.

Examples
--------
>>> row = verdict("wei2003", "asas20 week 24 [enrolled]: denominator", "results", "10", "cross-place",
...               "consistent", "the same in both statements")
>>> row["topic"], row["finding"]
('asas20 week 24 [enrolled]', '')
"""

from __future__ import annotations

#: The columns of the audit, in order; ``reconcile`` says, for an
#: inconsistent verdict, what would reconcile the numbers and what the text
#: rules out; ``finding`` numbers the problem the row belongs to.
COLUMNS = ("study", "quantity", "location", "reported", "check", "status", "detail", "reconcile", "finding")
#: The verdicts a check can give.
STATUSES = ("consistent", "inconsistent", "not-checkable")


def verdict(study, quantity, location, reported, check, status, detail, reconcile="", topic=None) -> dict:
    """One audit row, with the ``topic`` (not a column) that groups rows into findings.

    ``topic`` defaults to ``quantity`` less any ``: part`` after it, so that
    the count, denominator and percentage of one result fall together.
    """
    values = (study, quantity, location, reported, check, status, detail, reconcile, "")
    return {**dict(zip(COLUMNS, values, strict=True)), "topic": topic or quantity.split(": ")[0]}
