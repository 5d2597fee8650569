"""Execute the chapters, cache them, stage the book, build it, publish it atomically.

The flow of one ``thalbook build``::

    parameters + data validated (once per content: <out>/cache/valid-data)
      -> each notebook chapter keyed by a content hash of (notebook, the
         parameters it declares, data files, package source, requirements)
      -> cache hit: copy; miss: papermill, one kernel per chapter, up to
         ``jobs`` chapters at a time, longest first; with several to run, each
         kernel is forked from one process that has done the imports
         (see "warm kernels"), and Jupyter Book starts importing meanwhile
      -> <out>/executed/*.ipynb -> <out>/stage/ (the book's sources)
      -> jupyter-book build (warnings are errors) -> <out>/jb/_build/{html,latex}
      -> publish: HTML and PDF are prepared beside the published ones, then
         swapped in together with signals held: <out>/html is a symlink
         replaced atomically by one to a new <out>/site/<id>/ tree, and
         <out>/pdf/book.pdf is replaced atomically.

The build directory is claimed and locked for the whole build
(:mod:`thalbook.build.builddir`): the build writes and deletes only what it made.
A build that fails, or is interrupted or killed at any point, never touches the
published ``<out>/html`` or ``<out>/pdf/book.pdf``, and every process it
started (pool workers, kernels, Jupyter Book and its LaTeX run) ends with it. Jupyter Book has no parameters,
parallel execution or data-aware cache of its own (see the methods chapter);
this module adds those around it and leaves the HTML and LaTeX to it.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from thalbook import __version__
from thalbook.build import builddir, kernels, record
from thalbook.core import paths
from thalbook.core.errors import BuildError, Interrupted

#: Book sources copied to the stage besides the chapters.
BOOK_FILES = ("_config.yml", "_toc.yml", "intro.md", "references.bib", "CITATION.cff")
#: Per-cell time limit: a hung kernel must not hang the build (papermill #125).
CELL_TIMEOUT_S = 300
#: Cached executions kept per chapter (one per parameter combination recently used).
CACHE_KEEP = 8


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


@dataclass
class Execution:
    """What happened to one chapter in a run."""

    chapter: str
    key: str
    cached: bool
    seconds: float
    executed_at: str


@dataclass
class RunResult:
    """The outcome of :func:`run`: where the executed chapters are, and how long each took."""

    out: Path
    params: dict[str, Any]
    data_dir: Path
    executions: list[Execution] = field(default_factory=list)
    declared: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def executed_dir(self) -> Path:
        return self.out / "executed"

    @property
    def book_key(self) -> str:
        """Hash of everything the built book depends on."""
        h = hashlib.sha256()
        for e in sorted(self.executions, key=lambda e: e.chapter):
            h.update(f"{e.chapter}={e.key}\n".encode())
        for name in BOOK_FILES:
            h.update(_file_digest(paths.ROOT / name).encode())
        for md in sorted(paths.CHAPTERS.glob("*.md")):
            h.update(md.name.encode() + _file_digest(md).encode())
        h.update(_dir_digest(self.data_dir).encode())
        return h.hexdigest()


# --------------------------------------------------------------------------- chapters


def chapters() -> list[Chapter]:
    """Return the chapters in ``_toc.yml`` order, with their declared parameters.

    Examples
    --------
    >>> [c.name for c in chapters()][:2]
    ['background', 'methods']
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
            declared = _declared_parameters(source)
        found.append(Chapter(stem.name, source, declared))
    return found


def _declared_parameters(source: Path) -> tuple[str, ...]:
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


