"""Load and validate the study data package in ``data/``.

``data/`` holds what the two source papers (and the context studies) report,
one row per number per place, each row with a verbatim quote. It is a
Frictionless Data Package: ``datapackage.json`` gives every CSV file a Table
Schema (types, required fields, allowed values, ranges, primary and foreign
keys). :func:`validate` checks the package in two passes:

1. the schema, by the ``frictionless`` library (its errors are translated
   into :class:`~thalbook.core.errors.Problem` objects);
2. the rules a Table Schema cannot express, written here by hand: count <=
   denominator, p > 0, plain decimal notation, units consistent per measure
   and per fact, source and context studies kept apart, ids prefixed by their
   study, paired baseline/follow-up rows, means within the measure's scale,
   that every quote contains the numbers of its row as written, and that
   every row a chapter looks up by its text is there (:data:`REQUIRED_ROWS`).

Before either pass, every entry of the directory must be safe to read and to
publish with the book: a regular file, or a link that stays inside the
package.

:func:`load` validates (once per content, see below) and returns the tables
as pandas DataFrames. Every numeric column is read twice: as a float and as
``<column>_decimals``, the number of digits after the point as printed,
because the audit uses the printed precision as evidence.

Examples
--------
>>> from thalbook.core import data
>>> data.validate()
[]
>>> pkg = data.load()
>>> row = pkg.binary_outcomes.set_index("id").loc["he2017-remission-w8-abs-results"]
>>> float(row["percent"]), int(row["percent_decimals"]), int(row["denominator"])
(23.4, 1, 47)
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import os
import re
import stat
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from thalbook.core import paths
from thalbook.core.errors import DataError, Problem

DESCRIPTOR = "datapackage.json"

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
)

_PROVENANCE = ("study_id", "location", "quote")

#: Columns the rest of the book codes against (the data contract). The
#: package may add columns; it may not drop or rename these.
CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "studies": ("study_id", "role", "condition", "citation_key", "title", "journal", "year", "doi", "pmid",
                "registration", "design", "location", "quote"),
    "study_facts": ("id", "fact", "value", "unit", "subgroup", *_PROVENANCE),
    "withdrawals": ("id", "reason", "reason_category", "count", "week", *_PROVENANCE),
    "binary_outcomes": ("id", "outcome", "subgroup", "timepoint_week", "count", "denominator", "percent",
                        "population", *_PROVENANCE),
    "continuous_outcomes": ("id", "measure", "timepoint_week", "comparison", "mean", "sd", "n", "p_value",
                            "test", *_PROVENANCE),
    "adverse_events": ("id", "event", "count", "denominator", "percent", "led_to_withdrawal", "severity",
                       *_PROVENANCE),
    "measures": ("measure", "label", "unit", "value_type", "scale_min", "scale_max", "description",
                 "definition_source"),
    "context_outcomes": ("id", "outcome", "outcome_definition", "timepoint_week", "arm", "count",
                         "denominator", "percent", "n_enrolled", "dose", "population", *_PROVENANCE),
    "cited_results": ("id", "cited_reference", "quantity", "value", "denominator", "unit", *_PROVENANCE),
}

#: Columns whose value must appear in the row's quote. ``number``: matched as
#: a number (or its spelled-out word); ``text``: matched as text;
#: ``auto``: as a number when the cell is a plain number, else as text.
QUOTED_FIELDS: dict[str, dict[str, str]] = {
    "studies": {"design": "text"},
    "study_facts": {"value": "auto"},
    "withdrawals": {"count": "number", "week": "number", "timing": "text"},
    "binary_outcomes": {"count": "number", "denominator": "number", "percent": "number"},
    "continuous_outcomes": {"mean": "number", "sd": "number", "n": "number", "p_value": "number",
                            "unit": "text"},
    "adverse_events": {"count": "number", "denominator": "number", "percent": "number", "frequency": "text",
                       "timing": "text"},
    "context_outcomes": {"count": "number", "denominator": "number", "percent": "number",
                         "n_enrolled": "number", "n_randomised": "number", "n_completed": "number",
                         "effect": "number", "ci_low": "number", "ci_high": "number", "ci_level": "number",
                         "p_value": "number"},
    "cited_results": {"value": "number", "denominator": "number"},
}


def _rows(file: str, column: str, *values: str, **cells: str) -> tuple[tuple[str, dict[str, str]], ...]:
    """One required row per value of ``column`` (the cell a chapter names), with the same other ``cells``."""
    return tuple((file, {**cells, column: value}) for value in values)


#: Rows that a chapter finds by their text (an id, a study, a fact name, an
#: event or a reason as worded), because its prose, tables or figures are
#: written about them. Chapter (notebook stem) -> (file, the cells that
#: identify the row; the last is the one the chapter names). Such a row
#: renamed or deleted leaves the package valid by its schema but fails the
#: chapter, so the validator requires each one (:func:`_rule_required`). A
#: chapter that looks up a new row by its text lists it here:
#: ``tests/unit/test_data_rules.py`` renames every string literal of the
#: package and the chapters that names a cell of the data, and fails unless
#: the validator objects or the chapters still run.
REQUIRED_ROWS: dict[str, tuple[tuple[str, dict[str, str]], ...]] = {
    "background": (
        *_rows("studies", "study_id", "he2017", "wei2003"),
        *_rows("study_facts", "fact", "enrolled", study_id="he2017"),
        *_rows("study_facts", "fact", "enrolled", "duration_months", "stable_background_months", study_id="wei2003"),
        *_rows("context_outcomes", "id", "lazzerini2013-remission-w8-thalidomide",
               "lazzerini2013-remission-w8-placebo"),
        *_rows("context_outcomes", "study_id", "huang2002"),
    ),
    "audit": _rows("studies", "study_id", "he2017", "wei2003"),
    "methods": (
        *_rows("studies", "study_id", "he2017", "wei2003"),
        *_rows("study_facts", "fact", "enrolled", study_id="he2017"),
        *_rows("study_facts", "fact", "enrolled", "completed", study_id="wei2003"),
        *_rows("binary_outcomes", "outcome", "clinical_remission", study_id="he2017", timepoint_week="8"),
        *_rows("binary_outcomes", "id", "wei2003-asas20-results"),
        *_rows("adverse_events", "id", "wei2003-neuropathy-results"),
        *_rows("continuous_outcomes", "id", "wei2003-esr-w24-results", "wei2003-esr-w24-fig2",
               "wei2003-basdai-baseline-for-w24-fig1", "wei2003-basdai-w24-fig1"),
    ),
    "crohns_results": (
        *_rows("study_facts", "fact", "enrolled", "dose_mg_per_day_min", "dose_mg_per_day_max", "primary_endpoint_week",
               "endoscopy_week", "endoscopy_n", "suggested_optimal_induction_week",
               "complete_endoscopic_remission_cdeis_lt", "endoscopic_response_baseline_cdeis_min",
               "endoscopic_response_cdeis_decrease_gt", study_id="he2017"),
        *_rows("context_outcomes", "outcome", "clinical_remission", arm="thalidomide"),
        *_rows("context_outcomes", "outcome", "clinical_remission", arm="placebo"),
    ),
    "as_results": (
        *_rows("studies", "study_id", "wei2003", "huang2002", "zhu2010"),
        *_rows("study_facts", "fact", "enrolled", "completed", "stable_background_months", "dose_mg_per_day_start",
               "dose_start_weeks", "dose_mg_per_day_maintenance", "dose_maintenance_weeks", "duration_weeks",
               "significance_level", "subtype_count", study_id="wei2003"),
        *_rows("continuous_outcomes", "measure", "basdai", "basfi", "basg", "esr", "crp", "iga", study_id="wei2003",
               comparison="week 24 vs baseline", location="results"),
        *_rows("continuous_outcomes", "measure", "basdai", study_id="wei2003", comparison="week 8 vs baseline",
               location="results"),
        *_rows("withdrawals", "id", "wei2003-drug-eruption-results", "wei2003-dizziness-drowsiness-results",
               "wei2003-lack-of-efficacy-results", "wei2003-side-effects-results"),
        *_rows("context_outcomes", "id", "huang2002-improvement-gt20-12m"),
        *_rows("context_outcomes", "outcome", "improvement_gt20_4_of_7", study_id="huang2002"),
        *_rows("context_outcomes", "outcome", "basdai_and_pain_improvement_gt50", study_id="zhu2010"),
        *_rows("cited_results", "id", "wei2003-cited-huang-improved"),
    ),
    "safety": (
        *_rows("studies", "study_id", "he2017", "wei2003"),
        *_rows("study_facts", "fact", "enrolled", study_id="he2017"),
        *_rows("study_facts", "fact", "enrolled", "completed", "duration_weeks", "duration_months", "bedtime_dose_mg",
               "rash_resolution_weeks", "dizziness_resolution_days", "numbness_resolution_weeks", study_id="wei2003"),
        *_rows("adverse_events", "event", "any adverse event", "adverse event necessitating therapy discontinuation",
               study_id="he2017"),
        *_rows("adverse_events", "event", "dry mouth", "constipation", "dizziness", "daytime drowsiness",
               study_id="wei2003", location="results"),
        *_rows("adverse_events", "event", "neuropathy", "numbness of the hands",
               "severe drowsiness under the twice-daily regimen", study_id="wei2003"),
        *_rows("withdrawals", "reason", "rash", study_id="wei2003", location="abstract: results"),
    ),
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
                 "cited_results")
_CONTEXT_FILES = ("context_outcomes",)

_SAFE_PATH = re.compile(r"^[A-Za-z0-9_.-]+\.csv$")
_PLAIN_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_COMPARISON = re.compile(r"^week ([0-9]+) vs baseline$")
_ELLIPSIS = "[...]"

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# How the sources write a count of zero ("no severe adverse events",
# "Neither neuropathy nor ...").
_ZERO_WORDS = ("no", "none", "neither", "nor", "zero", "nil")


# --------------------------------------------------------------- text utils

def decimals(text: str | float | None) -> float:
    """Return the number of digits after the decimal point in ``text``.

    Written by hand: the printed precision is lost once a number is parsed,
    so it is counted on the text of the CSV cell.

    Parameters
    ----------
    text : str or None
        A number as written in the CSV (``"3.1"``, ``"0.0156"``, ``"47"``).

    Returns
    -------
    float
        Digits after the point; ``nan`` when the cell is empty or missing.

    Examples
    --------
    >>> decimals("3.1"), decimals("0.0156"), decimals("47")
    (1.0, 4.0, 0.0)
    >>> decimals("")
    nan
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return float("nan")
    text = str(text).strip()
    if not text:
        return float("nan")
    _, point, frac = text.partition(".")
    return float(len(frac)) if point else 0.0


