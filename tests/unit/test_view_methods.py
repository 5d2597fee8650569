"""The methods view, built without a kernel, against the chapter and independent sources.

Counts are read from the data files with the csv module, intervals come from
statsmodels' ``proportion_confint`` called here, the Wilcoxon lattice is counted
by hand, and the parameters' chapters from the build floor's own reading of
``_toc.yml``. The chapter's prose and display cells are read from the notebook.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import chapter_defaults, chapter_prose, csv_rows
from thalbook.chapters import methods, tables
from thalbook.core import notebooks
from thalbook.core.auditing import checks
from thalbook.press import params
from thalbook.press import toc as book_toc

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "chapters" / "methods.ipynb"
DEFAULT = chapter_defaults("methods")
OTHER = {"confidence_level": 0.9, "ci_method": "clopper-pearson", "analysis_set": "complete-case"}
#: statsmodels' names of the four methods.
STATSMODELS = {"wilson": "wilson", "clopper-pearson": "beta", "jeffreys": "jeffreys", "agresti-coull": "agresti_coull"}


@pytest.fixture(scope="module")
def view(default_view):
    return default_view("methods")


@pytest.fixture(scope="module")
def other(package):
    return methods.build(package, OTHER)


def row(name: str, row_id: str) -> dict[str, str]:
    return next(r for r in csv_rows(name) if r["id"] == row_id)


# ---------------------------------------------------------------- against the chapter


def test_the_check_table_in_the_prose_lists_every_check_once(view, package):
    table = chapter_prose(NOTEBOOK).split(":name: tbl-methods-checks", 1)[1].split("````", 1)[0]
    named = re.findall(r"^\* - `([a-z-]+)`$", table, flags=re.M)
    assert named == list(methods.CHECKS)
    assert set(checks.run_audit(package)["check"]) <= set(named)
    for check in methods.CHECKS:
        assert f"{{glue:text}}`{methods.check_count_name(check)}`" in table


# ---------------------------------------------------------------- against independent sources


def test_extraction_counts_are_the_csv_files(view):
    descriptor = json.loads((ROOT / "data" / "datapackage.json").read_text(encoding="utf-8"))
    files = [r["path"] for r in descriptor["resources"]]
    assert view.value("n_files") == len(files)
    assert view.value("n_rows") == sum(len(csv_rows(f)) for f in files)
    places = {r["location"] for f in files for r in csv_rows(f) if "location" in r}
    assert view.value("n_places") == len(places)


def test_the_parameters_table_is_what_the_build_floor_reads(view):
    declared = {c.name: c.declared for c in book_toc.chapters() if c.is_notebook}
    assert notebooks.declared_parameters() == declared
    assert notebooks.defaults() == params.resolve()
    table = view.tables["tbl-methods-parameters"]
    assert "* - `rounding`\n  - `half-up`, `half-even`, `truncation`\n  - `half-up`\n  - audit" in table
    users = ", ".join(c for c, names in declared.items() if "ci_method" in names)
    assert f"  - `wilson`\n  - {tables.escape(users)}\n" in table


def test_week_8_remission_is_the_printed_percentage_of_47(view):
    printed = row("binary_outcomes.csv", "he2017-remission-w8-abs-results")
    assert view.value("w8_percent") == float(printed["percent"]) == 23.4
    assert (view.value("w8_k"), view.value("w8_n")) == (round(23.4 * 47 / 100), 47) == (11, 47)


def test_the_intervals_match_statsmodels(view, other):
    for built, level in ((view, 0.95), (other, 0.9)):
        table = built.tables["tbl-methods-intervals"]
        for method, name in STATSMODELS.items():
            low, high = proportion_confint(11, 47, alpha=1 - level, method=name)
            assert f"{100 * low:.1f}% to {100 * high:.1f}%" in table, (method, level)
    # no neuropathy among the 13 enrolled: the upper limits of the four methods, from statsmodels
    enrolled = int(row("study_facts.csv", "wei2003-enrolled-abs-methods")["value"])
    assert int(row("adverse_events.csv", "wei2003-neuropathy-results")["count"]) == 0
    highs = [min(proportion_confint(0, enrolled, alpha=0.05, method=m)[1], 1) for m in STATSMODELS.values()]
    assert view.value("zero_high_min") == pytest.approx(100 * min(highs))
    assert view.value("zero_high_max") == pytest.approx(100 * max(highs))
    assert view.value("zero_n") == enrolled == 13


def test_the_analysis_sets_follow_the_printed_counts(view, other):
    asas = row("binary_outcomes.csv", "wei2003-asas20-results")
    completed = int(row("study_facts.csv", "wei2003-completed-abs-results")["value"])
    assert (view.value("asas_k"), view.value("asas_n")) == (int(asas["count"]), int(asas["denominator"]))
    assert (view.value("set_k"), view.value("set_n")) == (8, 13)
    assert (other.value("set_k"), other.value("set_n")) == (8, completed)
    low, high = proportion_confint(8, 13, alpha=0.05, method="wilson")
    assert f"61.5% ({100 * low:.1f}% to {100 * high:.1f}%)" in view.tables["tbl-methods-analysis-sets"]
    assert "**itt** (in force)" in view.tables["tbl-methods-analysis-sets"]
    assert "**complete-case** (in force)" in other.tables["tbl-methods-analysis-sets"]


def test_the_lattice_and_the_rounding_tie(view):
    # 8 pairs: 2^8 sign patterns; W = 0 for one of them, W <= 1 for two, both two-sided
    assert view.value("lattice_patterns") == 256
    assert view.value("lattice_p0") == f"{2 / 256:.6f}" and view.value("lattice_p1") == f"{4 / 256:.6f}"
    esr = row("continuous_outcomes.csv", "wei2003-esr-w24-results")
    assert view.value("esr_mean") == esr["mean"] == "34.2"
    # 34.2 x 8 = 273.6: totals 273 and 274, means 34.125 and 34.25; the tie rounds up to 34.3, to even 34.2
    assert (view.value("esr_t1"), view.value("esr_t2")) == (273, 274)
    assert (view.value("esr_up"), view.value("esr_even")) == ("34.3", "34.2")


def test_check_counts_add_up_to_the_audit(view, package):
    ran = checks.run_audit(package)
    counts = {c: view.value(methods.check_count_name(c)) for c in methods.CHECKS}
    assert sum(counts.values()) == len(ran)
    assert counts["grim"] == int(ran["check"].eq("grim").sum())
    assert view.value("n_check_kinds") == len(methods.CHECKS)

