"""Run every check over every number the papers publish, and write the audit out.

In the spirit of statcheck and GRIM for psychology papers, here for clinical
reports: each reported number meets every check that applies to it, and each
check gives one row ``study, quantity, location, reported, check, status,
detail``; ``status`` is one of :data:`STATUSES` and ``detail`` says why in one
sentence, naming the rounding convention where rounding decides. What a row is
about is also given as keys (``about``, ``subject``, ``week``, ``comparison``,
``analysis_set``, ``part``, ...; :data:`thalbook.core.auditing.verdicts.KEYS`), from
which ``quantity`` is written (:func:`thalbook.core.auditing.verdicts.quantity_text`):
code that picks rows selects them by the keys, never by the English.

Which checks apply is decided by the data, never by the row (the checks of
each number on its own are in :mod:`thalbook.core.auditing.number_checks`, those of
numbers against each other in :mod:`thalbook.core.auditing.agreement_checks`):

``percent-to-count``
    a percentage: some k out of the stated denominator (or, when none is
    stated, out of any n up to the size of its analysis set or the enrolled
    total) must round to it;
``analysis-set``
    a proportion labelled with an analysis set whose size the paper states
    (``population`` itt, enrolled, randomised, completers, endoscopy): its
    denominator, or its percentage when no denominator is given, must fit;
``grim``, ``grimmer``
    the mean, and the SD, of a measure whose ``value_type`` is integer;
``scale-bounds``
    the mean and SD of a measure with scale limits: the mean lies on the
    scale and the SD is no larger than the largest possible for that mean;
``wilcoxon-lattice``
    a p-value from a Wilcoxon signed-rank test: some number of pairs and
    statistic W must give an exact p that rounds to it (these four verdicts
    in :mod:`thalbook.core.auditing.summary_checks`);
``cross-place``
    the same quantity stated in several places of one paper (abstract,
    results, tables, captions), withdrawals counted by reason included;
``parts-sum``, ``subgroup-size``, ``withdrawals-total``, ``summary-in-range``, ``summary-label``
    parts against their stated whole, and summaries against their range.

The rows are grouped into findings, one per underlying problem, each with a
stable identifier, a kind and the conventions under which it holds
(:mod:`thalbook.core.auditing.findings`); for that the checks run under every
rounding convention (:func:`run_audits`), once per package.

Where the paper does not state the n behind a mean or a p-value, it is taken
from another statement of the same comparison, or else bounded by the
patients still in the study at that week according to the withdrawal timing
(:func:`thalbook.core.analyses.cohort.study_accounts`): withdrawals before the week are
out; those at the week, or at an unstated week, may or may not be.

Examples
--------
>>> format_audit(pd.DataFrame(columns=AUDIT_COLUMNS), "csv").split(",")[:12]
['study', 'quantity', 'location', 'reported', 'check', 'status', 'detail', 'reconcile', 'finding', 'kind', \
'convention', 'order']
"""

from __future__ import annotations

import re
import weakref

import pandas as pd

from thalbook.core import computed
from thalbook.core.analyses.cohort import StudyAccount, study_accounts
from thalbook.core.auditing import findings
from thalbook.core.auditing.agreement_checks import (
    continuous_topic,
    cross_place_rows,
    fact_rows,
    subgroup_rows,
    withdrawal_rows,
)
from thalbook.core.auditing.number_checks import (
    Studies,
    comparison_keys,
    continuous_rows,
    event_keys,
    event_topic,
    outcome_keys,
    proportion_rows,
    reconstruction_rows,
    reported_p_values,
)
from thalbook.core.auditing.statement_checks import cited_rows, statement_rows
from thalbook.core.auditing.summary_checks import method_rows
from thalbook.core.auditing.verdicts import AUDIT_COLUMNS, COLUMNS, FINDING_FIELDS, KEYS, STATUSES, STRUCTURE
from thalbook.core.errors import InputError
from thalbook.core.evidence import data
from thalbook.core.vocabulary import Rounding

FORMATS = ("table", "csv", "json")

