"""Validate the study data package in ``data/``: every problem, all of them in one run.

``data/`` is a Frictionless Data Package: ``datapackage.json`` gives every
CSV file a Table Schema (types, required fields, allowed values, ranges,
primary and foreign keys). :func:`validate` checks the package in two passes:

1. the schema, by the ``frictionless`` library (its errors are translated
   into :class:`~thalbook.core.errors.Problem` objects), in
   :mod:`thalbook.core.evidence.schema_checks`;
2. the rules a Table Schema cannot express, written by hand in
   :mod:`thalbook.core.evidence.rules` (count <= denominator, quotes that contain
   their row's numbers, every row a chapter looks up by its text, ...).

Before either pass, every entry of the directory must be safe to read: a
regular file, or a link that stays inside the package; and every file that is
read must be no larger than :data:`MAX_FILE_BYTES`, judged before it is read.
:func:`thalbook.core.evidence.data.load` validates before it reads. What is published
with the book, and listed with its checksum, is only what the descriptor names
(:func:`named_files`); anything else in the directory is left behind
(:func:`unpublished_files`).

This module imports nothing beyond the standard library and PyYAML when it is
imported (the frictionless pass and the rules import theirs when they
run), so that the build floor reads descriptors through it without pandas.

Examples
--------
>>> validate()
[]
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from pathlib import Path

from thalbook.core import paths
from thalbook.core.errors import Problem
from thalbook.core.evidence.rules import RESOURCES, RULES, _rule_required, _Table
from thalbook.core.evidence.schema_checks import (  # DESCRIPTOR and the descriptor readers are public here too
    _DANGLING,
    DESCRIPTOR,
    field_types,
    resources_by_name,
    schema_problems,
)

#: The Data Package's conventional readme, published with the package when present.
README = "README.md"
#: The largest file of the package that is read, in bytes (the largest today, the
#: descriptor, has about 54 kB). Checked with ``stat`` before reading: parsing takes
#: several times a file's size in memory, so a huge file is refused before it costs that.
MAX_FILE_BYTES = 10_000_000

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
    "statements": ("id", "topic", "kind", "value", *_PROVENANCE),
    "appraisal": ("id", "study_id", "instrument", "item", "judgement", "reason", "support_file", "support_id"),
}


_SAFE_PATH = re.compile(r"^[A-Za-z0-9_.-]+\.csv$")


# ------------------------------------------------------------- raw reading



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


def entry_problems(directory: Path) -> list[Problem]:
    """A problem for every entry of the data directory that is unsafe to read or publish.

    The top level only: the package is flat, and only its top level is read and published.
    """
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []  # no directory: the missing descriptor says so
    return [Problem(path.name, None, "file", reason) for path in entries if (reason := _unsafe(path, directory))]


def oversize(path: Path, file: str) -> Problem | None:
    """A problem if the file at ``path`` is larger than :data:`MAX_FILE_BYTES`; None if not, or if it is missing.

    Judged by ``stat`` alone: nothing of the file is read.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    file : str
        Its name as problems give it.

    Examples
    --------
    >>> import tempfile
    >>> big = Path(tempfile.mkdtemp()) / "big.csv"
    >>> with big.open("wb") as handle:
    ...     handle.truncate(300_000_000)  # sparse: no disk or memory used
    300000000
    >>> str(oversize(big, "big.csv"))
    'big.csv: file: 300.0 MB, over the 10 MB a data file may have'
    >>> oversize(paths.data_dir() / DESCRIPTOR, DESCRIPTOR) is None
    True
    """
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size <= MAX_FILE_BYTES:
        return None
    limit = f"{MAX_FILE_BYTES / 1e6:g} MB"
    return Problem(file, None, "file", f"{size / 1e6:.1f} MB, over the {limit} a data file may have")


def _read_bytes(path: Path, file: str, problems: list[Problem], directory: Path) -> bytes | None:
    reason = _unsafe(path, directory)
    if reason:
        problems.append(Problem(file, None, "file", reason))
        return None
    if not path.is_file():
        problems.append(Problem(file, None, "file", f"missing: no file at {path}"))
        return None
    too_large = oversize(path, file)
    if too_large is not None:
        problems.append(too_large)
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


def _check_contract(descriptor: dict) -> list[Problem]:
    problems = []
    resources = resources_by_name(descriptor)
    for name in RESOURCES:
        resource = resources.get(name)
        if resource is None:
            problems.append(Problem(DESCRIPTOR, None, f"resources.{name}", "missing from the package"))
            continue
        if resource.get("path") != f"{name}.csv":
            problems.append(Problem(DESCRIPTOR, None, f"resources.{name}.path",
                                    f"is {resource.get('path')!r}, expected '{name}.csv'"))
        declared = field_types(resource)
        for column in CONTRACT_COLUMNS[name]:
            if column not in declared:
                problems.append(Problem(DESCRIPTOR, None, f"resources.{name}.schema",
                                        f"lacks the contract column {column!r}"))
    return problems


# ------------------------------------------------- the files a descriptor names

# A scheme (``http:``, ``file:``, ``data:``, a drive letter): a path that is no local file of the package.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _local_file(directory: Path, path: object) -> Path | None:
    """The regular file that the relative ``path`` names inside ``directory``; None if it names no such file.

    Refused: anything but a non-empty relative POSIX path (an absolute path, a
    URL, a ``..`` or ``.`` step, a backslash), and any link on the way, which
    could lead outside the package.
    """
    if not isinstance(path, str) or not path or "\\" in path or _SCHEME.match(path) or path.startswith("/"):
        return None
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    target = directory
    for part in parts:
        target = target / part
        if target.is_symlink():
            return None
    return target if target.is_file() else None


def _descriptor_of(directory: Path) -> dict | None:
    """The descriptor of the package in ``directory``, if it is a regular file that may be read and holds JSON."""
    path = _local_file(directory, DESCRIPTOR)
    if path is None or oversize(path, DESCRIPTOR) is not None:
        return None
    try:
        descriptor = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return descriptor if isinstance(descriptor, dict) else None


def _declared(descriptor: dict) -> list[str]:
    """Every path the descriptor names for the package: itself, the readme, each resource's path(s)."""
    declared = [DESCRIPTOR, README]
    resources = descriptor.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        path = resource.get("path") if isinstance(resource, dict) else None
        # The spec allows a list of paths: one resource in several files.
        declared += path if isinstance(path, list) else [path]
    return [path for path in declared if isinstance(path, str)]


