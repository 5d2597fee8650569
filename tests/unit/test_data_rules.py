"""Each validation rule rejects a corrupted copy of the data package.

Every test copies ``data/`` into a temporary directory, breaks one thing and
checks that :func:`thalbook.core.evidence.validate.validate` reports it at the right file, row
and field; the real data is never touched.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest

from thalbook.chapters import data_provenance, diagrams, figures, tables
from thalbook.core import paths
from thalbook.core.analyses import changes, context, harms
from thalbook.core.errors import DataError, Problem
from thalbook.core.evidence import data, validate
from thalbook.press import cli

matplotlib.use("Agg")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(paths.project().data, target)
    return target


def _rows(directory: Path, file: str) -> tuple[list[str], list[dict[str, str]]]:
    with (directory / file).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(directory: Path, file: str, header: list[str], rows: list[dict[str, str]]) -> None:
    with (directory / file).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def edit(directory: Path, file: str, row_id: str, **changes: str) -> int:
    """Set cells of the row whose key is ``row_id``; return its line number."""
    header, rows = _rows(directory, file)
    key = header[0] if header[0] != "id" else "id"
    for index, row in enumerate(rows):
        if row[key] == row_id:
            row.update(changes)
            _write(directory, file, header, rows)
            return index + 2
    raise KeyError(row_id)


def problems_at(directory: Path, file: str, row: int | None = None,
                field: str | None = None) -> list[Problem]:
    return [p for p in validate.validate(directory) if p.file == file and (row is None or p.row == row)
            and (field is None or p.field == field)]


ANY = object()  # any row


def assert_reported(directory: Path, file: str, row: int | None | object, field: str, *words: str) -> Problem:
    everything = validate.validate(directory)
    found = [p for p in everything if p.file == file and p.field == field and (row is ANY or p.row == row)]
    listing = "\n".join(str(p) for p in everything)
    assert found, f"no problem at {file}:{row}: {field}; got:\n{listing}"
    for word in words:
        assert any(word in p.message for p in found), f"{word!r} not in {[str(p) for p in found]}"
    return found[0]


def test_clean_copy_validates(copy):
    assert validate.validate(copy) == []


# ------------------------------------------------------------- schema pass

def test_type_error(copy):
    line = edit(copy, "binary_outcomes.csv", "wei2003-gt50-abs-results", count="four")
    assert_reported(copy, "binary_outcomes.csv", line, "count", "not a valid integer")


def test_required_field_empty(copy):
    line = edit(copy, "adverse_events.csv", "wei2003-dry-mouth-results", quote="")
    assert_reported(copy, "adverse_events.csv", line, "quote", "required")


def test_enum(copy):
    line = edit(copy, "adverse_events.csv", "wei2003-dry-mouth-results", severity="extreme")
    assert_reported(copy, "adverse_events.csv", line, "severity", "not one of")


def test_pattern(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-basdai-w24-results",
                comparison="24 weeks vs baseline")
    assert_reported(copy, "continuous_outcomes.csv", line, "comparison", "pattern")


def test_percent_above_100(copy):
    line = edit(copy, "binary_outcomes.csv", "he2017-remission-w8-abs-results", percent="123.4")
    assert_reported(copy, "binary_outcomes.csv", line, "percent", "maximum")


def test_negative_count(copy):
    line = edit(copy, "withdrawals.csv", "wei2003-rash-abs-results", count="-3")
    assert_reported(copy, "withdrawals.csv", line, "count", "minimum")


def test_negative_sd(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-basdai-w24-results", sd="-2.08")
    assert_reported(copy, "continuous_outcomes.csv", line, "sd", "minimum")


def test_p_above_1(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-basdai-w24-results", p_value="1.0156")
    assert_reported(copy, "continuous_outcomes.csv", line, "p_value", "maximum")


def test_duplicate_id(copy):
    header, rows = _rows(copy, "withdrawals.csv")
    rows.append(dict(rows[0]))
    _write(copy, "withdrawals.csv", header, rows)
    assert_reported(copy, "withdrawals.csv", len(rows) + 1, "id", "duplicate id")


def test_unknown_study(copy):
    line = edit(copy, "study_facts.csv", "wei2003-age-mean-results", study_id="wei2004")
    assert_reported(copy, "study_facts.csv", line, "study_id", "'wei2004' not found in studies.csv")


def test_unknown_measure(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-basdai-w24-results", measure="basdai2")
    assert_reported(copy, "continuous_outcomes.csv", line, "measure", "not found in measures.csv")


# -------------------------------------------------------------- bad files

def test_missing_file(copy):
    (copy / "withdrawals.csv").unlink()
    problems = problems_at(copy, "withdrawals.csv")
    assert [(p.row, p.field) for p in problems] == [(None, "file")]
    assert "missing" in problems[0].message


def test_a_missing_file_does_not_hide_other_problems(copy):
    (copy / "studies.csv").unlink()
    line = edit(copy, "adverse_events.csv", "wei2003-dry-mouth-results", severity="awful")
    problems = validate.validate(copy)
    assert [p.field for p in problems if p.file == "studies.csv"] == ["file"]
    assert any(p.file == "adverse_events.csv" and p.row == line and p.field == "severity" for p in problems)
    assert not any(p.file not in ("studies.csv", "adverse_events.csv") for p in problems)


def test_unsafe_resource_path(copy):
    descriptor = json.loads((copy / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"].append({"name": "secrets", "path": "../../etc/passwd"})
    (copy / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    assert_reported(copy, "datapackage.json", None, f"resources[{len(descriptor['resources']) - 1}]", "plain file name")


def test_empty_file(copy):
    (copy / "measures.csv").write_bytes(b"")
    assert_reported(copy, "measures.csv", None, "file", "empty")


def test_non_utf8_file(copy):
    blob = (copy / "studies.csv").read_bytes()
    (copy / "studies.csv").write_bytes(blob.replace(b"Crohn's", "Crohn\xe9s".encode("latin-1"), 1))
    assert_reported(copy, "studies.csv", None, "file", "not UTF-8")


def test_byte_order_mark(copy):
    text = (copy / "measures.csv").read_text(encoding="utf-8")
    (copy / "measures.csv").write_text("\ufeff" + text, encoding="utf-8")
    assert_reported(copy, "measures.csv", None, "file", "byte-order mark")


def test_malformed_csv(copy):
    with (copy / "withdrawals.csv").open("a", encoding="utf-8") as fh:
        fh.write('wei2003-x,wei2003,"unclosed,adverse-event,1,,,false,results,q,\n')
    assert_reported(copy, "withdrawals.csv", ANY, "file", "malformed CSV")


def test_missing_column(copy):
    header, rows = _rows(copy, "measures.csv")
    header.remove("scale_max")
    for row in rows:
        del row["scale_max"]
    _write(copy, "measures.csv", header, rows)
    assert_reported(copy, "measures.csv", 1, "scale_max", "missing")


def test_extra_column(copy):
    header, rows = _rows(copy, "measures.csv")
    _write(copy, "measures.csv", header + ["colour"], [{**r, "colour": "red"} for r in rows])
    assert_reported(copy, "measures.csv", 1, "colour", "not described")
    # one header problem, not one per row
    assert [str(p) for p in validate.validate(copy)] == [
        "measures.csv:1: colour: column not described in datapackage.json"]


def test_duplicate_column(copy):
    text = (copy / "measures.csv").read_text(encoding="utf-8").splitlines()
    text[0] = text[0].replace("label", "unit", 1)
    (copy / "measures.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    assert_reported(copy, "measures.csv", 1, "unit", "twice")


def test_short_row(copy):
    with (copy / "measures.csv").open("a", encoding="utf-8") as fh:
        fh.write("pain,Pain\n")
    header, rows = _rows(copy, "measures.csv")
    assert problems_at(copy, "measures.csv", len(rows) + 1)


def test_missing_descriptor(copy):
    (copy / "datapackage.json").unlink()
    assert_reported(copy, "datapackage.json", None, "file", "missing")


def test_descriptor_not_json(copy):
    (copy / "datapackage.json").write_text("{not json", encoding="utf-8")
    assert_reported(copy, "datapackage.json", 1, "file", "not valid JSON")


def test_descriptor_without_resources(copy):
    (copy / "datapackage.json").write_text("[]", encoding="utf-8")
    assert_reported(copy, "datapackage.json", None, "resources", "missing")


def test_descriptor_drops_a_contract_column(copy):
    descriptor = json.loads((copy / "datapackage.json").read_text(encoding="utf-8"))
    measures = next(r for r in descriptor["resources"] if r["name"] == "measures")
    measures["schema"]["fields"] = [f for f in measures["schema"]["fields"] if f["name"] != "value_type"]
    (copy / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    assert_reported(copy, "datapackage.json", None, "resources.measures.schema", "value_type")


def test_invalid_schema_is_a_problem_not_a_traceback(copy):
    descriptor = json.loads((copy / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"][0]["schema"]["fields"][0]["type"] = "colour"
    (copy / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    problems = validate.validate(copy)
    assert problems and all(isinstance(p, Problem) for p in problems)
    assert any(p.file == "datapackage.json" for p in problems)


# --------------------------------------------------------- hand-written rules

def test_count_exceeds_denominator(copy):
    line = edit(copy, "binary_outcomes.csv", "wei2003-asas20-completers-table2", denominator="7")
    assert_reported(copy, "binary_outcomes.csv", line, "count", "exceeds denominator")


def test_context_denominator_exceeds_enrolled(copy):
    line = edit(copy, "context_outcomes.csv", "zhu2010-improvement-gt50", n_enrolled="200")
    assert_reported(copy, "context_outcomes.csv", line, "denominator", "exceeds n_enrolled")


def test_p_value_zero(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-basdai-w24-results", p_value="0")
    assert_reported(copy, "continuous_outcomes.csv", line, "p_value", "not within (0, 1]")


def test_number_not_plain(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-iga-w24-results", mean="5.05e2")
    assert_reported(copy, "continuous_outcomes.csv", line, "mean", "plain decimal")


def test_line_break_in_cell(copy):
    line = edit(copy, "study_facts.csv", "wei2003-age-mean-results", note="two\nlines")
    assert_reported(copy, "study_facts.csv", line, "note", "line break")


def test_id_without_study_prefix(copy):
    line = edit(copy, "adverse_events.csv", "wei2003-numbness-results", id="numbness-results")
    assert_reported(copy, "adverse_events.csv", line, "id", "does not start with")


def test_context_study_in_a_source_file(copy):
    line = edit(copy, "withdrawals.csv", "wei2003-rash-abs-results", study_id="zhu2010", id="zhu2010-rash")
    assert_reported(copy, "withdrawals.csv", line, "study_id", "context study")


def test_source_study_in_context_file(copy):
    line = edit(copy, "context_outcomes.csv", "zhu2010-withdrawal-ae", study_id="wei2003",
                id="wei2003-withdrawal-ae")
    assert_reported(copy, "context_outcomes.csv", line, "study_id", "source study")


def test_citation_key_missing_from_the_bibliography(copy):
    # the chapters cite a study by this key; references.bib has no entry he2017x
    line = edit(copy, "studies.csv", "he2017", citation_key="he2017x")
    assert_reported(copy, "studies.csv", line, "citation_key", "'he2017x' is no entry of references.bib")


def test_a_package_outside_any_project_is_valid_without_a_bibliography(copy, tmp_path):
    # a notebook run by hand in a copy of the chapters, as Jupyter Book's own execution does: no project
    # around, so no references.bib to check the keys against, and the package stays valid
    env = {k: v for k, v in os.environ.items() if k not in (paths.PROJECT_ENV, paths.DATA_DIR_ENV)}
    env["PYTHONPATH"] = str(paths.PACKAGE.parent)
    code = "import sys; from thalbook.core.evidence import validate; print(validate.validate(sys.argv[1]))"
    proc = subprocess.run([sys.executable, "-c", code, str(copy)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "[]", "")


def test_unit_differs_from_measure(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-crp-w24-results", unit="mg/l")
    assert_reported(copy, "continuous_outcomes.csv", line, "unit", "differs from the unit of 'crp'")


def test_fact_units_inconsistent(copy):
    line = edit(copy, "study_facts.csv", "wei2003-age-mean-table1", unit="months")
    assert_reported(copy, "study_facts.csv", line, "unit", "differs from the unit of 'age_mean'")


def test_row_reports_nothing(copy):
    line = edit(copy, "binary_outcomes.csv", "he2017-mucosal-healing-w24-abs-results", percent="")
    assert_reported(copy, "binary_outcomes.csv", line, "count", "reports none")


def test_p_value_on_baseline_row(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-basfi-baseline-for-w24-results", p_value="0.0078")
    assert_reported(copy, "continuous_outcomes.csv", line, "p_value", "follow-up row")


def test_pair_without_baseline(copy):
    header, rows = _rows(copy, "continuous_outcomes.csv")
    rows = [r for r in rows if r["id"] != "wei2003-iga-baseline-for-w24-results"]
    _write(copy, "continuous_outcomes.csv", header, rows)
    line = next(i + 2 for i, r in enumerate(rows) if r["id"] == "wei2003-iga-w24-results")
    assert_reported(copy, "continuous_outcomes.csv", line, "comparison", "0 baseline rows")


def test_week_outside_its_comparison(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-esr-w8-results", timepoint_week="12")
    assert_reported(copy, "continuous_outcomes.csv", line, "timepoint_week", "neither 0 nor")


DIZZY = "wei2003-dizziness-drowsiness-results"


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"week": "3"}, "relative_to", "keep the printed one"),
    ({"offset_weeks": ""}, "offset_weeks", "counts from 'wei2003-drug-eruption-results'"),
    ({"relative_to": "", "offset_weeks": "1"}, "relative_to", "offset_weeks is given"),
    ({"relative_to": DIZZY}, "relative_to", "the row itself"),
])
def test_a_relative_timing_is_whole_and_points_elsewhere(copy, changes, field, words):
    line = edit(copy, "withdrawals.csv", DIZZY, **changes)
    assert_reported(copy, "withdrawals.csv", line, field, words)


def test_a_relative_timing_must_name_an_existing_withdrawal(copy):
    line = edit(copy, "withdrawals.csv", DIZZY, relative_to="wei2003-nobody-results")
    assert_reported(copy, "withdrawals.csv", line, "relative_to",
                    "'wei2003-nobody-results' not found in withdrawals.csv")


def test_a_statement_topic_keeps_one_kind(copy):
    line = edit(copy, "statements.csv", "wei2003-withdrawal-reasons-results", kind="label")
    assert_reported(copy, "statements.csv", line, "kind", "topic 'withdrawal-reasons' is of kind 'reason'")


def test_an_analysis_statement_is_announced_or_reported(copy):
    line = edit(copy, "statements.csv", "wei2003-chi-square-methods", value="planned")
    assert_reported(copy, "statements.csv", line, "value", "'planned': an analysis is one of announced")


def test_mean_outside_scale(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-basfi-w24-abs-results", mean="30.6",
                quote="Mean BASFI improved from baseline to Week 24 (5.24 vs 30.6; p = 0.0078)")
    assert_reported(copy, "continuous_outcomes.csv", line, "mean", "outside the scale of basfi")


def test_scale_min_above_max(copy):
    line = edit(copy, "measures.csv", "cdeis", scale_min="50")
    assert_reported(copy, "measures.csv", line, "scale_min", "exceeds scale_max")


def test_quote_lacks_the_number(copy):
    line = edit(copy, "binary_outcomes.csv", "he2017-remission-w8-abs-results", percent="23.5")
    assert_reported(copy, "binary_outcomes.csv", line, "percent", "'23.5' does not appear in the quote")


def test_quote_lacks_the_printed_decimals(copy):
    line = edit(copy, "continuous_outcomes.csv", "wei2003-basdai-w24-results", mean="3.10")
    assert_reported(copy, "continuous_outcomes.csv", line, "mean", "'3.10' does not appear")


def test_quote_lacks_a_text_value(copy):
    line = edit(copy, "study_facts.csv", "he2017-study-start-abs-methods", value="February 2013")
    assert_reported(copy, "study_facts.csv", line, "value", "does not appear in the quote")


def test_spelled_out_numbers_count(copy):
    # "Three patients withdrew due to rash." holds 3 but not 4.
    line = edit(copy, "withdrawals.csv", "wei2003-rash-abs-results", count="4")
    assert_reported(copy, "withdrawals.csv", line, "count", "'4' does not appear")


# ------------------------------------------------------------ the report

def test_all_problems_in_one_run(copy):
    a = edit(copy, "binary_outcomes.csv", "he2017-remission-w4-abs-results", percent="101")
    b = edit(copy, "adverse_events.csv", "wei2003-dry-mouth-results", severity="awful")
    c = edit(copy, "measures.csv", "cdeis", scale_min="50")
    found = {(p.file, p.row, p.field) for p in validate.validate(copy)}
    assert {("binary_outcomes.csv", a, "percent"), ("adverse_events.csv", b, "severity"),
            ("measures.csv", c, "scale_min")} <= found


def test_problem_format(copy):
    line = edit(copy, "adverse_events.csv", "wei2003-dry-mouth-results", severity="awful")
    problem = assert_reported(copy, "adverse_events.csv", line, "severity")
    assert str(problem).startswith(f"adverse_events.csv:{line}: severity: ")


def test_problems_are_sorted_and_unique(copy):
    edit(copy, "measures.csv", "cdeis", scale_min="50")
    edit(copy, "studies.csv", "he2017", year="17")
    problems = validate.validate(copy)
    assert len(problems) == len(set(problems))
    files = [p.file for p in problems]
    assert files.index("studies.csv") < files.index("measures.csv")


def test_validate_never_raises_on_a_directory_that_is_a_file(tmp_path):
    target = tmp_path / "not-a-directory"
    target.write_text("x", encoding="utf-8")
    problems = validate.validate(target)
    assert problems and problems[0].file == "datapackage.json"


# ------------------------------------------------ what the chapters look up

def test_a_renamed_label_that_a_chapter_looks_up(copy):
    edit(copy, "adverse_events.csv", "wei2003-dry-mouth-results", event="mouth dryness")
    assert [str(p) for p in validate.validate(copy)] == [
        "adverse_events.csv: event: no row with study_id 'wei2003', location 'results', event 'dry mouth': "
        "the safety chapter looks it up"]


def test_a_fact_that_several_chapters_look_up(copy):
    header, rows = _rows(copy, "study_facts.csv")
    for row in rows:
        if row["study_id"] == "wei2003" and row["fact"] == "completed":
            row["fact"] = "completers"
    _write(copy, "study_facts.csv", header, rows)
    assert [str(p) for p in validate.validate(copy)] == [
        "study_facts.csv: fact: no row with study_id 'wei2003', fact 'completed': "
        "the methods, as_results and safety chapters look it up"]


def test_a_looked_up_id_deleted(copy):
    header, rows = _rows(copy, "cited_results.csv")
    _write(copy, "cited_results.csv", header, [r for r in rows if r["id"] != "wei2003-cited-huang-improved"])
    assert_reported(copy, "cited_results.csv", None, "id", "'wei2003-cited-huang-improved'", "as_results chapter")


# Columns of free text: no chapter finds a row by them.
_FREE_TEXT = {"quote", "note", "description", "title"}
_GLUE_REFERENCE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)|```\{glue:figure\}\s+(\S+)")


def _string_literals() -> dict[str, set[str]]:
    """Every string literal of the package's reading modules and the chapters' code -> where it stands.

    A query string (``"study_id == 'he2017'"``) also gives its quoted values.
    Literals only: a chapter that looks a row up writes the id or label out
    in full, never as an f-string, so that this scan finds it.
    """
    found: dict[str, set[str]] = {}

    def scan(source: str, where: str) -> None:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for text in {node.value, *re.findall(r"'([^']+)'", node.value)}:
                    found.setdefault(text, set()).add(where)

    # The validator and the loader, whose literals are the expectations themselves
    evidence = paths.PACKAGE / "core" / "evidence"
    validator = {evidence / name for name in ("data.py", "validate.py", "rules.py", "quotes.py")}
    assert all(path.is_file() for path in validator), validator
    for module in sorted(paths.PACKAGE.rglob("*.py")):
        if module not in validator:
            scan(module.read_text(encoding="utf-8"), module.name)
    for notebook in sorted(paths.project().chapters.glob("*.ipynb")):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code":
                scan(cell.source, notebook.name)
    return found


def _cells(directory: Path) -> dict[str, set[tuple[str, str]]]:
    """Every non-numeric, non-free-text cell of the package -> the (file, column) pairs holding it."""
    cells: dict[str, set[tuple[str, str]]] = {}
    for path in sorted(directory.glob("*.csv")):
        header, rows = _rows(directory, path.name)
        for row in rows:
            for column, value in row.items():
                if value and column not in _FREE_TEXT and not re.fullmatch(r"[0-9.]+", value):
                    cells.setdefault(value, set()).add((path.name, column))
    return cells


def _rename(directory: Path, file: str, column: str, old: str, new: str) -> None:
    header, rows = _rows(directory, file)
    for row in rows:
        if row[column] == old:
            row[column] = new
    _write(directory, file, header, rows)


def run_chapters(directory: Path, monkeypatch) -> dict[str, str]:
    """Run the code of every chapter in this process on the package in ``directory``.

    Figures shown or glued are drawn to PNG, as the notebook's display would.
    Returns chapter -> the failure: an exception, or a glued name that the
    chapter's prose refers to but its code did not glue (the build would fail).
    """
    import IPython.display
    import myst_nb

    glued: set[str] = set()

    def draw(value) -> None:
        if isinstance(value, plt.Figure):
            value.savefig(io.BytesIO(), format="png")

    monkeypatch.setenv(paths.DATA_DIR_ENV, str(directory))
    monkeypatch.setattr(IPython.display, "display", lambda *values, **_: [draw(v) for v in values])
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: (glued.add(name), draw(value)))
    failures = {}
    for notebook in sorted(paths.project().chapters.glob("*.ipynb")):
        glued.clear()
        cells = nbformat.read(notebook, as_version=4).cells
        namespace: dict = {"__name__": notebook.stem}
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                for cell in cells:
                    if cell.cell_type == "code":
                        exec(compile(cell.source, str(notebook), "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 - reported per chapter
            failures[notebook.stem] = f"{type(exc).__name__}: {exc}"
            continue
        finally:
            plt.close("all")
        referred = {a or b for c in cells if c.cell_type == "markdown" for a, b in _GLUE_REFERENCE.findall(c.source)}
        if referred - glued:
            failures[notebook.stem] = f"prose refers to values never glued: {sorted(referred - glued)}"
    return failures


def _schema_forbids(file: str, column: str, value: str) -> bool:
    """Whether the Table Schema of ``file`` rejects ``value`` in ``column`` (type, enum or pattern)."""
    descriptor = json.loads((paths.project().data / validate.DESCRIPTOR).read_text(encoding="utf-8"))
    resource = next(r for r in descriptor["resources"] if r["path"] == file)
    field = next(f for f in resource["schema"]["fields"] if f["name"] == column)
    constraints = field.get("constraints", {})
    return (field.get("type", "string") != "string" or value not in constraints.get("enum", [value])
            or not re.fullmatch(constraints.get("pattern", ".*"), value))


def _names(message: str, value: str) -> bool:
    """Whether a problem's message names ``value``, as it was or renamed."""
    return repr(value) in message or repr(value + "x") in message