#: The columns the audit reads, by table.
REQUIRED = {
    "studies": ("study_id",),
    "study_facts": ("id", "study_id", "fact", "value", "unit", "subgroup", "location"),
    "withdrawals": ("id", "study_id", "reason_category", "count", "week", "location"),
    "binary_outcomes": (
        "id",
        "study_id",
        "outcome",
        "subgroup",
        "timepoint_week",
        "count",
        "denominator",
        "percent",
        "population",
        "location",
    ),
    "continuous_outcomes": (
        "id",
        "study_id",
        "measure",
        "timepoint_week",
        "comparison",
        "mean",
        "sd",
        "n",
        "p_value",
        "test",
        "location",
    ),
    "adverse_events": ("id", "study_id", "event", "count", "denominator", "percent", "location"),
    "measures": ("measure", "value_type", "scale_min", "scale_max"),
}


def _check_package(package) -> None:
    for name, columns in REQUIRED.items():
        table = getattr(package, name, None)
        if not isinstance(table, pd.DataFrame):
            raise InputError(f"{name}.csv: missing from the data package")
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise InputError(f"{name}.csv: missing column(s): {', '.join(missing)}")


def _checks(package, rounding: Rounding, studies: dict[str, StudyAccount]) -> pd.DataFrame:
    """Every check under one rounding convention: :data:`COLUMNS` and the rows' structure, ordered as run_audit's."""
    binary, events = package.binary_outcomes, package.adverse_events
    rows = [
        *fact_rows(package, rounding),
        *withdrawal_rows(package, studies, rounding),
        *proportion_rows(studies, "binary_outcomes.csv", binary, outcome_keys, rounding),
        *subgroup_rows(package),
        *cross_place_rows(
            "binary_outcomes.csv",
            binary,
            ["outcome", "subgroup", "timepoint_week", "population"],
            ["count", "denominator", "percent"],
            outcome_keys,
            rounding,
        ),
        *continuous_rows(package, studies, rounding),
        *cross_place_rows(
            "continuous_outcomes.csv",
            package.continuous_outcomes,
            ["measure", "timepoint_week", "comparison"],
            ["mean", "sd", "n", "p_value"],
            comparison_keys,
            rounding,
            continuous_topic,
        ),
        *proportion_rows(
            studies, "adverse_events.csv", events, event_keys, rounding, event_topic
        ),
        *cross_place_rows(
            "adverse_events.csv",
            events,
            ["event"],
            ["count", "denominator", "percent"],
            event_keys,
            rounding,
            event_topic,
        ),
    ]
    rows += reconstruction_rows(package, rounding)
    reported = reported_p_values(package, studies)
    if not reported.empty:
        rows += method_rows(reported, rounding)
    rows += statement_rows(package, rounding)
    context = getattr(package, "context_outcomes", None)
    if isinstance(context, pd.DataFrame):
        rows += proportion_rows(studies, "context_outcomes.csv", context, outcome_keys, rounding)
        rows += cited_rows(package, rounding, outcome_keys)
    checks = pd.DataFrame(rows, columns=[*AUDIT_COLUMNS, *STRUCTURE]).assign(rounding=rounding)
    # a study the source papers cite, or a citation of one, is a secondary source of the finding
    roles = package.studies.set_index("study_id")["role"] if "role" in package.studies else pd.Series(dtype=str)
    cited = checks["study"].map(roles).fillna("source").ne("source")
    checks["secondary"] = cited | checks["check"].eq("cited-vs-source")
    order = {study_id: i for i, study_id in enumerate(package.studies["study_id"])}
    position = checks["study"].map(order).fillna(len(order)).to_numpy()
    return checks.iloc[position.argsort(kind="stable")].reset_index(drop=True)


