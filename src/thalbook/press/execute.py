"""Execute chapters with papermill, several at a time, each in a fresh kernel of its own.

The chapters run from threads of the build process (they mostly wait for their
kernels), longest first. Each kernel is started with jupyter_client's
``AsyncKernelManager`` before its chapter's turn and handed to papermill, which
passes it on to nbclient (``km=``): while a chapter runs, the kernel of the
next one that thread will run is starting, and the first kernels start while
the build validates the data. Kernels get their environment (the project,
the data directory, the plotting back-end), their working directory (``chapters/``)
and their output stream (``<out>/logs/kernels.log``) as arguments; the build's
own environment is left as it is.

How kernels talk: on POSIX systems, over Unix domain sockets (jupyter_client's
``ipc`` transport), never over TCP. With TCP, jupyter_client picks free ports
and the kernel binds them a moment later: any other process (another build, a
killed build's kernel not yet gone) may take a port in between, and the kernel
dies with ``ZMQError: Address already in use``; every TCP kernel also warns
that its traffic is unencrypted. Each kernel gets a path prefix of its own,
``<out>/kernels/<chapter>-<n>``: its connection file is ``<prefix>.json`` and
its sockets are ``<prefix>-1`` to ``<prefix>-5``, in a directory (mode 0700)
no other build writes, so that no two kernels, of one build or of two, can
meet. A Unix socket's path is short (107 bytes on Linux): when the build
directory's would be longer, the kernels use a private temporary directory
(``thalbook-kernels-*``) instead. Either is removed when the executor ends,
and a killed build's is removed by the next build in that directory. (The
only TCP socket left in a kernel is ipykernel's IOPub pipe for forked
subprocesses, which the kernel binds itself on 127.0.0.1, retrying on a
taken port: nothing can race for it.) Elsewhere (Windows), kernels use TCP.

A kernel that fails to start (its manager raises, or it dies or never answers
before its chapter's first cell) is replaced once by a fresh one; the kernels'
log says so. A chapter that fails never raises here: it is reported, and its
executed notebook kept in ``<out>/failed``. Leaving :class:`Executor` by an
exception (an interrupt above all) kills every kernel the build started.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import itertools
import logging
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from thalbook.core import paths
from thalbook.press import cache
from thalbook.press.lifeline import Lifeline
from thalbook.press.toc import Chapter, code_size

#: Per-cell time limit: a hung kernel must not hang the build (papermill #125).
CELL_TIMEOUT_S = 300
#: The kernel every chapter runs in.
KERNEL = "python3"
#: Loggers of the execution machinery, whose chatter goes to the kernels' log with theirs.
LOGGERS = ("papermill", "thalbook.press.kernels")
#: Where the kernels' connection files and sockets go, inside the build directory (see builddir.OWNED).
KERNELS_DIR = "kernels"
#: The longest path of a Unix socket, in bytes, without the terminating NUL (``sun_path``: 108 on Linux, 104 elsewhere).
SOCKET_PATH_MAX = (108 if sys.platform.startswith("linux") else 104) - 1
#: Room left after a kernel's prefix for a socket's ``-<port>`` (IPC ports are small numbers, counted from 1).
PORT_SUFFIX = len("-999")
#: The characters of a chapter's name that go into its kernels' prefix (a counter keeps prefixes apart).
NAME_IN_PREFIX = 32

_log = logging.getLogger(LOGGERS[1])


@dataclass(frozen=True)
class Task:
    """One chapter to execute: the parameters it receives and its cache key."""

    chapter: Chapter
    params: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Outcome:
    """How the execution of one chapter ended; ``cell`` is None when its kernel never ran a cell.

    ``at_start`` tells a kernel that failed before its chapter's first cell: it
    did not start, or it died or never answered before its first reply.
    """

    ok: bool
    seconds: float = 0.0
    cell: int | None = None
    error: str = ""
    at_start: bool = False


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


def kernel_environment(data_dir: Path, out: Path | None = None) -> dict[str, str]:
    """The environment of every kernel: the build's, with the project, the data directory and the plotting back-end.

    A kernel works in ``chapters/``, so the entries of ``PYTHONPATH`` are made
    absolute, and the package the build runs comes first: every chapter
    imports the very code the cache keys hashed. The project is named, not
    left to the kernel's search: it is the one the build found or was given
    (``--project``), whatever the build's working directory. With the build
    directory ``out``, the kernels read its verdict on the data
    (:data:`~thalbook.core.paths.VALIDATED_ENV`) and share what they compute
    (:data:`~thalbook.core.paths.COMPUTED_ENV`, :mod:`thalbook.core.computed`).
    """
    entries = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    shared = {} if out is None else {paths.VALIDATED_ENV: str(out / "cache" / cache.VALID_DATA),
                                     paths.COMPUTED_ENV: str(out / "cache" / cache.COMPUTED)}
    return {**os.environ, **shared, paths.PROJECT_ENV: str(paths.project().root), paths.DATA_DIR_ENV: str(data_dir),
            "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(paths.PACKAGE.parent), *entries])),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


class Executor:
    """Run ``tasks`` ``jobs`` at a time; a context manager whose exit ends every kernel it started.

    Kernels start on entry; nothing is executed before :meth:`run`, so the
    build can validate its data meanwhile and leave without executing anything.
    ``line``, when given, is told the process group of every kernel as it
    starts and ends (:class:`thalbook.press.lifeline.Lifeline`).
    """

    def __init__(self, tasks: list[Task], out: Path, data_dir: Path, jobs: int,
                 line: Lifeline | None = None) -> None:
        self.tasks = collections.deque(longest_first(tasks, out))
        self.count = len(tasks)
        self.out = out
        self.pending = out / "pending"
        self.env = kernel_environment(data_dir, out)
        self.cwd = paths.project().chapters
        self.jobs = max(1, min(jobs, self.count))
        self.lock = threading.Lock()
        self.go = threading.Event()
        self.stopping = False
        self.kernels: set[int] = set()  # process groups of the live kernels
        self.line = line
        self.kernel_dir: Path | None = None  # the kernels' connection files and sockets (None: TCP)
        self.numbers = itertools.count(1)  # one prefix per kernel
        self.results: queue.Queue[tuple[Task, Outcome]] = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.log: Any = None
        self.logging = contextlib.ExitStack()

    def __enter__(self) -> Executor:
        # A killed build's kernel files are of no use either (the build directory's lock is held).
        shutil.rmtree(self.out / KERNELS_DIR, ignore_errors=True)
        if not self.tasks:
            return self
        # Partial notebooks of a killed build are of no use: start clean (pending/ is the build's own).
        shutil.rmtree(self.pending, ignore_errors=True)
        self.pending.mkdir(parents=True, exist_ok=True)
        self.kernel_dir = self._kernel_directory()
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
        # going to the log, never after the build's last line on the terminal. Their kernels are
        # killed: their files go now (a thread still starting one finds no directory to write in).
        if self.kernel_dir is not None:
            shutil.rmtree(self.kernel_dir, ignore_errors=True)

    def _kernel_directory(self) -> Path | None:
        """Where the kernels' connection files and sockets go: ``<out>/kernels``, or a private temporary
        directory when a socket's path there would be too long; None where kernels use TCP (not POSIX)."""
        if os.name != "posix":
            return None
        own = self.out / KERNELS_DIR
        # Each chapter starts at most two kernels (one retry): numbers stay below 2 * count + jobs.
        longest = (max(len(task.chapter.name[:NAME_IN_PREFIX]) for task in self.tasks)
                   + len(f"-{2 * self.count + self.jobs}") + PORT_SUFFIX)
        if len(os.fsencode(own)) + 1 + longest <= SOCKET_PATH_MAX:
            own.mkdir(mode=0o700)
            return own
        return Path(tempfile.mkdtemp(prefix="thalbook-kernels-"))  # mode 0700

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
        kernel = self._start(task) if task is not None else None
        self.go.wait()
        while task is not None:
            following = self._take()
            following_kernel = self._start(following) if following is not None else None
            outcome, kernel = self._run(task, kernel)
            self._end(kernel)
            self.results.put((task, outcome))
            task, kernel = following, following_kernel
        self._end(kernel)

    def _run(self, task: Task, manager: Any) -> tuple[Outcome, Any]:
        """Execute ``task`` in ``manager``'s kernel, or in a fresh one if that one fails at start-up.

        A kernel may fail to start for reasons of the moment (a busy machine, a
        file system hiccup): a second kernel is started before the chapter is
        reported failed. Returns the outcome and the manager last used.
        """
        outcome = self._execute(task, manager)
        if not outcome.at_start:
            return outcome, manager
        with self.lock:
            if self.stopping:
                return outcome, manager
        _log.warning("chapter %s: its kernel failed at start-up (%s); retrying once with a fresh kernel",
                     task.chapter.name, outcome.error)
        self._end(manager)
        manager = self._start(task)
        outcome = self._execute(task, manager)
        if outcome.at_start:
            _log.warning("chapter %s: the fresh kernel failed at start-up too (%s)", task.chapter.name, outcome.error)
            outcome = dataclasses.replace(outcome, error=f"{outcome.error} (retried once in a fresh kernel)")
        elif outcome.ok:
            _log.warning("chapter %s: executed in the fresh kernel", task.chapter.name)
        return outcome, manager

    def _start(self, task: Task) -> Any:
        """A kernel manager with a kernel starting for ``task``, or the exception that prevented it."""
        with self.lock:
            if self.stopping:
                return RuntimeError("the build is ending")
            number = next(self.numbers)
        manager = None
        try:
            from jupyter_core.utils import run_sync

            manager = _kernel_manager_class()(kernel_name=KERNEL, log=_log, **self._connection(task, number))
            run_sync(manager.start_kernel)(cwd=str(self.cwd), env=self.env, stdout=self.log, stderr=self.log)
        except Exception as exc:  # no kernel: the chapter reports it (after a retry)
            if manager is not None:  # it may have got as far as launching the kernel
                self._started(manager)
                self._end(manager)
            return exc
        self._started(manager)
        return manager

    def _connection(self, task: Task, number: int) -> dict[str, str]:
        """The kernel manager's connection options: IPC, with a prefix of its own (module docstring)."""
        if self.kernel_dir is None:
            return {}
        prefix = self.kernel_dir / f"{task.chapter.name[:NAME_IN_PREFIX]}-{number}"
        return {"transport": "ipc", "ip": str(prefix), "connection_file": f"{prefix}.json"}

    def _started(self, manager: Any) -> None:
        """The one place where a kernel's process group becomes known to the build (and to its lifeline)."""
        group = getattr(manager.provisioner, "pgid", None) or getattr(manager.provisioner, "pid", None)
        if group is None:
            return
        manager.group = group
        if self.line is not None:
            self.line.watch(group)
        with self.lock:
            self.kernels.add(group)
            stopping = self.stopping
        if stopping:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)

    def _ended(self, group: int) -> None:
        """The one place where the build forgets a kernel's process group: the kernel is gone."""
        with self.lock:
            self.kernels.discard(group)
        if self.line is not None:
            self.line.release(group)

    def _end(self, manager: Any) -> None:
        if manager is None or isinstance(manager, BaseException):
            return
        from jupyter_core.utils import run_sync

        for client in manager.clients:  # nbclient leaves open the client of a kernel it was handed
            with contextlib.suppress(Exception):
                client.stop_channels()
        # The executed notebook is written: nothing of the kernel is worth a graceful shutdown.
        # shutdown_kernel also removes the kernel's connection file and sockets.
        with contextlib.suppress(Exception):
            run_sync(manager.shutdown_kernel)(now=True)
        group, manager.group = manager.group, None
        if group is not None:
            self._ended(group)

    def _execute(self, task: Task, manager: Any) -> Outcome:
        """Run one notebook with papermill in the kernel of ``manager``; never raises."""
        if isinstance(manager, BaseException):
            return Outcome(False, error=_one_line(manager), at_start=True)
        with self.lock:
            if self.stopping:
                return Outcome(False, error="the build is ending")
        import papermill
        from papermill.exceptions import PapermillExecutionError

        ready = threading.Event()  # the kernel answered: nbclient is about to run the cells
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
                on_notebook_start=lambda **_: ready.set(),  # nbclient's hook, passed on by papermill
            )
        except PapermillExecutionError as exc:
            return Outcome(False, cell=exc.exec_count, error=f"{exc.ename}: {exc.evalue}".strip().splitlines()[0][:300])
        except Exception as exc:  # kernel death, timeout, malformed notebook: report, do not crash the build
            # nbclient made a client but the kernel never answered it: the kernel failed at start-up
            # (a notebook papermill cannot read fails before any client is made).
            return Outcome(False, error=_one_line(exc), at_start=bool(manager.clients) and not ready.is_set())
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
            self.group: int | None = None  # the kernel's process group, once the build knows it

        def client(self, **kwargs: Any) -> Any:
            client = super().client(**kwargs)
            self.clients.append(client)
            return client

    return KernelManager


class _LogHandler(logging.StreamHandler):
    """A handler of the kernels' log that stays silent when the log cannot be written (a full disk).

    logging's default prints a traceback on the terminal; the chapter that
    could not run reports the disk's error in one line of its own.
    """

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        pass


@contextlib.contextmanager
def _logging_to(stream: Any) -> Any:
    """Send the records of :data:`LOGGERS` to ``stream`` only, for as long as the context lasts."""
    handler = _LogHandler(stream)
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