def number_words(n: int) -> tuple[str, ...]:
    """Return the English words a source may use to write the integer ``n``.

    Written by hand: only 0-99 are needed (counts in small trials), and the
    zero forms ("no", "neither") are specific to how papers state absences.

    Examples
    --------
    >>> number_words(13)
    ('thirteen',)
    >>> number_words(32)
    ('thirty-two', 'thirty two')
    >>> number_words(0)[:3]
    ('no', 'none', 'neither')
    """
    if n == 0:
        return _ZERO_WORDS
    if 0 < n < 20:
        return (_UNITS[n],)
    if 20 <= n < 100:
        tens, unit = divmod(n, 10)
        if unit == 0:
            return (_TENS[tens],)
        return (f"{_TENS[tens]}-{_UNITS[unit]}", f"{_TENS[tens]} {_UNITS[unit]}")
    return ()


def number_in_text(number: str, text: str) -> bool:
    """Tell whether ``number``, as written, stands in ``text``.

    The number must stand on its own: ``3.1`` is not found in ``3.10`` or
    ``13.1``. Whole numbers below 100 are also found spelled out
    (``Three``, ``Forty``; zero as ``no``, ``neither``...).

    Parameters
    ----------
    number : str
        The number exactly as written in the CSV.
    text : str
        The quote.

    Examples
    --------
    >>> number_in_text("3.1", "to Week 24 (3.1 ± 2.08; p = 0.0156)")
    True
    >>> number_in_text("3.1", "from 13.10 to 3.15")
    False
    >>> number_in_text("3", "Three patients withdrew due to rash.")
    True
    >>> number_in_text("40", "Forty percent improvement")
    True
    """
    if re.search(rf"(?<![0-9.]){re.escape(number)}(?![0-9]|\.[0-9])", text):
        return True
    if re.fullmatch(r"[0-9]+", number):
        for word in number_words(int(number)):
            if re.search(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE):
                return True
    return False


