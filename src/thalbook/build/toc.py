"""The book's contents: the chapters ``_toc.yml`` lists, the parameters each notebook declares, the other sources.

Examples
--------
>>> [c.name for c in chapters()][:2]
['background', 'methods']
>>> next(c for c in chapters() if c.name == "audit").declared
('rounding',)
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from thalbook.core import paths
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
    toc = yaml.safe_load((paths.ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entries = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    found = []
    for entry in entries:
        stem = paths.ROOT / entry
        candidates = [stem.with_suffix(s) for s in (".ipynb", ".md")]
        source = next((c for c in candidates if c.exists()), None)
        if source is None:
            raise BuildError(f"_toc.yml: {entry}: no such notebook or Markdown file")
        declared: tuple[str, ...] = ()
        if source.suffix == ".ipynb":
            declared = declared_parameters(source)
        found.append(Chapter(stem.name, source, declared))
    return found


def declared_parameters(source: Path) -> tuple[str, ...]:
    """The names the ``parameters`` cell assigns, as ``papermill.inspect_notebook`` finds them.

    A cell of plain ``name = value`` lines (the book's own) is read with ``ast``:
    importing papermill costs a rebuild with nothing to execute a quarter of its
    time. Anything else (other statements, a line with two ``=``, which papermill
    skips, another kernel language) is left to papermill itself.
    """
    nb = json.loads(source.read_bytes())
    language = (nb.get("metadata", {}).get("kernelspec", {}).get("language")
                or nb.get("metadata", {}).get("language_info", {}).get("name") or "python")
    cell = next((c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return ()
    text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    names: set[str] | None = set()
    try:
        body = ast.parse(text).body
    except SyntaxError:
        body, names = [], None
    for node in body:
        simple = (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                  and node.lineno == node.end_lineno
                  and ast.get_source_segment(text, node).count("=") == 1)
        if not simple or names is None:
            names = None
            break
        names.add(node.targets[0].id)
    if names is None or language != "python":
        import papermill

        return tuple(sorted(papermill.inspect_notebook(str(source))))
    return tuple(sorted(names))


def code_size(chapter: Chapter) -> int:
    """Characters of code in a notebook chapter: a guess at its length when it never ran."""
    cells = json.loads(chapter.source.read_bytes()).get("cells", [])
    return sum(len("".join(c.get("source", ""))) for c in cells if c.get("cell_type") == "code")
