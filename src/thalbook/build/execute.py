"""Execute chapters with papermill, several at a time, each in a fresh kernel of its own.

The chapters run from threads of the build process (they mostly wait for their
kernels), longest first. Each kernel is started with jupyter_client's
``AsyncKernelManager`` before its chapter's turn and handed to papermill, which
passes it on to nbclient (``km=``): while a chapter runs, the kernel of the
next one that thread will run is starting, and the first kernels start while
the build validates the data. Kernels get their environment (the data
directory, the plotting back-end), their working directory (``chapters/``)
and their output stream (``<out>/logs/kernels.log``) as arguments; the build's
own environment is left as it is.

A chapter that fails never raises here: it is reported, and its executed
notebook kept in ``<out>/failed``. Leaving :class:`Executor` by an exception
(an interrupt above all) kills every kernel the build started.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import os
import queue
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from thalbook.build import cache
from thalbook.build.toc import Chapter, code_size
from thalbook.core import paths

#: Per-cell time limit: a hung kernel must not hang the build (papermill #125).
CELL_TIMEOUT_S = 300
#: The kernel every chapter runs in.
KERNEL = "python3"
#: Loggers of the execution machinery, whose chatter goes to the kernels' log with theirs.
LOGGERS = ("papermill", "thalbook.build.kernels")


@dataclass(frozen=True)
class Task:
    """One chapter to execute: the parameters it receives and its cache key."""

    chapter: Chapter
    params: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Outcome:
    """How the execution of one chapter ended; ``cell`` is None when its kernel never ran a cell."""

    ok: bool
    seconds: float = 0.0
    cell: int | None = None
    error: str = ""


def longest_first(tasks: list[Task], out: Path) -> list[Task]:
    """Order chapters longest first, so that the last one to finish does not start last.

    A chapter's length is its last recorded execution time (cache metadata of any
    earlier key). Chapters without one go first, the most code first: a new
    chapter may be long, and the order of an empty cache is a guess anyway.
    """
    def order(task: Task) -> tuple:
        seconds = cache.last_seconds(out, task.chapter.name)
        return (seconds is not None, -(seconds or 0.0), -code_size(task.chapter))

    return sorted(tasks, key=order)


def kernel_environment(data_dir: Path, verdicts: Path | None = None) -> dict[str, str]:
    """The environment of every kernel: the build's, with the data directory and the plotting back-end.

    A kernel works in ``chapters/``, so the entries of ``PYTHONPATH`` are made
    absolute, and the package the build runs comes first: every chapter
    imports the very code the cache keys hashed.
    """
    entries = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    vouched = {paths.VALIDATED_ENV: str(verdicts)} if verdicts is not None else {}
    return {**os.environ, **vouched, paths.DATA_DIR_ENV: str(data_dir),
            "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(paths.PACKAGE.parent), *entries])),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


class Executor:
    """Run ``tasks`` ``jobs`` at a time; a context manager whose exit ends every kernel it started.

    Kernels start on entry; nothing is executed before :meth:`run`, so the
    build can validate its data meanwhile and leave without executing anything.
    """

    def __init__(self, tasks: list[Task], out: Path, data_dir: Path, jobs: int) -> None:
        self.tasks = collections.deque(longest_first(tasks, out))
        self.count = len(tasks)
        self.out = out
        self.pending = out / "pending"
        self.env = kernel_environment(data_dir, out / "cache" / "valid-data")
        self.jobs = max(1, min(jobs, self.count))
        self.lock = threading.Lock()
        self.go = threading.Event()
        self.stopping = False
        self.kernels: set[int] = set()  # process groups of the live kernels
        self.results: queue.Queue[tuple[Task, Outcome]] = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.log: Any = None
        self.logging = contextlib.ExitStack()

    def __enter__(self) -> Executor:
        if not self.tasks:
            return self
        # Partial notebooks of a killed build are of no use: start clean (pending/ is the build's own).
        shutil.rmtree(self.pending, ignore_errors=True)
        self.pending.mkdir(parents=True, exist_ok=True)
        log = self.out / "logs" / "kernels.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        # Kernels, papermill and jupyter_client print start-up and shutdown chatter (and papermill's
        # warnings): it goes to the log, not to the progress display.
        self.log = open(log, "a", encoding="utf-8")  # closed in __exit__
        self.logging.enter_context(_logging_to(self.log))
        for number in range(self.jobs):
            thread = threading.Thread(target=self._work, name=f"thalbook-executor-{number}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self.lock:
            self.stopping = True
            groups = list(self.kernels)
        self.go.set()
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        if exc_info[0] is None:
            for thread in self.threads:
                thread.join()
            self.logging.close()
            if self.log is not None:
                self.log.close()
        # Leaving by an exception, the threads may still be winding down: their chatter keeps
        # going to the log, never after the build's last line on the terminal.

    def run(self, progress: Callable[[str], None]) -> tuple[list[cache.Execution], list[str]]:
        """Execute every task; return the executions filed in the cache and one message per failed chapter."""
        self.go.set()
        executions, failures = [], []
        for _ in range(self.count):
            task, outcome = self.results.get()
            execution, message = self._collect(task, outcome, progress)
            if execution is not None:
                executions.append(execution)
            if message is not None:
                failures.append(message)
        return executions, failures

    # -- in the executor's threads

    def _take(self) -> Task | None:
        with self.lock:
            return self.tasks.popleft() if self.tasks and not self.stopping else None

    def _work(self) -> None:
        """One thread: take a chapter and, while it runs, start the kernel of the next one this thread takes."""
        task = self._take()
        kernel = self._start() if task is not None else None
        self.go.wait()
        while task is not None:
            following = self._take()
            following_kernel = self._start() if following is not None else None
            outcome = self._execute(task, kernel)
            self._end(kernel)
            self.results.put((task, outcome))
            task, kernel = following, following_kernel
        self._end(kernel)

    def _start(self) -> Any:
        """A kernel manager with a kernel starting, or the exception that prevented it."""
        with self.lock:
            if self.stopping:
                return RuntimeError("the build is ending")
        try:
            from jupyter_core.utils import run_sync

            manager = _kernel_manager_class()(kernel_name=KERNEL, log=logging.getLogger(LOGGERS[1]))
            run_sync(manager.start_kernel)(cwd=str(paths.CHAPTERS), env=self.env, stdout=self.log, stderr=self.log)
        except Exception as exc:  # no kernel: the chapter reports it
            return exc
        group = getattr(manager.provisioner, "pgid", None) or getattr(manager.provisioner, "pid", None)
        with self.lock:
            if group is not None:
                self.kernels.add(group)
            stopping = self.stopping
        if stopping and group is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        return manager

    def _end(self, manager: Any) -> None:
        if manager is None or isinstance(manager, BaseException):
            return
        from jupyter_core.utils import run_sync

        for client in manager.clients:  # nbclient leaves open the client of a kernel it was handed
            with contextlib.suppress(Exception):
                client.stop_channels()
        # The executed notebook is written: nothing of the kernel is worth a graceful shutdown.
        with contextlib.suppress(Exception):
            run_sync(manager.shutdown_kernel)(now=True)
        group = getattr(manager.provisioner, "pgid", None) or getattr(manager.provisioner, "pid", None)
        with self.lock:
            self.kernels.discard(group)

    def _execute(self, task: Task, manager: Any) -> Outcome:
        """Run one notebook with papermill in the kernel of ``manager``; never raises."""
        if isinstance(manager, BaseException):
            return Outcome(False, error=_one_line(manager))
        with self.lock:
            if self.stopping:
                return Outcome(False, error="the build is ending")
        import papermill
        from papermill.exceptions import PapermillExecutionError

        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(task.chapter.source),
                str(self._produced(task)),
                parameters=task.params,
                kernel_name=KERNEL,
                progress_bar=False,
                request_save_on_cell_execute=False,
                execution_timeout=CELL_TIMEOUT_S,
                km=manager,
            )
        except PapermillExecutionError as exc:
            return Outcome(False, cell=exc.exec_count, error=f"{exc.ename}: {exc.evalue}".strip().splitlines()[0][:300])
        except Exception as exc:  # kernel death, timeout, malformed notebook: report, do not crash the build
            return Outcome(False, error=_one_line(exc))
        return Outcome(True, seconds=time.perf_counter() - start)

    def _produced(self, task: Task) -> Path:
        return self.pending / f"{task.chapter.name}-{task.key[:16]}.ipynb"

    # -- in the build's thread

    def _collect(self, task: Task, outcome: Outcome,
                 progress: Callable[[str], None]) -> tuple[cache.Execution | None, str | None]:
        """File one chapter's execution in the cache (or in ``failed/``); return it, or a failure message."""
        name, produced = task.chapter.name, self._produced(task)
        if not outcome.ok:
            kept = self.out / "failed" / f"{name}.ipynb"
            kept.parent.mkdir(parents=True, exist_ok=True)
            cell = f"cell {outcome.cell}" if outcome.cell is not None else "start-up"
            progress(f"  FAILED    {name}: {outcome.error}")
            message = f"chapter {name} failed at {cell}: {outcome.error}"
            if not produced.exists():
                return None, message
            os.replace(produced, kept)
            return None, f"{message} (executed notebook kept at {kept})"
        hide_injected_parameters(produced)
        (self.out / "failed" / f"{name}.ipynb").unlink(missing_ok=True)  # an old failure is over
        execution = cache.store(self.out, name, task.key, produced, outcome.seconds)
        progress(f"  executed  {name} ({execution.seconds:.1f} s)")
        return execution, None


@functools.cache
def _kernel_manager_class() -> type:
    """jupyter_client's ``AsyncKernelManager``, keeping the clients it makes so that the build can close them."""
    from jupyter_client import AsyncKernelManager

    class KernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.clients: list[Any] = []

        def client(self, **kwargs: Any) -> Any:
            client = super().client(**kwargs)
            self.clients.append(client)
            return client

    return KernelManager


@contextlib.contextmanager
def _logging_to(stream: Any) -> Any:
    """Send the records of :data:`LOGGERS` to ``stream`` only, for as long as the context lasts."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("[%(name)s] %(levelname)s | %(message)s"))
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate))
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate


def _one_line(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {exc}".splitlines() or [type(exc).__name__])[0][:300]


def hide_injected_parameters(path: Path) -> None:
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