def normalise_space(text: str) -> str:
    """Collapse every run of white space to one space and strip the ends.

    Examples
    --------
    >>> normalise_space("  a\\n  b\\tc ")
    'a b c'
    """
    return re.sub(r"\s+", " ", text).strip()


# In a source text, a hyphen at the end of a line may be a real hyphen
# ("HLA-\nB27") or a word broken across lines ("improve-\nment"): keep a
# marker that matches either way.
_SOFT_HYPHEN = "\x00"


@lru_cache(maxsize=16)
def _normalised_source(text: str) -> str:
    text = re.sub(r"-[ \t]*(?:\r?\n[ \t]*)+", _SOFT_HYPHEN, text)
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=4096)
def _fragment_pattern(fragment: str) -> re.Pattern[str]:
    parts = ["(?:-|\x00)" if ch == "-" else re.escape(ch) for ch in fragment]
    return re.compile("\x00?".join(parts))


def quote_in_text(quote: str, text: str) -> bool:
    """Tell whether ``quote`` stands verbatim in the source ``text``.

    White space is normalised on both sides, and a hyphen that ends a line of
    the source matches both the hyphenated and the joined word (PDF
    extraction: ``improve-\\nment`` matches "improvement", ``HLA-\\nB27``
    matches "HLA-B27"). ``[...]`` in a quote joins fragments that must
    appear in this order. Written by hand: no library matches quotes with
    these two PDF-specific allowances.

    Examples
    --------
    >>> src = "as > 20% improve-\\nment of more than 3 of 4 domains. All were HLA-\\nB27 positive"
    >>> quote_in_text("> 20% improvement of more than 3 of 4 domains", src)
    True
    >>> quote_in_text("All were HLA-B27 positive", src)
    True
    >>> quote_in_text("> 20% improvement [...] HLA-B27", src)
    True
    >>> quote_in_text("HLA-B27 [...] improvement", src)
    False
    """
    source = _normalised_source(text)
    position = 0
    for fragment in normalise_space(quote).split(_ELLIPSIS):
        fragment = fragment.strip()
        if not fragment:
            continue
        match = _fragment_pattern(fragment).search(source, position)
        if match is None:
            return False
        position = match.end()
    return True


