"""From audit rows to findings: one finding per underlying problem, each with a stable identifier and a kind.

A number printed in three places fails its check three times; one
denominator printed twice fails twice; a mean that fails GRIM also leaves its
SD uncheckable. Counting rows would count each such problem several times.
So the rows of the consistency audit (:mod:`thalbook.core.auditing.checks`) are
grouped by their *topic*, the underlying quantity a check is about, as the
audit names it:

* a result's count, denominator and percentage, wherever printed: its label
  (``asas20 week 24 [enrolled]``; a context study's result, with the
  citation of it, likewise); one adverse event's: ``ae <event>``;
* the means, SDs and n of one measure in one comparison, each place's,
  with their GRIM, GRIMMER, scale and reconstruction checks:
  ``<measure> (<comparison>) values``;
* the p-values of one comparison (one visit against baseline), every
  measure's: ``p-values (<comparison>)``. The lattice check of each p (the
  exact test), the test-method check of each p and the one-method check of
  the visit ask one question, whether the signed-rank test the paper names
  gives the visit's p-values, so they are one finding, not two or three;
* a study's withdrawals (``withdrawals``), a stated fact (its name), one
  topic of ``statements.csv`` (``statement: <topic>``, ``analysis: <topic>``).

A topic with at least one inconsistent row is a finding, and every row of
that topic carries it, the consistent and not-checkable ones included. A
topic with no inconsistent row is no finding. A row that fails *because*
another topic fails (no one test method explains every p-value of the
paper, when no one method explains those of one visit) joins the first such
topic's finding under the same convention (``implied_by``,
:mod:`thalbook.core.auditing.verdicts`), and is a finding of its own
(``p-values (all comparisons)``) only when no such topic fails.

Identifiers
-----------
A finding's identifier is made from what it is about, never from its
position: the study id and the topic, lowercased, ``week N`` shortened to
``wN``, every run of other characters than ASCII letters and digits made
one hyphen (:func:`identifier`): ``wei2003-asas20-w24-enrolled``,
``wei2003-statement-withdrawal-reasons``, ``wei2003-p-values-w8-vs-baseline``.
It is valid as an HTML id and a URL fragment (it starts with a letter). Two
topics that would give the same identifier both get the first six hex
digits of the SHA-1 of their study and topic appended, decided over every
topic the audit has, whatever its verdicts. The identifier is therefore the
same under every parameter set (every rounding convention), in
``thalbook audit --findings``, the audit's CSV and JSON, the results package
and the book, for as long as the data package names the quantity the same way.
``order`` numbers the findings of *every* rounding convention the audit
knows, in the audit's order (by study, then as the checks run): it is as
stable as the identifier, and a finding that only another convention has
leaves its number out.

Kinds
-----
Each finding is of one kind of :data:`KINDS` (described in
:data:`KIND_DESCRIPTIONS`), decided from the rows' data, never from their
words, in this order:

1. ``found in a secondary source``: a row is about a study that the source
   papers cite (a context study), or compares a citation with its source;
2. ``says more than its results``: a failing row judges a statement of kind
   ``conclusion``;
3. ``depends on a convention``: under some rounding convention, or with
   some signed-rank test method, no row of the topic fails; ``convention``
   names those conventions (also given for the two kinds above);
4. ``unreported or unstated``: every failing row, under every convention,
   would be reconciled by something the text needs and does not give (a
   denominator, an analysis, a definition: ``unstated``);
5. ``impossible as printed``: none of these; the numbers or statements
   cannot all be true under any convention the audit knows.

The kind and the conventions are computed from the audit under every
rounding convention at once (:func:`assign`), so they too are the same
under every parameter set.

Examples
--------
>>> audit = pd.DataFrame({"study": ["s", "s", "s"], "quantity": ["m: count", "m: percent", "q"],
...     "location": ["abstract", "results", "table"], "reported": ["1", "2", "3"], "check": ["x"] * 3,
...     "status": ["inconsistent", "inconsistent", "consistent"], "detail": ["d1", "d2", "d3"],
...     "reconcile": ["r", "r", ""], "topic": ["m week 2", "m week 2", "q"]})
>>> made = assign({"half-up": audit, "truncation": audit.assign(status="consistent")}, "half-up")
>>> made[["finding", "kind", "convention", "order"]].values.tolist()
[['s-m-w2', 'depends on a convention', 'truncation', 1], ['s-m-w2', 'depends on a convention', 'truncation', 1], \
['', '', '', <NA>]]
>>> summary(made)[["finding", "checks", "places", "kind"]].values.tolist()
[['s-m-w2', 2, 'abstract; results', 'depends on a convention']]
>>> counts_by_kind(summary(made))["depends on a convention"]
1
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping

import pandas as pd

from thalbook.core.auditing.summary_checks import ASSUMED_TEST
from thalbook.core.auditing.verdicts import AUDIT_COLUMNS, CONTENT, KEYS
from thalbook.core.inference.pvalue_methods import METHODS
from thalbook.core.vocabulary import ROUNDINGS

#: The kinds of finding, from the weightiest reading of the text to the lightest.
IMPOSSIBLE = "impossible as printed"
CONVENTION = "depends on a convention"
UNSTATED = "unreported or unstated"
OVERREACH = "says more than its results"
SECONDARY = "found in a secondary source"
KINDS = (IMPOSSIBLE, CONVENTION, UNSTATED, OVERREACH, SECONDARY)
#: Each kind in plain words (tables, legends, the landing page).
KIND_DESCRIPTIONS = {
    IMPOSSIBLE: ("No reading of the text makes these numbers or statements true together: they disagree under "
                 "every rounding convention and every signed-rank test method the audit knows."),
    CONVENTION: ("True under one rounding convention or test method and not under another; the finding names "
                 "the conventions under which the numbers hold."),
    UNSTATED: ("The numbers could hold, but only with something the text needs and does not give: a "
               "denominator, an analysis it announces, a definition."),
    OVERREACH: "A conclusion that claims more than the results it rests on show.",
    SECONDARY: ("A problem in a study the source papers cite, or in how they cite it, rather than in the "
                "source papers' own results."),
}
#: The columns of :func:`summary`, one row per finding.
FINDING_COLUMNS = ("finding", "study", "quantity", "places", "checks", "problem", "reconcile", "order", "kind",
                   "convention")

_WEEK = re.compile(r"\bweek (?=\d)")


def identifier(study: str, topic: str) -> str:
    """The identifier of a study's finding on ``topic``, before any clash is resolved (:func:`identifiers`).

    Examples
    --------
    >>> identifier("wei2003", "asas20 week 24 [enrolled]")
    'wei2003-asas20-w24-enrolled'
    >>> identifier("wei2003", "statement: withdrawal-reasons")
    'wei2003-statement-withdrawal-reasons'
    >>> identifier("2003", "Crohn’s  é")
    'f-2003-crohn-s-e'
    """
    text = unicodedata.normalize("NFKD", _WEEK.sub("w", f"{study} {topic}".lower()))
    text = "".join(c for c in text if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return slug if slug[:1].isalpha() else f"f-{slug}".rstrip("-")


def identifiers(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """A unique identifier for each (study, topic): :func:`identifier`, with a hash where two would clash.

    Examples
    --------
    >>> made = identifiers([("s", "a b"), ("s", "a-b"), ("s", "c")])
    >>> made[("s", "c")], made[("s", "a b")] != made[("s", "a-b")], made[("s", "a b")][:6]
    ('s-c', True, 's-a-b-')
    """
    by_slug: dict[str, list[tuple[str, str]]] = {}
    for key in dict.fromkeys(keys):
        by_slug.setdefault(identifier(*key), []).append(key)
    made = {}
    for slug, clashing in by_slug.items():
        for key in clashing:
            digest = hashlib.sha1(f"{key[0]}\x1f{key[1]}".encode()).hexdigest()[:6]
            made[key] = slug if len(clashing) == 1 else f"{slug}-{digest}"
    return made


#: What a row that does not say otherwise carries (:data:`thalbook.core.auditing.verdicts.STRUCTURE`).
_DEFAULTS = {"unstated": "", "tests": None, "methods": None, "statement_kind": "", "implied_by": (),
             "secondary": False}


def _structure(audit: pd.DataFrame) -> pd.DataFrame:
    """The rows with every field of :data:`thalbook.core.auditing.verdicts.STRUCTURE`, defaults where missing."""
    filled = {}
    for key, default in _DEFAULTS.items():
        cells = audit[key] if key in audit.columns else [None] * len(audit)
        filled[key] = [default if cell is None or (isinstance(cell, float) and cell != cell) else cell
                       for cell in cells]
    return audit.assign(**filled)


def _resolve(audit: pd.DataFrame) -> pd.Series:
    """Each row's topic once implied rows have joined the finding that implies them."""
    failing = audit["status"].eq("inconsistent")
    implied = audit["implied_by"].map(bool)
    found = set(zip(audit.loc[failing & ~implied, "study"], audit.loc[failing & ~implied, "topic"], strict=True))
    topics = audit["topic"].copy()
    for index in audit.index[failing & implied]:
        study = audit.at[index, "study"]
        topics[index] = next((t for t in audit.at[index, "implied_by"] if (study, t) in found), topics[index])
    return topics