def run_audits(package, roundings=tuple(Rounding)) -> dict[str, pd.DataFrame]:
    """The audit under several rounding conventions at once, each as :func:`run_audit` gives it.

    Every finding's kind and conventions need the checks under every
    convention (:func:`thalbook.core.auditing.findings.assign`): they are run once
    here for all, so a view that shows the audit under several conventions
    asks for them together.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        As for :func:`run_audit`.
    roundings : Rounding or iterable of Rounding
        Conventions (or their text), by default all.

    Returns
    -------
    dict of str to pandas.DataFrame
        Rounding convention -> what :func:`run_audit` returns for it.

    Raises
    ------
    ValueError, thalbook.core.errors.InputError
        As :func:`run_audit` does.
    """
    # the one conversion of a convention given as text (ValueError for one that is none)
    roundings = [Rounding(r) for r in ([roundings] if isinstance(roundings, str) else roundings)]
    kept = _kept(package)
    checks = _every_rounding(package, kept)
    for r in roundings:
        if r not in kept:
            kept[r] = findings.assign(checks, r)
    # a copy for each caller: the audit a chapter is given is its own to change
    return {r: kept[r].copy() for r in roundings}


#: What the audit keeps of each package: its checks under every rounding convention (``"checks"``) and
#: its audit under each convention asked for, findings assigned. A package is not changed after it is
#: loaded (:class:`thalbook.core.evidence.data.DataPackage`), and a chapter asks for the audit several times.
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _kept(package) -> dict:
    """What the audit keeps of ``package`` (:data:`_KEPT`); a dict of its own for a stand-in that cannot be a key."""
    try:
        return _KEPT.setdefault(package, {})
    except TypeError:
        return {}


def _every_rounding(package, kept: dict) -> dict[str, pd.DataFrame]:
    """The checks under every convention of the vocabulary (never changed by their callers: they assign copies)."""
    if "checks" in kept:
        return kept["checks"]
    _check_package(package)

    def every() -> dict[str, pd.DataFrame]:
        studies = Studies(study_accounts(package))
        return {r: _checks(package, r, studies) for r in Rounding}

    # The checks depend on the package's bytes alone: computed once for them by the whole build
    # (every chapter that shows the audit, the results package), where the package was loaded from them.
    kept["checks"] = computed.once("audit-checks", data.digest_of(package), every)
    return kept["checks"]


def run_audit(package, rounding: Rounding = Rounding.HALF_UP) -> pd.DataFrame:
    """Run every applicable check over every number in the data package.

    The checks run under every rounding convention, so that each finding
    knows under which conventions it holds (:mod:`thalbook.core.auditing.findings`);
    the rows are those of ``rounding``. A view that needs several
    conventions asks :func:`run_audits` once.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        What :func:`thalbook.core.evidence.data.load` returns: one DataFrame per file, with
        the loader's ``<column>_decimals`` columns.
    rounding : Rounding
        The rounding convention every verdict assumes (and names); text is turned into one.

    Returns
    -------
    pandas.DataFrame
        The columns :data:`AUDIT_COLUMNS`, then :data:`thalbook.core.auditing.verdicts.CONTENT`
        (what a verdict found, as data), one row per check, ordered by
        ``studies.csv``, then by file and row within a study; ``finding``,
        ``kind``, ``convention`` and ``order`` those of the row's finding
        (:func:`thalbook.core.auditing.findings.assign`); the keys of what each row is
        about (:data:`thalbook.core.auditing.verdicts.KEYS`) and ``rounding``.

    Raises
    ------
    ValueError
        If ``rounding`` is no :class:`~thalbook.core.vocabulary.Rounding`.
    thalbook.core.errors.InputError
        If the package lacks a table or column the audit reads, or a number
        cannot be read; the message names the file, row and column.
    """
    return run_audits(package, [rounding])[rounding]


def summarise(audit: pd.DataFrame) -> pd.DataFrame:
    """Count the checks by study and status.

    Examples
    --------
    >>> table = pd.DataFrame({"study": ["a", "a"], "status": ["consistent", "inconsistent"]})
    >>> summarise(table).loc["a"].to_dict()
    {'consistent': 1, 'inconsistent': 1, 'not-checkable': 0}
    """
    counts = pd.crosstab(audit["study"], audit["status"])
    return counts.reindex(columns=list(STATUSES), fill_value=0)


