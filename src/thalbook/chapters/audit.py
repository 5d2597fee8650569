"""What the audit chapter shows: the findings first, each citable by its identifier, then every check.

What each kind of inconsistency means is written in the chapter itself; this
module counts the findings (one per underlying problem,
:mod:`thalbook.core.auditing.findings`), lays each out with the places of the papers
it rests on, their quotes from the data package and what would reconcile
them, and folds the checks behind it beneath it. Every check of the audit is
also shown by study: in the web book as a table folded under its study, in
the PDF as a list laid out for print (:func:`print_checks`), since a table
row that cannot break across pages leaves pages half empty.

A finding's block carries its identifier as its label and HTML id, so that
``audit.html#<identifier>`` links to it. The findings are grouped by their
kind when the audit gives one (a ``kind`` column), else shown as one group.

Examples
--------
>>> table = pd.DataFrame({"study": ["b", "a", "a"], "status": ["consistent", "consistent", "inconsistent"]})
>>> order_audit(table, ["a", "b"])["status"].tolist()
['inconsistent', 'consistent', 'consistent']
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from thalbook.chapters.data_provenance import raw_tables, study_labels
from thalbook.chapters.tables import caption, container, escape, fold, frame_table, only
from thalbook.chapters.view import View, check_names, check_values
from thalbook.core import vocabulary
from thalbook.core.auditing import checks
from thalbook.core.auditing import findings as found
from thalbook.core.evidence import quotes

#: The parameters the chapter declares.
PARAMETERS = ("rounding",)
STATUS_ORDER = ("inconsistent", "not-checkable", "consistent")
#: The name of the display that holds the tables of every context study, one after the other.
CONTEXT_TABLES = "audit-rows-context"
#: The name of the display that holds every finding, grouped by kind.
FINDINGS = "audit-findings"
#: Columns of a data file that name what a row is about, in the order they are tried.
SUBJECT_COLUMNS = ("outcome", "measure", "event", "topic", "fact", "reason", "quantity")
# The kinds of finding in the order the audit gives them, and what each means. Read from the audit's own
# module when it has them; an audit whose findings have no kind shows them as one group.
KINDS: tuple[str, ...] = tuple(getattr(found, "KINDS", ()))
KIND_DESCRIPTIONS: dict[str, str] = dict(getattr(found, "KIND_DESCRIPTIONS", {}))


def _finding_ids(audit: pd.DataFrame) -> set[str]:
    """The audit's finding ids; an id is made from structured keys alone, so it is the same finding under
    every rounding convention even when its first check's quantity differs."""
    return set(found.summary(audit)["finding"])