def value_in_quote(value: str, quote: str, kind: str = "auto") -> bool:
    """Tell whether a cell ``value`` stands in its row's ``quote``.

    Parameters
    ----------
    value : str
        The cell as written in the CSV.
    quote : str
        The row's quote.
    kind : {"number", "text", "auto"}
        ``number`` matches with :func:`number_in_text`; ``text`` as a
        case-insensitive substring after white-space normalisation; ``auto``
        picks ``number`` for a plain number and ``text`` otherwise.

    Examples
    --------
    >>> value_in_quote("January 2013", "between January 2013 and April 2015")
    True
    >>> value_in_quote("13", "Thirteen men with different subtypes")
    True
    """
    if kind == "auto":
        kind = "number" if _PLAIN_NUMBER.match(value) else "text"
    if kind == "number":
        return number_in_text(value, quote)
    return normalise_space(value).lower() in normalise_space(quote).lower()


# ------------------------------------------------------------- raw reading

@dataclass
class _Table:
    """One CSV file as text cells, with the line number of each row."""

    file: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]

    def column(self, name: str) -> Iterator[tuple[int, str]]:
        for line, row in self.rows:
            yield line, row.get(name, "")


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"))


def _unsafe(path: Path, directory: Path) -> str | None:
    """Why ``path``, in the data directory, must be neither read nor published; None if it may be.

    The book publishes the files of the package: a link leading outside would
    publish what it points to, and reading a FIFO would wait for ever.
    """
    try:
        if path.is_symlink() and not path.resolve().is_relative_to(directory):
            return f"a symbolic link to outside the data package ({os.readlink(path)})"
        mode = path.stat().st_mode
    except RuntimeError:  # pathlib's word for a loop of links
        return "a symbolic link that leads back to itself"
    except OSError:
        return None  # missing, or a dangling link: reported as missing where it matters
    kind = next((name for test, name in _KINDS if test(mode)), None)
    return f"not a regular file but {kind}; the package holds regular files only" if kind else None


def _entry_problems(directory: Path) -> list[Problem]:
    """A problem for every entry of the data directory that is unsafe to read or publish.

    The top level only: the package is flat, and only its top level is read and published.
    """
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []  # no directory: the missing descriptor says so
    return [Problem(path.name, None, "file", reason) for path in entries if (reason := _unsafe(path, directory))]


def _read_bytes(path: Path, file: str, problems: list[Problem], directory: Path) -> bytes | None:
    reason = _unsafe(path, directory)
    if reason:
        problems.append(Problem(file, None, "file", reason))
        return None
    if not path.is_file():
        problems.append(Problem(file, None, "file", f"missing: no file at {path}"))
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        problems.append(Problem(file, None, "file", f"cannot be read: {exc.strerror or exc}"))
        return None


def _decode(blob: bytes, file: str, problems: list[Problem]) -> str | None:
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(file, None, "file",
                                f"not UTF-8: byte 0x{blob[exc.start]:02x} at offset {exc.start}"))
        return None
    if text.startswith("\ufeff"):
        problems.append(Problem(file, None, "file", "starts with a byte-order mark; save as plain UTF-8"))
        return None
    if not text.strip():
        problems.append(Problem(file, None, "file", "empty: no header row"))
        return None
    return text


def _parse_csv(text: str, file: str, problems: list[Problem]) -> _Table | None:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = next(reader)
        start = reader.line_num + 1
        for record in reader:
            if record:
                rows.append((start, dict(zip(header, record, strict=False))))
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(file, reader.line_num, "file", f"malformed CSV: {exc}"))
        return None
    return _Table(file, header, rows)


def _read_descriptor(directory: Path, problems: list[Problem]) -> dict | None:
    blob = _read_bytes(directory / DESCRIPTOR, DESCRIPTOR, problems, directory)
    if blob is None:
        return None
    text = _decode(blob, DESCRIPTOR, problems)
    if text is None:
        return None
    try:
        descriptor = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(DESCRIPTOR, exc.lineno, "file", f"not valid JSON: {exc.msg}"))
        return None
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        problems.append(Problem(DESCRIPTOR, None, "resources", "missing: expected a list of resources"))
        return None
    return descriptor