def _holds(rows: pd.DataFrame, method: str | None) -> bool:
    """No row fails under ``method`` (None: a topic no row of which names a test method)."""
    for status, tests in zip(rows["status"], rows["tests"], strict=True):
        if isinstance(tests, Mapping):
            if method in tests and not tests[method]:
                return False
        elif status == "inconsistent":
            return False
    return True


def _conventions(by_rounding: dict[str, pd.DataFrame]) -> list[str]:
    """The conventions under which no row of one topic fails: roundings, test methods, or a method under roundings.

    A rounding under which the topic has no row at all (its rows joined another finding there) is no
    convention under which it holds.
    """
    by_rounding = {r: rows for r, rows in by_rounding.items() if not rows.empty}
    tested = any(isinstance(t, Mapping) for rows in by_rounding.values() for t in rows["tests"])
    if not tested:
        return [r for r, rows in by_rounding.items() if _holds(rows, None)]
    plain = [r for r, rows in by_rounding.items() if _holds(rows, ASSUMED_TEST)]
    tokens = list(plain)
    for method in (m for m in METHODS if m != ASSUMED_TEST):
        judged = {r for r, rows in by_rounding.items()
                  if any(isinstance(t, Mapping) and method in t for t in rows["tests"])}
        rescued = [r for r, rows in by_rounding.items() if r not in plain and r in judged and _holds(rows, method)]
        if rescued:
            rest = [r for r in by_rounding if r not in plain]
            tokens.append(method if rescued == rest else f"{method} ({', '.join(rescued)})")
    return tokens


