"""The house keeps its shape: three floors, imports going down only, no cycles, thin chapters.

Read from the source with ``ast``, so that a violation is found without
importing anything. Floors, lowest first: ``thalbook.core``, ``thalbook.chapters``,
``thalbook.press`` (see CONTRIBUTING.md).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "thalbook"
FLOORS = ("core", "chapters", "press")
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
    assert not stray, f"modules outside thalbook.core, thalbook.chapters and thalbook.press: {stray}"


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


#: The most lines a module may have: past it, a module holds more than one purpose.
MAX_MODULE_LINES = 600


def test_no_module_is_over_600_lines():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, long


def test_no_module_name_repeats_across_floors():
    # a name in two floors needs an alias wherever both are imported, and a reader must ask which one is meant
    by_leaf: dict[str, set[str]] = {}
    for name in modules():
        if floor(name) is not None and name.count(".") >= 2:
            by_leaf.setdefault(name.rsplit(".", 1)[1], set()).add(name)
    repeated = {leaf: sorted(names) for leaf, names in by_leaf.items()
                if len({floor(n) for n in names}) > 1 and leaf != "__init__"}
    assert not repeated, repeated


def test_each_room_of_the_core_says_its_purpose():
    rooms = [path for name, path in modules().items() if path.name == "__init__.py" and name.count(".") == 2
             and floor(name) == 0]
    assert len(rooms) >= 4, rooms
    for path in rooms:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and doc.splitlines()[0].startswith("The ") and doc.splitlines()[0].endswith("."), path


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
            assert not any(n.startswith("thalbook.press") for n in names), f"{where}: imports the build floor"
    ids = data_ids()
    named = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and n.value in ids]
    assert not named, f"{where}: names rows of the data package {named}; the view looks them up"


# --------------------------------------------------------------------------- the audit's English stays the audit's

#: The modules that write the audit's rows and their English (``quantity``, ``detail``), and so may read it:
#: the audit and its families of checks, the row shape, the findings, and the computations whose verdicts
#: carry a ``detail`` of their own (GRIM and the lattices in ``stats``, reconstructions, test methods).
AUDIT_MODULES = frozenset({
    "thalbook.core.auditing.checks", "thalbook.core.auditing.summary_checks", "thalbook.core.auditing.statement_checks",
    "thalbook.core.auditing.verdicts", "thalbook.core.auditing.findings", "thalbook.core.inference.reconstruct",
    "thalbook.core.inference.stats",
    "thalbook.core.inference.pvalue_methods",
})
#: The columns of an audit row written in English for readers.
TEXT_COLUMNS = ("detail", "quantity")
#: String methods that take text apart or test what it says.
STRING_METHODS = frozenset({"split", "rsplit", "partition", "rpartition", "startswith", "endswith",
                            "removeprefix", "removesuffix", "find", "rfind", "str"})


def _text_access(node: ast.AST) -> bool:
    """``x["detail"]``, ``x.loc[..., "quantity"]`` or ``x.detail``: a read of an audit row's English."""
    if isinstance(node, ast.Attribute):
        return node.attr in TEXT_COLUMNS
    if isinstance(node, ast.Subscript):
        key = node.slice.elts[-1] if isinstance(node.slice, ast.Tuple) and node.slice.elts else node.slice
        return isinstance(key, ast.Constant) and key.value in TEXT_COLUMNS
    return False


def _reads_text(node: ast.AST, bound: set[str]) -> bool:
    """A read of the English, a name bound to one in the same function, or ``str()`` of either."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str" and node.args:
        return _reads_text(node.args[0], bound)
    return _text_access(node) or (isinstance(node, ast.Name) and node.id in bound)


def _bound_to_text(scope: ast.AST) -> set[str]:
    """Names a function binds to the English: parameters named like the columns, and names assigned or
    looped over from a read of it (two passes, so that a name bound from another bound name counts)."""
    bound = {a.arg for a in ast.walk(scope) if isinstance(a, ast.arg) and a.arg in TEXT_COLUMNS}
    for _ in range(2):
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and _reads_text(node.value, bound):
                bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            elif isinstance(node, (ast.For, ast.comprehension)) and _reads_text(node.iter, bound):
                bound |= {t.id for t in ast.walk(node.target) if isinstance(t, ast.Name)}
    return bound


def parsed_audit_text(source: str, where: str) -> list[str]:
    """Every place in ``source`` (a module, shown as ``where``) that applies a string operation to an audit
    row's ``detail`` or ``quantity``."""
    tree = ast.parse(source)
    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]
    found = set()
    for scope in scopes:
        bound = _bound_to_text(scope) if scope is not tree else set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Attribute) and node.attr in STRING_METHODS and _reads_text(node.value, bound):
                found.add((node.lineno, ast.unparse(node)))
            elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) \
                    and any(_reads_text(side, bound) for side in (node.left, *node.comparators)):
                found.add((node.lineno, ast.unparse(node)))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" \
                    and any(_reads_text(arg, bound) for arg in node.args):
                found.add((node.lineno, ast.unparse(node)))
    return [f"{where}:{line}: {code}" for line, code in sorted(found)]