def _resources_by_name(descriptor: dict) -> dict[str, dict]:
    return {r.get("name"): r for r in descriptor["resources"] if isinstance(r, dict)}


def _field_types(resource: dict) -> dict[str, str]:
    fields = resource.get("schema", {}).get("fields", [])
    return {f.get("name"): f.get("type", "string") for f in fields if isinstance(f, dict)}


def _check_contract(descriptor: dict) -> list[Problem]:
    problems = []
    resources = _resources_by_name(descriptor)
    for name in RESOURCES:
        resource = resources.get(name)
        if resource is None:
            problems.append(Problem(DESCRIPTOR, None, f"resources.{name}", "missing from the package"))
            continue
        if resource.get("path") != f"{name}.csv":
            problems.append(Problem(DESCRIPTOR, None, f"resources.{name}.path",
                                    f"is {resource.get('path')!r}, expected '{name}.csv'"))
        declared = _field_types(resource)
        for column in CONTRACT_COLUMNS[name]:
            if column not in declared:
                problems.append(Problem(DESCRIPTOR, None, f"resources.{name}.schema",
                                        f"lacks the contract column {column!r}"))
    return problems


# -------------------------------------------------------- frictionless pass

_FILE_ERRORS = {"scheme-error", "encoding-error", "source-error", "format-error", "hashing-error",
                "byte-count-error", "hash-count-error", "compression-error", "control-error", "dialect-error",
                "resource-error", "schema-error", "field-error", "checklist-error", "check-error",
                "package-error", "general-error"}
_HEADER_ERRORS = {"missing-label", "extra-label", "incorrect-label", "blank-label", "duplicate-label",
                  "header-error", "label-error", "blank-header"}


def _problem_from_error(file: str, error, resource: dict) -> Problem:
    """Translate one frictionless error into a Problem in our wording."""
    kind = error.type
    row = getattr(error, "row_number", None)
    field = getattr(error, "field_name", None) or ""
    cell = getattr(error, "cell", None)
    note = getattr(error, "note", "") or ""
    if kind in _HEADER_ERRORS:
        return Problem(file, 1, field or getattr(error, "label", "") or "header", note or error.message)
    if kind == "type-error":
        expected = _field_types(resource).get(field, "value")
        return Problem(file, row, field, f"{cell!r} is not a valid {expected}")
    if kind == "constraint-error":
        match = re.search(r'constraint "(\w+)" is "(.*)"', note)
        if match and match.group(1) == "required":
            return Problem(file, row, field, "required but empty")
        if match and match.group(1) == "enum":
            return Problem(file, row, field, f"{cell!r} is not one of {match.group(2)}")
        if match:
            return Problem(file, row, field, f"{cell!r} breaks {match.group(1)} {match.group(2)}")
        return Problem(file, row, field, f"{cell!r}: {note}")
    if kind == "primary-key":
        key = ", ".join(resource.get("schema", {}).get("primaryKey", [])) or "primary key"
        where = re.search(r"position (\d+)", note)
        first = f" (first used on row {where.group(1)})" if where else ""
        return Problem(file, row, key, f"duplicate id{first}")
    if kind == "foreign-key":
        match = re.search(r'for "([^"]+)": values "([^"]*)" not found in the lookup table "([^"]+)"', note)
        if match:
            return Problem(file, row, match.group(1),
                           f"{match.group(2)!r} not found in {match.group(3)}.csv")
        return Problem(file, row, "foreign key", note or error.message)
    if kind in ("missing-cell", "extra-cell", "blank-row"):
        what = {"missing-cell": "missing cell", "extra-cell": "extra cell", "blank-row": "blank row"}[kind]
        return Problem(file, row, field or "row", what)
    if kind in _FILE_ERRORS:
        return Problem(file, None, "file", note or error.message)
    return Problem(file, row, field or kind, note or error.message)


def _as_list(value) -> list:
    return list(value) if isinstance(value, list) else [value]


