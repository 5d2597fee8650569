"""The two efficacy chapters: executed with default and non-default parameters.

The glued values of each executed chapter must equal what ``thalbook.core.analyses.efficacy``
computes for the same parameters (and, for the key counts, what a hand
calculation gives); every figure and table must reach the HTML page and the
PDF. The default build is the session's ``built_book``; the non-default
parameter set is run with papermill on the two notebooks alone.
"""

from __future__ import annotations

import functools
import html
import importlib
import re
import subprocess
from pathlib import Path

import nbformat
import papermill
import pytest
from scipy import stats as scipy_stats

from tests.conftest import ROOT, chapter_defaults, glued
from thalbook.core.analyses import changes, efficacy
from thalbook.core.evidence import data

CHAPTERS = ("crohns_results", "as_results")
DEFAULT = chapter_defaults("crohns_results")
OTHER = {"confidence_level": 0.9, "ci_method": "clopper-pearson", "analysis_set": "reported"}


@pytest.fixture(scope="module")
def executed_other(tmp_path_factory) -> Path:
    """The two chapters executed by papermill with the non-default parameters."""
    out = tmp_path_factory.mktemp("efficacy_other")
    for chapter in CHAPTERS:
        papermill.execute_notebook(
            str(ROOT / "chapters" / f"{chapter}.ipynb"),
            str(out / f"{chapter}.ipynb"),
            parameters=OTHER,
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=300,
        )
    return out


def expected_crohns(package, params: dict) -> dict:
    args = (params["analysis_set"], params["ci_method"], params["confidence_level"])
    remission = efficacy.remission_table(package, *args).set_index("week")
    endoscopy = efficacy.endoscopy_table(package, *args).set_index("outcome")
    values = {}
    for week in (4, 8, 12, 24):
        row = remission.loc[week]
        values |= {
            f"w{week}_k": int(row["k"]),
            f"w{week}_n": int(row["n"]),
            f"w{week}_pct": 100 * row["proportion"],
            f"w{week}_low": 100 * row["low"],
            f"w{week}_high": 100 * row["high"],
        }
    for outcome, short in (("endoscopic_response", "er"), ("mucosal_healing", "mh")):
        row = endoscopy.loc[outcome]
        values |= {
            f"{short}_k": int(row["k"]),
            f"{short}_n": int(row["n"]),
            f"{short}_low": 100 * row["low"],
            f"{short}_high": 100 * row["high"],
            f"{short}_best": 100 * row["best"],
            f"{short}_worst": 100 * row["worst"],
        }
    return values


def expected_as(package, params: dict) -> dict:
    asas = efficacy.asas_by_analysis_set(package, params["ci_method"], params["confidence_level"])
    row = asas[(asas["outcome"] == "asas20") & (asas["analysis_set"] == params["analysis_set"])].iloc[0]
    values = {
        "asas_k": int(row["k"]),
        "asas_n": int(row["n"]),
        "asas_low": 100 * row["low"],
        "asas_high": 100 * row["high"],
        "asas20_itt_n": 13,
        "asas20_reported_n": 10,
        "asas20_complete_case_n": 8,
    }
    outcomes = changes.as_outcomes_table(package, params["confidence_level"]).set_index(["measure", "week"])
    for (measure, week), r in outcomes.iterrows():
        values |= {
            f"{measure}_w{week}_change": r["change"],
            f"{measure}_w{week}_change_low": r["change_low"],
            f"{measure}_w{week}_t_p_max": r["t_p_max"],
        }
    return values


def assert_glued(values: dict[str, str], expected: dict) -> None:
    for key, want in expected.items():
        assert key in values, f"{key} is not glued"
        got = values[key]
        if isinstance(want, int):
            assert int(got) == want, key
        else:
            assert float(got) == pytest.approx(want, rel=1e-12, abs=1e-12), key


# ---------------------------------------------------------------- glued values


def test_default_glue_equals_the_package(built_book: Path, package):
    crohns = glued(built_book / "executed" / "crohns_results.ipynb")
    assert_glued(crohns, expected_crohns(package, DEFAULT))
    # hand calculation: 23.4% of 47 is 11/47; the Wilson interval through scipy
    assert (crohns["w8_k"], crohns["w8_n"]) == ("11", "47")
    low, high = scipy_stats.binomtest(11, 47).proportion_ci(0.95, method="wilson")
    assert float(crohns["w8_low"]) == pytest.approx(100 * low)
    assert float(crohns["w8_high"]) == pytest.approx(100 * high)
    spondylitis = glued(built_book / "executed" / "as_results.ipynb")
    assert_glued(spondylitis, expected_as(package, DEFAULT))
    assert (spondylitis["asas_k"], spondylitis["asas_n"]) == ("8", "13")


def test_non_default_glue_equals_the_package(executed_other: Path, package):
    crohns = glued(executed_other / "crohns_results.ipynb")
    assert_glued(crohns, expected_crohns(package, OTHER))
    low, high = scipy_stats.binomtest(11, 47).proportion_ci(0.9, method="exact")
    assert float(crohns["w8_low"]) == pytest.approx(100 * low)
    spondylitis = glued(executed_other / "as_results.ipynb")
    assert_glued(spondylitis, expected_as(package, OTHER))
    assert (spondylitis["asas_k"], spondylitis["asas_n"]) == ("8", "10")


