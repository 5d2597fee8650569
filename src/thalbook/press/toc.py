"""The book's contents: the chapters ``_toc.yml`` lists, the parameters each notebook declares, the other sources.

Examples
--------
>>> [c.name for c in chapters()][:2]
['background', 'methods']
>>> next(c for c in chapters() if c.name == "audit").declared
('rounding',)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from thalbook.core import notebooks
from thalbook.core.errors import BuildError

#: The book's sources besides its chapters (staged beside them, and part of the book's key).
BOOK_FILES = ("_config.yml", "_toc.yml", "intro.md", "references.bib", "CITATION.cff")


@dataclass(frozen=True)
class Chapter:
    """One entry of ``_toc.yml``: a notebook (executed) or a Markdown page.

    ``declared`` lists the parameters the notebook's ``parameters`` cell
    defines; the chapter receives exactly those.
    """

    name: str
    source: Path
    declared: tuple[str, ...] = ()

    @property
    def is_notebook(self) -> bool:
        return self.source.suffix == ".ipynb"


def chapters() -> list[Chapter]:
    """Return the chapters in ``_toc.yml`` order, with their declared parameters.

    Raises
    ------
    thalbook.core.errors.BuildError
        An entry names neither a notebook nor a Markdown file.
    """
    try:
        sources = notebooks.entries()
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    return [Chapter(source.stem, source, declared_parameters(source) if source.suffix == ".ipynb" else ())
            for source in sources]


def declared_parameters(source: Path) -> tuple[str, ...]:
    """The names the ``parameters`` cell assigns, as ``papermill.inspect_notebook`` finds them.

    A cell of plain ``name = value`` lines (the book's own) is read by
    :func:`thalbook.core.notebooks.parameters_cell`: importing papermill costs a
    rebuild with nothing to execute a quarter of its time. Any other cell is
    left to papermill itself.
    """
    try:
        return notebooks.parameters_cell(source)
    except (ValueError, SyntaxError):
        import papermill

        return tuple(sorted(papermill.inspect_notebook(str(source))))


def code_size(chapter: Chapter) -> int:
    """Characters of code in a notebook chapter: a guess at its length when it never ran."""
    cells = json.loads(chapter.source.read_bytes()).get("cells", [])
    return sum(len("".join(c.get("source", ""))) for c in cells if c.get("cell_type") == "code")