def _checkable(descriptor: dict, tables: dict[str, _Table]) -> dict:
    """Return a copy of the descriptor that frictionless can check without failing early.

    Files we could not read are left out (their problem is already
    reported), and so are files whose header names a column twice (reported
    by :func:`_rule_header`; frictionless cannot match such columns by name,
    and fails every file that refers to it), and keys whose columns are
    missing from a header: otherwise one broken file would abort the checks
    of every file that refers to it, and the report would no longer hold all
    problems at once, or would blame the wrong file.
    """
    tables = {name: table for name, table in tables.items() if len(set(table.header)) == len(table.header)}
    checkable = copy.deepcopy(descriptor)
    kept = []
    for resource in checkable["resources"]:
        table = tables.get(resource.get("name")) if isinstance(resource, dict) else None
        if table is None:
            continue
        schema = resource.get("schema")
        if isinstance(schema, dict):
            header = set(table.header)
            if not set(_as_list(schema.get("primaryKey", []))) <= header:
                schema.pop("primaryKey", None)
            keys = []
            for key in _as_list(schema.get("foreignKeys", [])):
                reference = key.get("reference", {}) if isinstance(key, dict) else {}
                target = tables.get(reference.get("resource") or resource.get("name"))
                if (target is not None and set(_as_list(key.get("fields", []))) <= header
                        and set(_as_list(reference.get("fields", []))) <= set(target.header)):
                    keys.append(key)
            schema["foreignKeys"] = keys
        kept.append(resource)
    checkable["resources"] = kept
    return checkable


def _schema_problems(directory: Path, descriptor: dict, tables: dict[str, _Table]) -> list[Problem]:
    """Validate types, constraints and keys with frictionless."""
    from frictionless import (  # imported here: only validation needs it
        Detector,
        FrictionlessException,
        Package,
    )

    checkable = _checkable(descriptor, tables)
    if not checkable["resources"]:
        return []
    try:
        # schema_sync matches columns by name, not position, so one misplaced or
        # missing column does not turn every later cell into a type error; the
        # header itself is checked by _rule_header.
        package = Package(checkable, basepath=str(directory), detector=Detector(schema_sync=True))
        report = package.validate()
    except FrictionlessException as exc:
        return [Problem(DESCRIPTOR, None, "descriptor", str(getattr(exc, "error", exc).note or exc))]
    resources = _resources_by_name(descriptor)
    problems = []
    for task in report.tasks:
        resource = resources.get(task.name, {})
        file = resource.get("path") or f"{task.name}.csv"
        for error in task.errors:
            if error.type in _HEADER_ERRORS:
                continue
            problems.append(_problem_from_error(file, error, resource))
    for error in report.errors:
        problems.append(Problem(DESCRIPTOR, None, "descriptor", getattr(error, "note", "") or error.message))
    return problems


# ---------------------------------------------------------- hand-written rules

# Each rule takes the parsed files (by resource name) and the declared field
# types (by resource, then column) and yields the problems it finds.
_Tables = dict[str, _Table]
_Types = dict[str, dict[str, str]]


def _number(text: str) -> float | None:
    return float(text) if _PLAIN_NUMBER.match(text or "") else None


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
    for name, table in tables.items():
        for field, kind in types.get(name, {}).items():
            if kind not in ("number", "integer"):
                continue
            for line, value in table.column(field):
                if value and not _PLAIN_NUMBER.match(value) and re.fullmatch(r"\s*[-+0-9.eE,]+\s*", value):
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
    _rule_scale,
    _rule_quotes,
)


# ------------------------------------------------------------------ validate

def _directory(data_dir: str | os.PathLike | None) -> Path:
    # Resolved, so that a link is judged by where it leads (see _unsafe).
    return Path(data_dir if data_dir is not None else paths.data_dir()).resolve()


def _sort_key(problem: Problem) -> tuple:
    order = {f"{name}.csv": i for i, name in enumerate(RESOURCES)}
    return (order.get(problem.file, -1 if problem.file == DESCRIPTOR else len(order)), problem.file,
            problem.row or 0, problem.field, problem.message)


def validate(data_dir: str | os.PathLike | None = None) -> list[Problem]:
    """Return every problem in the data package, all of them in one run.

    Never raises on bad input: a missing, empty, non-UTF-8 or malformed file
    is itself a problem. Each problem prints as ``file:row: field: problem``
    (``row`` is the line number in the file; the header is line 1).

    Parameters
    ----------
    data_dir : path-like, optional
        Directory holding ``datapackage.json`` and the CSV files; default
        :func:`thalbook.core.paths.data_dir`.

    Returns
    -------
    list of thalbook.core.errors.Problem
        Sorted by file and row; empty when the package is valid.

    Examples
    --------
    >>> validate()
    []
    >>> import tempfile
    >>> [str(p) for p in validate(tempfile.mkdtemp())]  # doctest: +ELLIPSIS
    ['datapackage.json: file: missing: no file at ...']
    """
    try:
        return sorted(set(_validate(_directory(data_dir))), key=_sort_key)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; say what broke instead
        return [Problem(DESCRIPTOR, None, "validation", f"internal error: {type(exc).__name__}: {exc}")]