def test_the_analysis_set_changes_what_it_should(built_book: Path, executed_other: Path):
    default = {c: glued(built_book / "executed" / f"{c}.ipynb") for c in CHAPTERS}
    other = {c: glued(executed_other / f"{c}.ipynb") for c in CHAPTERS}
    # endoscopic response: 13/34 under ITT, 13/19 as reported
    assert (default["crohns_results"]["er_n"], other["crohns_results"]["er_n"]) == ("34", "19")
    # remission is ITT in the paper: the same counts under both sets, other intervals
    assert default["crohns_results"]["w8_n"] == other["crohns_results"]["w8_n"] == "47"
    assert default["crohns_results"]["w8_low"] != other["crohns_results"]["w8_low"]
    assert other["crohns_results"]["set_name"] == "'as reported'"
    assert (default["as_results"]["asas_n"], other["as_results"]["asas_n"]) == ("13", "10")


def test_chapters_are_deterministic(built_book: Path, tmp_path: Path):
    for chapter in CHAPTERS:
        again = tmp_path / f"{chapter}.ipynb"
        papermill.execute_notebook(
            str(ROOT / "chapters" / f"{chapter}.ipynb"),
            str(again),
            parameters=DEFAULT,
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=300,
        )
        first = nbformat.read(built_book / "executed" / f"{chapter}.ipynb", as_version=4)
        second = nbformat.read(again, as_version=4)
        outputs = [[o.get("data") for o in c.get("outputs", [])] for c in first.cells if c.cell_type == "code"]
        repeat = [[o.get("data") for o in c.get("outputs", [])] for c in second.cells if c.cell_type == "code"]
        assert outputs == repeat, chapter


# ---------------------------------------------------------------- figures and tables


@functools.cache
def view_captions(chapter: str) -> dict[str, str]:
    """Table name -> caption, from the chapter's view module (default parameters)."""
    view = importlib.import_module(f"thalbook.chapters.{chapter}").build(data.load(), DEFAULT)
    return {name: re.match(r"`+\{list-table\} (.*)", myst).group(1) for name, myst in view.tables.items()}


def declared(chapter: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(name, caption, alt) of each figure and (name, caption) of each table the notebook declares."""
    nb = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    figures, tables = [], []
    for cell in nb.cells:
        meta = cell.metadata.get("mystnb", {})
        if "figure" in meta:
            figures.append((meta["figure"]["name"], meta["figure"]["caption"].split("{")[0], meta["image"]["alt"]))
        for name, caption in re.findall(r'"(tbl-[a-z-]+)",\s*f?"([^"]+)"', cell.source):
            tables.append((name, caption.split("{")[0]))
        # a chapter with a view shows its tables by name; the caption is the view's
        for name in re.findall(r'\.show\("(tbl-[a-z-]+)"\)', cell.source):
            tables.append((name, view_captions(chapter)[name].split("{")[0]))
    return figures, tables


def test_every_figure_and_table_is_named_captioned_and_described():
    for chapter in CHAPTERS:
        figures, tables = declared(chapter)
        assert len(figures) >= 3 and len(tables) >= 4, chapter
        nb = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        for name, caption, alt in figures:
            assert len(caption) > 40 and len(alt) > 60 and not alt.endswith(".png"), name
            assert f"{{numref}}`{name}`" in prose, f"{name} is not referenced from the prose"
        for name, _ in tables:
            assert f"{{numref}}`{name}`" in prose, f"{name} is not referenced from the prose"


def test_figures_and_tables_are_in_the_html(built_book: Path):
    for chapter in CHAPTERS:
        page = (built_book / "html" / "chapters" / f"{chapter}.html").read_text()
        figures, tables = declared(chapter)
        for name, _, alt in figures:
            assert f'id="{name}"' in page, name
            shown = re.escape(html.escape(alt, quote=False).replace('"', "&quot;"))  # as Sphinx writes attributes
            match = re.search(rf'<img alt="{shown}" src="([^"]+\.svg)"', page)
            assert match, f"{name}: no SVG image with its alt text"
            assert (built_book / "html" / "chapters" / match.group(1)).resolve().is_file(), name
        for name, _ in tables:
            assert re.search(rf'id="{name}"', page), name


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _svg_labels(built_book: Path, chapter: str, name: str) -> list[str]:
    """The texts of figure ``name``'s SVG, as the HTML book shows it."""
    import xml.etree.ElementTree as ET

    page = (built_book / "html" / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
    src = re.search(rf'id="{name}".*?<img [^>]*src="([^"]+\.svg)"', page, re.S).group(1)
    root = ET.parse(built_book / "html" / "chapters" / src).getroot()
    return [t for t in ("".join(e.itertext()).strip() for e in root.iter("{http://www.w3.org/2000/svg}text")) if t]


def test_figures_and_tables_are_in_the_pdf(built_book: Path):
    pdf = built_book / "pdf" / "book.pdf"
    pages = [
        _alnum(p)
        for p in subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split(
            "\f"
        )
    ]
    for chapter in CHAPTERS:
        figures, tables = declared(chapter)
        for name, caption, _ in figures:
            start = _alnum(caption)[:60]
            found = [i + 1 for i, text in enumerate(pages) if start in text]
            assert found, f"{name}: caption not in the PDF"
            # the figure is vector graphics whose text stays text: its longest labels are on the caption's page
            labels = sorted(_svg_labels(built_book, chapter, name), key=len, reverse=True)[:3]
            assert labels, f"{name}: no text in its SVG"
            assert any(_alnum(label) in pages[found[0] - 1] for label in labels), (
                f"{name}: none of {labels} on page {found[0]}")
        for name, caption in tables:
            assert any(_alnum(caption)[:50] in text for text in pages), f"{name}: caption not in the PDF"