# --------------------------------------------------------------------------- hashing


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def _dir_digest(directory: Path, pattern: str = "*") -> str:
    """Digest of the names and bytes of every file under ``directory`` matching ``pattern``."""
    h = hashlib.sha256()
    # Regular files only: a link out of the directory is not part of it (and a FIFO would block).
    for path in sorted(p for p in directory.rglob(pattern)
                       if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(directory)).encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def inputs_digest(data_dir: Path) -> str:
    """Digest of what every chapter depends on besides itself and its parameters.

    The data files, the package source and the pinned requirements: changing
    any of them re-executes every chapter.
    """
    h = hashlib.sha256()
    h.update(_dir_digest(data_dir).encode())
    h.update(_dir_digest(paths.PACKAGE).encode())  # code, and the Sphinx templates it ships
    h.update(_file_digest(paths.ROOT / "requirements.txt").encode())
    h.update(sys.version.encode())
    return h.hexdigest()


def chapter_key(chapter: Chapter, params: dict[str, Any], inputs: str) -> str:
    """Cache key of one chapter: its source, the parameters it receives, its inputs."""
    h = hashlib.sha256()
    h.update(chapter.source.read_bytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    h.update(inputs.encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- execution


def _quiet_worker(log: str) -> None:
    """Prepare a pool worker: its stderr (which its kernels inherit) goes to a log file.

    Kernels print start-up and shutdown chatter on stderr; the progress display
    stays readable, and the chatter stays available in ``<out>/logs/kernels.log``.
    An interrupt from the terminal reaches the whole process group: the workers
    leave it to the build, which ends them (see :func:`_execute`).
    """
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _execute_one(task: tuple[int, str, str, dict[str, Any], str, str | None]) -> tuple[int, dict[str, Any]]:
    """Run one notebook with papermill in this (worker) process; never raises."""
    index, source, output, params, cwd, zygote = task
    import papermill
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            source,
            output,
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            request_save_on_cell_execute=False,
            cwd=cwd,
            execution_timeout=CELL_TIMEOUT_S,
            **({"kernel_manager_class": kernels.zygote_kernel_manager(zygote)} if zygote else {}),
        )
    except PapermillExecutionError as exc:
        return index, {
            "ok": False,
            "cell": exc.exec_count,
            "error": f"{exc.ename}: {exc.evalue}".strip().splitlines()[0][:300],
        }
    except Exception as exc:  # kernel death, timeout, malformed notebook: report, do not crash the pool
        return index, {"ok": False, "cell": None, "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
    return index, {"ok": True, "seconds": time.perf_counter() - start}


def _hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected cell ``remove-cell`` so that the book does not show it.

    The chapter shows its parameters in a box of its own instead (papermill #253).
    """
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags:
            if "remove-cell" not in tags:
                cell.metadata["tags"] = [*tags, "remove-cell"]
            # papermill gives the injected cell a random id; a fixed one keeps two builds
            # from the same inputs identical (tests/integration/test_determinism.py).
            if "id" in cell:
                cell["id"] = "injected-parameters"
    nbformat.write(nb, path)


def _copy_if_changed(src: Path, dst: Path) -> bool:
    """Copy ``src`` to ``dst`` unless identical, so unchanged files keep their mtime.

    Sphinx re-reads only documents whose mtime changed: this keeps rebuilds incremental.
    """
    return _write_if_changed(dst, src.read_bytes())


def _write_if_changed(dst: Path, content: bytes) -> bool:
    """Write ``content`` to ``dst`` unless it already holds exactly that (see :func:`_copy_if_changed`)."""
    if dst.is_file() and not dst.is_symlink() and dst.read_bytes() == content:
        return False
    builddir.write_atomic(dst, content)
    return True


def _prune_cache(directory: Path) -> None:
    entries = sorted(directory.glob("*.ipynb"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[CACHE_KEEP:]:
        stale.unlink(missing_ok=True)
        stale.with_suffix(".json").unlink(missing_ok=True)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cached_execution(chapter: Chapter, key: str, out: Path) -> Execution | None:
    """The cached execution of ``chapter`` under ``key``, or None when there is none to trust.

    An entry is a notebook and its metadata, which records the notebook's
    sha256: a truncated, missing or altered half makes the entry worthless, so
    it is discarded (the chapter is executed again) rather than trusted or
    fatal.
    """
    notebook = out / "cache" / chapter.name / f"{key}.ipynb"
    meta_path = notebook.with_suffix(".json")
    if not notebook.exists() and not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_bytes())
        if hashlib.sha256(notebook.read_bytes()).hexdigest() != meta["sha256"]:
            raise ValueError("notebook does not match its metadata")
        execution = Execution(chapter.name, key, True, float(meta["seconds"]), str(meta["executed_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        notebook.unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)
        return None
    os.utime(notebook)  # keep recently used entries when pruning
    return execution


@contextlib.contextmanager
def session(out: Path | str) -> Iterator[Path]:
    """Claim and lock the build directory ``out`` for one build; yield it as an absolute path.

    See :mod:`thalbook.build.builddir`: a directory the build did not make is
    refused, and so is any link under the build's own names that it did not make.
    """
    directory = builddir.claim(out)
    with builddir.lock(directory):
        builddir.check_links(directory)
        yield directory


def run(
    params: dict[str, Any],
    out: Path = paths.BUILD,
    data_dir: Path | None = None,
    jobs: int | None = None,
    progress: Callable[[str], None] = _say,
    on_execute: Callable[[], None] | None = None,
) -> RunResult:
    """Execute every notebook chapter that is not cached for these inputs.

    Parameters
    ----------
    params : dict
        A validated parameter set (:func:`thalbook.build.params.resolve`).
    out : path
        Build directory; the cache lives in ``out/cache``.
    data_dir : path, optional
        Data package for the whole build; default ``paths.data_dir()``.
    jobs : int, optional
        Chapters executed at once (one kernel each); default: CPU count.
    progress : callable
        Receives one line per event.
    on_execute : callable, optional
        Called once before any chapter is executed (:func:`build` starts
        Jupyter Book's imports then, alongside the kernels).

    Returns
    -------
    RunResult

    Raises
    ------
    thalbook.core.errors.InputError
        The build directory is not one the build may write.
    thalbook.core.errors.DataError
        The data package is invalid (nothing is executed).
    thalbook.core.errors.BuildError
        A chapter failed; its executed notebook is kept in ``out/failed``.
    """
    with session(out) as out:
        return _run(params, out, data_dir, jobs, progress, on_execute)


def _run(params, out: Path, data_dir, jobs, progress, on_execute) -> RunResult:
    data_dir = Path(data_dir).resolve() if data_dir else paths.data_dir()
    inputs = inputs_digest(data_dir)
    _validate_data(data_dir, out, inputs)
    jobs = jobs or os.cpu_count() or 1

    result = RunResult(out=out, params=params, data_dir=data_dir)
    todo: list[tuple[Chapter, dict[str, Any], str]] = []
    for chapter in chapters():
        if not chapter.is_notebook:
            continue
        unknown = set(chapter.declared) - set(params)
        if unknown:
            raise BuildError(f"{chapter.source.name}: declares unknown parameter {sorted(unknown)[0]}")
        received = {k: params[k] for k in chapter.declared}
        result.declared[chapter.name] = chapter.declared
        key = chapter_key(chapter, received, inputs)
        cache_dir = out / "cache" / chapter.name
        had_entry = (cache_dir / f"{key}.ipynb").exists() or (cache_dir / f"{key}.json").exists()
        execution = _cached_execution(chapter, key, out)
        if execution is not None:
            result.executions.append(execution)
            progress(f"  cached    {chapter.name}")
        else:
            if had_entry:
                progress(f"  repaired  {chapter.name}: its cache entry was incomplete or damaged; executing it again")
            todo.append((chapter, received, key))

    if todo:
        progress(f"thalbook: executing {len(todo)} chapter(s), {min(jobs, len(todo))} at a time")
        if on_execute is not None:
            on_execute()
    failures = _execute(todo, out, data_dir, jobs, progress, result)
    if failures:
        raise BuildError(failures[0] + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""))

    executed = result.executed_dir
    for e in result.executions:
        _copy_if_changed(out / "cache" / e.chapter / f"{e.key}.ipynb", executed / f"{e.chapter}.ipynb")
    result.executions.sort(key=lambda e: e.chapter)
    builddir.write_atomic(out / "run.json", (json.dumps(_run_record(result), indent=2) + "\n").encode())
    return result


def _validate_data(data_dir: Path, out: Path, inputs: str) -> None:
    """Raise :class:`~thalbook.core.errors.DataError` unless the data package is valid.

    A package found valid is remembered in ``out/cache/valid-data/<inputs>``:
    ``inputs`` (:func:`inputs_digest`) covers every byte of the data, the
    validation code and the pinned requirements, so the same inputs cannot
    give another verdict, and a rebuild skips importing pandas and frictionless.
    """
    marker = out / "cache" / "valid-data" / inputs
    if marker.exists():
        return
    from thalbook.core import data

    problems = data.validate(data_dir)
    if problems:
        from thalbook.core.errors import DataError

        raise DataError(problems)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    for stale in sorted(marker.parent.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)[CACHE_KEEP:]:
        stale.unlink(missing_ok=True)


def _longest_first(todo: list, out: Path) -> list:
    """Order chapters longest first, so that the last one to finish does not start last.

    A chapter's length is its last recorded execution time (cache metadata of any
    earlier key). Chapters without one go first, the most code first: a new
    chapter may be long, and the order of an empty cache is a guess anyway.
    """
    def last_seconds(chapter: Chapter) -> float | None:
        metas = sorted((out / "cache" / chapter.name).glob("*.json"), key=lambda p: p.stat().st_mtime)
        for meta in reversed(metas):
            with contextlib.suppress(ValueError, KeyError, OSError):
                return float(json.loads(meta.read_text())["seconds"])
        return None

    def code_size(chapter: Chapter) -> int:
        cells = json.loads(chapter.source.read_bytes()).get("cells", [])
        return sum(len("".join(c.get("source", ""))) for c in cells if c.get("cell_type") == "code")

    def order(item: tuple) -> tuple:
        seconds = last_seconds(item[0])
        return (seconds is not None, -(seconds or 0.0), -code_size(item[0]))

    return sorted(todo, key=order)


def _execute(todo, out: Path, data_dir: Path, jobs: int, progress, result: RunResult) -> list[str]:
    """Execute ``todo`` in a pool of worker processes; return one message per failed chapter.

    The workers are started with ``spawn``: fresh interpreters that inherit no
    open file (the build's lock above all) and no thread state. Any exception
    here, an interrupt included, terminates the pool before it propagates, so
    no worker outlives the build; a worker's kernel ends with its worker.
    """
    if not todo:
        return []
    pending = out / "pending"
    # Partial notebooks of a killed build are of no use: start clean (pending/ is the build's own).
    shutil.rmtree(pending, ignore_errors=True)
    pending.mkdir(parents=True, exist_ok=True)
    # Kernels inherit the environment of the process that starts them.
    env_before = {k: os.environ.get(k) for k in (paths.DATA_DIR_ENV, "MPLBACKEND", "PYDEVD_DISABLE_FILE_VALIDATION")}
    os.environ[paths.DATA_DIR_ENV] = str(data_dir)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    failures = []
    todo = _longest_first(todo, out)
    try:
        log = out / "logs" / "kernels.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with kernels.kernel_zygote([chapter for chapter, _, _ in todo], log) as zygote:
            pool = multiprocessing.get_context("spawn").Pool(
                processes=min(jobs, len(todo)), initializer=_quiet_worker, initargs=(str(log),))
            try:
                tasks = [(i, str(chapter.source), str(pending / f"{chapter.name}-{key[:16]}.ipynb"), received,
                          str(paths.CHAPTERS), zygote) for i, (chapter, received, key) in enumerate(todo)]
                for index, outcome in pool.imap_unordered(_execute_one, tasks):
                    chapter, _, key = todo[index]
                    message = _collect(chapter, key, outcome, out, pending, result, progress)
                    if message:
                        failures.append(message)
                pool.close()
            except BaseException:
                pool.terminate()
                raise
            finally:
                pool.join()
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return failures


def _collect(chapter: Chapter, key: str, outcome: dict[str, Any], out: Path, pending: Path,
             result: RunResult, progress) -> str | None:
    """File one chapter's execution in the cache (or in ``failed/``); return a failure message or None."""
    produced = pending / f"{chapter.name}-{key[:16]}.ipynb"
    if not outcome["ok"]:
        kept = out / "failed" / f"{chapter.name}.ipynb"
        kept.parent.mkdir(parents=True, exist_ok=True)
        cell = f"cell {outcome['cell']}" if outcome["cell"] is not None else "start-up"
        progress(f"  FAILED    {chapter.name}: {outcome['error']}")
        message = f"chapter {chapter.name} failed at {cell}: {outcome['error']}"
        if not produced.exists():
            return message
        os.replace(produced, kept)
        return f"{message} (executed notebook kept at {kept})"
    _hide_injected_parameters(produced)
    (out / "failed" / f"{chapter.name}.ipynb").unlink(missing_ok=True)  # an old failure is over
    executed_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    target = out / "cache" / chapter.name / f"{key}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = {"seconds": round(outcome["seconds"], 2), "executed_at": executed_at,
            "sha256": hashlib.sha256(produced.read_bytes()).hexdigest()}
    os.replace(produced, target)
    builddir.write_atomic(target.with_suffix(".json"), (json.dumps(meta) + "\n").encode())
    _prune_cache(target.parent)
    result.executions.append(Execution(chapter.name, key, False, meta["seconds"], executed_at))
    progress(f"  executed  {chapter.name} ({meta['seconds']:.1f} s)")
    return None


def _render_record(result: RunResult) -> str:
    timings = {e.chapter: {"seconds": e.seconds, "executed_at": e.executed_at} for e in result.executions}
    return record.render(result.params, result.declared, timings, result.data_dir)


def _run_record(result: RunResult) -> dict[str, Any]:
    return {
        "thalbook": __version__,
        "params": result.params,
        "data_dir": str(result.data_dir),
        "chapters": {
            e.chapter: {"key": e.key, "cached": e.cached, "seconds": e.seconds, "executed_at": e.executed_at}
            for e in result.executions
        },
    }


# --------------------------------------------------------------------------- staging and building


def _staged_config(path: Path) -> bytes:
    """``_config.yml`` with the package version filled in, so that the book shows one version.

    ``thalbook.__version__`` is the only place the version is written (CITATION.cff
    repeats it, checked by a test): Sphinx's ``release`` puts it on the PDF title
    page, and the ``version`` substitution puts it on the landing page.
    """
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["version"] = sphinx_config["release"] = __version__
    config.setdefault("parse", {}).setdefault("myst_substitutions", {})["version"] = __version__
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True).encode()


def stage(result: RunResult) -> Path:
    """Assemble the book's sources and executed chapters in ``out/stage``.

    Only files whose bytes changed are rewritten, so Sphinx's incremental
    build re-reads only the changed chapters.
    """
    stage_dir = result.out / "stage"
    wanted = set()
    for name in BOOK_FILES:
        if (paths.ROOT / name).exists():
            if name == "_config.yml":
                _write_if_changed(stage_dir / name, _staged_config(paths.ROOT / name))
            else:
                _copy_if_changed(paths.ROOT / name, stage_dir / name)
            wanted.add(stage_dir / name)
    for md in paths.CHAPTERS.glob("*.md"):
        text = md.read_text(encoding="utf-8")
        if record.MARKER in text:
            text = text.replace(record.MARKER, _render_record(result))
        _write_if_changed(stage_dir / "chapters" / md.name, text.encode())
        wanted.add(stage_dir / "chapters" / md.name)
    for nb in result.executed_dir.glob("*.ipynb"):
        _copy_if_changed(nb, stage_dir / "chapters" / nb.name)
        wanted.add(stage_dir / "chapters" / nb.name)
    # The data package travels with the book so that readers can download it.
    # Regular files only: a link could publish a file from outside the package.
    for f in sorted(p for p in result.data_dir.iterdir() if p.is_file() and not p.is_symlink()):
        _copy_if_changed(f, stage_dir / "data" / f.name)
        wanted.add(stage_dir / "data" / f.name)
    for stale in [*stage_dir.glob("chapters/*"), *stage_dir.glob("data/*")]:
        if stale.is_file() and stale not in wanted:
            stale.unlink()
    return stage_dir


#: A ``jupyter-book`` command started before its arguments are known: it imports
#: Jupyter Book, Sphinx, its built-in and the book's extensions and what MyST-NB
#: loads lazily (some 1,500 modules, two seconds of CPU) while the kernels run,
#: then reads its arguments from stdin and runs as the command would.
_JB_AHEAD = r"""
import importlib, json, sys
from pathlib import Path
from jupyter_book.cli.main import main
names = []
try:
    from jupyter_book.config import get_final_config
    from jupyter_book.sphinx import build_sphinx
    from sphinx.application import builtin_extensions
    config, _ = get_final_config(user_yaml=Path(sys.argv[1]), sourcedir=Path(sys.argv[1]).parent,
                                 use_external_toc=True, cli_config={"latex_individualpages": False})
    names = [*builtin_extensions, *config.get("extensions", []), config.get("html_theme", ""),
             "myst_nb.sphinx_ext", "sphinxcontrib.bibtex.domain"]
except Exception:
    pass  # only a head start: the build itself reports any problem
for name in dict.fromkeys(names):
    try:
        importlib.import_module(name)
    except Exception:
        pass
line = sys.stdin.readline()
if line:
    sys.argv = ["jupyter-book", *json.loads(line)]
    sys.exit(main())
"""


class _JupyterBookAhead:
    """At most one ``jupyter-book`` process started ahead (see :data:`_JB_AHEAD`)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        if self.proc is None:
            self.proc = _start_jupyter_book(
                [sys.executable, "-P", "-c", _JB_AHEAD, str(paths.ROOT / "_config.yml")], stdin=subprocess.PIPE)

    def take(self) -> subprocess.Popen | None:
        proc, self.proc = self.proc, None
        return proc

    def close(self) -> None:
        if self.proc is not None:
            _end_group(self.proc)
            self.proc = None


def _start_jupyter_book(command: list[str], **kwargs) -> subprocess.Popen:
    """Start a Jupyter Book process in a process group of its own, so that the build can end it whole.

    Its LaTeX run (``make``, ``latexmk``, ``xelatex``) belongs to that group:
    an interrupted build ends every one of them (:func:`_end_group`).
    """
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, **kwargs)
    except OSError as exc:
        raise BuildError(f"{command[0]}: cannot start Jupyter Book ({exc.strerror or exc}); "
                         "run `make setup`") from None


def _end_group(proc: subprocess.Popen) -> None:
    """Kill the process group ``proc`` leads (see :func:`_start_jupyter_book`) and reap ``proc``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _jupyter_book(stage_dir: Path, builder: str, work: Path, ahead: subprocess.Popen | None = None) -> None:
    exe = Path(sys.executable).with_name("jupyter-book")
    args = ["build", str(stage_dir), "--path-output", str(work), "--builder", builder,
            "-W", "-n", "--keep-going", "--quiet"]
    if ahead is not None and ahead.poll() is None:
        proc, feed = ahead, json.dumps(args) + "\n"
    else:
        proc, feed = _start_jupyter_book([str(exe), *args], stdin=subprocess.DEVNULL), None
    try:
        stdout, stderr = proc.communicate(feed)
    except BaseException:
        _end_group(proc)
        raise
    finally:
        # Whatever Jupyter Book left running in its group (a LaTeX run) ends with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode == 0:
        return
    log = work / f"{builder}.log"
    builddir.write_atomic(log, (stdout + "\n" + stderr).encode())
    latex_log = work / "_build" / "latex" / "book.log"
    if builder == "pdflatex" and latex_log.is_file():
        errors = [ln for ln in latex_log.read_text(errors="replace").splitlines() if ln.startswith("!")]
        first = errors[0][:300] if errors else "no error line in its log"
        raise BuildError(f"LaTeX (xelatex) failed: {first} (read {latex_log}; Jupyter Book's output: {log})")
    lines = [ln for ln in (stderr + stdout).splitlines() if ln.strip()]
    interesting = [ln for ln in lines if "WARNING" in ln or "ERROR" in ln or "Error" in ln] or lines[-5:] or [
        f"exit status {proc.returncode}"]
    raise BuildError(f"jupyter-book {builder} build failed: {interesting[0].strip()[:400]} (full log: {log})")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP while the book is swapped in; deliver them after.

    The swap is a few renames: held signals make it all or nothing.
    """
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _site_name(key: str) -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{key[:12]}"


def _is_site(path: Path) -> bool:
    """Whether ``path`` is a published tree the build made (its name and its key file say so)."""
    return (not path.is_symlink() and path.is_dir() and (path / ".thalbook-key").is_file()
            and len(path.name) == 28 and path.name[8] == "T" and path.name[15] == "-")


class _Publication:
    """What is to be swapped in: a new site tree and/or a new PDF, prepared beside the published ones.

    :meth:`commit` swaps them in together with signals held; anything prepared
    but not committed is removed by :meth:`discard`.
    """

    def __init__(self, out: Path, key: str) -> None:
        self.out, self.key = out, key
        self.site_tmp: Path | None = None
        self.pdf_tmp: Path | None = None

    def prepare_html(self, built: Path) -> None:
        site = self.out / "site"
        self.site_tmp = site / f".{_site_name(self.key)}.tmp"
        try:
            site.mkdir(exist_ok=True)
            shutil.rmtree(self.site_tmp, ignore_errors=True)
            shutil.copytree(built, self.site_tmp)
            (self.site_tmp / ".thalbook-key").write_text(self.key + "\n")
        except OSError as exc:
            raise BuildError(f"{self.site_tmp}: cannot prepare the new HTML book: {builddir.os_reason(exc)}") from None

    def prepare_pdf(self, built: Path) -> None:
        pdf = self.out / "pdf"
        self.pdf_tmp = pdf / ".book.pdf.tmp"
        try:
            pdf.mkdir(exist_ok=True)
            shutil.copyfile(built, self.pdf_tmp)
        except OSError as exc:
            raise BuildError(f"{self.pdf_tmp}: cannot prepare the new PDF book: {builddir.os_reason(exc)}") from None

    def commit(self) -> list[str]:
        """Swap in what was prepared; return what was published ("html", "pdf")."""
        done = []
        link = self.out / "html"
        with _signals_held():
            if self.site_tmp is not None:
                new = self.site_tmp.with_name(self.site_tmp.name[1:-4])
                if new.exists():
                    shutil.rmtree(new)
                self.site_tmp.rename(new)
                self.site_tmp = None
                tmp_link = self.out / ".html.tmp"
                tmp_link.unlink(missing_ok=True)
                os.symlink(os.path.relpath(new, self.out), tmp_link)
                os.replace(tmp_link, link)
                done.append("html")
            if self.pdf_tmp is not None:
                os.replace(self.pdf_tmp, self.out / "pdf" / "book.pdf")
                self.pdf_tmp = None
                builddir.write_atomic(self.out / "pdf" / ".thalbook-key", (self.key + "\n").encode())
                done.append("pdf")
        if "html" in done:
            current = link.resolve()
            for old in (self.out / "site").iterdir():
                if old != current and _is_site(old):
                    shutil.rmtree(old, ignore_errors=True)
        return done

    def discard(self) -> None:
        if self.site_tmp is not None:
            shutil.rmtree(self.site_tmp, ignore_errors=True)
        if self.pdf_tmp is not None:
            self.pdf_tmp.unlink(missing_ok=True)


def published_key(out: Path) -> str | None:
    """The key of the book currently published in ``out/html``, if any."""
    marker = out / "html" / ".thalbook-key"
    return marker.read_text().strip() if marker.is_file() else None


def _pdf_key(out: Path) -> str | None:
    target, key_file = out / "pdf" / "book.pdf", out / "pdf" / ".thalbook-key"
    return key_file.read_text().strip() if target.is_file() and key_file.is_file() else None


def build(
    params: dict[str, Any],
    fmt: str = "html",
    out: Path = paths.BUILD,
    data_dir: Path | None = None,
    jobs: int | None = None,
    progress: Callable[[str], None] = _say,
) -> RunResult:
    """Execute (see :func:`run`), then build the HTML and/or PDF book and publish them together.

    Nothing is rebuilt when the published book already has this exact key.
    With ``fmt="all"``, both are built before either is swapped in: a failure
    or a signal before the swap leaves both as they were.

    Raises
    ------
    thalbook.core.errors.Interrupted
        A signal ended the build; its ``published`` lists what had been
        swapped in by then (nothing, unless the signal came after the swap).
    """
    if fmt not in ("html", "pdf", "all"):
        raise ValueError(f"fmt: {fmt!r} is not one of html, pdf, all")
    ahead = _JupyterBookAhead()
    published: list[str] = []
    try:
        with session(out) as out:
            return _build(params, fmt, out, data_dir, jobs, progress, ahead, published)
    except Interrupted as exc:
        exc.published = published
        raise
    finally:
        ahead.close()


def _build(params, fmt, out: Path, data_dir, jobs, progress, ahead: _JupyterBookAhead,
           published: list[str]) -> RunResult:
    result = _run(params, out, data_dir, jobs, progress, ahead.start)
    key = result.book_key
    work = out / "jb"
    marker = out / ".building"
    if marker.exists():
        # The previous build was interrupted: its Sphinx environment may be half written.
        shutil.rmtree(work, ignore_errors=True)
    builddir.write_atomic(marker, (key + "\n").encode())
    staged: list[Path] = []

    def stage_dir() -> Path:
        """The stage, assembled once something is to be built (the run record imports pandas)."""
        if not staged:
            staged.append(stage(result))
        return staged[0]

    publication = _Publication(out, key)
    try:
        timings = []
        if fmt in ("html", "all"):
            if published_key(out) == key:
                progress("  html      up to date")
            else:
                t0 = time.perf_counter()
                _jupyter_book(stage_dir(), "html", work, ahead.take())
                publication.prepare_html(work / "_build" / "html")
                timings.append(("html", time.perf_counter() - t0, out / "html"))
        if fmt in ("pdf", "all"):
            if _pdf_key(out) == key:
                progress("  pdf       up to date")
            else:
                t0 = time.perf_counter()
                _jupyter_book(stage_dir(), "pdflatex", work, ahead.take())
                publication.prepare_pdf(work / "_build" / "latex" / "book.pdf")
                timings.append(("pdf", time.perf_counter() - t0, out / "pdf" / "book.pdf"))
        published.extend(publication.commit())
    finally:
        publication.discard()
    for what, seconds, where in timings:
        progress(f"  {what:<9} built ({seconds:.1f} s) -> {where}")
    marker.unlink()
    return result
