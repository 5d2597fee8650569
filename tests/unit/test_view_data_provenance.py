"""The data chapter's view, built without a kernel, against the chapter and the CSV files.

Expected counts are read from the data files with the csv module; the
chapter's prose and display cells are read from the notebook. The chapter
opens with a summary of the package; each file's full table is folded
beneath its heading (a dropdown in HTML, printed whole in the PDF).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import chapter_cells, chapter_prose
from thalbook.chapters import data_provenance

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "chapters" / "data_provenance.ipynb"
DATA = ROOT / "data"


@pytest.fixture(scope="module")
def view(default_view):
    return default_view("data_provenance")


def resources() -> list[dict]:
    return json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))["resources"]


def csv_rows(path: str) -> list[dict[str, str]]:
    with (DATA / path).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- against the chapter


def test_each_file_is_shown_under_its_own_heading(view):
    # the heading of a file's section is the markdown cell just before the cell that shows its table
    for before, cell in zip(chapter_cells(NOTEBOOK), chapter_cells(NOTEBOOK)[1:], strict=False):
        found = re.findall(r'view\.show\("(tbl-data-[^"]+)"\)', "".join(cell["source"]))
        if found and found != ["tbl-data-summary"]:  # the summary of every file has a section of its own
            heading = re.findall(r"^## (\S+)\.csv$", "".join(before["source"]), flags=re.M)[-1]
            assert found == [data_provenance.table_name(heading)]


# ---------------------------------------------------------------- against the CSV files


def test_counts_are_those_of_the_csv_files(view):
    rows = {r["name"]: csv_rows(r["path"]) for r in resources()}
    assert view.value("n_files") == len(rows) == len(list(DATA.glob("*.csv")))
    assert view.value("n_rows") == sum(len(r) for r in rows.values())
    assert view.value("n_quotes") == sum(len(r) for r in rows.values() if r and "quote" in r[0])
    assert view.value("n_notes") == sum(1 for r in rows.values() for row in r if row.get("note"))
    roles = [r["role"] for r in rows["studies"]]
    assert (view.value("n_sources"), view.value("n_context")) == (roles.count("source"), roles.count("context"))


def test_each_file_table_has_every_row_its_caption_names_the_file_and_it_is_folded(view):
    # the two files without quotes: the measures' definitions, the appraisal's judgements in the book's words
    shown_with = {"measures": "its definition", "appraisal": "its reason"}
    for resource in resources():
        myst = view.tables[data_provenance.table_name(resource["name"])]
        body = sum(1 for line in myst.splitlines() if line.startswith("* - ")) - 1
        assert body == len(csv_rows(resource["path"])), resource["name"]
        # folded: the table stands in a dropdown whose title counts its rows
        lines = myst.splitlines()
        assert lines[0].replace("\\", "") == (f":::{{dropdown}} All {body} rows of {resource['path']}, each with "
                                               f"{shown_with.get(resource['name'], 'its quote')}")
        assert lines[-1] == ":::"
        caption = next(line for line in lines if line.startswith("````{list-table}")).replace("\\", "")
        assert caption.startswith(f"````{{list-table}} {resource['path']}: "), caption


def test_the_summary_counts_each_files_rows_by_study(view):
    rows = re.findall(r"^\* - (.*)\n((?:  - .*\n?)+)", view.tables["tbl-data-summary"], flags=re.M)
    table = {first: [c.removeprefix("  - ") for c in rest.splitlines()] for first, rest in rows}
    sources = [r["study_id"] for r in csv_rows("studies.csv") if r["role"] == "source"]
    totals = [0] * (len(sources) + 3)
    for resource in resources():
        data = csv_rows(resource["path"])
        cells = table[f"`{resource['name']}.csv`"]
        expected = [len(data)]
        if data and "study_id" in data[0]:
            expected += [sum(r["study_id"] == s for r in data) for s in sources]
            expected.append(sum(r["study_id"] not in sources for r in data))
        expected.append(sum(1 for r in data if r.get("note")) if data and "note" in data[0] else None)
        numbers = [int(c) if c.isdigit() else None for c in cells]
        assert numbers[0] == expected[0] and numbers[-1] == expected[-1], resource["name"]
        if len(expected) > 2:
            assert numbers == expected, resource["name"]
        totals = [t + (n or 0) for t, n in zip(totals, numbers, strict=True)]
    assert table["**all files**"] == [f"**{t}**" for t in totals]
    assert int(table["**all files**"][0].strip("*")) == view.value("n_rows")
    assert "{numref}`tbl-data-summary`" in chapter_prose(NOTEBOOK)


def test_the_download_list_names_every_file(view):
    links = re.findall(r"\{published\}`([^ ]+) <", view.tables["data-downloads"])
    assert sorted(links) == sorted(["datapackage.json", "README.md", *(p.name for p in DATA.glob("*.csv"))])


# ---------------------------------------------------------------- the studies, for other chapters


def test_the_study_overview_and_the_context_studies(package):
    studies = csv_rows("studies.csv")
    overview = data_provenance.study_overview(package)
    assert list(overview.columns) == [s["citation_key"] for s in studies if s["role"] == "source"]
    assert overview.loc["disease"].tolist() == ["Crohn's disease", "ankylosing spondylitis"]
    enrolled = {r["study_id"]: r["value"] for r in csv_rows("study_facts.csv") if r["fact"] == "enrolled"}
    assert overview.loc["patients", "wei2003"].startswith(f"{enrolled['wei2003']} enrolled, all ")
    context = data_provenance.context_overview(package)
    assert context["study"].tolist() == [f"{{cite:t}}`{s['citation_key']}`" for s in studies
                                         if s["role"] == "context"]
    assert isinstance(context, pd.DataFrame) and context["enrolled"].str.len().gt(0).all()
