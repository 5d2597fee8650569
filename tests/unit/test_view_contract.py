"""What every chapter's view owes its notebook, checked for each notebook chapter of ``_toc.yml``.

A chapter notebook builds its view once and then only shows what the view
holds: every name its prose glues, every table and figure it shows, and the
parameters its ``parameters`` cell declares must be the view's; the view
refuses parameters the notebook does not declare, and leaves no figure open.
What is particular to a chapter (its numbers, against independent sources)
is in its own ``test_view_<chapter>.py``.
"""

from __future__ import annotations

import importlib
import re

import matplotlib.pyplot as plt
import pytest

from tests.conftest import DEFAULTS, chapter_defaults, chapter_prose, shown_names
from thalbook.chapters import audit as audit_view
from thalbook.core import notebooks, paths
from thalbook.core.errors import InputError

CHAPTERS = sorted(p.stem for p in paths.project().chapters.glob("*.ipynb"))
#: A glued name in the prose, with its format spec if any: ``{glue:text}`name:spec``` or ``{glue}`name```.
GLUED = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")
GLUED_FIGURE = re.compile(r"```\{glue:figure\}\s+(\S+)")
#: Back matter whose tables are looked up under their headings (one per data file, one per study), not cited.
LOOKED_UP = ("audit", "data_provenance")
#: A value of each choice parameter that no chapter accepts.
NOT_A_CHOICE = {"ci_method": "wald", "analysis_set": "per-protocol", "rounding": "ceiling"}


def notebook(chapter: str):
    return paths.project().chapters / f"{chapter}.ipynb"


def module(chapter: str):
    return importlib.import_module(f"thalbook.chapters.{chapter}")


def test_every_notebook_chapter_has_a_view_module():
    assert len(CHAPTERS) == 9
    for chapter in CHAPTERS:
        assert callable(module(chapter).build), chapter


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_glued_name_in_the_prose_is_a_value_of_the_view_and_fits_its_format(chapter, default_view):
    view, prose = default_view(chapter), chapter_prose(notebook(chapter))
    used = GLUED.findall(prose)
    assert used or chapter == "background", f"{chapter}: no glued name in its prose"
    missing = sorted({name for name, _ in used} - set(view.values))
    assert not missing, f"{chapter}: glued in the prose but not in the view: {missing}"
    for name, spec in used:
        format(view.value(name), spec)  # a format spec in the prose fits the value's type
    for name in GLUED_FIGURE.findall(prose):
        assert hasattr(view.value(name), "savefig"), f"{chapter}: {name} is glued as a figure"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_notebook_shows_every_table_and_figure_of_the_view_each_table_named_and_cited(chapter, default_view):
    view, prose = default_view(chapter), chapter_prose(notebook(chapter))
    shown = shown_names(notebook(chapter))
    assert len(shown) == len(set(shown)), f"{chapter}: a display is shown twice"
    assert set(shown) <= set(view.tables) | set(view.figures), f"{chapter}: shows what its view does not hold"
    unshown = (set(view.tables) | set(view.figures)) - set(shown)
    if chapter == "audit":  # the context studies' tables are shown in one display (test_view_audit.py)
        unshown = {name for name in unshown if f":name: {name}" not in view.tables[audit_view.CONTEXT_TABLES]}
    assert not unshown, f"{chapter}: its view holds what it never shows: {sorted(unshown)}"
    for name in shown:
        if name.startswith("tbl-"):
            assert f":name: {name}" in view.tables[name].splitlines()[:4], f"{chapter}: {name} is not its name"
            assert chapter in LOOKED_UP or f"{{numref}}`{name}`" in prose, f"{chapter}: {name} is never cited"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_view_declares_what_the_notebook_declares_and_runs_with_it(chapter, default_view):
    declared = module(chapter).PARAMETERS
    assert notebooks.parameters_cell(notebook(chapter)) == tuple(sorted(declared))
    assert default_view(chapter).params == {name: DEFAULTS[name] for name in declared}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_parameters_are_checked(chapter, package):
    build, given = module(chapter).build, chapter_defaults(chapter)
    for name in given:
        with pytest.raises(TypeError, match=rf"missing \['{name}'\]"):
            build(package, {k: v for k, v in given.items() if k != name})
    undeclared = next(name for name in DEFAULTS if name not in given)
    with pytest.raises(TypeError, match=rf"unexpected \['{undeclared}'\]"):
        build(package, {**given, undeclared: DEFAULTS[undeclared]})
    for name, wrong in NOT_A_CHOICE.items():
        if name in given:
            with pytest.raises(InputError, match=rf"{name}: '{wrong}' is not one of"):
                build(package, {**given, name: wrong})


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_build_leaves_no_figure_open(chapter, package):
    before = set(plt.get_fignums())
    built = module(chapter).build(package, chapter_defaults(chapter))
    assert set(plt.get_fignums()) == before
    assert all(not plt.fignum_exists(fig.number) for fig in built.figures.values() if hasattr(fig, "number"))
