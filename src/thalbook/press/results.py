"""Write the results package (:mod:`thalbook.core.analyses.results_package`) beside the chapters' execution, cached.

The package is computed in a process of its own, started once the data is
found valid, at the lowest CPU priority: it takes the CPU time the kernels
leave while they execute the chapters, then a core Sphinx leaves (Sphinx
builds on one), and the build waits for it only before it publishes: a
build whose package failed publishes neither book. Its
files land in ``<out>/cache/results/<key>/``, where the key hashes the
build's parameters and its inputs (the data, the package source, the pinned
requirements): the same key, the same bytes, so a rebuild with the same
inputs computes nothing. Publishing puts the entry beside the book
(``results/`` in the HTML).

Run as ``python -m thalbook.press.results <directory> <parameters as JSON>``
with ``THALBOOK_DATA`` naming the data package; the build adds
:data:`WATCH_STDIN` and holds the process's stdin open, so that the process
ends with the build whatever kills it (:mod:`thalbook.press.lifeline`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from thalbook.core.errors import BuildError
from thalbook.press import builddir, cache, publish
from thalbook.press.lifeline import Lifeline

#: As :data:`thalbook.core.analyses.results_package.DESCRIPTOR`, which is not imported: the build process stays
#: free of pandas.
DESCRIPTOR = "datapackage.json"
#: The argument by which the build asks the process to exit when its stdin, a pipe the build holds, closes.
WATCH_STDIN = "--exit-with-the-build"
#: Beside the package in its cache entry, never published: the digest of every file the entry holds.
DIGEST = ".thalbook-digest"


def key(params: dict[str, Any], inputs: str) -> str:
    """The cache key of the results under ``params`` for the inputs digest ``inputs``."""
    return hashlib.sha256((json.dumps(params, sort_keys=True) + "\n" + inputs).encode()).hexdigest()


def entry(out: Path, results_key: str) -> Path:
    """The cache entry of one key: a directory holding the package."""
    return out / "cache" / "results" / results_key


def write(directory: Path, params: dict[str, Any]) -> None:
    """Compute the results package under ``params`` and write it to ``directory`` (created; must not exist)."""
    from thalbook.core.analyses import results_package
    from thalbook.core.evidence import data

    made = results_package.tables(data.load(), params)
    directory.mkdir(parents=True)
    for name, table in made.items():
        builddir.write_atomic(directory / f"{name}.csv", results_package.csv_bytes(table))
    meta = results_package.descriptor(made, params)
    builddir.write_atomic(directory / DESCRIPTOR, (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode())
    builddir.write_atomic(directory / DIGEST, (entry_digest(directory) + "\n").encode())


def entry_digest(directory: Path) -> str:
    """The digest of every name and file in the cache entry ``directory`` but :data:`DIGEST` (a site's, too)."""
    return publish.tree_digest(directory, DIGEST)


def damage(directory: Path) -> str | None:
    """What is wrong with the cache entry ``directory``, or None when it holds exactly what was written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     entry = Path(tmp) / "key"; entry.mkdir()
    ...     _ = (entry / "a.csv").write_text("x\\n1\\n")
    ...     _ = (entry / DIGEST).write_text(entry_digest(entry))
    ...     before = damage(entry)
    ...     _ = (entry / "a.csv").write_text("x\\n")
    ...     before, damage(entry)
    (None, 'its files differ from those it was written with')
    """
    try:
        recorded = (directory / DIGEST).read_text().strip()
    except OSError:
        return "it has no record of its files" if directory.exists() else "absent"
    return None if recorded == entry_digest(directory) else "its files differ from those it was written with"


def prune_partials(out: Path) -> None:
    """Remove the half-written packages of killed builds (the caller holds the build directory's lock)."""
    directory = out / "cache" / "results"
    if directory.is_dir():
        for partial in directory.glob("*.partial"):
            if partial.is_dir() and not partial.is_symlink():
                shutil.rmtree(partial, ignore_errors=True)


class Job:
    """The results package of one build: found in the cache, or being computed by a process of its own.

    A context manager: leaving it before :meth:`wait` returned (an
    interrupt, a failed chapter) ends the process and keeps no half entry.
    An entry is trusted only if its files are the ones it was written with
    (:func:`damage`); a damaged one is computed again and ``repaired`` says
    what was found.
    """

    def __init__(self, out: Path, params: dict[str, Any], inputs: str, env: dict[str, str],
                 line: Lifeline) -> None:
        self.path = entry(out, key(params, inputs))
        self.proc: subprocess.Popen | None = None
        self.line = line
        found = damage(self.path)
        if found is None:
            return
        self.repaired = "" if found == "absent" else f"the cached package {self.path.name[:12]}… was damaged ({found})"
        self.work = self.path.with_name(self.path.name + ".partial")
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.path, ignore_errors=True)
        self.work.parent.mkdir(parents=True, exist_ok=True)
        self.log = out / "logs" / "results.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            # Its stdin is a pipe the build holds open for its whole life: the process exits when it reads
            # end-of-file, so it dies with the build even if the build is killed before the lifeline knows it.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "thalbook.press.results", str(self.work), json.dumps(params), WATCH_STDIN],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        line.watch(self.proc.pid)

    repaired = ""

    @property
    def cached(self) -> bool:
        return self.proc is None

    def wait(self) -> Path:
        """The directory of the package, once written; raise BuildError if its process failed."""
        if self.proc is not None:
            code = self.proc.wait()
            self.proc.stdin.close()
            self.line.release(self.proc.pid)
            if code != 0:
                lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()]
                last = lines[-1].strip()[:300] if lines else f"exit status {self.proc.returncode}"
                raise BuildError(f"results package: {last} (full log: {self.log})")
            os.replace(self.work, self.path)
            self.proc = None
            _prune(self.path.parent)
        return self.path

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait()
            self.proc.stdin.close()
            self.line.release(self.proc.pid)
            shutil.rmtree(self.work, ignore_errors=True)


def _prune(directory: Path) -> None:
    """Keep the :data:`thalbook.press.cache.KEEP` most recently written entries."""
    entries = sorted((p for p in directory.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[cache.KEEP:]:
        shutil.rmtree(stale, ignore_errors=True)


def _exit_with_the_build() -> None:
    """End this process when its stdin, a pipe the build holds open, reaches end-of-file: the build is gone."""
    # os.read, not sys.stdin: a daemon thread blocked in a buffered reader holds its lock at interpreter shutdown
    while os.read(sys.stdin.fileno(), 4096):
        pass
    os._exit(3)  # no cleanup: the half-written package is the next build's to remove


def main(argv: list[str]) -> int:
    directory, params = Path(argv[0]), json.loads(argv[1])
    if argv[2:] == [WATCH_STDIN]:
        threading.Thread(target=_exit_with_the_build, name="thalbook-lifeline", daemon=True).start()
    if hasattr(os, "nice"):  # the chapters, whose kernels the build waits for, come first
        os.nice(19)
    write(directory, params)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
