"""The pipeline end to end: build, parameters, cache, atomic publish."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import papermill

from tests.conftest import ROOT, glued, seed_cache, thalbook, tree_digest

NOTEBOOK_CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))


def test_book_builds_html_and_pdf(built_book: Path):
    html = built_book / "html"
    assert (html / "index.html").is_file()
    for chapter in NOTEBOOK_CHAPTERS + ["citing", "reproducibility"]:
        assert (html / "chapters" / f"{chapter}.html").is_file(), chapter
    pdf = built_book / "pdf" / "book.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_every_chapter_shows_its_parameters_and_hides_the_injected_cell(built_book: Path):
    for chapter in NOTEBOOK_CHAPTERS:
        page = (built_book / "html" / "chapters" / f"{chapter}.html").read_text()
        assert "Parameters of this run" in page, chapter
        # papermill's injected cell starts with this comment; the book must not show it
        assert "# Parameters" not in page, chapter
    executed = nbformat.read(built_book / "executed" / "crohns_results.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata.tags


def test_reproducibility_page_lists_every_parameter(built_book: Path):
    page = (built_book / "html" / "chapters" / "reproducibility.html").read_text()
    for name in ("confidence_level", "ci_method", "analysis_set", "rounding"):
        assert name in page
    for chapter in NOTEBOOK_CHAPTERS:
        assert re.search(rf"<td><p>{chapter}</p></td>\s*<td><p>\d+\.\d</p></td>", page), chapter


def test_each_chapter_receives_only_what_it_declares(built_book: Path):
    record = json.loads((built_book / "run.json").read_text())
    for chapter in NOTEBOOK_CHAPTERS:
        nb = nbformat.read(built_book / "executed" / f"{chapter}.ipynb", as_version=4)
        received = set(nb.metadata.papermill.parameters)
        declared = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(declared) == 1, f"{chapter}: exactly one parameters cell"
        assert received <= set(record["params"])
        source = declared[0].source
        assert received == set(re.findall(r"^(\w+)(?:: \w+)? =", source, re.M)), chapter


def test_rebuild_with_nothing_changed_executes_nothing(built_book: Path):
    proc = thalbook("build", "--format", "all", "--out", str(built_book))
    assert proc.returncode == 0, proc.stderr
    assert "executed " not in proc.stderr and "executing" not in proc.stderr
    assert proc.stderr.count("cached") == len(NOTEBOOK_CHAPTERS)
    assert "html      up to date" in proc.stderr and "pdf       up to date" in proc.stderr


def test_changing_one_parameter_reexecutes_only_the_chapters_that_declare_it(tmp_path: Path, built_book: Path):
    out = seed_cache(built_book, tmp_path / "_book")
    proc = thalbook("run", "--out", str(out), "--set", "rounding=half-even")
    assert proc.returncode == 0, proc.stderr
    executed = re.findall(r"executed\s+(\w+)", proc.stderr)
    declaring = [c for c in NOTEBOOK_CHAPTERS
                 if "rounding" in papermill.inspect_notebook(str(ROOT / "chapters" / f"{c}.ipynb"))]
    assert executed and sorted(executed) == sorted(declaring)
    # Every finding present under both conventions has the same identifier in both results packages: it is
    # named for what it is about, not for where the audit met it. Half-even rounding drops one finding.
    import csv
    import json

    def findings(package: Path) -> dict[str, str]:
        with (package / "findings.csv").open(encoding="utf-8") as f:
            return {row["finding"]: row["quantity"] for row in csv.DictReader(f)}

    (entry,) = [d for d in (out / "cache" / "results").iterdir()
                if json.loads((d / "datapackage.json").read_text())["parameters"]["rounding"] == "half-even"]
    default, other = findings(built_book / "html" / "results"), findings(entry)
    assert set(other) < set(default) and len(default) - len(other) == 1
    for finding in other:
        assert other[finding] == default[finding], finding


def test_non_default_parameter_set_changes_what_it_should(tmp_path: Path, built_book: Path):
    out = tmp_path / "sensitivity"
    proc = thalbook("build", "--params", "params/sensitivity.yml", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "html" / "index.html").is_file()
    default = glued(built_book / "executed" / "crohns_results.ipynb")
    other = glued(out / "executed" / "crohns_results.ipynb")
    # a 90% Clopper-Pearson interval differs from a 95% Wilson interval...
    assert default["w8_low"] != other["w8_low"] and default["w8_high"] != other["w8_high"]
    # ...the count behind the reported percentage does not...
    assert default["w8_k"] == other["w8_k"]
    # ...and a chapter without those parameters is the same
    background = glued(built_book / "executed" / "background.ipynb")
    assert background and background == glued(out / "executed" / "background.ipynb")
    # the default book is untouched by a build into another --out
    assert "clopper-pearson" in (out / "html" / "chapters" / "crohns_results.html").read_text()
    assert "clopper-pearson" not in (built_book / "html" / "chapters" / "crohns_results.html").read_text()


def test_failing_chapter_leaves_the_published_book_untouched(project_copy: Path):
    first = thalbook("build", "--format", "html", project=project_copy)
    assert first.returncode == 0, first.stderr
    html = project_copy / "_book" / "html"
    before = tree_digest(html)

    nb_path = project_copy / "chapters" / "safety.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('planted failure')"))
    nbformat.write(nb, nb_path)

    proc = thalbook("build", "--format", "html", project=project_copy)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "safety" in last and "planted failure" in last and "cell" in last
    assert (project_copy / "_book" / "failed" / "safety.ipynb").is_file()
    assert tree_digest(html) == before
    assert "Traceback" not in proc.stderr


def test_jupyter_book_first_then_the_build_publishes_the_whole_book(project_copy: Path):
    """What a Jupyter Book user types first is refused; the build then publishes every number and figure."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(project_copy / "src")}
    jb = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", "."], cwd=project_copy,
                        env=env, capture_output=True, text=True, timeout=300)
    assert jb.returncode == 2, jb.stdout + jb.stderr
    proc = thalbook("build", "--format", "html", project=project_copy)
    assert proc.returncode == 0, proc.stderr
    html = project_copy / "_book" / "html"
    safety = (html / "chapters" / "safety.html").read_text(encoding="utf-8")
    # every glued number is there ("with  to  mg" is what Jupyter Book alone would publish)
    pasted = re.findall(r'<span class="pasted-text">([^<]*)</span>', safety)
    assert len(pasted) > 50 and all(text.strip() for text in pasted), pasted[:10]
    assert "50\u2013100 mg" in safety
    assert len(list((html / "_images").glob("*.svg"))) >= 14
