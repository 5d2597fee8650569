"""Fixtures shared by the integration and browser tests.

Builds are expensive (a cold HTML + PDF build takes minutes), so one session
fixture builds the book once into a temporary directory and the tests that
only read it share it. Tests that break things (a failing chapter, a killed
build, bad input) work on a copy of the project: ``thalbook`` is run with the
copy's ``src`` first on ``PYTHONPATH`` and the copy as its working directory,
so the package, and every kernel it starts, find the copy as their project and
never touch the real tree. In the test process itself, the project is this one
(:func:`this_project`), whatever pytest's working directory.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from thalbook.core import paths
from thalbook.core.evidence import data

ROOT = Path(__file__).resolve().parents[1]
PROJECT_ITEMS = ("_config.yml", "_toc.yml", "intro.md", "references.bib", "CITATION.cff",
                 "requirements.txt", "chapters", "data", "params", "src")


def copy_project(dest: Path) -> Path:
    """Copy the book's sources (not the build or the environment) to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.exists():
            shutil.copy2(src, dest / item)
    return dest


def thalbook(*args: str, project: Path = ROOT, timeout: float = 1800, **kwargs) -> subprocess.CompletedProcess:
    """Run the ``thalbook`` command of ``project`` in a subprocess, as a user would."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    for name in (paths.DATA_DIR_ENV, paths.PROJECT_ENV):  # from --data and the working directory, never the caller
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "thalbook.press.cli", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="session", autouse=True)
def this_project():
    """Library calls in the test process work on this project, found from this file as every fixture is.

    Chosen in the process only (:func:`thalbook.core.paths.use_project`), not
    through the environment: a ``thalbook`` run in a subprocess finds its own
    project (a copy) from its working directory.
    """
    with paths.use_project(ROOT) as project:
        yield project


#: The book's default parameters, as ``params/default.yml`` holds them (what the build passes every chapter).
DEFAULTS = yaml.safe_load((ROOT / "params" / "default.yml").read_text(encoding="utf-8"))


def chapter_defaults(chapter: str) -> dict:
    """The default values of the parameters the chapter module ``chapter`` declares, as the build passes them."""
    module = importlib.import_module(f"thalbook.chapters.{chapter}")
    return {name: DEFAULTS[name] for name in module.PARAMETERS}


@pytest.fixture(scope="session")
def package():
    """The book's data package, loaded once per test session; no test changes it (another is made with
    ``dataclasses.replace``)."""
    return data.load()


@pytest.fixture(scope="session", autouse=True)
def computed_once(tmp_path_factory):
    """Every process of the test run shares what :mod:`thalbook.core.computed` computes, as a build's do.

    The workers, and the commands and kernels the tests start (but the builds,
    which name their own), read one directory of the run: the audit of the
    book's data is computed once, not once per worker and per ``thalbook
    audit``. A key covers the data's bytes and the code, so a test that plants
    a change in either gets a result of its own.
    """
    base = tmp_path_factory.getbasetemp()
    directory = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "computed"
    saved = os.environ.get(paths.COMPUTED_ENV)
    os.environ[paths.COMPUTED_ENV] = str(directory)
    yield directory
    if saved is None:
        os.environ.pop(paths.COMPUTED_ENV, None)
    else:
        os.environ[paths.COMPUTED_ENV] = saved


def csv_rows(name: str) -> list[dict[str, str]]:
    """The rows of one CSV file of the data package, as the file holds them (text)."""
    with (ROOT / "data" / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def chapter_cells(notebook: Path) -> list[dict]:
    """The cells of a chapter notebook, as its JSON holds them."""
    return json.loads(notebook.read_text(encoding="utf-8"))["cells"]


def chapter_prose(notebook: Path) -> str:
    """The markdown of a chapter notebook, cell after cell."""
    return "\n".join("".join(c["source"]) for c in chapter_cells(notebook) if c["cell_type"] == "markdown")


def shown_names(notebook: Path) -> list[str]:
    """The table and figure names a chapter notebook's cells show with ``view.show("...")``, in order."""
    shows = re.compile(r'view\.show\("([^"]+)"\)')
    return [name for cell in chapter_cells(notebook) for name in shows.findall("".join(cell["source"]))]


def tree_digest(path: Path) -> str:
    """Digest of every file's relative name and bytes under ``path`` (following the html symlink)."""
    h = hashlib.sha256()
    path = path.resolve()
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def glued(notebook: Path) -> dict[str, str]:
    """The text/plain value of every glued key of an executed notebook.

    ``glue(..., display=False)`` stores it under the scrapbook mime prefix
    (``application/papermill.record/text/plain``), a displayed glue under
    ``text/plain``; either is read.
    """
    values = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            if "name" not in scrapbook:
                continue
            prefix = scrapbook.get("mime_prefix", "")
            bundle = output.get("data", {})
            text = bundle.get(f"{prefix}text/plain", bundle.get("text/plain"))
            if text is not None:
                values[scrapbook["name"]] = text
    return values



