"""Each validation rule rejects a corrupted copy of the data package.

Every test copies ``data/`` into a temporary directory, breaks one thing and
checks that :func:`thalbook.data.validate` reports it at the right file, row
and field; the real data is never touched.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from thalbook import data, paths
from thalbook.errors import Problem


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(paths.DATA, target)
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
    return [p for p in data.validate(directory) if p.file == file and (row is None or p.row == row)
            and (field is None or p.field == field)]


ANY = object()  # any row


def assert_reported(directory: Path, file: str, row: int | None | object, field: str, *words: str) -> Problem:
    everything = data.validate(directory)
    found = [p for p in everything if p.file == file and p.field == field and (row is ANY or p.row == row)]
    listing = "\n".join(str(p) for p in everything)
    assert found, f"no problem at {file}:{row}: {field}; got:\n{listing}"
    for word in words:
        assert any(word in p.message for p in found), f"{word!r} not in {[str(p) for p in found]}"
    return found[0]


def test_clean_copy_validates(copy):
    assert data.validate(copy) == []


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
    problems = data.validate(copy)
    assert [p.field for p in problems if p.file == "studies.csv"] == ["file"]
    assert any(p.file == "adverse_events.csv" and p.row == line and p.field == "severity" for p in problems)
    assert not any(p.file not in ("studies.csv", "adverse_events.csv") for p in problems)


def test_unsafe_resource_path(copy):
    descriptor = json.loads((copy / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"].append({"name": "secrets", "path": "../../etc/passwd"})
    (copy / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    assert_reported(copy, "datapackage.json", None, "resources[9]", "plain file name")


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
    assert [str(p) for p in data.validate(copy)] == [
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
    problems = data.validate(copy)
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
    found = {(p.file, p.row, p.field) for p in data.validate(copy)}
    assert {("binary_outcomes.csv", a, "percent"), ("adverse_events.csv", b, "severity"),
            ("measures.csv", c, "scale_min")} <= found


def test_problem_format(copy):
    line = edit(copy, "adverse_events.csv", "wei2003-dry-mouth-results", severity="awful")
    problem = assert_reported(copy, "adverse_events.csv", line, "severity")
    assert str(problem).startswith(f"adverse_events.csv:{line}: severity: ")


def test_problems_are_sorted_and_unique(copy):
    edit(copy, "measures.csv", "cdeis", scale_min="50")
    edit(copy, "studies.csv", "he2017", year="17")
    problems = data.validate(copy)
    assert len(problems) == len(set(problems))
    files = [p.file for p in problems]
    assert files.index("studies.csv") < files.index("measures.csv")


def test_validate_never_raises_on_a_directory_that_is_a_file(tmp_path):
    target = tmp_path / "not-a-directory"
    target.write_text("x", encoding="utf-8")
    problems = data.validate(target)
    assert problems and problems[0].file == "datapackage.json"
