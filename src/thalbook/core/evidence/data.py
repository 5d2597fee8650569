"""Load the study data package in ``data/``, and read its cells back as printed.

``data/`` holds what the two source papers (and the context studies) report,
one row per number per place, each row with a verbatim quote.
:func:`load` validates it (:func:`thalbook.core.evidence.validate.validate`, once per
content, see below) and returns the tables as pandas DataFrames. Every
numeric column is read twice: as a float and as ``<column>_decimals``, the
number of digits after the point as printed, because the audit uses the
printed precision as evidence; :func:`reported_number` reads such a cell
back as the exact decimal the paper printed.

Examples
--------
>>> from thalbook.core.evidence import data
>>> data.validate()
[]
>>> pkg = data.load()
>>> row = pkg.binary_outcomes.set_index("id").loc["he2017-remission-w8-abs-results"]
>>> float(row["percent"]), int(row["percent_decimals"]), int(row["denominator"])
(23.4, 1, 47)
>>> reported_number("binary_outcomes.csv", row, "percent")
Decimal('23.4')
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import weakref
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from thalbook.core import paths
from thalbook.core.errors import DataError, InputError, Problem
from thalbook.core.evidence.quotes import PLAIN_NUMBER
from thalbook.core.evidence.rules import RESOURCES
from thalbook.core.evidence.validate import (
    DESCRIPTOR,
    MAX_FILE_BYTES,
    data_directory,
    entry_problems,
    field_types,
    named_files,
    oversize,
    resources_by_name,
    validate,
)
from thalbook.core.inference import stats

__all__ = [
    "DESCRIPTOR",
    "MAX_FILE_BYTES",
    "RESOURCES",
    "DataPackage",
    "cell_text",
    "decimals",
    "digest_of",
    "is_stated",
    "is_true",
    "load",
    "named_files",
    "non_totals",
    "printed",
    "reported_number",
    "reported_number_or_text",
    "reported_whole",
    "validate",
]


# ---------------------------------------------------------------------- load

@dataclass(frozen=True, eq=False)
class DataPackage:
    """The validated data package: one DataFrame per file, not changed once loaded.

    Two packages are the same only if they are the same object, so that what
    is read from a package can be kept with it (as
    :func:`thalbook.core.analyses.cohort.study_accounts` does); a changed package is a
    new one (``dataclasses.replace``).

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
    statements: pd.DataFrame
    appraisal: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every file's table by resource name, in the package's order.

        Examples
        --------
        >>> list(load().tables())[:2]
        ['studies', 'study_facts']
        """
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "data_dir"}


#: The content digest of each package :func:`load` returned, by package: a package made otherwise (a copy
#: with a table replaced) has none, so no result computed from the loaded bytes is taken for it.
_DIGESTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def digest_of(package) -> str | None:
    """The SHA-256 of the bytes ``package`` was loaded from (:func:`content_digest`); None if not loaded so.

    Examples
    --------
    >>> import dataclasses
    >>> pkg = load()
    >>> digest_of(pkg) == content_digest(), digest_of(dataclasses.replace(pkg))
    (True, None)
    """
    try:
        return _DIGESTS.get(package)
    except TypeError:  # a stand-in for a package, which cannot be a key
        return None


# Validation verdicts by content digest, for this process. A chapter kernel
# calls load() several times; the first call pays for frictionless, the
# others only hash the files (a few milliseconds). The digest covers every
# byte load() parses, so an edited file is validated again.
_VERDICTS: dict[str, tuple[Problem, ...]] = {}


def _snapshot(directory: Path) -> tuple[str, dict[str, bytes], dict] | None:
    """Read the descriptor and every file once; None if any is unreadable or unsafe to read.

    Raises
    ------
    thalbook.core.errors.DataError
        If a file is larger than :data:`MAX_FILE_BYTES`, before any of it is
        read: validating would only say so again, after reading the rest.
    """
    if entry_problems(directory):
        return None
    try:
        too_large = oversize(directory / DESCRIPTOR, DESCRIPTOR)
        if too_large is not None:
            raise DataError([too_large])
        raw = (directory / DESCRIPTOR).read_bytes()
        descriptor = json.loads(raw.decode("utf-8"))
        resources = resources_by_name(descriptor)
        files = {name: resources[name]["path"] for name in RESOURCES}
        too_large = [problem for file in files.values() if (problem := oversize(directory / file, file)) is not None]
        if too_large:
            raise DataError(too_large)
        digest = hashlib.sha256(raw)
        blobs = {}
        for name, file in files.items():
            blob = (directory / file).read_bytes()
            digest.update(b"\0" + name.encode() + b"\0" + blob)
            blobs[name] = blob
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return digest.hexdigest(), blobs, descriptor


def _frame(blob: bytes, resource: dict) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(blob), dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")
    columns = {}
    types = field_types(resource)
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
            plain = text.where(text.str.fullmatch(PLAIN_NUMBER.pattern), "")
            columns["value_number"] = pd.to_numeric(plain.replace("", np.nan)).astype(float)
            columns["value_decimals"] = plain.map(decimals).astype(float)
    return pd.DataFrame(columns)


def content_digest(data_dir: str | os.PathLike | None = None) -> str | None:
    """SHA-256 of the descriptor and every data file, as :func:`load` hashes them (None if unreadable).

    Examples
    --------
    >>> len(content_digest())
    64
    """
    try:
        snapshot = _snapshot(data_directory(data_dir))
    except DataError:  # a file too large to read
        return None
    return None if snapshot is None else snapshot[0]


def _vouched_for(digest: str) -> bool:
    """Whether the directory named by ``paths.VALIDATED_ENV`` holds a verdict for exactly this content."""
    directory = os.environ.get(paths.VALIDATED_ENV)
    return bool(directory) and (Path(directory) / f"data-{digest}").is_file()


def load(data_dir: str | os.PathLike | None = None) -> DataPackage:
    """Validate the data package and return its tables.

    Validation runs once per content per process (verdicts are cached by a
    SHA-256 digest of ``datapackage.json`` and every CSV file), and not at
    all when ``paths.VALIDATED_ENV`` vouches for that digest; the tables are
    parsed from the very bytes that were hashed.

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
        A file larger than :data:`MAX_FILE_BYTES` is refused before any file
        is read (or validated).

    Examples
    --------
    >>> pkg = load()
    >>> w8 = pkg.continuous_outcomes.query("measure == 'basdai' and timepoint_week == 8").iloc[0]
    >>> float(w8["mean"]), float(w8["sd"]), float(w8["p_value"]), w8["comparison"]
    (3.78, 1.67, 0.007, 'week 8 vs baseline')
    >>> sorted(pkg.studies.query("role == 'source'")["study_id"])
    ['he2017', 'wei2003']
    """
    directory = data_directory(data_dir)
    snapshot = _snapshot(directory)
    if snapshot is None:
        raise DataError(validate(directory) or [Problem(DESCRIPTOR, None, "file", "could not be read")])
    digest, blobs, descriptor = snapshot
    problems = _VERDICTS.get(digest)
    if problems is None and _vouched_for(digest):
        problems = ()
    if problems is None:
        problems = tuple(validate(directory))
        # Re-read to make sure what was validated is what was hashed.
        again = _snapshot(directory)
        if again is None or again[0] != digest:
            raise DataError([Problem(DESCRIPTOR, None, "file", "data changed while it was being validated")])
        _VERDICTS[digest] = problems
    if problems:
        raise DataError(list(problems))
    resources = resources_by_name(descriptor)
    frames = {name: _frame(blobs[name], resources[name]) for name in RESOURCES}
    package = DataPackage(data_dir=directory, **frames)
    _DIGESTS[package] = digest
    return package



# ------------------------------------------------------ cells read back as printed

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



def printed(value, decimals) -> str:
    """A loaded number as the paper printed it (``3.1`` stays ``3.1``; ``''`` when empty).

    Examples
    --------
    >>> printed(3.1, 1.0), printed(80.0, 0.0), printed(float("nan"), float("nan"))
    ('3.1', '80', '')
    """
    if pd.isna(value):
        return ""
    return f"{float(value):.{int(decimals) if not pd.isna(decimals) else 0}f}"


def is_stated(value) -> bool:
    """Whether a cell states something: not missing, NaN or blank text.

    Examples
    --------
    >>> is_stated(0), is_stated(" "), is_stated(float("nan")), is_stated(pd.NA)
    (True, False, False, False)
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    try:
        return not pd.isna(value)
    except (TypeError, ValueError):
        return True


