"""The modules behind the back matter and the methods chapter: thalbook.chapters.tables,
thalbook.chapters.data_provenance, thalbook.chapters.audit, thalbook.chapters.methods and
thalbook.press.record.

Expected values come from the data files read with the csv module, from
scipy, from counting by hand, or from the MyST rendered by markdown-it (the
parser MyST itself uses). What each audit check means is read from the audit
chapter's own markdown, where it is written.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
import scipy.stats
from markdown_it import MarkdownIt

from thalbook.chapters import audit as audit_view
from thalbook.chapters import data_provenance, methods, tables
from thalbook.core import paths, vocabulary
from thalbook.core.auditing import checks
from thalbook.core.errors import InputError
from thalbook.press import record


@pytest.fixture(scope="module")
def audited(package):
    return checks.run_audit(package)


def _audit_prose() -> str:
    """The markdown of the audit chapter's section on the inconsistencies, where each check is explained."""
    cells = json.loads((paths.project().chapters / "audit.ipynb").read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells
                if c["cell_type"] == "markdown" and "## The inconsistencies in plain words" in "".join(c["source"]))


def _explanations() -> dict[str, str]:
    """Check name -> its explanation, from the definition list in the audit chapter (continuation lines joined)."""
    found = re.findall(r"^`([a-z-]+)`\n: (.+?)(?=\n\n|\Z)", _audit_prose(), flags=re.M | re.S)
    return {name: " ".join(text.split()) for name, text in found}


def _rows_of(myst: str) -> int:
    """Body rows of a list-table: top-level bullets minus the header row."""
    return sum(1 for line in myst.splitlines() if line.startswith("* - ")) - 1


# --------------------------------------------------------------------------
# tables


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("> 20% but < 40%", "&gt; 20% but &lt; 40%"),
        ("1. first", "1. first"),
        ("- item", "- item"),
        ("study_start *x* [y]", "study_start *x* [y]"),
        ("`code` | pipe", "`code` | pipe"),
    ],
)
def test_escaped_text_renders_as_itself(text, rendered):
    html = MarkdownIt("commonmark").render(tables.escape(text)).strip()
    assert html == f"<p>{rendered}</p>"


def test_every_column_is_at_least_as_wide_as_its_longest_word_and_the_table_fits_the_line():
    rows = [["`announced-vs-reported`", "short", "a sentence of many short words that wraps"]]
    widths = tables.column_widths(["check", "n", "what"], rows, preferred=[10, 10, 80])
    # hand count: 21 characters of code at 1.25, plus 3 of padding, for the first column
    assert widths[0] >= 21 * 1.25 + 3 - 0.5
    assert sum(widths) <= tables.LINE_CHARS + 1
    assert widths[2] < 80 * tables.LINE_CHARS / 100  # the room was taken from the widest column
    # a hyphenated identifier may break at its hyphens: only its longest part must fit
    assert tables.column_widths(["id"], [["he2017-study-start-abs-methods"]], preferred=[5]) == [tables.LINE_CHARS]


def test_list_table_shape_and_errors():
    myst = tables.list_table([["a", ""], ["c", "d"]], ["x", "y"], "Cap  tion", "tbl-x", widths=[1, 3])
    lines = myst.splitlines()
    assert lines[0] == "````{list-table} Cap tion" and lines[-1] == "````"
    # the preferred widths 1 : 3, scaled to the 88 characters of a line
    assert ":name: tbl-x" in lines and ":widths: 22 66" in lines and ":header-rows: 1" in lines
    assert "  - \u2014" in lines  # an empty cell is an em dash
    assert _rows_of(myst) == 2
    with pytest.raises(ValueError, match="row 1"):
        tables.list_table([["only one"]], ["x", "y"], "c", "n")
    with pytest.raises(ValueError, match="widths"):
        tables.list_table([], ["x", "y"], "c", "n", widths=[1])


def test_frame_table_escapes_all_but_markup_columns():
    frame = pd.DataFrame({"plain": ["*a*"], "markup": ["**b**"]})
    myst = tables.frame_table(frame, "c", "n", markup=["markup"])
    assert "* - \\*a\\*" in myst and "  - **b**" in myst


# --------------------------------------------------------------------------
# data_provenance: the data files


