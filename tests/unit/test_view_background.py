"""The background chapter's view, built from the real data package without a kernel.

Expected numbers come from the papers and from the data files read with the
csv module; the names the view must hold come from the chapter notebook.
"""

from __future__ import annotations

import csv
import re

import nbformat
import pytest

from tests.conftest import ROOT
from thalbook.core import paths

NOTEBOOK = ROOT / "chapters" / "background.ipynb"
GLUED = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)|```\{glue:figure\}\s+(\S+)")


@pytest.fixture(scope="module")
def view(default_view):
    return default_view("background")


@pytest.fixture(scope="module")
def cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def test_every_name_the_prose_glues_is_a_value_and_every_value_is_used(view, cells):
    prose = {a or b for c in cells if c.cell_type == "markdown" for a, b in GLUED.findall(c.source)}
    assert prose - set(view.values) == set()
    assert set(view.values) - prose == set()


def test_the_studies_as_the_papers_describe_them(view):
    # He et al.: "47 patients ... received 50-100 mg of thalidomide daily"; Wei et al.: 13 men, 6 months,
    # on a stable background treatment for at least 3 months
    assert (view.value("he_enrolled"), view.value("he_dose")) == (47, "50–100 mg/day")
    assert (view.value("wei_enrolled"), view.value("wei_months"), view.value("wei_background_months")) == (13, "6", "3")


def test_the_trial_in_children_that_the_crohns_paper_starts_from(view):
    # Lazzerini et al. 2013 (JAMA): remission at week 8 in 46.4% on thalidomide against 11.5% on placebo
    k, n = view.value("lazzerini_thalidomide_k"), view.value("lazzerini_thalidomide_n")
    placebo_k, placebo_n = view.value("lazzerini_placebo_k"), view.value("lazzerini_placebo_n")
    assert (k, n, placebo_k, placebo_n) == (13, 28, 3, 26)
    assert (f"{100 * k / n:.1f}", f"{100 * placebo_k / placebo_n:.1f}") == ("46.4", "11.5")
    assert view.value("lazzerini_when") == "week 8"


def test_the_context_studies_are_counted_and_listed(view):
    with (paths.project().data / "studies.csv").open(encoding="utf-8", newline="") as fh:
        context = [row for row in csv.DictReader(fh) if row["role"] == "context"]
    assert view.value("n_context") == len(context)
    table = view.tables["tbl-background-context"]
    assert sum(line.startswith("* - ") for line in table.splitlines()) == len(context) + 1  # and the header
    for row in context:
        assert f"{{cite:t}}`{row['citation_key']}`" in table
    studies = view.tables["tbl-background-studies"]
    assert "{cite:t}`he2017`" in studies and "{cite:t}`wei2003`" in studies