def test_every_row_the_code_names_is_required_or_not_needed(tmp_path, copy, monkeypatch):
    """Rename each cell that a literal of the code names: the validator objects, or the chapters still run.

    Renamed in each (file, column) that holds it, one column at a time; a
    rename counts as objected to when a problem names the old or the new
    value. The renames the validator accepts are applied together to one
    package, on which every chapter must still run and glue everything its
    prose refers to (together, two renames could hide each other: code that
    tests for one fact and then reads another, as study_overview did, has its
    own test).
    """
    literals = _string_literals()
    by_column: dict[tuple[str, str], list[str]] = {}
    for value, places in sorted(_cells(copy).items()):
        for file, column in sorted(places) if value in literals else ():
            if not _schema_forbids(file, column, value + "x"):  # else the schema pass rejects it (test_enum, ...)
                by_column.setdefault((file, column), []).append(value)
    assert sum(map(len, by_column.values())) > 50  # the scan finds the lookups (ids, events, facts, ...)
    accepted = []
    for (file, column), values in by_column.items():
        trial = tmp_path / "trial"
        shutil.rmtree(trial, ignore_errors=True)
        shutil.copytree(copy, trial)
        for value in values:
            _rename(trial, file, column, value, value + "x")
        messages = [p.message for p in validate.validate(trial)]
        assert all(any(_names(m, v) for v in values) for m in messages), messages  # each names its culprit
        accepted += [(v, file, column) for v in values if not any(_names(m, v) for m in messages)]
    for value, file, column in accepted:
        _rename(copy, file, column, value, value + "x")
    assert validate.validate(copy) == []
    failures = run_chapters(copy, monkeypatch)
    renamed = "; ".join(f"{file} {column} {value!r}" for value, file, column in accepted)
    assert failures == {}, f"valid data the chapters cannot use: renamed {renamed}; failures: {failures}"