@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The book built once per test run, HTML and PDF, default parameters, into a fresh directory.

    Under pytest-xdist each worker is a session of its own: the first worker
    that needs the book builds it in the run's temporary directory, which the
    workers share, while the others wait on a lock (the pattern of xdist's
    documentation, "Making session-scoped fixtures execute only once"); they
    then read the same book.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _build_book(tmp_path_factory.mktemp("book") / "_book")
    shared = tmp_path_factory.getbasetemp().parent / "book"  # the run's, above every worker's own
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built").exists():
            _build_book(shared / "_book")
            (shared / "built").touch()
    return shared / "_book"


def _build_book(out: Path) -> Path:
    proc = thalbook("build", "--format", "all", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def pytest_collection_modifyitems(items) -> None:
    """Order the test modules for pytest-xdist (``make test``: ``--dist loadfile --no-loadscope-reorder``).

    Each module runs in one worker (its module fixtures made once), and the
    workers take the modules in this order: the fault tests, the longest,
    first, so that no worker is left with them at the end; then the unit
    tests, which give the other worker work while the first builds the book
    the integration tests read; then the build-directory tests, the next
    longest; then the rest. (``--dist loadgroup`` would let the fault tests
    spread one by one, but it does not group with pytest 9.2: pytest-xdist
    issue 1386.)
    """
    def rank(item) -> int:
        path = item.path.relative_to(ROOT).as_posix()
        if path in ORDER:
            return ORDER.index(path)
        return ORDER.index("unit") if path.startswith(("tests/unit/", "src/")) else len(ORDER)

    items.sort(key=rank)  # stable: within a rank, as collected


#: The order of the test modules under pytest-xdist (``"unit"``: the unit tests and doctests).
ORDER = ("tests/integration/test_faults.py", "unit", "tests/integration/test_build_dir.py")


@pytest.fixture
def project_copy(tmp_path, built_book) -> Path:
    """A copy of the project whose build directory starts with the session's cache and book.

    Cache keys hash content, not paths, so the copy's first build executes nothing.
    """
    return seeded_copy(tmp_path / "project", built_book)


# --------------------------------------------------------------------------- reader-level helpers
# Used by tests/browser, tests/integration/test_bad_input.py, test_faults.py and test_pdf.py.

#: Where tests leave what a person should look at (screenshots): git-ignored test-artifacts/
#: unless THALBOOK_ARTIFACTS names another folder (CI can upload it). Not under _book/, which
#: belongs to the build alone.
ARTIFACTS = Path(os.environ.get("THALBOOK_ARTIFACTS", ROOT / "test-artifacts"))


def seeded_copy(dest: Path, built_book: Path) -> Path:
    """A copy of the project at ``dest`` whose ``_book/cache`` holds the session's executions."""
    project = copy_project(dest)
    seed_cache(built_book, project / "_book")
    return project


def seed_cache(built: Path, out: Path) -> Path:
    """Make ``out`` a build directory holding a copy of ``built``'s cache (and its build marker)."""
    shutil.copytree(built / "cache", out / "cache")
    shutil.copy2(built / ".thalbook-build", out / ".thalbook-build")
    return out


def seed_book(built: Path, out: Path) -> Path:
    """Make ``out`` a build directory holding ``built``'s cache and its published HTML and PDF, as they are.

    A build of the same sources there finds both books up to date; Sphinx's
    own working directory is not copied (it records where it was), so the
    first build that changes a page builds all of them.
    """
    seed_cache(built, out)
    for name in ("site", "pdf", "executed"):
        shutil.copytree(built / name, out / name, symlinks=True)
    shutil.copy2(built / "run.json", out / "run.json")
    os.symlink(os.readlink(built / "html"), out / "html")
    return out


def published(project: Path) -> dict[str, str]:
    """What a reader of ``project``'s default build can see: digests of the HTML tree and the PDF,
    and where the ``html`` symlink points (a swap to an identical copy is still a publish)."""
    out = project / "_book"
    return {
        "html": tree_digest(out / "html"),
        "html -> ": os.readlink(out / "html"),
        "pdf": tree_digest(out / "pdf" / "book.pdf"),
    }


@pytest.fixture(scope="session")
def published_project(tmp_path_factory, built_book) -> Path:
    """A project copy with a good HTML + PDF book published in its ``_book`` (the default build directory).

    The cache and the book are the session's (:func:`seed_book`); a build of the copy as it is finds
    both books up to date. Shared by the bad-input and fault tests: a test that changes the copy's
    sources puts them back, and a test that needs "the book as it was" takes its own snapshot
    (``published``) first.
    """
    project = copy_project(tmp_path_factory.mktemp("published") / "project")
    seed_book(built_book, project / "_book")
    proc = thalbook("build", "--format", "all", project=project)
    assert proc.returncode == 0 and "html      up to date" in proc.stderr, proc.stderr
    return project
