"""Types, constraints and keys of the data package's tables, checked by frictionless, resource by resource.

The first pass of :func:`thalbook.core.evidence.validate.validate`:
:func:`schema_problems` hands the ``frictionless`` library a copy of the
descriptor that it can check without failing early (:func:`_checkable`) and
translates its errors into :class:`~thalbook.core.errors.Problem` objects in
the book's wording (:func:`_problem_from_error`).

Its verdict on each resource is kept for the life of the process, by the
content of everything frictionless reads to reach it, so that packages
differing in one file (a fixed typo, a planted defect) re-validate that file
only, and the files whose foreign keys read it.

The descriptor's file name (:data:`DESCRIPTOR`) and the readers of its
resources and declared types live here because both this module and
:mod:`thalbook.core.evidence.validate` need them, and that module imports this
one. Like it, this module imports nothing beyond the standard library and
PyYAML when it is imported (frictionless is imported when the pass runs).

Examples
--------
>>> field_types({"schema": {"fields": [{"name": "id"}, {"name": "count", "type": "integer"}]}})
{'id': 'string', 'count': 'integer'}
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

from thalbook.core.errors import Problem
from thalbook.core.evidence.rules import _Table

DESCRIPTOR = "datapackage.json"

#: How a foreign-key problem reads: ``'<value>' not found in <file>``.
_DANGLING = " not found in "

_FILE_ERRORS = {"scheme-error", "encoding-error", "source-error", "format-error", "hashing-error",
                "byte-count-error", "hash-count-error", "compression-error", "control-error", "dialect-error",
                "resource-error", "schema-error", "field-error", "checklist-error", "check-error",
                "package-error", "general-error"}
_HEADER_ERRORS = {"missing-label", "extra-label", "incorrect-label", "blank-label", "duplicate-label",
                  "header-error", "label-error", "blank-header"}

#: The problems frictionless found in one resource, by the digest of all it read to find them (:func:`_key`).
_VERDICTS: dict[str, tuple[Problem, ...]] = {}
#: Past this many verdicts the memo starts afresh: a long-lived process that validates data as it is
#: edited would otherwise keep the verdict of every version of every file.
_MAX_VERDICTS = 2048


def resources_by_name(descriptor: dict) -> dict[str, dict]:
    """The resources of a descriptor by name (entries that are not mappings left out)."""
    return {r.get("name"): r for r in descriptor["resources"] if isinstance(r, dict)}


def field_types(resource: dict) -> dict[str, str]:
    """Column -> declared Table Schema type (``string`` when none is declared) of one resource."""
    fields = resource.get("schema", {}).get("fields", [])
    return {f.get("name"): f.get("type", "string") for f in fields if isinstance(f, dict)}


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
        expected = field_types(resource).get(field, "value")
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
        match = re.search(r'for "([^"]+)": values "([^"]*)" not found in the lookup table "([^"]*)"', note)
        if match:
            # an empty lookup table is the file itself (a key into its own rows)
            target = f"{match.group(3)}.csv" if match.group(3) else file
            return Problem(file, row, match.group(1), f"{match.group(2)!r}{_DANGLING}{target}")
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
    by :func:`thalbook.core.evidence.rules._rule_header`; frictionless cannot match such columns by name,
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


def _report_problems(report, declared: dict[str, dict]) -> list[Problem]:
    """The problems of a frictionless report: its tasks' errors by file, then its own errors on the descriptor."""
    problems = []
    for task in report.tasks:
        resource = declared.get(task.name, {})
        file = resource.get("path") or f"{task.name}.csv"
        for error in task.errors:
            if error.type in _HEADER_ERRORS:
                continue  # the header is checked by the rules, which name the column
            problems.append(_problem_from_error(file, error, resource))
    for error in report.errors:
        problems.append(Problem(DESCRIPTOR, None, "descriptor", getattr(error, "note", "") or error.message))
    return problems


