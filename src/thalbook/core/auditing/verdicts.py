"""The shape of one verdict of the consistency audit, shared by every family of checks.

Every check of :mod:`thalbook.core.auditing.checks`, :mod:`thalbook.core.auditing.summary_checks`
and :mod:`thalbook.core.auditing.statement_checks` gives rows of :data:`COLUMNS`,
made by :func:`verdict`, with a status of :data:`STATUSES`; the audit
fills in the fields of each row's finding (:data:`FINDING_FIELDS`).

What a row is about is given as keys (:class:`Quantity`, columns
:data:`KEYS`): the kind of thing it is ``about``, its ``subject`` (an
outcome, measure, event, fact or topic id), the ``subgroup`` or ``arm``, the
``week``, the ``comparison``, the ``analysis_set``, the ``part`` of the
result, and the ``rounding`` it was judged under. Code that picks rows
selects them by these keys; ``quantity``, the row's name for readers, is
written from them by :func:`quantity_text` alone, so that rewording it
changes no selection.

Besides its columns, a row carries what :mod:`thalbook.core.auditing.findings` needs
to group rows into findings and to tell what kind of finding each is, as
data rather than as words in ``detail`` (:data:`STRUCTURE`): the ``topic``
it is about, what the text leaves ``unstated`` that would reconcile it, the
``tests`` it judges the row under, the test ``methods`` that reproduce it,
the ``statement_kind`` of a statement and the topics a row is
``implied_by``. Of these, :data:`CONTENT` stays on the audit's rows for
code that needs what a verdict found.

Examples
--------
>>> row = verdict("wei2003", Quantity("outcome", "asas20", week="24", analysis_set="enrolled", part="denominator"),
...               "results", "10", "cross-place", "consistent", "the same in both statements")
>>> row["quantity"], row["subject"], row["week"], row["part"]
('asas20 week 24 [enrolled]: denominator', 'asas20', '24', 'denominator')
>>> row["topic"], row["finding"], row["unstated"], row["tests"]
('asas20 week 24 [enrolled]', '', '', None)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

#: The columns of a verdict, in order; ``reconcile`` says, for an
#: inconsistent verdict, what would reconcile the numbers and what the text
#: rules out; ``finding`` is the identifier of the finding the row belongs
#: to (empty for a row of no finding; :mod:`thalbook.core.auditing.findings`).
COLUMNS = ("study", "quantity", "location", "reported", "check", "status", "detail", "reconcile", "finding")
#: What the audit adds to each row about its finding: its ``kind``, the ``convention`` (or conventions) under
#: which it holds and its ``order`` (empty for a row of no finding; :mod:`thalbook.core.auditing.findings`).
FINDING_FIELDS = ("kind", "convention", "order")
#: The kinds of thing a row can be about (its ``about`` key), in the order the audit checks them.
ABOUTS = ("fact", "withdrawals", "outcome", "measure", "adverse-event", "test-method", "statement", "analysis")
#: What the name of a quantity about each kind of thing starts with (nothing for facts, outcomes and measures).
LEADS = {"withdrawals": "withdrawals", "adverse-event": "adverse event", "test-method": "test method",
         "statement": "statement", "analysis": "analysis"}
#: The ``subject`` of a row about every withdrawal of a study, whatever the reason.
ALL_REASONS = "all reasons"
#: How a measure's quantity names a row of no stated comparison.
NO_COMPARISON = "no comparison"


@dataclass(frozen=True)
class Quantity:
    """What an audit row is about, as keys; :func:`quantity_text` names it for readers.

    Attributes
    ----------
    about : str
        The kind of thing, one of :data:`ABOUTS`.
    subject : str
        Its id as the data package spells it: an outcome (``asas20``), a
        measure (``basdai``), an adverse event, a study fact (``age_mean``),
        a reason for withdrawal (``adverse-event``, or :data:`ALL_REASONS`), or
        a topic of ``statements.csv``; empty for a row about test methods.
    subgroup, arm : str
        The subgroup of patients (``juvenile``) and a context study's arm
        (``thalidomide``), empty when none.
    week : str
        The visit, as the book writes a week (``8``, ``2.5``), empty when none.
    comparison : str
        The paired comparison (``week 8 vs baseline``, or ``all comparisons``
        for a row about every p-value of a paper), empty when none.
    analysis_set : str
        The analysis set its label names (``itt``, ``completers``), empty when none.
    part : str
        The part of the result a row judges alone, as the data package's
        column (``count``, ``denominator``, ``percent``, ``mean``, ``sd``, ``n``,
        ``p_value``), or ``subgroups`` for the parts of a whole; empty when the
        row judges the whole.
    """

    about: str
    subject: str = ""
    subgroup: str = ""
    arm: str = ""
    week: str = ""
    comparison: str = ""
    analysis_set: str = ""
    part: str = ""

    def __post_init__(self):
        if self.about not in ABOUTS:
            raise ValueError(f"Quantity: about must be one of {', '.join(ABOUTS)}, got {self.about!r}")

    def with_part(self, part: str) -> Quantity:
        """The same quantity, with ``part`` of it judged alone."""
        return dataclasses.replace(self, part=part)


#: The keys of :class:`Quantity`, as columns of the audit.
QUANTITY_KEYS = tuple(f.name for f in dataclasses.fields(Quantity))
#: The keys of a row, as columns: what it is about, then the rounding convention it was judged under
#: (filled by :func:`thalbook.core.auditing.checks.run_audit`; empty on a row made outside it).
KEYS = (*QUANTITY_KEYS, "rounding")
#: The columns of the audit (:func:`thalbook.core.auditing.checks.run_audit`), in order: those published and printed.
AUDIT_COLUMNS = (*COLUMNS, *FINDING_FIELDS, *KEYS)
#: The verdicts a check can give.
STATUSES = ("consistent", "inconsistent", "not-checkable")
#: What a row carries beyond its columns, for :mod:`thalbook.core.auditing.findings`:
#:
#: ``topic``
#:     what the row is about; a study's rows of one topic make one finding;
#: ``unstated``
#:     for an inconsistent row, what the text needs and does not give that
#:     would reconcile it (``denominator``, ``analysis``, ``definition``), else ``""``;
#: ``tests``
#:     for a row that judges a p-value under named test methods, ``{method: holds}``
#:     for each method it judges (the ids of :data:`thalbook.core.inference.pvalue_methods.METHODS`), else None;
#: ``methods``
#:     for a row that asks which test methods give a p-value (``test-method``), ``{method: matches}``
#:     for each method that reproduces it, with its matches in words; for a row that asks whether one
#:     method gives every p-value of a comparison (``one-method``), ``{method: common n}`` for each method
#:     that does, with the n common to all of them in words (``""`` when none is); else None;
#: ``statement_kind``
#:     the ``kind`` of the ``statements.csv`` topic a row judges, else ``""``;
#: ``implied_by``
#:     topics whose finding, under the same rounding, would make this row fail too: the row joins
#:     the first of them that is a finding (one problem, one finding), else stays in its own topic;
#: ``secondary``
#:     True for a row about a study the source papers cite (set by :func:`thalbook.core.auditing.checks.run_audit`).
STRUCTURE = ("topic", "unstated", "tests", "methods", "statement_kind", "implied_by", "secondary")
#: The fields of :data:`STRUCTURE` that stay on the audit's rows after its columns (neither published nor
#: printed): what a verdict found, for code that needs it rather than its ``detail``.
CONTENT = ("tests", "methods")


def quantity_text(keys) -> str:
    """The name of a quantity for readers (an audit row's ``quantity``), written from its keys.

    Parameters
    ----------
    keys : Quantity or mapping
        A :class:`Quantity`, or a row with its keys (:data:`QUANTITY_KEYS`).

    Examples
    --------
    >>> quantity_text(Quantity("outcome", "clinical_remission", week="8", analysis_set="itt"))
    'clinical_remission week 8 [itt]'
    >>> quantity_text(Quantity("measure", "basdai", week="24", comparison="week 24 vs baseline", part="p_value"))
    'basdai week 24 (week 24 vs baseline): p value'
    >>> quantity_text({"about": "test-method", "subject": "", "subgroup": "", "arm": "", "week": "",
    ...                "comparison": "week 8 vs baseline", "analysis_set": "", "part": ""})
    'test method: week 8 vs baseline'
    """
    if not isinstance(keys, Quantity):
        keys = Quantity(**{k: "" if keys[k] is None or keys[k] != keys[k] else str(keys[k]) for k in QUANTITY_KEYS})
    if keys.about == "test-method":
        words = [keys.comparison]
    else:
        words = [keys.subject, *(f"({group})" for group in (keys.subgroup, keys.arm) if group)]
        if keys.week or keys.about == "measure":
            words.append(f"week {keys.week}")
        if keys.about == "measure":
            words.append(f"({keys.comparison or NO_COMPARISON})")
        if keys.analysis_set:
            words.append(f"[{keys.analysis_set}]")
    text = " ".join(words)
    if keys.about in LEADS:
        text = f"{LEADS[keys.about]}: {text}"
    return f"{text}: {keys.part.replace('_', ' ')}" if keys.part else text


def verdict(study, quantity: Quantity, location, reported, check, status, detail, reconcile="", topic=None, *,
            unstated="", tests=None, methods=None, statement_kind="", implied_by=()) -> dict:
    """One audit row, with its keys and the structure (:data:`STRUCTURE`, not columns) that groups rows into
    findings.

    ``quantity`` gives the row's keys, and its ``quantity`` column by
    :func:`quantity_text`. ``topic`` defaults to that name less any
    ``: part`` after it, so that the count, denominator and percentage of
    one result fall together. ``unstated`` is kept only for an
    inconsistent row.
    """
    name = quantity_text(quantity)
    values = (study, name, location, reported, check, status, detail, reconcile, "", "", "", None,
              *(getattr(quantity, k) for k in QUANTITY_KEYS), "")
    return {**dict(zip(AUDIT_COLUMNS, values, strict=True)), "topic": topic or name.split(": ")[0],
            "unstated": unstated if status == "inconsistent" else "", "tests": tests, "methods": methods,
            "statement_kind": statement_kind, "implied_by": tuple(implied_by), "secondary": False}
