"""Kernels never race for ports: they talk over Unix sockets in the build's own directory.

jupyter_client picks free TCP ports and the kernel binds them a moment later;
another process (another build) may take one in between and the kernel dies
(``ZMQError: Address already in use``). The build's kernels use the IPC
transport instead, with connection files and sockets under ``<out>/kernels``
(or a private temporary directory when that path is too long for a socket),
and a kernel that fails at start-up is replaced once by a fresh one.

The executor is driven directly on small throw-away notebooks, but for the
builds started at once, which run ``thalbook run`` in a project copy whose
table of contents is cut down to two chapters.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.conftest import copy_project

pytestmark = pytest.mark.slow

#: A cell that writes what the kernel it runs in knows of its connection to ``PATH``: the
#: connection file, the endpoint its shell socket is bound to, and the TCP sockets it listens on.
PROBE = '''
import json, os, zmq, ipykernel
from ipykernel.kernelapp import IPKernelApp
app = IPKernelApp.instance()
inodes = set()
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    if target.startswith("socket:["):
        inodes.add(target[8:-1])
listening = []
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(table) as f:
        for row in f.read().splitlines()[1:]:
            fields = row.split()
            if fields[9] in inodes and fields[3] == "0A":  # 0A: LISTEN
                listening.append(fields[1])
connection_file = ipykernel.get_connection_file()
with open(connection_file) as f:
    info = json.load(f)
shell = app.shell_socket.getsockopt(zmq.LAST_ENDPOINT).decode()
with open(PATH, "w") as f:
    json.dump({"file": connection_file, "info": info, "shell": shell, "listening": listening}, f)
'''


def probe(path: Path) -> str:
    return f"PATH = {str(path)!r}\n{PROBE}"


def chapter(folder: Path, name: str, *sources: str):
    """A throw-away notebook chapter made of code cells."""
    from thalbook.press.toc import Chapter

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return Chapter(name, path)


def execute(chapters, out: Path, jobs: int = 1):
    """Run ``chapters`` with the build's executor; return its successes, failures, progress and kernels' log."""
    from thalbook.press import execute as ex

    tasks = [ex.Task(c, {}, uuid.uuid4().hex) for c in chapters]
    progress: list[str] = []
    with ex.Executor(tasks, out, out.parent, jobs) as executor:
        executions, failures = executor.run(progress.append)
    assert not executor.kernels, f"kernels still registered after the executor ended: {executor.kernels}"
    return executions, failures, progress, (out / "logs" / "kernels.log").read_text()


def assert_over_ipc(probe: Path, directory: Path) -> dict:
    """The kernel's channels are Unix sockets under ``directory``; it listens on no TCP port but
    ipykernel's IOPub pipe for forked subprocesses (bound by the kernel itself on 127.0.0.1)."""
    seen = json.loads(probe.read_text())
    info = seen["info"]
    assert info["transport"] == "ipc", info
    assert Path(seen["file"]).parent == directory, seen["file"]
    assert Path(info["ip"]).parent == directory, info["ip"]
    assert seen["shell"] == f"ipc://{info['ip']}-{info['shell_port']}", seen["shell"]
    # The sockets' files are gone with the kernel; the connection file says where they were.
    assert len(seen["listening"]) <= 1, seen["listening"]
    assert all(address.startswith(("0100007F:", "00000000000000000000000001000000:"))
               for address in seen["listening"]), seen["listening"]
    listening_ports = {int(address.rsplit(":", 1)[1], 16) for address in seen["listening"]}
    channel_ports = {info[f"{c}_port"] for c in ("shell", "iopub", "stdin", "control", "hb")}
    assert not listening_ports & channel_ports
    return info


