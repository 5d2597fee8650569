"""The hand-written rules of the data package: what a Table Schema cannot express.

:func:`thalbook.core.evidence.validate.validate` runs them after the schema pass, on
the files as read (:class:`_Table`, by resource name) and their declared
field types: count <= denominator, p > 0, plain decimal notation, units
consistent per measure and per fact, source and context studies kept apart,
ids prefixed by their study, paired baseline/follow-up rows, means within the
measure's scale, that every quote contains the numbers of its row as written
(:mod:`thalbook.core.evidence.quotes`), and that every row a chapter looks up by its
text is there (:data:`REQUIRED_ROWS`, from ``required_rows.yaml`` beside this
module).

The files of the package (:data:`RESOURCES`) and the parsed file
(:class:`_Table`) live here because both the rules and the reading in
:mod:`thalbook.core.evidence.validate` need them, and that module imports this one.
Like it, this module imports nothing beyond the standard library and PyYAML
when it is imported (the rules that need more import it when they run).

Examples
--------
>>> RESOURCES[:3]
('studies', 'study_facts', 'withdrawals')
>>> table = _Table("withdrawals.csv", ["id", "week"], [(2, {"id": "a-1", "week": "3"})])
>>> [str(p) for p in _rule_header({"withdrawals": table}, {"withdrawals": {"id": "string"}})]
['withdrawals.csv:1: week: column not described in datapackage.json']
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from thalbook.core import paths
from thalbook.core.errors import InputError, Problem

#: The files of the package, in the order they are checked and loaded.
RESOURCES = (
    "studies",
    "study_facts",
    "withdrawals",
    "binary_outcomes",
    "continuous_outcomes",
    "adverse_events",
    "measures",
    "context_outcomes",
    "cited_results",
    "statements",
    "appraisal",
)

#: Rows that a chapter finds by their text, so the validator requires each one
#: (:func:`_rule_required`). Chapter (notebook stem) -> (file, the cells that
#: identify the row; the last is the one the chapter names). They name studies,
#: so they are data: ``required_rows.yaml`` beside this module, which says more.
#: Every value is read as text (``BaseLoader``), as the package's cells are.
REQUIRED_ROWS: dict[str, tuple[tuple[str, dict[str, str]], ...]] = {
    chapter: tuple((entry["file"], {**entry.get("cells", {}), entry["column"]: value})
                   for entry in entries for value in entry["values"])
    for chapter, entries in yaml.load(Path(__file__).with_name("required_rows.yaml").read_text(encoding="utf-8"),
                                      Loader=yaml.BaseLoader).items()
}

# (part, whole): the part may not exceed the whole on any row.
_BOUNDED_BY: dict[str, tuple[tuple[str, str], ...]] = {
    "binary_outcomes": (("count", "denominator"),),
    "adverse_events": (("count", "denominator"),),
    "context_outcomes": (("count", "denominator"), ("denominator", "n_enrolled"),
                         ("n_completed", "n_enrolled"), ("n_randomised", "n_enrolled")),
    "cited_results": (("value", "denominator"),),
}

# Files about the source studies only, and about context studies only: the
# book must never mix a context study into a source study's results.
_SOURCE_FILES = ("study_facts", "withdrawals", "binary_outcomes", "continuous_outcomes", "adverse_events",
                 "cited_results", "appraisal")
_CONTEXT_FILES = ("context_outcomes",)

_COMPARISON = re.compile(r"^week ([0-9]+) vs baseline$")


@dataclass
class _Table:
    """One CSV file as text cells, with the line number of each row."""

    file: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]

    def column(self, name: str) -> Iterator[tuple[int, str]]:
        for line, row in self.rows:
            yield line, row.get(name, "")


# Each rule takes the parsed files (by resource name) and the declared field
# types (by resource, then column) and yields the problems it finds.
_Tables = dict[str, _Table]
_Types = dict[str, dict[str, str]]


def _number(text: str) -> float | None:
    from thalbook.core.evidence.quotes import PLAIN_NUMBER  # see the module's docstring: imported when used

    return float(text) if PLAIN_NUMBER.match(text or "") else None


def _rule_header(tables: _Tables, types: _Types) -> Iterator[Problem]:
    # Columns are matched by name; every schema field must be there, once, and nothing else.
    for name, table in tables.items():
        declared = types.get(name, {})
        seen = set()
        for column in table.header:
            if column in seen:
                yield Problem(table.file, 1, column, "column appears twice in the header")
            elif column not in declared:
                yield Problem(table.file, 1, column, "column not described in datapackage.json")
            seen.add(column)
        for column in declared:
            if column not in seen:
                yield Problem(table.file, 1, column, "column missing from the header")


def _rule_line_breaks(tables: _Tables, types: _Types) -> Iterator[Problem]:
    # Row numbers in reports are line numbers; a line break inside a cell would shift them.
    for table in tables.values():
        for line, row in table.rows:
            for field, value in row.items():
                if "\n" in value or "\r" in value:
                    yield Problem(table.file, line, field,
                                  "contains a line break; keep every row on one line")


def _rule_plain_numbers(tables: _Tables, types: _Types) -> Iterator[Problem]:
    # Numbers stay as the paper prints them: no signs, exponents, spaces or separators.
    from thalbook.core.evidence.quotes import PLAIN_NUMBER

    for name, table in tables.items():
        for field, kind in types.get(name, {}).items():
            if kind not in ("number", "integer"):
                continue
            for line, value in table.column(field):
                if value and not PLAIN_NUMBER.match(value) and re.fullmatch(r"\s*[-+0-9.eE,]+\s*", value):
                    yield Problem(table.file, line, field,
                                  f"{value!r} is not written as a plain decimal (digits, optional point)")


def _rule_bounded(tables: _Tables, types: _Types) -> Iterator[Problem]:
    for name, pairs in _BOUNDED_BY.items():
        table = tables.get(name)
        if table is None:
            continue
        for line, row in table.rows:
            for part, whole in pairs:
                a, b = _number(row.get(part, "")), _number(row.get(whole, ""))
                if a is not None and b is not None and a > b:
                    yield Problem(table.file, line, part, f"{row[part]} exceeds {whole} {row[whole]}")


def _rule_p_positive(tables: _Tables, types: _Types) -> Iterator[Problem]:
    # Table Schema has no exclusive minimum; p = 0 is never a reportable p-value.
    for table in tables.values():
        for line, value in table.column("p_value"):
            if _number(value) == 0:
                yield Problem(table.file, line, "p_value", f"{value} is not within (0, 1]")


def _rule_ids(tables: _Tables, types: _Types) -> Iterator[Problem]:
    for table in tables.values():
        if "id" not in table.header or "study_id" not in table.header:
            continue
        for line, row in table.rows:
            study = row.get("study_id", "")
            if study and row.get("id") and not row["id"].startswith(f"{study}-"):
                yield Problem(table.file, line, "id",
                              f"{row['id']!r} does not start with its study id '{study}-'")


def _rule_roles(tables: _Tables, types: _Types) -> Iterator[Problem]:
    studies = tables.get("studies")
    if studies is None:
        return
    role = {row.get("study_id"): row.get("role") for _, row in studies.rows}
    for names, wanted in ((_SOURCE_FILES, "source"), (_CONTEXT_FILES, "context")):
        for name in names:
            table = tables.get(name)
            if table is None:
                continue
            for line, study in table.column("study_id"):
                if study in role and role[study] != wanted:
                    yield Problem(table.file, line, "study_id", f"{study!r} is a {role[study]} study; "
                                  f"{table.file} holds {wanted} studies only")


def _rule_units(tables: _Tables, types: _Types) -> Iterator[Problem]:
    measures = tables.get("measures")
    outcomes = tables.get("continuous_outcomes")
    if measures is not None and outcomes is not None:
        unit = {row.get("measure"): row.get("unit", "") for _, row in measures.rows}
        for line, row in outcomes.rows:
            written, measure = row.get("unit", ""), row.get("measure", "")
            if written and measure in unit and written != unit[measure]:
                yield Problem(outcomes.file, line, "unit",
                              f"{written!r} differs from the unit of {measure!r} in measures.csv "
                              f"({unit[measure]!r})")
    facts = tables.get("study_facts")
    if facts is not None:
        first: dict[str, tuple[str, int]] = {}
        for line, row in facts.rows:
            fact, unit_ = row.get("fact", ""), row.get("unit", "")
            if fact not in first:
                first[fact] = (unit_, line)
            elif unit_ != first[fact][0]:
                yield Problem(facts.file, line, "unit",
                              f"{unit_!r} differs from the unit of {fact!r} on row {first[fact][1]} "
                              f"({first[fact][0]!r})")


def _rule_reports_something(tables: _Tables, types: _Types) -> Iterator[Problem]:
    wanted = {"binary_outcomes": ("count", "percent"), "adverse_events": ("count", "percent", "frequency"),
              "context_outcomes": ("count", "percent")}
    for name, columns in wanted.items():
        table = tables.get(name)
        if table is None:
            continue
        for line, row in table.rows:
            if not any(row.get(c) for c in columns):
                yield Problem(table.file, line, columns[0],
                              f"empty: the row reports none of {', '.join(columns)}")


def _rule_pairs(tables: _Tables, types: _Types) -> Iterator[Problem]:
    table = tables.get("continuous_outcomes")
    if table is None:
        return
    groups: dict[tuple, list[tuple[int, dict[str, str]]]] = defaultdict(list)
    for line, row in table.rows:
        match = _COMPARISON.match(row.get("comparison", ""))
        if not match:
            continue  # the schema pattern reports it
        week = row.get("timepoint_week", "")
        follow = match.group(1)
        if week not in ("0", follow):
            yield Problem(table.file, line, "timepoint_week",
                          f"{week!r} is neither 0 nor the week of {row['comparison']!r}")
            continue
        if week == "0":
            for column in ("p_value", "test"):
                if row.get(column):
                    yield Problem(table.file, line, column,
                                  "belongs on the follow-up row, not the baseline row")
        key = (row.get("study_id"), row.get("measure"), row.get("comparison"), row.get("location"))
        groups[key].append((line, row))
    for (_, measure, comparison, location), rows in groups.items():
        weeks = [row.get("timepoint_week") for _, row in rows]
        for wanted, label in (("0", "baseline"), (_COMPARISON.match(comparison).group(1), "follow-up")):
            count = weeks.count(wanted)
            if count != 1:
                line = rows[0][0]
                yield Problem(table.file, line, "comparison", f"{measure} {comparison!r} at {location!r} "
                              f"has {count} {label} rows, expected 1")


def _rule_timings(tables: _Tables, types: _Types) -> Iterator[Problem]:
    """A withdrawal's time is printed as a week or relative to another withdrawal, never both."""
    table = tables.get("withdrawals")
    if table is None:
        return
    for line, row in table.rows:
        relative, offset = row.get("relative_to", ""), row.get("offset_weeks", "")
        if relative and row.get("week"):
            yield Problem(table.file, line, "relative_to",
                          "a week and a relative timing together: keep the printed one")
        elif relative and not offset:
            yield Problem(table.file, line, "offset_weeks", f"empty, though the timing counts from {relative!r}")
        elif offset and not relative:
            yield Problem(table.file, line, "relative_to", "empty, though offset_weeks is given")
        elif relative and relative == row.get("id"):
            yield Problem(table.file, line, "relative_to", f"{relative!r} is the row itself")