def named_files(directory: str | os.PathLike) -> list[Path]:
    """The files of a package directory that its descriptor names: all that is published and listed with it.

    They are ``datapackage.json`` itself, ``README.md`` if present (the Data
    Package's conventional readme), and every file a resource's ``path``
    names, each only if it is a local relative path inside the directory
    (no ``..``, no absolute path, no URL) to a regular file reached through
    no symbolic link. Nothing else in the directory (dotfiles, editor swap
    files, notes, subdirectories) is published or listed.

    Reads only the descriptor, as JSON; a descriptor that is missing,
    unreadable, larger than :data:`MAX_FILE_BYTES` or no JSON object names
    nothing (:func:`validate` says why).

    Parameters
    ----------
    directory : path-like
        The package directory (the data package, or the results package).

    Returns
    -------
    list of pathlib.Path
        ``directory / path`` for each named file, sorted by path, each once.

    Examples
    --------
    >>> import json, tempfile
    >>> package = Path(tempfile.mkdtemp())
    >>> for name in ("a.csv", "README.md", ".env", "notes.txt"):
    ...     _ = (package / name).write_text("x\\n")
    >>> resources = [{"name": "a", "path": "a.csv"}, {"name": "b", "path": "../secret.csv"},
    ...              {"name": "c", "path": "https://example.org/c.csv"}]
    >>> _ = (package / DESCRIPTOR).write_text(json.dumps({"resources": resources}))
    >>> [path.name for path in named_files(package)]
    ['README.md', 'a.csv', 'datapackage.json']
    >>> named_files(package / "nowhere")
    []
    """
    directory = Path(directory)
    descriptor = _descriptor_of(directory)
    if descriptor is None:
        return []
    found = {file for path in _declared(descriptor) if (file := _local_file(directory, path)) is not None}
    return sorted(found, key=lambda file: file.relative_to(directory).as_posix())


def unpublished_files(directory: str | os.PathLike) -> list[tuple[str, str]]:
    """Every file of a package directory that :func:`named_files` leaves out, with the reason.

    Parameters
    ----------
    directory : path-like
        The package directory.

    Returns
    -------
    list of (str, str)
        ``(path relative to the directory, why it is left out)``, sorted by
        path; a link counts as a file and is not followed. Empty when the
        descriptor cannot be read: then nothing is published, and
        :func:`validate` says why.

    Examples
    --------
    >>> import shutil, tempfile
    >>> package = Path(tempfile.mkdtemp()) / "data"
    >>> _ = shutil.copytree(paths.data_dir(), package)
    >>> _ = (package / ".env").write_text("TOKEN=x\\n")
    >>> unpublished_files(package)
    [('.env', 'not named by datapackage.json')]
    """
    directory = Path(directory)
    descriptor = _descriptor_of(directory)
    if descriptor is None:
        return []
    declared = set(_declared(descriptor))
    named = {file.relative_to(directory).as_posix() for file in named_files(directory)}
    left = []
    for root, folders, files in os.walk(directory):
        # os.walk lists a link to a folder among the folders and does not enter it: it is an entry too.
        entries = files + [name for name in folders if os.path.islink(os.path.join(root, name))]
        for name in entries:
            path = Path(root, name).relative_to(directory).as_posix()
            if path in named:
                continue
            why = (f"named by {DESCRIPTOR}, but not a regular file reached without a link" if path in declared
                   else f"not named by {DESCRIPTOR}")
            left.append((path, why))
    return sorted(left)


# ------------------------------------------------------------------ validate

def data_directory(data_dir: str | os.PathLike | None) -> Path:
    """The data directory to read: ``data_dir``, else :func:`thalbook.core.paths.data_dir`, resolved."""
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
        return sorted(set(_validate(data_directory(data_dir))), key=_sort_key)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; say what broke instead
        return [Problem(DESCRIPTOR, None, "validation", f"internal error: {type(exc).__name__}: {exc}")]


def _validate(directory: Path) -> list[Problem]:
    problems = entry_problems(directory)
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
        types[name] = field_types(resource)
        blob = _read_bytes(directory / file, file, problems, directory)
        text = _decode(blob, file, problems) if blob is not None else None
        table = _parse_csv(text, file, problems) if text is not None else None
        if table is not None:
            tables[name] = table
    problems += schema_problems(directory, descriptor, tables)
    for rule in RULES:
        problems += rule(tables, types)
    # A row a chapter needs may be missing only because it is malformed: that problem names it
    # better, so missing rows are reported for files without any other problem. A key that points
    # nowhere spoils no row of its own file, though: a renamed id is both missing and pointed at.
    spoilt = {problem.file for problem in problems if _DANGLING not in problem.message}
    problems += [p for p in _rule_required(tables, types) if p.file not in spoilt]
    return problems

