"""The book's chapters as ``_toc.yml`` lists them, the parameters each declares, and the defaults.

A chapter declares the parameters it reads in its ``parameters`` cell, one
``name = value`` line each. This module reads those cells as JSON and
``ast``, without papermill or a kernel, so that the methods chapter can say
which chapters use which parameter. The default parameter set is
``params/default.yml`` as written; the build floor validates it.

Examples
--------
>>> declared = declared_parameters()
>>> list(declared)[:2]
['background', 'methods']
>>> declared["audit"]
('rounding',)
>>> defaults()["ci_method"]
'wilson'
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import yaml

from thalbook.core import paths, vocabulary


def entries(root: Path | str | None = None) -> list[Path]:
    """Every chapter ``_toc.yml`` lists, in book order, as its notebook or Markdown file.

    ``root`` is the project's directory; default: the project in force
    (:func:`thalbook.core.paths.project`).

    Raises
    ------
    ValueError
        If an entry names neither a notebook nor a Markdown file.
    """
    root = Path(root) if root is not None else paths.project().root
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    found = []
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            stem = root / chapter["file"]
            source = next((stem.with_suffix(s) for s in (".ipynb", ".md") if stem.with_suffix(s).exists()), None)
            if source is None:
                raise ValueError(f"_toc.yml: {chapter['file']}: no such notebook or Markdown file")
            found.append(source)
    return found


def parameters_cell(notebook: Path | str) -> tuple[str, ...]:
    """The names a notebook's ``parameters`` cell assigns, sorted (none without such a cell).

    Raises
    ------
    ValueError
        If the cell holds anything but ``name = value`` lines (papermill would
        read such a cell differently; the book's chapters never have one).

    Examples
    --------
    >>> parameters_cell(paths.project().chapters / "methods.ipynb")
    ('analysis_set', 'ci_method', 'confidence_level')
    """
    notebook = Path(notebook)
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    cell = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return ()
    text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    names = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        else:
            target = None
        if not (isinstance(target, ast.Name) and node.lineno == node.end_lineno):
            raise ValueError(f"{notebook.name}: the parameters cell must hold only `name: type = value` lines")
        names.append(target.id)
    return tuple(sorted(names))


def typed_parameter_line(name: str, default: Any) -> str:
    """The line of a ``parameters`` cell that declares ``name``: its type, default and allowed values.

    papermill reads the annotation as the type and the comment as the help
    (``papermill --help-notebook``); the values come from the one schema.

    Examples
    --------
    >>> typed_parameter_line("confidence_level", 0.95)
    'confidence_level: float = 0.95  # a number from 0.5 up to, not including, 1'
    >>> typed_parameter_line("analysis_set", "itt")
    'analysis_set: str = "itt"  # one of itt, reported, complete-case'
    """
    spec = vocabulary.SCHEMA["properties"][name]
    kind = "float" if spec.get("type") == "number" else "str"
    value = repr(default) if kind == "float" else f'"{default}"'
    words = vocabulary.allowed(name).replace("`", "")
    return f"{name}: {kind} = {value}  # {'one of ' if 'enum' in spec else ''}{words}"


def declared_parameters(root: Path | str | None = None) -> dict[str, tuple[str, ...]]:
    """Chapter name -> the parameters its notebook declares, for every notebook of ``_toc.yml``, in order."""
    return {source.stem: parameters_cell(source) for source in entries(root) if source.suffix == ".ipynb"}


def defaults(path: Path | str | None = None) -> dict[str, Any]:
    """The default parameter set, ``params/default.yml`` (default: the project's), as written (name -> value)."""
    path = Path(path) if path is not None else paths.project().default_params
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