def test_raw_tables_are_the_files_as_written(package):
    raw = data_provenance.raw_tables(package.data_dir)
    descriptor = json.loads((package.data_dir / "datapackage.json").read_text())
    assert list(raw) == [r["name"] for r in descriptor["resources"]]
    for resource in descriptor["resources"]:
        with open(package.data_dir / resource["path"], newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert raw[resource["name"]].to_dict("records") == rows, resource["name"]


def test_every_row_of_every_file_is_shown_with_its_quote(package):
    for name, table in data_provenance.raw_tables(package.data_dir).items():
        shown = data_provenance.file_rows(name, table)
        assert len(shown) == len(table), name
        assert shown["reports"].str.len().gt(0).all(), name
        myst = data_provenance.file_table(name, table, "A file.", f"{name}.csv")
        assert _rows_of(myst) == len(table), name
        if "quote" in table:
            for quote, cell in zip(table["quote"], shown["quote"], strict=True):
                html = MarkdownIt("commonmark").render(cell)
                assert " ".join(quote.split()).replace("&", "&amp;").replace("<", "&lt;").replace(
                    ">", "&gt;").replace('"', "&quot;") in html, (name, quote)


def test_reported_keeps_numbers_as_printed():
    row = pd.Series({"measure": "basdai", "timepoint_week": "24", "comparison": "week 24 vs baseline",
                     "mean": "3.1", "sd": "2.08", "n": "", "p_value": "0.0156", "unit": ""})
    expected = "basdai week 24: 3.1 ± 2.08, p = 0.0156 (week 24 vs baseline)"
    assert data_provenance.reported("continuous_outcomes", row) == expected
    with pytest.raises(InputError):
        data_provenance.reported("nonsense", row)


def test_the_download_list_links_every_file(package):
    listed = data_provenance.download_list(package.data_dir)
    expected = ["datapackage.json", "README.md", *sorted(p.name for p in package.data_dir.glob("*.csv"))]
    links = [line.split("`")[1] for line in listed.splitlines()]
    assert sorted(links) == sorted(f"{name} <data/{name}>" for name in expected)
    assert all(line.startswith("- {published}`") for line in listed.splitlines())


def test_the_results_list_links_the_descriptor_and_every_resource():
    listed = data_provenance.results_list()
    links = [line.split("`")[1] for line in listed.splitlines()]
    names = ["datapackage.json", "inferred_counts.csv", "intervals.csv", "changes.csv", "multiverse.csv",
             "audit.csv", "findings.csv", "minors.csv", "certainty.csv", "registration.csv",
             "harms_reporting.csv"]
    assert links == [f"{name} <results/{name}>" for name in names]


def test_study_labels(package):
    labels = data_provenance.study_labels(package)
    assert labels["he2017"] == "He et al. 2017" and labels["lazzerini2013"] == "Lazzerini et al. 2013"
    assert len(labels) == len(package.studies)


# --------------------------------------------------------------------------
# audit: the audit chapter


def test_order_audit_puts_inconsistencies_first_and_loses_nothing(package, audited):
    ordered = audit_view.order_audit(audited, list(package.studies["study_id"]))
    assert len(ordered) == len(audited)
    assert sorted(map(tuple, ordered.astype(str).values)) == sorted(map(tuple, audited.astype(str).values))
    for study, rows in ordered.groupby("study", sort=False):
        ranks = rows["status"].map({s: i for i, s in enumerate(audit_view.STATUS_ORDER)}).tolist()
        assert ranks == sorted(ranks), study
    studies = [s for s in package.studies["study_id"] if s in set(audited["study"])]
    assert list(dict.fromkeys(ordered["study"])) == studies


def test_each_study_table_has_a_row_per_check(package, audited):
    ordered = audit_view.order_audit(audited, list(package.studies["study_id"]))
    labels = data_provenance.study_labels(package)
    total = 0
    for study in dict.fromkeys(ordered["study"]):
        myst = audit_view.audit_table(ordered, study, labels)
        assert f":name: audit-rows-{study}" in myst
        total += _rows_of(myst)
    assert total == len(audited)


def test_every_inconsistency_is_explained_in_plain_words(package, audited):
    explanations = _explanations()
    assert set(audited["check"]) <= set(explanations)
    table = audit_view.findings_table(audited, data_provenance.study_labels(package))
    bad = audited[audited["status"].eq("inconsistent")]
    # one row per finding, and every inconsistent check behind one of them
    assert sorted(re.findall(r"^\* - ([a-z][a-z0-9]*-[a-z0-9-]+)$", table, flags=re.M)) == sorted(set(bad["finding"]))
    for detail in bad.drop_duplicates("finding")["detail"]:
        assert tables.escape(detail) in table
    assert "found no problem" in audit_view.findings_table(audited.iloc[0:0], {})


# --------------------------------------------------------------------------
# methods


def test_interval_comparison_matches_scipy():
    table = methods.interval_comparison([("x", 11, 47)], 0.9).set_index("method")
    exact = scipy.stats.binomtest(11, 47).proportion_ci(0.9, method="exact")
    wilson = scipy.stats.binomtest(11, 47).proportion_ci(0.9, method="wilson")
    assert table.loc["clopper-pearson", "low"] == pytest.approx(exact.low, abs=1e-9)
    assert table.loc["wilson", "high"] == pytest.approx(wilson.high, abs=1e-9)
    assert list(table.index) == list(vocabulary.CI_METHODS)
    assert (table["width"] == table["high"] - table["low"]).all()


def test_lattice_counts_sign_patterns():
    table = methods.lattice(8, 0.1)
    # W+ <= 0: 1 pattern, <= 1: 2, <= 2: 3 ({}, {1}, {2}), <= 3: 5 ({3}, {1,2}), <= 4: 7 ({4}, {1,3}), of 2^8
    assert table["count"].tolist()[:5] == [1, 2, 3, 5, 7]
    assert table["p"].tolist()[:2] == [float(Fraction(2, 256)), float(Fraction(4, 256))]
    assert table["p"].max() <= 0.1


def test_every_audit_check_is_described(audited):
    assert set(audited["check"]) <= set(methods.CHECKS)


def test_parameter_table_and_effects():
    declared = {"methods": ("analysis_set", "ci_method", "confidence_level"), "audit": ("rounding",)}
    table = methods.parameter_table({"rounding": "half-up"}, declared).set_index("parameter")
    assert table.loc["`rounding`", "chapters that use it"] == "audit"
    assert table.loc["`rounding`", "default"] == "`half-up`"
    assert "`wilson`" in table.loc["`ci_method`", "allowed values"]
    effects = methods.parameter_effects()
    assert all(f"`{name}`\n: " in effects for name in vocabulary.EFFECTS)


# --------------------------------------------------------------------------
# record


def test_record_lists_every_parameter_its_chapters_and_checksums(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "a.csv").write_bytes(b"x\n1\n")
    (data_dir / "datapackage.json").write_text('{"resources": [{"name": "a", "path": "a.csv"}]}')
    params = {"ci_method": "jeffreys", "rounding": "half-up"}
    text = record.render(params, {"methods": ("ci_method",), "audit": ("rounding",)},
                         {"methods": {"seconds": 2.25, "executed_at": "t1"},
                          "audit": {"seconds": 1.0, "executed_at": "t2"}}, data_dir)
    assert "* - `ci_method`\n  - `jeffreys` (default `wilson`)" in text
    assert "* - `rounding`\n  - `half-up`\n" in text
    assert "* - `ci_method`\n  - methods\n" in text and "* - `rounding`\n  - audit\n" in text
    assert "--set ci_method=jeffreys --set rounding=half-up" in text
    assert "* - methods\n  - 2.2\n" in text or "* - methods\n  - 2.3\n" in text
    assert "In all 3.2 seconds" in text
    # sha256sum format, so that a reader can check downloads with `sha256sum -c`
    digest = hashlib.sha256(b"x\n1\n").hexdigest()
    assert f"{digest}  a.csv" in text


def test_allowed_values_in_words():
    assert vocabulary.allowed("analysis_set") == "`itt`, `reported`, `complete-case`"
    assert vocabulary.allowed("nonexistent") == "see `params.py`"


def test_effects_cover_every_parameter():
    from thalbook.press.params import SCHEMA

    assert set(vocabulary.EFFECTS) == set(SCHEMA["properties"])


def test_paths_used_by_the_back_matter_exist():
    assert Path(paths.project().citation).is_file() and Path(paths.project().references).is_file()