def test_the_study_overview_does_without_the_recruitment_period(copy):
    # It tested for study_start and then read study_end: a package without study_end failed the background chapter.
    header, rows = _rows(copy, "study_facts.csv")
    _write(copy, "study_facts.csv", header, [r for r in rows if r["fact"] != "study_end"])
    assert validate.validate(copy) == []
    overview = data_provenance.study_overview(data.load(copy))
    assert overview.loc["recruitment"].tolist() == ["not stated", "not stated"]


# ------------------------------------------------------ a '$' in a label

DOLLAR = r"(cost: $\notasymbol$)"  # between two $, mathtext would parse (and fail on) the rest


def _png_and_svg(figure) -> None:
    for fmt in ("png", "svg"):
        figure.savefig(io.BytesIO(), format=fmt)


def test_a_dollar_in_labels_is_drawn_as_text(copy):
    # Labels reach matplotlib, whose mathtext would parse $...$ and fail with an empty ValueError.
    edit(copy, "adverse_events.csv", "wei2003-drug-eruption-results", event=f"eruptions {DOLLAR}")
    edit(copy, "withdrawals.csv", "wei2003-drug-eruption-results", reason=f"eruptions {DOLLAR}")
    edit(copy, "measures.csv", "basdai", label=f"BASDAI {DOLLAR}")
    edit(copy, "context_outcomes.csv", "zhu2010-improvement-gt50", outcome_definition=f"improved {DOLLAR}")
    assert validate.validate(copy) == []
    pkg = data.load(copy)
    matplotlib.rcdefaults()  # each figure function sets the book's style itself
    events = harms.adverse_events(pkg)
    steps = harms.as_accounting(pkg, "wei2003")
    figures_drawn = [
        diagrams.events_figure(events, data_provenance.study_labels(pkg), 0.95),
        diagrams.flow_figure(steps, 13, 8, harms.dose_text(pkg, "wei2003"), "week 24"),
        figures.as_means(changes.as_outcomes_table(pkg), changes.CLINICAL_MEASURES, 10),
        figures.forest(context.context_table(pkg, "as"), "95% Wilson interval", "Responders (%)"),
    ]
    for figure in figures_drawn:
        _png_and_svg(figure)
        shown = [t.get_text() for ax in figure.axes for t in [*ax.get_yticklabels(), *ax.texts, ax.yaxis.label]]
        # as written, though perhaps wrapped onto two lines
        assert any(DOLLAR in text.replace("\n", " ") for text in shown), "the label is drawn as written"
        plt.close(figure)