def _validate(directory: Path) -> list[Problem]:
    problems = _entry_problems(directory)
    descriptor = _read_descriptor(directory, problems)
    if descriptor is None:
        return problems
    problems += _check_contract(descriptor)
    tables: dict[str, _Table] = {}
    types: dict[str, dict[str, str]] = {}
    for index, resource in enumerate(descriptor["resources"]):
        name = resource.get("name") if isinstance(resource, dict) else None
        file = resource.get("path") if isinstance(resource, dict) else None
        if not isinstance(name, str) or not isinstance(file, str) or not _SAFE_PATH.match(file):
            problems.append(Problem(DESCRIPTOR, None, f"resources[{index}]",
                                    f"needs a name and a plain file name as path, got {file!r}"))
            continue
        types[name] = _field_types(resource)
        blob = _read_bytes(directory / file, file, problems, directory)
        text = _decode(blob, file, problems) if blob is not None else None
        table = _parse_csv(text, file, problems) if text is not None else None
        if table is not None:
            tables[name] = table
    problems += _schema_problems(directory, descriptor, tables)
    for rule in RULES:
        problems += rule(tables, types)
    # A row a chapter needs may be missing only because it is malformed: that problem names it
    # better, so missing rows are reported for files without any other problem.
    spoilt = {problem.file for problem in problems}
    problems += [p for p in _rule_required(tables, types) if p.file not in spoilt]
    return problems


# ---------------------------------------------------------------------- load

@dataclass(frozen=True)
class DataPackage:
    """The validated data package: one DataFrame per file.

    Numeric columns are floats (``nan`` where empty), each followed by
    ``<column>_decimals``; booleans use pandas' nullable ``boolean`` dtype;
    empty text cells are missing values. ``study_facts`` also carries
    ``value_number`` and ``value_decimals`` for values that are plain numbers.
    """

    data_dir: Path
    studies: pd.DataFrame
    study_facts: pd.DataFrame
    withdrawals: pd.DataFrame
    binary_outcomes: pd.DataFrame
    continuous_outcomes: pd.DataFrame
    adverse_events: pd.DataFrame
    measures: pd.DataFrame
    context_outcomes: pd.DataFrame
    cited_results: pd.DataFrame


# Validation verdicts by content digest, for this process. A chapter kernel
# calls load() several times; the first call pays for frictionless, the
# others only hash the files (a few milliseconds). The digest covers every
# byte load() parses, so an edited file is validated again.
_VERDICTS: dict[str, tuple[Problem, ...]] = {}


def _snapshot(directory: Path) -> tuple[str, dict[str, bytes], dict] | None:
    """Read the descriptor and every file once; None if any is unreadable or unsafe to read."""
    if _entry_problems(directory):
        return None
    try:
        raw = (directory / DESCRIPTOR).read_bytes()
        descriptor = json.loads(raw.decode("utf-8"))
        resources = _resources_by_name(descriptor)
        digest = hashlib.sha256(raw)
        blobs = {}
        for name in RESOURCES:
            blob = (directory / resources[name]["path"]).read_bytes()
            digest.update(b"\0" + name.encode() + b"\0" + blob)
            blobs[name] = blob
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return digest.hexdigest(), blobs, descriptor


def _frame(blob: bytes, resource: dict) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(blob), dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")
    columns = {}
    types = _field_types(resource)
    for column in frame.columns:
        text = frame[column]
        kind = types.get(column, "string")
        if kind in ("number", "integer"):
            columns[column] = pd.to_numeric(text.replace("", np.nan), errors="raise").astype(float)
            columns[f"{column}_decimals"] = text.map(decimals).astype(float)
        elif kind == "boolean":
            columns[column] = text.map({"true": True, "false": False, "": pd.NA}).astype("boolean")
        else:
            columns[column] = text.replace("", np.nan)
        if resource.get("name") == "study_facts" and column == "value":
            plain = text.where(text.str.fullmatch(_PLAIN_NUMBER.pattern), "")
            columns["value_number"] = pd.to_numeric(plain.replace("", np.nan)).astype(float)
            columns["value_decimals"] = plain.map(decimals).astype(float)
    return pd.DataFrame(columns)