def _kind(by_rounding: dict[str, pd.DataFrame], conventions: list[str]) -> str:
    # the rows under every convention taken together, one frame at a time
    frames = list(by_rounding.values())
    failing = [rows[rows["status"].eq("inconsistent")] for rows in frames]
    if any(rows["secondary"].any() for rows in frames):
        return SECONDARY
    if any(rows["statement_kind"].eq("conclusion").any() for rows in failing):
        return OVERREACH
    if conventions:
        return CONVENTION
    if any(not rows.empty for rows in failing) and all(rows["unstated"].ne("").all() for rows in failing):
        return UNSTATED
    return IMPOSSIBLE


def assign(audits: Mapping[str, pd.DataFrame], rounding: str) -> pd.DataFrame:
    """The audit under ``rounding``, each row with its finding's identifier, kind, conventions and order.

    Parameters
    ----------
    audits : mapping of str to pandas.DataFrame
        The audit's rows under each rounding convention (every one of
        :data:`thalbook.core.vocabulary.ROUNDINGS` for kinds and conventions
        that hold under every parameter set), with the columns
        :data:`thalbook.core.auditing.verdicts.COLUMNS` (``finding`` may be absent)
        and ``topic``; the other
        fields of :data:`thalbook.core.auditing.verdicts.STRUCTURE` get defaults if absent, and
        the keys of :data:`thalbook.core.auditing.verdicts.KEYS` are empty if absent.
    rounding : str
        The convention whose rows are returned; a key of ``audits``.

    Returns
    -------
    pandas.DataFrame
        The rows under ``rounding``, exactly the columns
        :data:`thalbook.core.auditing.verdicts.AUDIT_COLUMNS` and then
        :data:`thalbook.core.auditing.verdicts.CONTENT`: ``finding`` (the identifier),
        ``kind`` and ``convention`` filled (``""`` for rows of no finding),
        ``order`` a nullable integer.
    """
    frames = {r: _structure(audits[r]).reset_index(drop=True) for r in ROUNDINGS if r in audits}
    if rounding not in frames:
        raise ValueError(f"findings.assign: no audit under {rounding!r}")
    names = identifiers(k for f in frames.values() for k in zip(f["study"], f["topic"], strict=True))
    keyed = {r: f.assign(topic=_resolve(f)) for r, f in frames.items()}
    first: dict[tuple[str, str], int] = {}
    failing: dict[str, set[tuple[str, str]]] = {}
    for r, f in keyed.items():
        keys = list(zip(f["study"], f["topic"], strict=True))
        failing[r] = {k for k, s in zip(keys, f["status"], strict=True) if s == "inconsistent"}
        for position, key in enumerate(keys):
            first[key] = min(first.get(key, position), position)
    found = sorted(set().union(*failing.values()), key=lambda k: first[k])
    # each finding's rows under each convention, found once: positions by (study, topic)
    rows_of = {r: f.groupby(["study", "topic"], sort=False, dropna=False).indices for r, f in keyed.items()}
    facts = {}
    for number, key in enumerate(found, start=1):
        by_rounding = {r: f.iloc[rows_of[r].get(key, [])] for r, f in keyed.items()}
        conventions = _conventions(by_rounding)
        facts[key] = (names[key], _kind(by_rounding, conventions), "; ".join(conventions), number)
    table = keyed[rounding]
    own = [facts[k] if k in failing[rounding] else ("", "", "", None)
           for k in zip(table["study"], table["topic"], strict=True)]
    made = table.assign(**{column: [f[i] for f in own]
                           for i, column in enumerate(("finding", "kind", "convention", "order"))})
    made["order"] = made["order"].astype("Int64")
    made = made.assign(**{key: "" for key in KEYS if key not in made.columns})
    return made.loc[:, [*AUDIT_COLUMNS, *CONTENT]]


