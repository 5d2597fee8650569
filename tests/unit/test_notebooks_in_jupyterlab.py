"""Every chapter notebook reads in JupyterLab as its page reads in the book, checked without a kernel.

jupyterlab-myst shows a ``{glue:text}`` role as its key and ``{cite:p}`` and
``{numref}`` as unresolved keys, so each markdown cell holding one is folded
in JupyterLab (but a warning, which shows before anything runs) and followed
by a code cell, removed from the book, that shows it filled in:
``view.prose("<the cell's id>")`` (``thalbook.chapters.prose``).
Here each such pair is found in place, and each cell is filled in with its
chapter's view under the default parameters, as a kernel would, leaving no
role unresolved. That the book's text does not change is the build's to show
(the HTML and PDF tests read the pages).
"""

from __future__ import annotations

import re

import nbformat
import pytest

from thalbook.chapters import prose
from thalbook.chapters.prose import Figure
from thalbook.core import paths

NOTEBOOKS = sorted(paths.project().chapters.glob("*.ipynb"))
PROSE_CALL = re.compile(r'^view\.prose\("([^"]+)"\)$')
#: Role syntax that jupyterlab-myst would show raw or flag as unresolved.
UNRESOLVED = re.compile(r"\{(?:glue(?::\w+)?|cite(?::\w+)?|numref)\}`")
#: A warning a reader must see before anything runs (the safety chapter's): never folded.
WARNING = re.compile(r"^(`{3,}|:{3,})\{(danger|warning)\}", re.M)


def cells(notebook) -> list:
    return nbformat.read(notebook, as_version=4).cells


def prose_cells() -> list[tuple[str, str]]:
    return [(notebook.stem, cell.id) for notebook in NOTEBOOKS for cell in cells(notebook)
            if cell.cell_type == "markdown" and prose.needs_filling(cell.source)]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_each_cell_jupyterlab_cannot_resolve_is_folded_and_followed_by_its_filled_prose(notebook):
    found = cells(notebook)
    build = next(i for i, c in enumerate(found) if c.cell_type == "code" and re.search(r"^view = ", c.source, re.M))
    for index, cell in enumerate(found):
        folded = cell.metadata.get("jupyter", {}).get("source_hidden", False)
        if cell.cell_type == "markdown":
            needs = prose.needs_filling(cell.source)
            assert folded == (needs and not WARNING.search(cell.source)), \
                f"{cell.id}: folded in JupyterLab exactly when it needs filling in, unless it holds a warning"
            if needs:
                after = found[index + 1] if index + 1 < len(found) else None
                assert after is not None and after.cell_type == "code", f"{cell.id}: no code cell after it"
                assert after.source == f'view.prose("{cell.id}")', f"{cell.id}: followed by {after.source!r}"
                assert index > build, f"{cell.id}: before the cell that builds the view"
        elif (match := PROSE_CALL.match(cell.source)):
            assert found[index - 1].id == match[1], f"{cell.id}: shows {match[1]}, not the cell above it"
            assert cell.metadata.get("tags") == ["remove-cell"], f"{cell.id}: the book must not show it"
            assert not folded and not cell.outputs
        else:
            assert "view.prose" not in cell.source, f"{cell.id}: a prose call among other code"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_no_heading_is_folded_away_before_the_chapter_runs(notebook):
    """A folded cell shows its first line only: the headings stay cells of their own where a cell can lose one."""
    for cell in cells(notebook):
        if cell.metadata.get("jupyter", {}).get("source_hidden"):
            lines = [ln for ln in cell.source.splitlines() if ln.strip()]
            headings = [ln for ln in lines if re.match(r"#{1,6} ", ln)]
            assert headings in ([], lines[:1]), f"{cell.id}: a heading folded away: {headings}"


@pytest.mark.parametrize(("chapter", "cell_id"), prose_cells(), ids=[i for _, i in prose_cells()])
def test_each_prose_cell_fills_in_with_its_chapters_view(chapter, cell_id, default_view):
    values = default_view(chapter).values
    parts = prose.filled(cell_id, values)
    text = "\n".join(p for p in parts if isinstance(p, str))
    assert parts and not UNRESOLVED.search(text), f"{cell_id}: {UNRESOLVED.search(text)}"
    for figure in (p for p in parts if isinstance(p, Figure)):
        assert type(values[figure.name]).__name__ == "Figure", figure


def test_the_crohns_chapter_reads_with_its_numbers_in_jupyterlab(default_view):
    values = default_view("crohns_results").values

    def read(*cell_ids: str) -> str:  # as a reader sees it: lines joined
        return " ".join(" ".join(str(p) for cell in cell_ids for p in prose.filled(cell, values)).split())

    assert read("crohns_results-00-1").startswith(
        "He et al. \\[He et al., 2017\\] treated 47 adults with active Crohn's disease, dependent on, resistant to "
        "or intolerant of corticosteroids, immunomodulators or biologics, with 50 to 100 mg of thalidomide a day")
    text = read("crohns_results-05-3", "crohns_results-07-1", "crohns_results-16-3")
    assert "Table 3.1 lists, for every percentage the record gives" in text
    assert "23.4% at week 8 is 11 of 47" in text
    assert f"{values['placebo_pct']:.1f}% of children on placebo were in remission at week 8" in text
    assert "\\[Lazzerini et al., 2013\\]" in text and "(Fig. 3.1)" in text