def test_a_dollar_in_a_label_is_escaped_in_tables(copy):
    # MyST reads $...$ as inline maths; the tables escape it.
    edit(copy, "adverse_events.csv", "wei2003-drug-eruption-results", event=f"eruptions {DOLLAR}")
    events = harms.adverse_events(data.load(copy))
    myst = tables.frame_table(harms.adverse_event_table(events, 0.95), "Events.", "tbl-events")
    assert r"(cost: \$\\notasymbol\$)" in myst


# -------------------------------------------- the files of the data directory

def test_duplicate_column_names_its_own_file(copy):
    # studies.csv is referred to by every other file: the problem is its own, not theirs.
    header, rows = _rows(copy, "studies.csv")
    lines = (copy / "studies.csv").read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",journal", *(line + ",again" for line in lines[1:])]
    (copy / "studies.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert [str(p) for p in validate.validate(copy)] == ["studies.csv:1: journal: column appears twice in the header"]


def test_a_link_to_outside_the_package_is_reported(copy, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not for publication\n", encoding="utf-8")
    (copy / "README.md").unlink()
    (copy / "README.md").symlink_to(outside)
    problems = validate.validate(copy)
    assert [(p.file, p.row, p.field) for p in problems] == [("README.md", None, "file")]
    assert "symbolic link to outside the data package" in problems[0].message


def test_a_resource_linked_from_outside_is_not_read(copy, tmp_path):
    moved = tmp_path / "measures.csv"
    (copy / "measures.csv").rename(moved)
    (copy / "measures.csv").symlink_to(moved)
    problems = validate.validate(copy)
    assert [(p.file, p.field) for p in problems] == [("measures.csv", "file")]
    assert "symbolic link to outside" in problems[0].message


def test_a_link_inside_the_package_is_fine(copy):
    (copy / "measures-link.csv").symlink_to("measures.csv")
    assert validate.validate(copy) == []


def _finishes(call, timeout: float = 30):
    """Run ``call`` in a thread; fail, instead of hanging the suite, if it does not return in time."""
    outcome = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except Exception as exc:  # noqa: BLE001 - raised again in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "hangs (reading a FIFO waits for a writer)"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_reported_not_read(copy):
    os.mkfifo(copy / "notes.txt")
    (copy / "withdrawals.csv").unlink()
    os.mkfifo(copy / "withdrawals.csv")
    problems = _finishes(lambda: validate.validate(copy))
    assert [(p.file, p.row, p.field) for p in problems] == [("withdrawals.csv", None, "file"),
                                                            ("notes.txt", None, "file")]
    assert all("not a regular file but a FIFO" in p.message for p in problems)
    with pytest.raises(DataError, match="withdrawals.csv: file: not a regular file"):
        _finishes(lambda: data.load(copy))


def test_a_bad_data_directory_from_the_environment_is_named(monkeypatch, capsys, tmp_path):
    missing = tmp_path / "no-such-data"
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(missing))
    assert cli.main(["check-data"]) == 2
    assert capsys.readouterr().err == f"thalbook: error: {paths.DATA_DIR_ENV}={missing}: no such directory\n"
    assert cli.main(["check-data", "--data", str(missing)]) == 2
    assert capsys.readouterr().err == f"thalbook: error: --data {missing}: no such directory\n"