#: The values an ``analysis`` statement may take (``thalbook.core.auditing.statement_checks.ANALYSIS_VERDICTS``).
_ANALYSIS_VALUES = ("announced", "reported", "partly reported")


def _rule_statements(tables: _Tables, types: _Types) -> Iterator[Problem]:
    """Rows of one topic are of one kind; an analysis is announced, reported or partly reported."""
    table = tables.get("statements")
    if table is None:
        return
    kinds: dict[tuple[str, str], str] = {}
    for line, row in table.rows:
        key = (row.get("study_id", ""), row.get("topic", ""))
        kind = kinds.setdefault(key, row.get("kind", ""))
        if row.get("kind", "") != kind:
            yield Problem(table.file, line, "kind", f"{row.get('kind')!r}, but topic {key[1]!r} is of kind {kind!r}")
        elif kind == "analysis" and row.get("value") not in _ANALYSIS_VALUES:
            yield Problem(table.file, line, "value", f"{row.get('value')!r}: an analysis is one of "
                          + ", ".join(_ANALYSIS_VALUES))


def _bound(bound: float | None, missing: str = "-inf") -> str:
    """Format a scale bound for a message (``missing`` when unbounded)."""
    return missing if bound is None else f"{bound:g}"


def _rule_scale(tables: _Tables, types: _Types) -> Iterator[Problem]:
    measures = tables.get("measures")
    if measures is None:
        return
    bounds = {}
    for line, row in measures.rows:
        low, high = _number(row.get("scale_min", "")), _number(row.get("scale_max", ""))
        if low is not None and high is not None and low > high:
            yield Problem(measures.file, line, "scale_min",
                          f"{row['scale_min']} exceeds scale_max {row['scale_max']}")
        bounds[row.get("measure")] = (low, high)
    outcomes = tables.get("continuous_outcomes")
    if outcomes is None:
        return
    for line, row in outcomes.rows:
        mean = _number(row.get("mean", ""))
        low, high = bounds.get(row.get("measure"), (None, None))
        if mean is None:
            continue
        if (low is not None and mean < low) or (high is not None and mean > high):
            scale = f"{_bound(low)} to {_bound(high, 'unbounded')}"
            yield Problem(outcomes.file, line, "mean",
                          f"{row['mean']} is outside the scale of {row['measure']} ({scale})")


