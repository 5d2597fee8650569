"""Kernels forked from one warm process (the "zygote").

Most of a chapter's execution time is its kernel starting, importing (ipykernel,
pandas, SciPy, statsmodels, matplotlib, seaborn, this package) and validating the
data: the same work in every chapter. When several chapters are to run, one
"zygote" process does that work once and every kernel is a fork of it: still a
fresh process per chapter, with the arguments, environment, working directory and
standard streams jupyter_client gave it. jupyter_client starts ``zygote_client.py`` in
place of the kernel; it asks the zygote for a kernel, relays signals to it and
exits with its status. A client that cannot reach the zygote becomes the usual
kernel command, so the zygote can only make a build faster, never break it.

The zygote and its client are the scripts ``zygote_server.py`` and
``zygote_client.py`` beside this module; this module starts the zygote for a
build and gives papermill a kernel manager that starts kernels through it.
Written by hand: Jupyter has no fork server for kernels.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from thalbook.core import paths

if TYPE_CHECKING:
    from thalbook.build.pipeline import Chapter

#: Imported by the zygote besides what the chapters import: the package imports
#: these lazily, so that one chapter alone starts fast, but forked kernels should
#: find them loaded.
WARM_MODULES = ("scipy.stats", "statsmodels.stats.proportion", "matplotlib.pyplot", "seaborn")

SERVER = Path(__file__).with_name("zygote_server.py")
CLIENT = Path(__file__).with_name("zygote_client.py")


def chapter_imports(chapters: list[Chapter]) -> list[str]:
    """The modules the chapters' code cells import (and ``module.name`` for ``from module import name``)."""
    names: dict[str, None] = {}
    for chapter in chapters:
        for cell in json.loads(chapter.source.read_bytes()).get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            try:
                tree = ast.parse("".join(cell.get("source", "")))
            except SyntaxError:  # IPython magics: not worth parsing
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(dict.fromkeys(alias.name for alias in node.names))
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names[node.module] = None
                    names.update(dict.fromkeys(f"{node.module}.{alias.name}" for alias in node.names))
    return list(names)


@contextlib.contextmanager
def kernel_zygote(chapters: list[Chapter], log: Path) -> Iterator[str | None]:
    """Run a zygote while more than one chapter is executed; yield its socket (or None)."""
    if len(chapters) < 2 or not hasattr(os, "pidfd_open"):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="thalbook-") as tmp, open(log, "ab") as err:
        path = os.path.join(tmp, "zygote")
        warm = json.dumps([*chapter_imports(chapters), *WARM_MODULES])
        proc = subprocess.Popen([sys.executable, "-P", str(SERVER), path, warm, str(os.getpid())],
                                stdin=subprocess.PIPE, stdout=err, stderr=err, cwd=paths.CHAPTERS)
        try:
            yield path
        finally:
            proc.stdin.close()  # the zygote ends, and ends any kernel still running
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def zygote_kernel_manager(zygote: str) -> type:
    """An ``AsyncKernelManager`` whose python3 kernels are forks of ``zygote``."""
    from jupyter_client import AsyncKernelManager

    class ZygoteKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            command = super().format_kernel_cmd(extra_arguments)
            # Only the kernel the zygote is: ipykernel on this very interpreter.
            if command[0] == sys.executable and command[1:3] == ["-m", "ipykernel_launcher"]:
                return [sys.executable, "-P", "-S", str(CLIENT), zygote, *command]
            return command

    return ZygoteKernelManager