def test_kernels_talk_over_unix_sockets_in_the_build_directory(tmp_path: Path):
    """Two chapters at once: each kernel has a prefix of its own under ``<out>/kernels``; nothing is left."""
    out = tmp_path / "out"
    probes = [tmp_path / f"probe-{n}.json" for n in range(2)]
    sockets = tmp_path / "sockets.json"
    # While it runs, the first chapter also records the socket files its kernel made.
    listing = (f"import json, os, stat\nprefix = info['ip']\n"
               f"json.dump({{p: stat.S_ISSOCK(os.stat(f'{{prefix}}-{{info[p]}}').st_mode) "
               f"for p in ('shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port')}}, "
               f"open({str(sockets)!r}, 'w'))")
    # The second records the modes of its connection file and of the directory: the file holds the key
    # that lets one run code in the kernel, only the build's user may read it.
    modes = tmp_path / "modes.json"
    record_modes = ("import stat\ncf = connection_file  # the probe's\n"
                    "modes = [stat.S_IMODE(os.stat(cf).st_mode), stat.S_IMODE(os.stat(os.path.dirname(cf)).st_mode)]\n"
                    f"json.dump(modes, open({str(modes)!r}, 'w'))")
    chapters = [chapter(tmp_path, "first", probe(probes[0]), listing),
                chapter(tmp_path, "second", probe(probes[1]), record_modes)]

    executions, failures, progress, log = execute(chapters, out, jobs=2)

    assert not failures, (failures, log)
    assert len(executions) == 2
    infos = [assert_over_ipc(probe, out / "kernels") for probe in probes]
    assert infos[0]["ip"] != infos[1]["ip"]
    assert json.loads(sockets.read_text()) == dict.fromkeys(
        ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"), True)
    file_mode, dir_mode = json.loads(modes.read_text())
    assert file_mode & 0o077 == 0 and dir_mode & 0o077 == 0, (oct(file_mode), oct(dir_mode))
    assert not (out / "kernels").exists(), list((out / "kernels").rglob("*"))
    assert "Address already in use" not in log and "without encryption" not in log, log


def test_a_build_directory_too_deep_for_a_socket_uses_a_private_directory(tmp_path: Path):
    """``<out>/kernels/<prefix>-<port>`` over 107 bytes: the kernel's files go to a private temporary
    directory (mode 0700), removed afterwards, and nothing is made in ``<out>/kernels``."""
    out = tmp_path.joinpath(*["deep-directory-name"] * 6) / "out"
    assert len(os.fsencode(out / "kernels")) > 107
    probe_file = tmp_path / "probe.json"
    mode = tmp_path / "mode.txt"
    record_mode = (f"import os, stat\nopen({str(mode)!r}, 'w').write("
                   f"oct(stat.S_IMODE(os.stat(os.path.dirname(info['ip'])).st_mode)))")

    executions, failures, _, log = execute([chapter(tmp_path, "deep", probe(probe_file),
                                                    record_mode)], out)

    assert not failures, (failures, log)
    seen = json.loads(probe_file.read_text())
    private = Path(seen["file"]).parent
    assert private.name.startswith("thalbook-kernels-"), private
    assert_over_ipc(probe_file, private)
    assert int(mode.read_text(), 8) & 0o077 == 0, mode.read_text()  # only the build's user
    assert not private.exists(), list(private.rglob("*"))
    assert not (out / "kernels").exists()


def small_book(tmp_path: Path, count: int) -> Path:
    """A project copy whose table of contents keeps its first ``count`` notebook chapters."""
    project = copy_project(tmp_path / "project")
    toc_path = project / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    kept = [c for c in toc["parts"][0]["chapters"] if (project / c["file"]).with_suffix(".ipynb").exists()][:count]
    toc["parts"] = [{**toc["parts"][0], "chapters": kept}]
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    return project


def test_builds_started_at_once_do_not_meet(tmp_path: Path):
    """Three ``thalbook run`` at once in one project, two chapters each, two at a time: all succeed,
    and no kernel complains of a taken address or of unencrypted TCP."""
    project = small_book(tmp_path, 2)
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    env.pop("THALBOOK_DATA_DIR", None)
    outs = [tmp_path / f"out-{n}" for n in range(3)]
    procs = [subprocess.Popen([sys.executable, "-m", "thalbook.press.cli", "run", "--out", str(out), "--jobs", "2"],
                              cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
             for out in outs]
    try:
        results = [proc.communicate(timeout=300) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    for proc, out, (_, stderr) in zip(procs, outs, results, strict=True):
        log = (out / "logs" / "kernels.log").read_text()
        assert proc.returncode == 0, (stderr, log)
        assert stderr.count("  executed  ") == 2, stderr
        assert "Address already in use" not in log, log
        assert "without encryption" not in log and "unencrypted" not in log.lower(), log
        assert "retrying" not in log, log  # no kernel needed a second chance either
        assert not (out / "kernels").exists()


def flaky_manager(monkeypatch, failures: int, how: str) -> list[str]:
    """Make the first ``failures`` kernel starts fail: ``raise`` in the manager's ``start_kernel``, or
    ``die``: the kernel is killed as soon as it is launched, before it replies to ``kernel_info``.
    Returns the list of what each start did."""
    from thalbook.press import execute as ex

    base = ex._kernel_manager_class()
    starts: list[str] = []
    lock = threading.Lock()

    class Flaky(base):
        async def start_kernel(self, **kwargs):
            with lock:
                failing = len(starts) < failures
                starts.append(how if failing else "started")
            if failing and how == "raise":
                raise RuntimeError("planted start-up failure")
            await super().start_kernel(**kwargs)
            if failing:
                os.killpg(self.provisioner.pgid, signal.SIGKILL)

    monkeypatch.setattr(ex, "_kernel_manager_class", lambda: Flaky)
    return starts


@pytest.mark.parametrize("how", ["raise", "die"])
def test_a_kernel_that_fails_to_start_once_is_retried(tmp_path: Path, monkeypatch, how: str):
    starts = flaky_manager(monkeypatch, 1, how)
    done = tmp_path / "ran"
    out = tmp_path / "out"

    executions, failures, progress, log = execute(
        [chapter(tmp_path, "lucky", f"open({str(done)!r}, 'w').write('yes')")], out)

    assert not failures, (failures, log)
    assert [e.chapter for e in executions] == ["lucky"]
    assert done.read_text() == "yes"
    assert starts == [how, "started"]
    assert "chapter lucky: its kernel failed at start-up" in log and "retrying once with a fresh kernel" in log, log
    expected = "planted start-up failure" if how == "raise" else "Kernel died before replying to kernel_info"
    assert expected in log, log
    assert not any("retr" in line for line in progress), progress  # the log is told, not the terminal
    assert not (out / "kernels").exists()


def test_a_kernel_that_fails_to_start_twice_fails_its_chapter(tmp_path: Path, monkeypatch):
    starts = flaky_manager(monkeypatch, 2, "raise")

    executions, failures, progress, log = execute([chapter(tmp_path, "unlucky", "1 + 1")], tmp_path / "out")

    assert not executions
    assert starts == ["raise", "raise"]
    assert failures == ["chapter unlucky failed at start-up: RuntimeError: planted start-up failure "
                        "(retried once in a fresh kernel)"], failures
    assert any(line.startswith("  FAILED    unlucky: RuntimeError: planted start-up failure") for line in progress)
    assert "retrying once with a fresh kernel" in log and "failed at start-up too" in log, log


def test_a_chapter_that_fails_in_a_cell_is_not_retried(tmp_path: Path, monkeypatch):
    """Only a kernel's start-up is retried: a chapter whose cell raises runs once."""
    starts = flaky_manager(monkeypatch, 0, "raise")
    executions, failures, _, log = execute([chapter(tmp_path, "broken", "raise ValueError('planted')")],
                                           tmp_path / "out")
    assert not executions
    assert starts == ["started"]
    assert failures and failures[0].startswith("chapter broken failed at cell 1: ValueError: planted"), failures
    assert "retrying" not in log, log