def test_no_module_outside_the_audit_parses_the_audits_english():
    """Rows are selected by their structured keys, never by what their English says.

    Outside :data:`AUDIT_MODULES`, no module applies a string method of
    :data:`STRING_METHODS` (``.split``, ``.startswith``, ``.str.contains``, ...),
    ``in``/``not in`` or a ``re`` function to an audit row's ``detail`` or
    ``quantity``: read as ``x["detail"]``, ``x.loc[..., "quantity"]`` or
    ``x.detail``, through a name bound to such a read in the same function,
    through ``str()``, or through a parameter named ``detail`` or ``quantity``.
    Rewording a verdict then cannot change a chapter. Showing the text
    (escaping it, formatting it into a sentence) is no parsing and is allowed.

    Its limits, as a reading of the source and not of the values: text passed
    to a function under another parameter name, kept in a container, read
    under a column name held in a variable (``row[column]``), or compared with
    ``==`` is not followed; nor is a data package's own column that happens to
    be called ``quantity`` told apart from the audit's.
    """
    found = [hit for name, path in modules().items() if name not in AUDIT_MODULES
             for hit in parsed_audit_text(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not found, "the audit's English parsed outside the audit modules (select by its keys):\n" + "\n".join(found)


def test_the_audit_text_check_finds_what_it_should():
    """The check above on code written to fail it, and on code that only shows the text."""
    import textwrap

    code = textwrap.dedent('''
        def parses(table, row, rows):
            a = table["quantity"].str.startswith("esr week ")
            detail = rows.loc[("test-method", "basdai"), "detail"]
            b = detail.split(" (half-up")[0]
            c = row.quantity in ("statement: design",)
            d = re.findall(r"week (\\d+)", str(row["detail"]))
            return a, b, c, d

        def scores(quantity):
            return quantity.endswith("]")

        def shows(row):
            return f"{escape(row['quantity'])}: {row['detail']}", row["reconcile"].split(" | ")
        ''')
    hits = parsed_audit_text(code, "probe")
    assert [hit.split(":")[1] for hit in hits] == ["3", "5", "6", "7", "11"], hits


# --------------------------------------------------------------------------
# studies are data: their ids and conditions stay out of the code

#: The views of one study's chapter, where its wording belongs.
PER_STUDY_VIEWS = frozenset({"thalbook.chapters.crohns_results", "thalbook.chapters.as_results"})
#: The most study literals the rest of the code may hold (the issue's bar; see the test's message for them).
MAX_STUDY_LITERALS = 10


def study_words() -> set[str]:
    """Study ids and conditions of ``data/studies.csv``: the words a literal naming a study is made of."""
    import csv

    with (ROOT / "data" / "studies.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {r["study_id"] for r in rows} | {r["condition"] for r in rows}


def study_literals(source: str, words: set[str]) -> list[tuple[int, str]]:
    """Each string constant (docstrings aside) that is a study id or condition, or a key built on a study id."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    ids = {w for w in words if any(c.isdigit() for c in w)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
            if text in words or any(text.startswith((f"{i}-", f"{i}_")) for i in ids):
                found.append((node.lineno, text))
    return sorted(found)


def test_study_literals_live_in_the_data_and_the_per_study_views():
    words = study_words()
    found = [f"{module_name(path)}:{line}: {text!r}" for name, path in sorted(modules().items())
             if name not in PER_STUDY_VIEWS for line, text in study_literals(path.read_text(encoding="utf-8"), words)]
    assert len(found) <= MAX_STUDY_LITERALS, "\n".join(found)


def test_the_study_literal_count_sees_literals():
    planted = 'x = {"he2017": 1, "crohns": 2}\ny = "wei2003_enrolled"\n"""not a docstring here"""'
    assert study_literals(planted, study_words()) == [(1, "crohns"), (1, "he2017"), (2, "wei2003_enrolled")]