def _rule_quotes(tables: _Tables, types: _Types) -> Iterator[Problem]:
    from thalbook.core.evidence.quotes import QUOTED_FIELDS, value_in_quote

    for name, fields in QUOTED_FIELDS.items():
        table = tables.get(name)
        if table is None or "quote" not in table.header:
            continue
        for line, row in table.rows:
            quote = row.get("quote", "")
            if not quote:
                continue  # the schema reports a missing quote
            for field, kind in fields.items():
                value = row.get(field, "")
                if value and not value_in_quote(value, quote, kind):
                    yield Problem(table.file, line, field,
                                  f"{value!r} does not appear in the quote as written")


def _rule_supports(tables: _Tables, types: _Types) -> Iterator[Problem]:
    """Every judgement's support names a row of the package: ``support_id`` in ``support_file``, or neither."""
    table = tables.get("appraisal")
    if table is None:
        return
    files = {f"{name}.csv": name for name in RESOURCES}
    for line, row in table.rows:
        file, row_id = row.get("support_file", ""), row.get("support_id", "")
        if bool(file) != bool(row_id):
            empty, given = ("support_file", "support_id") if row_id else ("support_id", "support_file")
            yield Problem(table.file, line, empty, f"empty, though {given} is {row.get(given)!r}")
            continue
        supported = tables.get(files.get(file, ""))
        if not file or supported is None:
            continue  # the schema reports a file outside the package; a missing file is reported already
        key = "study_id" if file == "studies.csv" else "id"
        if not any(other.get(key) == row_id for _, other in supported.rows):
            yield Problem(table.file, line, "support_id", f"{row_id!r} is no {key} of {file}")