def summary(audit: pd.DataFrame) -> pd.DataFrame:
    """One row per finding: what it is, where it stands, how many checks show it, what fails and would reconcile it.

    ``quantity`` and ``problem`` are those of the finding's first
    inconsistent row; ``places`` joins every place of its rows;
    ``reconcile`` joins the distinct reconciliations its rows offer;
    ``order``, ``kind`` and ``convention`` are the finding's (:func:`assign`).

    Parameters
    ----------
    audit : pandas.DataFrame
        What :func:`thalbook.core.auditing.checks.run_audit` returns.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FINDING_COLUMNS`, in the order of ``order``.
    """
    rows = []
    found = audit[audit["finding"].ne("")]
    for finding, group in found.groupby("finding", sort=False):
        first = group[group["status"].eq("inconsistent")].iloc[0]
        places = dict.fromkeys(p for cell in group["location"] for p in str(cell).split("; "))
        reconcile = dict.fromkeys(r for r in group["reconcile"] if r)
        rows.append((finding, first["study"], first["quantity"], "; ".join(places), len(group),
                     first["detail"], " | ".join(reconcile), first["order"], first["kind"], first["convention"]))
    table = pd.DataFrame(rows, columns=list(FINDING_COLUMNS)).astype({"order": "Int64", "checks": int})
    return table.sort_values("order", kind="stable").reset_index(drop=True)


def counts_by_kind(table: pd.DataFrame) -> dict[str, int]:
    """How many findings of each kind, every kind of :data:`KINDS` in order (0 included); they add up to ``len(table)``.

    Parameters
    ----------
    table : pandas.DataFrame
        What :func:`summary` returns.

    Examples
    --------
    >>> counts_by_kind(pd.DataFrame({"kind": [IMPOSSIBLE, UNSTATED, IMPOSSIBLE]}))
    {'impossible as printed': 2, 'depends on a convention': 0, 'unreported or unstated': 1, \
'says more than its results': 0, 'found in a secondary source': 0}
    """
    unknown = set(table["kind"]) - set(KINDS)
    if unknown:
        raise ValueError(f"counts_by_kind: not kinds of finding: {', '.join(sorted(unknown))}")
    return {kind: int(table["kind"].eq(kind).sum()) for kind in KINDS}


def counts_text(table: pd.DataFrame) -> str:
    """The number of findings and how many are of each kind, in words (the kinds with none are left out).

    Examples
    --------
    >>> counts_text(pd.DataFrame({"kind": [IMPOSSIBLE, UNSTATED, IMPOSSIBLE]}))
    '3 findings: 2 impossible as printed, 1 unreported or unstated'
    >>> counts_text(pd.DataFrame({"kind": []}))
    'no findings'
    """
    counts = {k: n for k, n in counts_by_kind(table).items() if n}
    if not counts:
        return "no findings"
    total = sum(counts.values())
    return f"{total} finding{'s' if total != 1 else ''}: " + ", ".join(f"{n} {k}" for k, n in counts.items())


def format_findings(audit: pd.DataFrame) -> str:
    """The count of findings by kind, then one line per finding, for ``thalbook audit --findings``.

    Each line: the finding's number and identifier, its kind and the
    conventions under which it holds, then the quantity, its checks and
    places, what fails and what would reconcile it.

    Examples
    --------
    >>> audit = pd.DataFrame({"study": ["s"], "quantity": ["m"], "location": ["results"], "reported": ["1"],
    ...     "check": ["x"], "status": ["inconsistent"], "detail": ["cannot be"], "reconcile": ["would reconcile: y"],
    ...     "finding": ["s-m"], "kind": [CONVENTION], "convention": ["truncation"], "order": [3]})
    >>> print(format_findings(audit), end="")
    1 finding: 1 depends on a convention
    3  s-m  [depends on a convention; holds under truncation]  m  (1 check; results): cannot be; would reconcile: y
    """
    table = summary(audit)
    lines = [counts_text(table)]
    for _, f in table.iterrows():
        checks = f"{f['checks']} check{'s' if f['checks'] != 1 else ''}"
        tail = f"; {f['reconcile']}" if f["reconcile"] else ""
        holds = f"; holds under {f['convention'].replace('; ', ' or ')}" if f["convention"] else ""
        lines.append(f"{f['order']}  {f['finding']}  [{f['kind']}{holds}]  {f['quantity']}  ({checks}; {f['places']}): "
                     f"{f['problem']}{tail}")
    return "\n".join(lines) + "\n"
