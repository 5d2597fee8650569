"""Execute the chapters, cache them, stage the book, build it, publish it atomically.

The flow of one ``thalbook build``, module by module::

    builddir  claim and lock <out>
    toc       the chapters of _toc.yml and the parameters each declares
    cache     each notebook keyed by a content hash of (notebook, the parameters
              it declares, data files, package source, requirements): a hit is
              copied; the data is validated once per content (cache/valid-data);
              the kernels share what each computes once (cache/computed)
    execute   the misses, with papermill, a fresh kernel each, up to ``jobs``
              at a time, longest first -> <out>/executed/*.ipynb, <out>/run.json
    stage     the book's sources, the executed chapters and the run record
              -> <out>/stage
              jupyter-book build (warnings are errors) -> <out>/jb/_build/{html,latex}
    publish   HTML and PDF prepared beside the published ones, then swapped in
              together with signals held

A build that fails, or is interrupted or killed at any point, never touches the
published ``<out>/html`` or ``<out>/pdf/book.pdf``, and every process it started
(kernels, Jupyter Book and its LaTeX run) ends with it. Jupyter Book has no
parameters, parallel execution or data-aware cache of its own (see the methods
chapter); the build floor adds those around it and leaves the HTML and LaTeX to it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thalbook import __version__
from thalbook.core import paths
from thalbook.core.errors import BuildError, Interrupted
from thalbook.press import builddir, cache, execute, publish, results, stage
from thalbook.press.lifeline import Lifeline
from thalbook.press.params import check_set
from thalbook.press.toc import Chapter, chapters

# The chapters a build executes are part of what the pipeline offers its callers.
__all__ = ["Chapter", "RunResult", "build", "chapters", "run"]

#: Flags of every ``jupyter-book build``: warnings are errors, and all of them are reported.
JUPYTER_BOOK_FLAGS = ("-W", "-n", "--keep-going", "--quiet")
FORMATS = ("html", "pdf", "all")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class RunResult:
    """The outcome of :func:`run`: where the executed chapters are, and how long each took."""

    out: Path
    params: dict[str, Any]
    data_dir: Path
    executions: list[cache.Execution] = field(default_factory=list)
    declared: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The results package of this run (:mod:`thalbook.press.results`).
    results_dir: Path | None = None

    @property
    def executed_dir(self) -> Path:
        return self.out / "executed"

    @property
    def book_key(self) -> str:
        """Hash of everything the built book depends on."""
        return cache.book_key(self.executions, self.data_dir)

    def record(self) -> dict[str, Any]:
        """The run record, as ``<out>/run.json`` holds it (the reproducibility page shows it).

        Chapters are in book order, each with the parameters it declares.
        """
        executions = {e.chapter: e for e in self.executions}
        order = [*self.declared, *sorted(set(executions) - set(self.declared))]
        return {
            "thalbook": __version__,
            "params": self.params,
            "data_dir": str(self.data_dir),
            "chapters": {
                name: {"key": e.key, "cached": e.cached, "seconds": e.seconds, "executed_at": e.executed_at,
                       "parameters": list(self.declared.get(name, ()))}
                for name in order if (e := executions.get(name)) is not None
            },
        }


def _check_arguments(values: Any, jobs: Any) -> None:
    """Refuse a call the library cannot honour (TypeError, ValueError): not the user's input, the caller's."""
    check_set(values)
    if jobs is not None:
        if not isinstance(jobs, int) or isinstance(jobs, bool):
            raise TypeError(f"jobs: expected an int, got {type(jobs).__name__}")
        if jobs < 1:
            raise ValueError(f"jobs: expected a positive number of chapters at once, got {jobs}")


def run(
    params: dict[str, Any],
    out: Path | str | None = None,
    data_dir: Path | None = None,
    jobs: int | None = None,
    progress: Callable[[str], None] = _say,
) -> RunResult:
    """Execute every notebook chapter that is not cached for these inputs.

    Parameters
    ----------
    params : dict
        A whole, valid parameter set (:func:`thalbook.press.params.resolve`).
    out : path
        Build directory; the cache lives in ``out/cache``. Default: the project's ``_book``.
    data_dir : path, optional
        Data package for the whole build; default ``paths.data_dir()``.
    jobs : int, optional
        Chapters executed at once (one kernel each); default: CPU count.
    progress : callable
        Receives one line per event.

    Returns
    -------
    RunResult

    Raises
    ------
    TypeError, ValueError
        ``params`` is not a whole, valid parameter set, or ``jobs`` not a
        positive integer.
    thalbook.core.errors.InputError
        The build directory is not one the build may write.
    thalbook.core.errors.DataError
        The data package is invalid (nothing is executed).
    thalbook.core.errors.BuildError
        A chapter failed (its executed notebook is kept in ``out/failed``),
        or the results package failed (its log is ``out/logs/results.log``).
    """
    _check_arguments(params, jobs)
    with builddir.session(out if out is not None else paths.project().build, progress) as (out, line):
        return _run(params, out, line, data_dir, jobs, progress)


def _run(values: dict[str, Any], out: Path, line: Lifeline, data_dir: Path | None, jobs: int | None,
         progress: Callable[[str], None]) -> RunResult:
    with _executed(values, out, line, data_dir, jobs, progress) as (result, derived):
        _wait_for_results(result, derived, progress)
    return result


def _wait_for_results(result: RunResult, derived: results.Job, progress: Callable[[str], None]) -> Path:
    """The run's results package, once written (``result.results_dir``)."""
    computed = not derived.cached
    result.results_dir = derived.wait()
    if computed:
        progress("  results   computed")
    return result.results_dir


