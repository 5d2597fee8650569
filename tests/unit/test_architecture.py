"""The house keeps its shape: three floors, imports going down only, no cycles, thin chapters.

Read from the source with ``ast``, so that a violation is found without
importing anything. Floors, lowest first: ``thalbook.core``, ``thalbook.chapters``,
``thalbook.build`` (see CONTRIBUTING.md).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "thalbook"
FLOORS = ("core", "chapters", "build")
#: What the first floor may not import: it must run without Jupyter, Sphinx or papermill.
NOT_IN_CORE = ("IPython", "ipykernel", "jupyter_client", "jupyter_book", "myst_nb", "nbclient", "nbformat",
               "papermill", "sphinx", "matplotlib", "seaborn")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, package: str) -> list[str]:
    """Every module name ``path`` imports, relative imports resolved against ``package``."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def floor(name: str) -> int | None:
    parts = name.split(".")
    return FLOORS.index(parts[1]) if len(parts) > 1 and parts[0] == "thalbook" and parts[1] in FLOORS else None


def graph() -> dict[str, set[str]]:
    known = modules()
    edges = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges[name] = {m for m in imported(path, package) if m in known and m != name}
    return edges


def test_every_module_lives_on_a_floor():
    stray = [name for name in modules() if name != "thalbook" and floor(name) is None]
    assert not stray, f"modules outside thalbook.core, thalbook.chapters and thalbook.build: {stray}"


def test_imports_go_down_only():
    upward = [f"{name} imports {target}" for name, targets in graph().items() for target in targets
              if floor(name) is not None and floor(target) is not None and floor(target) > floor(name)]
    assert not upward, upward


def test_the_core_imports_no_jupyter_sphinx_or_plotting():
    found = []
    for name, path in modules().items():
        if floor(name) == 0:
            found += [f"{name} imports {m}" for m in imported(path, name) if m.split(".")[0] in NOT_IN_CORE]
    assert not found, found


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*stack[stack.index(target):], target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, cycles


def test_the_architecture_page_names_every_module():
    page = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    missing = [name for name in modules() if name != "thalbook" and f"`{name.removeprefix('thalbook.')}`" not in page]
    assert not missing, f"CONTRIBUTING.md does not name: {missing}"


# --------------------------------------------------------------------------- thin chapters

#: Longest code cell a chapter may have (the parameters cell included).
MAX_CELL_LINES = 10


def chapter_cells() -> list[tuple[str, int, str]]:
    cells = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                cells.append((path.stem, index, "".join(cell["source"])))
    return cells


def data_ids() -> set[str]:
    """Every row id and study id of the data package: a chapter names none of them."""
    ids = set()
    for path in (ROOT / "data").glob("*.csv"):
        lines = path.read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        for column in ("id", "study_id"):
            if column in header:
                k = header.index(column)
                ids |= {line.split(",")[k] for line in lines[1:] if line}
    return ids


CELLS = chapter_cells()


@pytest.mark.parametrize(("chapter", "index", "source"), CELLS, ids=[f"{c}-{i}" for c, i, _ in CELLS])
def test_a_chapter_cell_is_thin(chapter: str, index: int, source: str):
    where = f"{chapter}.ipynb cell {index}"
    lines = [ln for ln in source.splitlines() if ln.strip()]
    assert len(lines) <= MAX_CELL_LINES, f"{where}: {len(lines)} lines of code (at most {MAX_CELL_LINES})"
    tree = ast.parse(source)
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)), \
            f"{where}: defines a function or class; it belongs in thalbook.chapters.{chapter}"
        assert not isinstance(node, (ast.BinOp, ast.AugAssign, ast.Compare)), \
            f"{where}: computes ({ast.unparse(node)}); the view computes, the chapter shows"
        assert not isinstance(node, (ast.For, ast.While, ast.comprehension)), f"{where}: loops"
        if isinstance(node, ast.Call):
            assert "DataFrame" not in ast.unparse(node.func), f"{where}: builds a DataFrame"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(n.startswith("thalbook.build") for n in names), f"{where}: imports the build floor"
    ids = data_ids()
    named = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and n.value in ids]
    assert not named, f"{where}: names rows of the data package {named}; the view looks them up"