def _rule_citation_keys(tables: _Tables, types: _Types) -> Iterator[Problem]:
    """Every study's ``citation_key`` is an entry of the project's ``references.bib``, which the chapters cite.

    A package validated outside any project (a notebook run by hand in a copy of the chapters, say) has
    no bibliography to be checked against, and is not refused for it.
    """
    from thalbook.core.evidence.citation import bib_keys

    table = tables.get("studies")
    try:
        bib = paths.project().references
    except InputError:
        return
    if table is None or "citation_key" not in table.header or not bib.is_file():
        return
    keys = set(bib_keys(bib))
    for line, row in table.rows:
        if row.get("citation_key") and row["citation_key"] not in keys:
            yield Problem(table.file, line, "citation_key", f"{row['citation_key']!r} is no entry of references.bib")


def _rule_required(tables: _Tables, types: _Types) -> Iterator[Problem]:
    needed: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = defaultdict(list)
    for chapter, rows in REQUIRED_ROWS.items():
        for name, cells in rows:
            needed[(name, tuple(cells.items()))].append(chapter)
    for (name, cells), chapters in needed.items():
        table = tables.get(name)
        if table is None or not {column for column, _ in cells} <= set(table.header):
            continue  # an unreadable file or a missing column is reported already
        if any(all(row.get(column) == value for column, value in cells) for _, row in table.rows):
            continue
        wanted = ", ".join(f"{column} {value!r}" for column, value in cells)
        who = (f"the {chapters[0]} chapter looks" if len(chapters) == 1
               else f"the {', '.join(chapters[:-1])} and {chapters[-1]} chapters look")
        yield Problem(table.file, None, cells[-1][0], f"no row with {wanted}: {who} it up")


#: The hand-written rules, each a generator of problems; tests break each one.
RULES = (
    _rule_header,
    _rule_line_breaks,
    _rule_plain_numbers,
    _rule_bounded,
    _rule_p_positive,
    _rule_ids,
    _rule_roles,
    _rule_units,
    _rule_reports_something,
    _rule_pairs,
    _rule_timings,
    _rule_statements,
    _rule_scale,
    _rule_quotes,
    _rule_citation_keys,
    _rule_supports,
)