@contextlib.contextmanager
def _executed(values: dict[str, Any], out: Path, line: Lifeline, data_dir: Path | None, jobs: int | None,
              progress: Callable[[str], None]) -> Iterator[tuple[RunResult, results.Job]]:
    """Execute the chapters that are not cached; yield the run and the job computing its results package.

    The results package is computed by a process of its own at the lowest CPU
    priority (:mod:`thalbook.press.results`), started once the data is found
    valid: it takes the CPU the kernels leave, and then the core Sphinx leaves
    (Sphinx uses one), and the caller waits for it only when it needs it.
    Leaving the context by an exception ends that process. What a killed
    build left half made (a results package, a site or PDF being prepared)
    is removed first.
    """
    results.prune_partials(out)
    publish.prune_unfinished(out)
    cache.prune_computed(out)
    data_dir = Path(data_dir).resolve() if data_dir else paths.data_dir()
    inputs = cache.inputs_digest(data_dir)
    result = RunResult(out=out, params=values, data_dir=data_dir)
    todo: list[execute.Task] = []
    notes: list[str] = []
    for chapter in chapters():
        if not chapter.is_notebook:
            continue
        unknown = set(chapter.declared) - set(values)
        if unknown:
            raise BuildError(f"{chapter.source.name}: declares unknown parameter {sorted(unknown)[0]}")
        received = {k: values[k] for k in chapter.declared}
        result.declared[chapter.name] = chapter.declared
        key = cache.chapter_key(chapter, received, inputs)
        had_entry = cache.has_entry(out, chapter.name, key)
        execution = cache.lookup(out, chapter.name, key)
        if execution is not None:
            result.executions.append(execution)
            notes.append(f"  cached    {chapter.name}")
        else:
            if had_entry:
                notes.append(f"  repaired  {chapter.name}: its cache entry was incomplete or damaged; "
                             "executing it again")
            todo.append(execute.Task(chapter, received, key))

    with contextlib.ExitStack() as afterwards:
        with execute.Executor(todo, out, data_dir, jobs or os.cpu_count() or 1, line) as executor:
            cache.validate_data(data_dir, out, inputs)  # while the first kernels start
            derived = afterwards.enter_context(results.Job(out, values, inputs, executor.env, line))
            if derived.repaired:
                progress(f"  repaired  results: {derived.repaired}; computing it again")
            for note in notes:
                progress(note)
            if todo:
                progress(f"thalbook: executing {len(todo)} chapter(s), {executor.jobs} at a time")
            executions, failures = executor.run(progress)
            if failures:
                raise BuildError(failures[0] + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""))
        result.executions.extend(executions)

        for e in result.executions:
            stage.copy_if_changed(cache.entry(out, e.chapter, e.key), result.executed_dir / f"{e.chapter}.ipynb")
        result.executions.sort(key=lambda e: e.chapter)
        builddir.write_atomic(out / "run.json", (json.dumps(result.record(), indent=2) + "\n").encode())
        yield result, derived


