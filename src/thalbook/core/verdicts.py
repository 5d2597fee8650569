"""The shape of one verdict of the consistency audit, shared by every family of checks.

Every check of :mod:`thalbook.core.audit`, :mod:`thalbook.core.summary_checks`
and :mod:`thalbook.core.statement_checks` gives rows of :data:`COLUMNS`,
made by :func:`verdict`, with a status of :data:`STATUSES`; the audit
fills in the fields of each row's finding (:data:`FINDING_FIELDS`).

Besides its columns, a row carries what :mod:`thalbook.core.findings` needs
to group rows into findings and to tell what kind of finding each is, as
data rather than as words in ``detail`` (:data:`STRUCTURE`): the ``topic``
it is about, what the text leaves ``unstated`` that would reconcile it, the
``tests`` it judges the row under, the ``statement_kind`` of a statement
and the topics a row is ``implied_by``. They are not columns of the audit.

Examples
--------
>>> row = verdict("wei2003", "asas20 week 24 [enrolled]: denominator", "results", "10", "cross-place",
...               "consistent", "the same in both statements")
>>> row["topic"], row["finding"], row["unstated"], row["tests"]
('asas20 week 24 [enrolled]', '', '', None)
"""

from __future__ import annotations

#: The columns of a verdict, in order; ``reconcile`` says, for an
#: inconsistent verdict, what would reconcile the numbers and what the text
#: rules out; ``finding`` is the identifier of the finding the row belongs
#: to (empty for a row of no finding; :mod:`thalbook.core.findings`).
COLUMNS = ("study", "quantity", "location", "reported", "check", "status", "detail", "reconcile", "finding")
#: What the audit adds to each row about its finding: its ``kind``, the ``convention`` (or conventions) under
#: which it holds and its ``order`` (empty for a row of no finding; :mod:`thalbook.core.findings`).
FINDING_FIELDS = ("kind", "convention", "order")
#: The columns of the audit (:func:`thalbook.core.audit.run_audit`), in order.
AUDIT_COLUMNS = (*COLUMNS, *FINDING_FIELDS)
#: The verdicts a check can give.
STATUSES = ("consistent", "inconsistent", "not-checkable")
#: What a row carries beyond its columns, for :mod:`thalbook.core.findings`:
#:
#: ``topic``
#:     what the row is about; a study's rows of one topic make one finding;
#: ``unstated``
#:     for an inconsistent row, what the text needs and does not give that
#:     would reconcile it (``denominator``, ``analysis``, ``definition``), else ``""``;
#: ``tests``
#:     for a row that judges a p-value under named test methods, ``{method: holds}``
#:     for each method it judges (the ids of :data:`thalbook.core.pvalue_methods.METHODS`), else None;
#: ``statement_kind``
#:     the ``kind`` of the ``statements.csv`` topic a row judges, else ``""``;
#: ``implied_by``
#:     topics whose finding, under the same rounding, would make this row fail too: the row joins
#:     the first of them that is a finding (one problem, one finding), else stays in its own topic;
#: ``secondary``
#:     True for a row about a study the source papers cite (set by :func:`thalbook.core.audit.run_audit`).
STRUCTURE = ("topic", "unstated", "tests", "statement_kind", "implied_by", "secondary")


def verdict(study, quantity, location, reported, check, status, detail, reconcile="", topic=None, *,
            unstated="", tests=None, statement_kind="", implied_by=()) -> dict:
    """One audit row, with the structure (:data:`STRUCTURE`, not columns) that groups rows into findings.

    ``topic`` defaults to ``quantity`` less any ``: part`` after it, so that
    the count, denominator and percentage of one result fall together.
    ``unstated`` is kept only for an inconsistent row.
    """
    values = (study, quantity, location, reported, check, status, detail, reconcile, "", "", "", None)
    return {**dict(zip(AUDIT_COLUMNS, values, strict=True)), "topic": topic or quantity.split(": ")[0],
            "unstated": unstated if status == "inconsistent" else "", "tests": tests,
            "statement_kind": statement_kind, "implied_by": tuple(implied_by), "secondary": False}
