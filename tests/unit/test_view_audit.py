"""The audit view, built without a kernel, against the chapter and independent sources.

The expected counts come from the command line's CSV (``thalbook audit
--format csv``, read here with the csv module) and from ``studies.csv``; what
each check means is read from the chapter's markdown, where it is written.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import chapter_prose, shown_names, thalbook
from thalbook.chapters import audit, methods
from thalbook.core import toc
from thalbook.core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "chapters" / "audit.ipynb"


@pytest.fixture(scope="module")
def view(package):
    return audit.build(package, {"rounding": "half-up"})


@pytest.fixture(scope="module")
def cli_rows() -> list[dict[str, str]]:
    proc = thalbook("audit", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    return list(csv.DictReader(io.StringIO(proc.stdout)))


def body_rows(myst: str) -> int:
    return sum(1 for line in myst.splitlines() if line.startswith("* - ")) - 1


# ---------------------------------------------------------------- against the chapter


def test_every_glued_name_in_the_prose_is_in_the_view(view):
    used = re.findall(r"\{glue:text\}`([^`:]+)(?::[^`]*)?`", chapter_prose(NOTEBOOK))
    assert used
    assert not sorted(set(used) - set(view.values))


def test_every_display_cell_shows_a_table_of_the_view(view):
    shown = shown_names(NOTEBOOK)
    assert shown and all(name in view.tables for name in shown)
    # every study's table is shown, on its own or among the context studies
    studies = [name for name in view.tables if name.startswith("audit-rows-") and name != audit.CONTEXT_TABLES]
    for name in studies:
        assert name in shown or f":name: {name}" in view.tables[audit.CONTEXT_TABLES], name


def test_the_chapter_explains_every_kind_of_check(view):
    explained = re.findall(r"^`([a-z-]+)`\n: ", chapter_prose(NOTEBOOK), flags=re.M)
    assert explained == list(methods.CHECKS)


def test_the_view_declares_what_the_notebook_declares(view):
    assert toc.parameters_cell(NOTEBOOK) == audit.PARAMETERS
    assert view.params == {"rounding": "half-up"}


# ---------------------------------------------------------------- against independent sources


def test_counts_are_those_of_the_command_line_audit(view, cli_rows):
    status = Counter(r["status"] for r in cli_rows)
    assert view.value("n_checks") == len(cli_rows)
    assert view.value("n_inconsistent") == status["inconsistent"]
    assert view.value("n_not_checkable") == status["not-checkable"]
    assert view.value("n_consistent") == status["consistent"]
    assert view.value("n_check_types") == len({r["check"] for r in cli_rows})
    assert view.value("n_audited_studies") == len({r["study"] for r in cli_rows})
    with (ROOT / "data" / "studies.csv").open(encoding="utf-8", newline="") as f:
        sources = [r["study_id"] for r in csv.DictReader(f) if r["role"] == "source"]
    for study in sources:
        assert view.value(f"{study}_checks") == sum(r["study"] == study for r in cli_rows)
        assert view.value(f"{study}_findings") == len({r["finding"] for r in cli_rows if r["study"] == study} - {""})
    assert view.value("n_findings") == len({r["finding"] for r in cli_rows} - {""})
    assert view.value("n_findings") == (view.value("he2017_findings") + view.value("wei2003_findings")
                                        + view.value("n_context_findings"))


def test_every_check_has_a_row_and_every_inconsistency_a_finding(view, cli_rows):
    per_study = {name.removeprefix("audit-rows-"): body_rows(myst) for name, myst in view.tables.items()
                 if name.startswith("audit-rows-") and name != audit.CONTEXT_TABLES}
    assert per_study == Counter(r["study"] for r in cli_rows)
    with (ROOT / "data" / "studies.csv").open(encoding="utf-8", newline="") as f:
        context = {r["study_id"] for r in csv.DictReader(f) if r["role"] == "context"}
    together = re.findall(r":name: audit-rows-(\S+)", view.tables[audit.CONTEXT_TABLES])
    assert set(together) == context & set(per_study)
    numbers = re.findall(r"^\* - (F\d+)$", view.tables["tbl-audit-findings"], flags=re.M)
    assert numbers == [f"F{i}" for i in range(1, view.value("n_findings") + 1)]
    assert set(numbers) == {r["finding"] for r in cli_rows} - {""}
    # every inconsistent row belongs to a finding
    assert all(r["finding"] for r in cli_rows if r["status"] == "inconsistent")


def test_the_other_rounding_changes_as_many_verdicts_as_the_view_says(package, view):
    assert view.value("other_rounding") == "half-even or truncation"
    for rounding in ("half-even", "truncation"):
        other = audit.build(package, {"rounding": rounding})
        changed = abs(other.value("n_findings") - view.value("n_findings"))
        assert changed <= view.value("n_rounding_sensitive")
    # 34.2 as a mean of 8 whole numbers: 274/8 = 34.25 is 34.2 by half-even and by truncation only
    assert view.value("n_rounding_sensitive") >= 3


def test_parameters_are_checked(package):
    with pytest.raises(TypeError, match="missing \\['rounding'\\]"):
        audit.build(package, {})
    with pytest.raises(InputError, match="rounding"):
        audit.build(package, {"rounding": "ceiling"})