def cell_text(value) -> str:
    """A cell as stripped text; ``''`` when it states nothing."""
    return str(value).strip() if is_stated(value) else ""


def is_true(value) -> bool:
    """Whether a boolean cell says true (``True``, ``"true"`` or ``1``); missing is not true."""
    return is_stated(value) and str(value).strip().lower() in ("true", "1")


def reported_number(file: str, row: pd.Series, column: str) -> Decimal | None:
    """A reported number exactly as printed, using the loader's ``<column>_decimals``.

    A text column (a study fact's ``value``) is read from its text.

    Raises
    ------
    thalbook.core.errors.InputError
        If the cell is no number as printed, naming the file, the row's id
        and the column: the data package is the user's.

    Examples
    --------
    >>> reported_number("continuous_outcomes.csv", pd.Series({"mean": 3.1, "mean_decimals": 1.0}), "mean")
    Decimal('3.1')
    >>> reported_number("study_facts.csv", pd.Series({"value": "0.05"}), "value")
    Decimal('0.05')
    >>> reported_number("binary_outcomes.csv", pd.Series({"id": "x", "percent": 80.5, "percent_decimals": 0.0}),
    ...                 "percent")
    Traceback (most recent call last):
    ...
    thalbook.core.errors.InputError: binary_outcomes.csv: x: percent: 80.5 has more than 0 decimals
    """
    value = row.get(column)
    if not is_stated(value):
        return None
    digits = row.get(f"{column}_decimals")
    if not is_stated(digits):
        value = str(value).strip()
        digits = len(value.partition(".")[2])
    try:
        return stats.reported_value(file, value, int(digits))
    except (ValueError, TypeError) as error:
        raise InputError(f"{file}: {row.get('id', '?')}: {column}: {str(error).partition(': ')[2]}") from None


def reported_whole(file: str, row: pd.Series, column: str) -> int | None:
    """A reported count: :func:`reported_number`, which must be a whole number.

    Raises
    ------
    thalbook.core.errors.InputError
        If the number is not whole, naming the file, row and column.
    """
    value = reported_number(file, row, column)
    if value is not None and value != value.to_integral_value():
        raise InputError(f"{file}: {row.get('id', '?')}: {column}: expected a whole number, got {value}")
    return None if value is None else int(value)


def reported_number_or_text(file: str, row: pd.Series, column: str) -> Decimal | str | None:
    """:func:`reported_number`, or the cell's text when it is no number (a text fact compares as text).

    Examples
    --------
    >>> reported_number_or_text("study_facts.csv", pd.Series({"value": "January 2013"}), "value")
    'January 2013'
    """
    try:
        return reported_number(file, row, column)
    except InputError:
        return cell_text(row.get(column)) or None


def non_totals(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows that are not the stated total of other rows (``is_total``): the parts to add up."""
    return rows[~rows["is_total"].map(is_true)] if "is_total" in rows else rows