def build(package, params: dict[str, Any]) -> View:
    """The audit chapter's view: counts for the prose, the findings, their index, and every check by study.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        What :func:`thalbook.core.evidence.data.load` returns.
    params : dict
        ``rounding``: the rounding convention the audit assumes
        (:data:`thalbook.core.vocabulary.ROUNDINGS`).

    Returns
    -------
    View
        ``values``: ``n_findings`` and ``<study>_findings`` for each source
        study (problems of every kind), ``findings_by_kind`` (the number of
        findings and how many are of each kind, in words), ``n_checks``,
        ``n_inconsistent``, ``n_not_checkable``, ``n_consistent``,
        ``n_check_types``, ``n_audited_studies`` (checks), ``rounding``,
        ``other_rounding`` and ``n_rounding_sensitive`` (findings that
        another convention would add or remove). ``tables``:
        ``tbl-audit-summary``, ``tbl-audit-findings`` (the index, one row per
        finding), :data:`FINDINGS` (each finding with its places, quotes and
        folded checks), ``audit-rows-<study>`` for every audited study
        (folded in HTML, laid out for print in the PDF) and
        :data:`CONTEXT_TABLES` (the context studies' together).

    Raises
    ------
    TypeError
        If ``params`` does not hold exactly :data:`PARAMETERS`.
    InputError
        If ``rounding`` is not a rounding convention the audit knows.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> view = build(data.load(), {"rounding": "half-up"})
    >>> view.value("other_rounding")
    'half-even or truncation'
    >>> view.value("n_findings") == view.value("he2017_findings") + view.value("wei2003_findings") + \\
    ...     view.value("n_context_findings")
    True
    >>> list(view.tables)[:4]
    ['tbl-audit-summary', 'tbl-audit-findings', 'audit-findings', 'audit-rows-he2017']
    """
    check_names("audit", params, PARAMETERS)
    rounding = check_values(params).rounding
    table = checks.run_audit(package, rounding=rounding)
    labels = study_labels(package)
    ordered = order_audit(table, list(package.studies["study_id"]))
    audited = list(dict.fromkeys(ordered["study"]))
    summary = checks.summarise(table).reindex(audited)
    listed = found.summary(table)
    per_study = listed["study"].value_counts()
    counts = table["status"].value_counts()
    others = vocabulary.other_roundings(rounding)
    mine = _finding_ids(table)
    changed = set().union(*(mine ^ _finding_ids(checks.run_audit(package, rounding=o)) for o in others))
    values = {
        "n_findings": int(per_study.sum()),
        "findings_by_kind": kinds_text(listed),
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
        # the landing page says which kinds a study's count counts
        mine = listed[listed["study"].eq(study)]
        values[f"{study}_findings_kinds"] = found.counts_text(mine)
        values[f"{study}_findings_short"] = (f"{_plural(len(mine), 'finding')} of every kind, "
                                             f"{int(mine['kind'].eq(found.IMPOSSIBLE).sum())} impossible as printed")
        values[f"{study}_checks"] = int(summary.loc[study].sum())
    values.update(other_rounding=" or ".join(others), rounding=str(rounding), n_rounding_sensitive=len(changed))

    shown = summary.reset_index()
    shown.insert(1, "findings (every kind)", shown["study"].map(per_study).fillna(0).astype(int).to_numpy())
    shown.insert(2, "checks", summary.sum(axis=1).to_numpy())
    shown["study"] = shown["study"].map(lambda s: labels.get(s, s))
    tables = {
        "tbl-audit-summary": frame_table(
            shown.astype(str), caption("tbl-audit-summary", rounding=rounding),
            "tbl-audit-summary"),
        "tbl-audit-findings": fold(f"All {kinds_text(listed).split(':')[0]} in one table, in the audit's order",
                                   findings_table(table, labels)),
        FINDINGS: findings_blocks(table, labels, data_rows(package)),
    }
    for study in audited:
        tables[f"audit-rows-{study}"] = study_checks(ordered, study, labels)
    tables[CONTEXT_TABLES] = "\n\n".join(tables[f"audit-rows-{s}"] for s in audited if s not in _sources(package))
    return View(dict(params), values, tables)


def _sources(package) -> list[str]:
    return package.studies.loc[package.studies["role"].eq("source"), "study_id"].tolist()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def kinds_text(listed: pd.DataFrame) -> str:
    """The number of findings and, when the audit gives kinds, how many are of each (none left out).

    ``listed`` is :func:`thalbook.core.auditing.findings.summary`.

    Examples
    --------
    >>> kinds_text(pd.DataFrame({"finding": ["a", "b", "c"], "kind": ["x", "y", "x"]}))
    '3 findings of 2 kinds: 2 x, 1 y'
    >>> kinds_text(pd.DataFrame({"finding": ["a"]}))
    '1 finding'
    """
    total = _plural(len(listed), "finding")
    if "kind" not in listed or listed.empty:
        return total
    groups = _kind_groups(listed)
    return f"{total} of {_plural(len(groups), 'kind')}: " + ", ".join(f"{len(g)} {k}" for k, g in groups)


def _kind_groups(listed: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The findings by kind, in :data:`KINDS` order (then any other kind as met); one unnamed group without kinds."""
    if "kind" not in listed:
        return [("", listed)] if len(listed) else []
    order = [*KINDS, *(k for k in dict.fromkeys(listed["kind"]) if k not in KINDS)]
    return [(k, listed[listed["kind"].eq(k)]) for k in order if listed["kind"].eq(k).any()]


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


def _verdict(row) -> str:
    """A row's verdict as MyST: the status (bold unless consistent), the detail and what would reconcile it."""
    status = row["status"]
    verdict = f"**{status}**" if status != "consistent" else status
    reconcile = f" ({escape(row['reconcile'])})" if row["reconcile"] else ""
    return f"{verdict}: {escape(row['detail'])}{reconcile}"


def audit_rows(audit: pd.DataFrame) -> pd.DataFrame:
    """Audit rows as the audit chapter's table shows them (MyST cells, already escaped).

    Columns ``finding`` (its identifier, empty for rows of no finding),
    ``quantity (where)`` (the quantity, then the place or places of the
    paper), ``reported``, ``check`` and ``verdict`` (the status, in bold
    unless consistent, then the detail and what would reconcile it).
    """
    out = [{
        "finding": row["finding"],
        "quantity (where)": f"{escape(row['quantity'])} ({escape(row['location'])})",
        "reported": escape(row["reported"]),
        "check": escape(row["check"]),
        "verdict": _verdict(row),
    } for _, row in audit.iterrows()]
    return pd.DataFrame(out, columns=["finding", "quantity (where)", "reported", "check", "verdict"])


def findings_table(audit: pd.DataFrame, labels: dict[str, str]) -> str:
    """MyST of the index of findings (``tbl-audit-findings``), one row each, in the audit's order.

    Its columns: the identifier, the kind (when the audit gives kinds), the
    study, and what fails, which links to the finding's block.
    """
    table = found.summary(audit)
    rows = pd.DataFrame({
        "finding": table["finding"],
        **({"kind": table["kind"].map(escape)} if "kind" in table else {}),
        "study": table["study"].map(lambda s: escape(labels.get(s, s))),
        "what fails": [
            f"{_link(escape(q), f)} ({_plural(c, 'check')}): {escape(d)}"
            for f, q, c, d in zip(table["finding"], table["quantity"], table["checks"], table["problem"],
                                  strict=True)],
    })
    counted = f"{kinds_text(table)}" if "kind" in table else _plural(len(rows), "finding")
    text = caption("tbl-audit-findings", counted=counted) if len(rows) else caption("tbl-audit-findings (empty)")
    widths = [22, 14, 12, 52] if "kind" in table else [24, 14, 62]
    return frame_table(rows, text, "tbl-audit-findings", widths=widths, markup=rows.columns)


def _link(text: str, finding: str) -> str:
    """MyST for ``text`` linking to the block of ``finding`` (its label, wherever it is in the book)."""
    return f"[{text}](#{finding})"


# --------------------------------------------------------------------------
# the findings, each with its places and quotes


def data_rows(package) -> list[dict[str, str]]:
    """Every row of the data package that carries a quote, as text, with its file's name in ``file``."""
    return [dict(row, file=name) for name, table in raw_tables(package.data_dir).items() if "quote" in table
            for row in table.to_dict("records")]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", str(text).lower()).split())


def place_of(study: str, place: str) -> tuple[str, str]:
    """The study and location of one place an audit row names; ``discussion of wei2003`` is in that study.

    Examples
    --------
    >>> place_of("huang2002", "discussion of wei2003"), place_of("wei2003", "table 2")
    (('wei2003', 'discussion'), ('wei2003', 'table 2'))
    """
    match = re.fullmatch(r"(.+) of ([a-z]+\d{4}[a-z]?)", place)
    return (match.group(2), match.group(1)) if match else (study, place)


def _printed(reported: str, location: str, place: str) -> list[str]:
    """The numbers a row prints at ``place``: all of them for a row of that one place, else its ``(place)`` part."""
    if location == place:
        parts = [reported]
    else:
        parts = [p.removesuffix(f" ({place})") for p in reported.split("; ") if p.endswith(f" ({place})")]
    return [n for p in parts for n in re.findall(r"\d+(?:\.\d+)?", p)]


def _score(row: dict[str, str], audited: pd.Series, numbers: list[str]) -> int:
    """How closely a data row matches what an audit row is about at the same place (0: not at all).

    Read from the audit row's keys (:data:`thalbook.core.auditing.verdicts.KEYS`). A
    row about its subject (for a fact, also one of its statistics:
    ``disease_duration_mean`` of ``disease_duration``) scores 2, one more at
    its week, and one more for each number printed there that its quote
    holds when it holds them all; a p-value of the comparison a row about
    test methods judges scores 1.
    """
    wanted = _norm(audited["subject"])
    subject = _norm(next((row[c] for c in SUBJECT_COLUMNS if row.get(c)), ""))
    statistic_of = audited["about"] == "fact" and subject.rpartition(" ")[0] == wanted
    if subject and (subject == wanted or statistic_of):
        score = 2 + bool(row.get("timepoint_week") and row["timepoint_week"] == audited["week"])
        return score + (len(numbers) if all(quotes.number_in_text(n, row["quote"]) for n in numbers) else 0)
    if row.get("comparison") and row.get("p_value") and row["comparison"] == audited["comparison"]:
        return 1
    return 0


def place_quotes(rows: pd.DataFrame, package_rows: list[dict[str, str]]) -> dict[tuple[str, str], list[str]]:
    """The places a finding's audit rows name, in order, each with the quotes of its data rows.

    A data row belongs to a place when it is of the same study and location
    and is about what an audit row is about, by its keys (:func:`_score`); each audit row
    keeps its best matches. At a place some audit rows stand at alone, only
    those rows count (the rows that compare several places print less of
    each). A row citing another study's outcome follows that outcome. A
    place whose rows name no data row keeps no quote.
    """
    at: dict[tuple[str, str], list[tuple[object, str, bool]]] = {}
    for _, row in rows.iterrows():
        places = str(row["location"]).split("; ")
        for place in places:
            at.setdefault(place_of(row["study"], place), []).append((row, place, len(places) == 1))
    chosen: dict[tuple[str, str], list[dict]] = {}
    for key, members in at.items():
        alone = [m for m in members if m[2]] or members
        matched: dict[str, dict] = {}
        for row, place, _ in alone:
            numbers = _printed(str(row["reported"]), str(row["location"]), place)
            scored = [(_score(c, row, numbers), c) for c in package_rows
                      if (c["study_id"], c["location"]) == key and c["quote"]]
            top = max((score for score, _ in scored), default=0)
            matched.update({c["id"]: c for score, c in scored if top and score == top})
        chosen[key] = list(matched.values())
    ids = {c["id"] for matched in chosen.values() for c in matched}
    for key, matched in chosen.items():
        if not matched:
            chosen[key] = [c for c in package_rows if (c["study_id"], c["location"]) == key
                           and c.get("cited_outcome_id") in ids]
    out = {}
    for key, matched in chosen.items():
        texts = list(dict.fromkeys(c["quote"] for c in matched))
        out[key] = [t for t in texts if not any(t != other and t in other for other in texts)]
    return out


def finding_block(summary: pd.Series, rows: pd.DataFrame, labels: dict[str, str],
                  package_rows: list[dict[str, str]]) -> str:
    """MyST of one finding: its identifier (label, HTML id and link), verdict, places with quotes, what would
    reconcile them, and its checks folded beneath it (in HTML; the PDF lists them in its appendix).

    The table of its checks is named ``checks-<identifier>`` (every table of the book has a caption and a
    name); it stands in the HTML book only, so its label is defined once.
    """
    ident = summary["finding"]
    verdict = f"Verdict: {escape(summary['kind'])}." if summary.get("kind") else "Verdict."
    holds = f" It holds under {escape(summary['convention'])}." if summary.get("convention") else ""
    head = (f"{_link(ident, ident)} **{escape(summary['quantity'])}**, "
            f"{escape(labels.get(summary['study'], summary['study']))}")
    problem = escape(summary["problem"])
    problem = problem[:1].upper() + problem[1:] + ("" if problem.endswith(".") else ".")
    lines = [head, "", f"**{verdict}** {problem}{holds}", ""]
    placed = place_quotes(rows, package_rows)
    quoted = [(k, q) for k, q in placed.items() if q]
    bare = [k for k, q in placed.items() if not q]
    lines.append("**Where it stands.**")
    lines.append("")
    for (study, location), texts in quoted:
        where = location if study == summary["study"] else f"{labels.get(study, study)}, {location}"
        said = "; ".join(f"\u201c{escape(t)}\u201d" for t in texts)
        lines.append(f"- *{escape(where)}*: {said}")
    if bare:
        where = "; ".join(loc if s == summary["study"] else f"{labels.get(s, s)}, {loc}" for s, loc in bare)
        lines.append(f"- {'also ' if quoted else ''}*{escape(where)}* (the checks behind this finding give what "
                     f"{'each prints' if len(bare) > 1 else 'it prints'})")
    reconcile = [r.removeprefix("would reconcile: ") for r in summary["reconcile"].split(" | ") if r]
    if reconcile:
        said = escape("; ".join(reconcile))
        lines += ["", f"**What would reconcile it.** {said}{'' if said.endswith('.') else '.'}"]
    shown = audit_rows(order_audit(rows, [summary["study"]])).drop(columns="finding")
    checks_table = frame_table(shown, caption("checks-<finding>", finding=escape(ident), n=len(rows)),
                               f"checks-{ident}", widths=[27, 17, 13, 43],
                               markup=shown.columns)
    lines += ["", only("html", fold(f"The {_plural(len(rows), 'check')} behind this finding", checks_table))]
    return container("\n".join(lines), "thalbook-finding", name=ident)


def findings_blocks(audit: pd.DataFrame, labels: dict[str, str], package_rows: list[dict[str, str]]) -> str:
    """MyST of every finding (:func:`finding_block`), grouped by kind under a heading that counts it."""
    listed = found.summary(audit)
    if listed.empty:
        return "The audit found no problem."
    parts = []
    for kind, group in _kind_groups(listed):
        if kind:
            parts.append(f"```{{rubric}} {escape(kind).capitalize()}: {_plural(len(group), 'finding')}\n"
                         f":class: thalbook-kind\n```")
            if KIND_DESCRIPTIONS.get(kind):
                parts.append(escape(KIND_DESCRIPTIONS[kind]))
        for _, summary in group.iterrows():
            parts.append(finding_block(summary, audit[audit["finding"].eq(summary["finding"])], labels,
                                       package_rows))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------
# every check, by study


def audit_table(audit: pd.DataFrame, study: str, labels: dict[str, str]) -> str:
    """MyST of one study's audit table, named ``audit-rows-<study>`` (the tests count its rows).

    ``audit`` should already be ordered (:func:`order_audit`): the rows are
    shown in its order.
    """
    rows = audit[audit["study"].eq(study)]
    shown = audit_rows(rows)
    return frame_table(
        shown,
        caption("audit-rows-<study>", study=labels.get(study, study), n=len(rows)),
        f"audit-rows-{study}", widths=[7, 27, 15, 12, 39], markup=shown.columns)


def print_checks(audit: pd.DataFrame, study: str, labels: dict[str, str]) -> str:
    """MyST of one study's checks laid out for print: the rows of each finding together, then the others
    by quantity, each check one line of a list that breaks across pages anywhere.

    ``audit`` should already be ordered (:func:`order_audit`).
    """
    rows = audit[audit["study"].eq(study)]
    groups: dict[str, list] = {}
    for _, row in rows.iterrows():
        key = f"finding {row['finding']}" if row["finding"] else f"quantity {row['quantity']}"
        groups.setdefault(key, []).append(row)
    findings_first = sorted(groups, key=lambda k: not k.startswith("finding "))
    items = [f"**{labels.get(study, study)}: all {_plural(len(rows), 'check')}, of every kind, "
             "the checks of each finding together.**", ""]
    for key in findings_first:
        members = groups[key]
        first = members[0]
        term = (f"**{escape(first['finding'])}**: {escape(first['quantity'])}" if first["finding"]
                else escape(first["quantity"]))
        items.append(term)
        for number, row in enumerate(members):
            about = f"{escape(row['quantity'])}, " if row["quantity"] != first["quantity"] else ""
            where = f"{about}*{escape(row['location'])}*, printed {escape(row['reported'])}"
            lead = ": " if number == 0 else "  "
            items.append(f"{lead}- {where}; {escape(row['check'])}: {_verdict(row)}")
        items.append("")
    return "\n".join(["```{raw} latex", r"\begingroup\small", "```", "", *items,
                      "```{raw} latex", r"\endgroup", "```"])


def study_checks(audit: pd.DataFrame, study: str, labels: dict[str, str]) -> str:
    """MyST of every check of one study: its table folded (HTML) and its print layout (PDF)."""
    n = int(audit["study"].eq(study).sum())
    title = f"All {_plural(n, 'check')} of {labels.get(study, study)}, of every kind, inconsistencies first"
    return "\n\n".join([only("html", fold(title, audit_table(audit, study, labels))),
                        only("latex", print_checks(audit, study, labels))])
