"""The decision record on Jupyter Book 1 (docs/decisions/0001-jupyter-book-1.md) stays true to the lock.

Its tables list the packages of the runtime lock held behind their newest
release. Offline, this test keeps what it can honest: each package is pinned in
``requirements.txt`` at exactly the version the table says (a new lock fails
the test until the record is updated), the newest version it names is newer
than the pin, and every constraint it blames ("jupyter-book 1.0.4.post1
requires ``sphinx~=7.0``") is in that package's installed ``Requires-Dist``
(or in ``pyproject.toml`` for "this project"). It cannot check that the newest
version is still the newest PyPI holds: that needs the registry, so re-read
PyPI when updating the record. The record must be linked from CONTRIBUTING.md
or README.md.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "docs" / "decisions" / "0001-jupyter-book-1.md"
LINK = "docs/decisions/0001-jupyter-book-1.md"

#: One row of a held-package table: | `name` | pinned | newest | held by |
ROW = re.compile(r"^\| `([A-Za-z0-9_.-]+)` \| ([^|`]+?) \| ([^|`]+?) \| (.+) \|$", re.M)
#: One constraint in the "held by" cell: "<package> <version> requires `<requirement>`".
BLAME = re.compile(r"(this project|[A-Za-z0-9_.-]+ [0-9][A-Za-z0-9.]*) requires `([^`]+)`")


def canonicalize_name(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_of(text: str) -> tuple[str, frozenset[str], bool]:
    """``(name, specifiers, has a marker)`` of a requirement string (``packaging`` is not a dependency here)."""
    spec, _, marker = text.partition(";")
    name = re.match(r"\s*([A-Za-z0-9_.-]+)", spec).group(1)
    rest = spec.strip()[len(name):].replace(" ", "").strip("()")
    rest = re.sub(r"^\[[^]]*\]", "", rest)  # extras
    return canonicalize_name(name), frozenset(s for s in rest.split(",") if s), bool(marker.strip())


def release(version: str) -> tuple[int, ...]:
    """The numeric release segment of a version: ``1.0.4.post1`` -> ``(1, 0, 4)``."""
    return tuple(int(part) for part in re.match(r"\d+(?:\.\d+)*", version).group().split("."))


def pins() -> dict[str, str]:
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    return {canonicalize_name(name): version for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def rows() -> list[tuple[str, str, str, str]]:
    text = RECORD.read_text(encoding="utf-8")
    section = text.split("## What it holds back", 1)[1].split("\n## ", 1)[0]
    return [tuple(cell.strip() for cell in row) for row in ROW.findall(section)]


def test_the_record_lists_held_packages():
    names = [name for name, *_ in rows()]
    assert names, f"no table rows found in {RECORD.relative_to(ROOT)}"
    assert len(names) == len(set(names)), names
    assert {"jupyter-book", "sphinx", "myst-parser"} <= set(names)


@pytest.mark.parametrize("row", rows(), ids=lambda row: row[0])
def test_each_package_is_pinned_at_the_version_the_record_says(row):
    name, pinned, newest, _ = row
    locked = pins()
    assert canonicalize_name(name) in locked, f"{name} is no longer in requirements.txt: update the record"
    assert locked[canonicalize_name(name)] == pinned, (
        f"requirements.txt pins {name}=={locked[canonicalize_name(name)]}, the record says {pinned}: update it")
    assert release(newest) > release(pinned), f"{name}: newest {newest} is not newer than pinned {pinned}"


@pytest.mark.parametrize("row", rows(), ids=lambda row: row[0])
def test_each_constraint_the_record_blames_exists(row):
    name, _, _, held_by = row
    blamed = BLAME.findall(held_by)
    assert blamed, f"{name}: the 'held by' cell names no '<package> <version> requires `<requirement>`'"
    locked = pins()
    for holder, requirement in blamed:
        wanted = requirement_of(requirement)
        assert wanted[0] == canonicalize_name(name), (name, requirement)
        if holder == "this project":
            declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
            assert wanted in [requirement_of(d) for d in declared], f"pyproject.toml does not declare {requirement}"
            continue
        package, version = holder.split(" ")
        assert locked.get(canonicalize_name(package)) == version, f"{holder}: not the version requirements.txt pins"
        try:
            installed = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pytest.skip(f"{package} is not installed: its Requires-Dist cannot be read offline")
        if installed != version:
            pytest.skip(f"{package} {installed} is installed, not the locked {version}")
        declared = [requirement_of(r) for r in importlib.metadata.requires(package) or []]
        assert wanted in declared, (
            f"{package} {version} does not require {requirement}: update the record")


def test_the_record_is_linked_from_contributing_or_readme():
    assert RECORD.is_file()
    linked = [name for name in ("CONTRIBUTING.md", "README.md") if LINK in (ROOT / name).read_text(encoding="utf-8")]
    assert linked, f"neither CONTRIBUTING.md nor README.md links {LINK}"