# --------------------------------------------------------------------------- Jupyter Book


def _start_jupyter_book(command: list[str], line: Lifeline) -> subprocess.Popen:
    """Start a Jupyter Book process in a process group of its own, so that the build can end it whole.

    Its LaTeX run (``make``, ``latexmk``, ``xelatex``) belongs to that group:
    an interrupted build ends every one of them (:func:`_end_group`), and a
    killed build's lifeline does (:mod:`thalbook.press.lifeline`).
    """
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
    except OSError as exc:
        raise BuildError(f"{command[0]}: cannot start Jupyter Book ({exc.strerror or exc}); "
                         "run `make setup`") from None
    line.watch(proc.pid)
    return proc


def _end_group(proc: subprocess.Popen) -> None:
    """Kill the process group ``proc`` leads (see :func:`_start_jupyter_book`) and reap ``proc``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _jupyter_book(stage_dir: Path, builder: str, work: Path, line: Lifeline) -> None:
    exe = Path(sys.executable).with_name("jupyter-book")
    started = time.time()
    proc = _start_jupyter_book([str(exe), "build", str(stage_dir), "--path-output", str(work),
                                "--builder", builder, *JUPYTER_BOOK_FLAGS], line)
    try:
        stdout, stderr = proc.communicate()
    except BaseException:
        _end_group(proc)
        raise
    finally:
        # Whatever Jupyter Book left running in its group (a LaTeX run) ends with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        line.release(proc.pid)
    if proc.returncode == 0:
        return
    log = work / f"{builder}.log"
    builddir.write_atomic(log, (stdout + "\n" + stderr).encode())
    raise _failure(builder, stdout + "\n" + stderr, proc.returncode, work, log, started)


def _failure(builder: str, output: str, code: int, work: Path, log: Path, started: float) -> BuildError:
    """One line for a failed Jupyter Book run: the LaTeX engine, its first error and its log, or Sphinx's error.

    LaTeX ran when this run wrote its log, or when ``make`` or ``latexmk``
    reported a failure (they do when ``xelatex`` dies before writing a log):
    the line then names the engine, never only make's "Error 12".
    """
    latex_log = work / "_build" / "latex" / "book.log"
    fresh = latex_log.is_file() and latex_log.stat().st_mtime >= started
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    if builder == "pdflatex" and (fresh or any(_LATEX_RUN.search(ln) for ln in lines)):
        logged = latex_log.read_text(errors="replace").splitlines() if fresh else []
        errors = [ln for ln in logged if ln.startswith("!")]
        errors += [ln for ln in lines if ln.startswith("!") or _LATEX_ERROR.search(ln)]
        first = errors[0][:300] if errors else "no error line in its log"
        where = f"read {latex_log}; Jupyter Book's output: {log}" if fresh else f"no LaTeX log was written; read {log}"
        return BuildError(f"LaTeX (xelatex) failed: {first} ({where})")
    interesting = [ln for ln in lines if "WARNING" in ln or "ERROR" in ln or "Error" in ln] or lines[-5:] or [
        f"exit status {code}"]
    return BuildError(f"jupyter-book {builder} build failed: {interesting[0][:400]} (full log: {log})")


#: A line of ``make`` or ``latexmk`` saying that the LaTeX run failed.
_LATEX_RUN = re.compile(r"^make(\[\d+\])?: \*\*\*|^Latexmk: ")
#: A line that says what went wrong in a LaTeX run that wrote no log.
_LATEX_ERROR = re.compile(r"(?i)xelatex.*(error|not found|failed)|^Latexmk: .*(error|fail)")


# --------------------------------------------------------------------------- the whole build


def build(
    params: dict[str, Any],
    fmt: str = "html",
    out: Path | str | None = None,
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
    TypeError, ValueError
        As :func:`run`, or ``fmt`` is not one of ``html``, ``pdf``, ``all``.
    thalbook.core.errors.BuildError
        As :func:`run`, or Jupyter Book or LaTeX failed: nothing is published.
    thalbook.core.errors.Interrupted
        A signal ended the build; its ``published`` lists what had been
        swapped in by then (nothing, unless the signal came after the swap).
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt: {fmt!r} is not one of {', '.join(FORMATS)}")
    _check_arguments(params, jobs)
    published: list[str] = []
    try:
        with builddir.session(out if out is not None else paths.project().build, progress) as (out, line):
            return _build(params, fmt, out, line, data_dir, jobs, progress, published)
    except Interrupted as exc:
        exc.published = published
        raise


def _build(values: dict[str, Any], fmt: str, out: Path, line: Lifeline, data_dir: Path | None, jobs: int | None,
           progress: Callable[[str], None], published: list[str]) -> RunResult:
    with _executed(values, out, line, data_dir, jobs, progress) as (result, derived):
        _make_book(result, derived, fmt, out, line, progress, published)
    return result


def _make_book(result: RunResult, derived: results.Job, fmt: str, out: Path, line: Lifeline,
               progress: Callable[[str], None], published: list[str]) -> None:
    """Build the HTML and/or PDF book of ``result`` and publish them (see :func:`build`)."""
    key = result.book_key
    work = out / "jb"
    marker = out / ".building"
    if marker.exists():
        # The previous build was interrupted: its Sphinx environment may be half written.
        shutil.rmtree(work, ignore_errors=True)
    builddir.write_atomic(marker, (key + "\n").encode())
    staged: list[Path] = []

    # An HTML book built with its PDF carries it (book.pdf, linked from every chapter page), and so
    # is another HTML book than one built alone: it has a key of its own.
    with_pdf = fmt == "all"
    html_key = key + ("+pdf" if with_pdf else "")

    def stage_dir() -> Path:
        """The stage, assembled once something is to be built (the run record imports pandas)."""
        if not staged:
            staged.append(stage.stage(out, result.record(), with_pdf))
        return staged[0]

    publication = publish.Publication(out, key)
    try:
        timings = []
        html_todo = fmt in ("html", "all") and not (publish.published_key(out) == html_key
                                                     and publish.site_intact(out))
        if fmt in ("html", "all") and not html_todo:
            progress("  html      up to date")
        elif html_todo and publish.published_key(out) == html_key:
            progress("  html      the published site was changed after it was published: building it again")
        if html_todo:
            t0 = time.perf_counter()
            _jupyter_book(stage_dir(), "html", work, line)
            timings.append(("html", time.perf_counter() - t0, out / "html"))
        if fmt in ("pdf", "all"):
            if publish.pdf_key(out) == key:
                progress("  pdf       up to date")
            else:
                if publish.pdf_changed(out):
                    progress("  pdf       the published PDF was changed after it was published: building it again")
                t0 = time.perf_counter()
                _jupyter_book(stage_dir(), "pdflatex", work, line)
                publication.prepare_pdf(work / "_build" / "latex" / "book.pdf")
                timings.append(("pdf", time.perf_counter() - t0, out / "pdf" / "book.pdf"))
        # Waited for once the books are built: a build whose results package failed publishes nothing.
        packages = {"data": result.data_dir, "results": _wait_for_results(result, derived, progress)}
        if html_todo:
            pdf = None
            if with_pdf:
                pdf = publication.pdf_tmp if publication.pdf_tmp is not None else out / "pdf" / "book.pdf"
            publication.prepare_html(work / "_build" / "html", html_key, pdf, packages)
        published.extend(publication.commit())
    finally:
        publication.discard()
    for what, seconds, where in timings:
        progress(f"  {what:<9} built ({seconds:.1f} s) -> {where}")
    marker.unlink()