def _key(directory: Path, checkable: dict, entry: dict, name: str, declared: dict[str, dict]) -> str | None:
    """The digest of all frictionless reads to judge one resource, and of all that words its problems.

    That is the package's own properties, the resource's checkable descriptor
    (``entry``), its file's bytes, the descriptor and bytes of each resource
    its foreign keys read, and the resource as declared (its problems name its
    file and declared types). None when a file cannot be read: that resource
    is then judged afresh, and frictionless says what is wrong with it.
    """
    first: dict[str, dict] = {}
    for resource in checkable["resources"]:
        first.setdefault(resource.get("name"), resource)  # a key is looked up as frictionless does: first match
    references = [key.get("reference", {}).get("resource") for key in entry["schema"].get("foreignKeys", [])]
    # A key with no resource, or its own, reads the resource itself.
    read = [entry] + [first.get(reference) if reference and reference != name else entry for reference in references]
    resource = declared.get(name, {})
    parts = [{key: value for key, value in checkable.items() if key != "resources"}, resource,
             resource.get("path") or f"{name}.csv"]
    for item in read:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str):
            return None
        try:
            blob = (directory / path).read_bytes()  # as frictionless finds it: the base path, then the path
        except OSError:
            return None
        parts += [item, blob]
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True).encode()
        digest.update(f"{len(data)}:".encode() + data)  # length-prefixed, so that no two sequences of parts collide
    return digest.hexdigest()


def schema_problems(directory: Path, descriptor: dict, tables: dict[str, _Table]) -> list[Problem]:
    """Validate types, constraints and keys with frictionless, resource by resource.

    Verdicts are kept per resource content, for the life of the process: a
    resource is validated again only if something frictionless reads to judge
    it has changed (its descriptor, its file, or the descriptor or file of a
    resource its foreign keys read), so that a package differing in one file
    re-validates only that file and those whose foreign keys read it. The
    result is the same as validating the whole package every time. The memo is
    written by hand: frictionless keeps no verdicts between validations.

    Parameters
    ----------
    directory : pathlib.Path
        The package directory; the descriptor's paths are relative to it.
    descriptor : dict
        The descriptor as read.
    tables : dict of str to _Table
        The files that could be read and parsed, by resource name; no other is checked.

    Returns
    -------
    list of thalbook.core.errors.Problem
        By resource, in the descriptor's order; a problem of the descriptor
        itself when frictionless cannot read it.
    """
    from frictionless import (  # imported here: only validation needs it
        Checklist,
        FrictionlessException,
        Package,
    )

    checkable = _checkable(descriptor, tables)
    if not checkable["resources"]:
        return []
    # fieldsMatch "subset" matches columns by name, not position, so one misplaced or
    # missing column does not turn every later cell into a type error; the header itself
    # is checked by _rule_header.
    for resource in checkable["resources"]:
        resource["schema"] = {**resource["schema"], "fieldsMatch": "subset"}
    declared = resources_by_name(descriptor)
    try:
        package = Package(checkable, basepath=str(directory))  # raises if its metadata is invalid
        if len(package.resources) != len(checkable["resources"]):
            return _report_problems(package.validate(), declared)
        return _by_resource(package, checkable, directory, declared, Checklist())
    except FrictionlessException as exc:
        return [Problem(DESCRIPTOR, None, "descriptor", str(getattr(exc, "error", exc).note or exc))]


def _by_resource(package, checkable: dict, directory: Path, declared: dict[str, dict], checklist) -> list[Problem]:
    """The problems of each resource of a package whose metadata is valid: from the memo, else from frictionless.

    Each resource is validated as ``Package.validate`` validates it: in the
    package (its foreign keys read the other resources there), with the same
    checklist and the default limits.
    """
    pairs = list(zip(checkable["resources"], package.resources, strict=True))
    keys = [_key(directory, checkable, entry, resource.name, declared) for entry, resource in pairs]
    verdicts: dict[int, tuple[Problem, ...]] = {}
    fresh = []
    for index, (_, resource) in enumerate(pairs):
        if keys[index] is not None and keys[index] in _VERDICTS:
            verdicts[index] = _VERDICTS[keys[index]]
            continue
        verdicts[index] = tuple(_report_problems(resource.validate(checklist=checklist), declared))
        fresh.append(index)
    for index in fresh:
        # Kept only if no file changed while frictionless read it: the verdict must match its key.
        entry, resource = pairs[index]
        if keys[index] is not None and keys[index] == _key(directory, checkable, entry, resource.name, declared):
            if len(_VERDICTS) >= _MAX_VERDICTS:
                _VERDICTS.clear()
            _VERDICTS[keys[index]] = verdicts[index]
    return [problem for index in range(len(pairs)) for problem in verdicts[index]]
