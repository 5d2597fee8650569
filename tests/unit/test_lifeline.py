"""Whatever kills the build, the processes it started die with it, before its lock is released.

A stand-in for the build (a Python process holding a lock and a lifeline) starts
children the way the build does (each leading a process group, one with a
grandchild of its own, as Jupyter Book has its LaTeX run), and is then killed
with SIGKILL, which it cannot catch.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from thalbook.core import paths
from thalbook.press.lifeline import Lifeline

BUILD = textwrap.dedent("""
    import fcntl, json, os, subprocess, sys, time
    from thalbook.press.lifeline import Lifeline

    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    line = Lifeline(hold=fd)
    # a child leading its group, with a grandchild in the same group (LaTeX under Jupyter Book)
    child = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE,
                             start_new_session=True, text=True)
    line.watch(child.pid)
    grandchild = int(child.stdout.readline())
    released = subprocess.Popen(["sleep", "60"], start_new_session=True)
    line.watch(released.pid)
    line.release(released.pid)
    print(json.dumps({"child": child.pid, "grandchild": grandchild, "released": released.pid,
                      "watcher": line.proc.pid}), flush=True)
    time.sleep(60)
""")


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def start_build(lock: Path) -> tuple[subprocess.Popen, dict[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(paths.PACKAGE.parent)}
    proc = subprocess.Popen([sys.executable, "-c", BUILD, str(lock)], stdout=subprocess.PIPE, text=True, env=env)
    pids = json.loads(proc.stdout.readline())
    return proc, pids


def test_a_build_killed_with_sigkill_takes_its_children_and_grandchildren_with_it(tmp_path: Path):
    proc, pids = start_build(tmp_path / ".lock")
    try:
        assert running(pids["child"]) and running(pids["grandchild"]) and running(pids["watcher"])
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 2.0
        while (running(pids["child"]) or running(pids["grandchild"])) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not running(pids["child"]), "a child outlived the killed build by 2 s"
        assert not running(pids["grandchild"]), "a grandchild outlived the killed build by 2 s"
        # A group the build had ended itself (released) is not the watcher's: its id may be reused.
        assert running(pids["released"])
        while running(pids["watcher"]) and time.monotonic() < deadline + 3:
            time.sleep(0.02)
        assert not running(pids["watcher"]), "the watcher did not exit"
    finally:
        for pid in pids.values():
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_lock_is_released_only_once_the_children_are_gone(tmp_path: Path):
    lock = tmp_path / ".lock"
    proc, pids = start_build(lock)
    fd = os.open(lock, os.O_WRONLY)
    try:
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 5.0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "the lock of the killed build was never released"
                time.sleep(0.005)
        # The next build may start now: nothing of the dead one may still write.
        assert not running(pids["child"]) and not running(pids["grandchild"])
    finally:
        os.close(fd)
        for pid in pids.values():
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_build_that_ends_normally_leaves_what_it_released_and_the_watcher_exits():
    with Lifeline() as line:
        child = subprocess.Popen(["sleep", "60"], start_new_session=True)
        line.watch(child.pid)
        line.release(child.pid)
    try:
        assert line.proc.returncode == 0
        assert child.poll() is None, "a released group was killed"
    finally:
        child.kill()
        child.wait()


def test_what_is_still_registered_when_the_build_ends_is_ended():
    with Lifeline() as line:
        child = subprocess.Popen(["sleep", "60"], start_new_session=True)
        line.watch(child.pid)
    assert child.wait(timeout=5) == -signal.SIGKILL


def test_a_watcher_ignores_what_is_not_a_group_it_may_kill():
    """Garbage, group 0 (its own) and 1 (init) are never signalled."""
    with Lifeline() as line:
        line._say("+0\n+1\nnonsense\n+-5\n")
    assert line.proc.returncode == 0