#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"): ``=``, ``+``, ``-``,
#: ``@``, a tab or a carriage return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A number a spreadsheet reads as that number, not as a formula: it stays as it is.
_PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _inert(cell):
    """A text cell a spreadsheet would evaluate, quoted; any other cell as it is."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_text(table: pd.DataFrame) -> str:
    r"""A table as CSV that a spreadsheet opens without evaluating any cell: the audit's and the results package's.

    Text that would start a formula (:data:`FORMULA_STARTS`) gets a leading
    single quote, as OWASP advises against CSV injection: the data package's
    quotes and what the audit copies from them are text of the user's, and
    ``=HYPERLINK(...)`` in a cell would be a live link in a spreadsheet.
    Numbers stay as they are, in a numeric column (``-1.87``) or as text that
    is a plain number (``"-1.87"``); so does all other text. UTF-8 text, ``\n``
    line ends, missing values empty, floats in full.

    Parameters
    ----------
    table : pandas.DataFrame
        Any table; only its text cells can change.

    Returns
    -------
    str
        The CSV text, with a header row and no index.

    Examples
    --------
    >>> table = pd.DataFrame({"reported": ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2+3", "-1.87", "a-b"],
    ...                       "change": [-1.87, 0.5, 1.0, 2.0, 3.0, 4.0]})
    >>> print(csv_text(table), end="")
    reported,change
    "'=HYPERLINK(""http://x"")",-1.87
    '+1,0.5
    '@SUM(A1),1.0
    '-2+3,2.0
    -1.87,3.0
    a-b,4.0
    """
    text = table.copy()
    for column in text.columns:
        if not (pd.api.types.is_numeric_dtype(text[column]) or pd.api.types.is_bool_dtype(text[column])):
            text[column] = text[column].map(_inert)
    return text.to_csv(index=False, lineterminator="\n")


def format_audit(audit: pd.DataFrame, fmt: str = "table") -> str:
    """Render the audit as a fixed-width text table, CSV or JSON.

    Parameters
    ----------
    audit : pandas.DataFrame
        What :func:`run_audit` returns.
    fmt : {"table", "csv", "json"}
        ``csv`` has exactly the columns :data:`AUDIT_COLUMNS` (those of
        :data:`COLUMNS`, and of the finding's fields and the keys the rows
        carry, for rows that carry no more) and a header row,
        and no cell a spreadsheet would evaluate (:func:`csv_text`);
        ``json`` is a list of records. ``finding`` holds the finding's
        identifier (:mod:`thalbook.core.auditing.findings`), the same under every
        rounding convention; a row of no finding leaves it, ``kind``,
        ``convention`` and ``order`` empty (``null`` in JSON for ``order``).

    Returns
    -------
    str
        The text, ending with a newline.

    Raises
    ------
    ValueError
        If ``fmt`` is not one of :data:`FORMATS`.

    Examples
    --------
    >>> table = pd.DataFrame([["wei2003", "asas20", "abstract", "8/10 (80%)", "percent-to-count",
    ...                        "consistent", "8/10 = 80% rounds to 80%", "", "", "", "", None]],
    ...                       columns=[*COLUMNS, *FINDING_FIELDS])
    >>> print(format_audit(table.assign(about="outcome", subject="asas20"), "csv"), end="")
    study,quantity,location,reported,check,status,detail,reconcile,finding,kind,convention,order,about,subject
    wei2003,asas20,abstract,8/10 (80%),percent-to-count,consistent,8/10 = 80% rounds to 80%,,,,,,outcome,asas20
    """
    if fmt not in FORMATS:
        raise ValueError(f"format_audit: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    columns = [*COLUMNS, *(c for c in (*FINDING_FIELDS, *KEYS) if c in audit.columns)]
    audit = audit.loc[:, columns]
    if fmt == "csv":
        return csv_text(audit)
    if fmt == "json":
        return audit.to_json(orient="records", indent=2, force_ascii=False) + "\n"
    if audit.empty:
        return "no checks\n"
    text = audit.astype(object).where(audit.notna(), "").astype(str)
    widths = {c: max(len(c), text[c].str.len().max()) for c in columns}
    lines = [
        [c.ljust(widths[c]) for c in columns],
        *(
            [v.ljust(widths[c]) for c, v in zip(columns, r, strict=True)]
            for r in text.itertuples(index=False)
        ),
    ]
    return "".join("  ".join(line).rstrip() + "\n" for line in lines)