def load(data_dir: str | os.PathLike | None = None) -> DataPackage:
    """Validate the data package and return its tables.

    Validation runs once per content per process (verdicts are cached by a
    SHA-256 digest of ``datapackage.json`` and every CSV file), and the
    tables are parsed from the very bytes that were hashed.

    Parameters
    ----------
    data_dir : path-like, optional
        Directory of the package; default :func:`thalbook.core.paths.data_dir`.

    Returns
    -------
    DataPackage
        One DataFrame per file (attribute = file stem), plus ``data_dir``.

    Raises
    ------
    thalbook.core.errors.DataError
        If :func:`validate` finds any problem; ``error.problems`` lists them.

    Examples
    --------
    >>> pkg = load()
    >>> w8 = pkg.continuous_outcomes.query("measure == 'basdai' and timepoint_week == 8").iloc[0]
    >>> float(w8["mean"]), float(w8["sd"]), float(w8["p_value"]), w8["comparison"]
    (3.78, 1.67, 0.007, 'week 8 vs baseline')
    >>> sorted(pkg.studies.query("role == 'source'")["study_id"])
    ['he2017', 'wei2003']
    """
    directory = _directory(data_dir)
    snapshot = _snapshot(directory)
    if snapshot is None:
        raise DataError(validate(directory) or [Problem(DESCRIPTOR, None, "file", "could not be read")])
    digest, blobs, descriptor = snapshot
    problems = _VERDICTS.get(digest)
    if problems is None:
        problems = tuple(validate(directory))
        # Re-read to make sure what was validated is what was hashed.
        again = _snapshot(directory)
        if again is None or again[0] != digest:
            raise DataError([Problem(DESCRIPTOR, None, "file", "data changed while it was being validated")])
        _VERDICTS[digest] = problems
    if problems:
        raise DataError(list(problems))
    resources = _resources_by_name(descriptor)
    frames = {name: _frame(blobs[name], resources[name]) for name in RESOURCES}
    return DataPackage(data_dir=directory, **frames)


# ------------------------------------------------------------ quote sources

def quote_problems(pkg: DataPackage, shared_dir: str | os.PathLike | None = None, *,
                   seeds_dir: str | os.PathLike | None = None,
                   research_dir: str | os.PathLike | None = None) -> tuple[list[Problem], list[str]]:
    """Check that every quote stands verbatim in the text it cites.

    Each study names its transcription in ``studies.source_text``
    (``seeds/<file>`` or ``research/<file>``). Quotes are matched with
    :func:`quote_in_text`.

    Parameters
    ----------
    pkg : DataPackage
        A loaded package.
    shared_dir : path-like, optional
        Folder holding ``seeds/`` and ``research/``; default ``../shared``
        beside the project.
    seeds_dir, research_dir : path-like, optional
        Override the two folders separately (e.g. ``$THALBOOK_SEEDS_DIR``).

    Returns
    -------
    problems : list of Problem
        One per quote not found in its source text.
    missing : list of str
        Source texts that could not be found (their quotes are not checked).

    Examples
    --------
    >>> problems, missing = quote_problems(load())
    >>> problems
    []
    """
    shared = Path(shared_dir) if shared_dir is not None else paths.ROOT.parent / "shared"
    folders = {"seeds": Path(seeds_dir) if seeds_dir is not None else shared / "seeds",
               "research": Path(research_dir) if research_dir is not None else shared / "research"}
    sources = dict(zip(pkg.studies["study_id"], pkg.studies["source_text"], strict=True))
    texts: dict[str, str] = {}
    missing: set[str] = set()
    for study, source in sources.items():
        folder, _, name = str(source).partition("/")
        path = folders.get(folder, shared / folder) / name
        if path.is_file():
            texts[study] = path.read_text(encoding="utf-8")
        else:
            missing.add(str(source))
    problems = []
    for name in RESOURCES:
        frame = getattr(pkg, name)
        if "quote" not in frame.columns:
            continue
        # Rows are loaded in file order, one per line after the header.
        for line, (study, quote) in enumerate(zip(frame["study_id"], frame["quote"], strict=True), start=2):
            if study in texts and not quote_in_text(str(quote), texts[study]):
                problems.append(Problem(f"{name}.csv", line, "quote", f"not found in {sources[study]}"))
    return problems, sorted(missing)


def iter_reported_numbers(pkg: DataPackage) -> Iterable[tuple[str, str, str, str]]:
    """Yield ``(file, row id, column, number as written)`` for every reported number.

    A number is a non-empty cell of a quoted numeric column (and plain-number
    study facts), i.e. one that the quote rule ties to the source text.

    Examples
    --------
    >>> numbers = list(iter_reported_numbers(load()))
    >>> ("binary_outcomes.csv", "he2017-remission-w8-abs-results", "percent", "23.4") in numbers
    True
    """
    for name, fields in QUOTED_FIELDS.items():
        frame = getattr(pkg, name)
        key = "id" if "id" in frame.columns else frame.columns[0]
        for field, kind in fields.items():
            if kind == "text" or field not in frame.columns:
                continue
            places = frame.get(f"{field}_decimals", pd.Series(np.nan, index=frame.index))
            for row_id, value, digits in zip(frame[key], frame[field], places, strict=True):
                if isinstance(value, str):  # study_facts.value: text, numbers among it
                    if _PLAIN_NUMBER.match(value):
                        yield f"{name}.csv", row_id, field, value
                elif not pd.isna(value):
                    yield f"{name}.csv", row_id, field, f"{value:.{int(digits)}f}"
