"""Tie the life of every process the build starts to the build's own: a watcher at the end of a pipe.

The build starts one small watcher process (``python -m thalbook.press.lifeline``)
in a session of its own, holding the read end of a pipe whose only write end
the build keeps. Each child the build starts (a chapter's kernel, Jupyter Book
with its LaTeX run, the results package) leads a process group of its own;
the build tells the watcher each group as it starts (``+PGID``) and as it ends
(``-PGID``). When the build dies, however it dies (SIGKILL from the
out-of-memory killer or a CI runner included), the kernel closes the write
end; the watcher reads end-of-file, sends SIGKILL to every group still
registered, waits until they are gone, and exits.

A child of the package's own (the results package) also reads its stdin, a
pipe the build holds, and exits at end-of-file: that closes the moment
between its start and its registration with the watcher.

The watcher also holds the build directory's lock (the same open file, passed
to it at start): the lock is released only once the watcher exits, so that no
later build can start while a child of a dead one could still write.

Why a watcher and not ``prctl(PR_SET_PDEATHSIG)``: the parent-death signal is
Linux only, fires when the *thread* that started the child ends (the build
starts kernels from worker threads), is not inherited by grandchildren (the
LaTeX run Jupyter Book starts), and needs a ``preexec_fn``, which is unsafe in
a process with threads. A pipe and ``killpg`` work the same on every POSIX
system; on Windows a Job Object would take its place.

Written by hand: no library ties a tree of processes to a parent this way.

Examples
--------
>>> import subprocess, sys
>>> with Lifeline() as line:
...     child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
...                              start_new_session=True)
...     line.watch(child.pid)
...     line.release(child.pid)   # the build ends it itself
...     child.kill(); _ = child.wait()
>>> line.proc.returncode
0
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: How long the watcher waits for killed groups to be gone before it exits (and releases the lock).
GRACE_S = 5.0


class Lifeline:
    """The build's side of the pipe: start the watcher, register and release process groups.

    Parameters
    ----------
    hold : int, optional
        A file descriptor the watcher keeps open until it exits (the build
        directory's lock).

    A context manager: leaving it closes the pipe and waits for the watcher,
    which ends whatever is still registered.
    """

    def __init__(self, hold: int | None = None) -> None:
        read, self._write = os.pipe()  # both not inherited by other children (PEP 446)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "thalbook.press.lifeline"], stdin=read, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=() if hold is None else (hold,),
                # A session of its own: a signal to the build's process group does not reach it.
                start_new_session=True, cwd="/")
        except BaseException:
            os.close(self._write)
            raise
        finally:
            os.close(read)

    def _say(self, line: str) -> None:
        # The watcher gone (it never is, but for a kill aimed at it) must not fail the build.
        with contextlib.suppress(OSError):
            os.write(self._write, line.encode())

    def watch(self, group: int) -> None:
        """Register the process group ``group``: it is killed if the build dies before :meth:`release`."""
        self._say(f"+{group}\n")

    def release(self, group: int) -> None:
        """The build has ended the process group ``group`` itself (its id may now be reused)."""
        self._say(f"-{group}\n")

    def close(self) -> None:
        """Close the pipe and wait for the watcher (it ends anything still registered)."""
        if self._write >= 0:
            os.close(self._write)
            self._write = -1
        self.proc.wait()

    def __enter__(self) -> Lifeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _alive(group: int) -> bool:
    """Whether a process of ``group`` can still run (a zombie cannot: it only waits to be reaped).

    On Linux the process table says which members are zombies (an orphaned
    zombie waits for whatever reaps orphans, which in a container may be
    slow); elsewhere any member counts.
    """
    proc = Path("/proc")
    if not (proc / "self" / "stat").is_file():
        try:
            os.killpg(group, 0)
        except OSError as exc:
            return exc.errno == errno.EPERM
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # pid (comm) state ppid pgrp ...: the command may hold spaces and parentheses
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(group) and fields[0] not in ("Z", "X"):
            return True
    return False


def watch(stream) -> None:
    """The watcher: read ``+PGID`` / ``-PGID`` lines until end-of-file, then kill what is registered."""
    groups: set[int] = set()
    for raw in stream:
        line = raw.strip()
        if line[:1] in (b"+", b"-") and line[1:].isdigit():
            group = int(line[1:])
            if group > 1:  # never 0 (our own group) or 1 (init)
                (groups.add if line[:1] == b"+" else groups.discard)(group)
    for group in groups:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)
    deadline = time.monotonic() + GRACE_S
    while any(_alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.02)


if __name__ == "__main__":
    # Signals meant for the build's terminal or process group are not the watcher's to obey.
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    watch(sys.stdin.buffer)
    sys.exit(0)
