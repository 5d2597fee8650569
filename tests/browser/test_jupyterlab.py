"""A chapter opened in JupyterLab 4, as a Jupyter user would open it: its MyST renders (jupyterlab-myst).

The server runs from this environment on a free local port, with its own
configuration, data and runtime folders and a copy of the chapters as its root,
so that nothing of the user's Jupyter set-up or of the project is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A chapter whose opening markdown holds a MyST admonition (the teratogenicity warning).
CHAPTER = "safety.ipynb"
#: What jupyterlab-myst renders a markdown cell into.
RENDERED = ".jp-MarkdownCell .myst"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_jupyterlab_myst_is_installed_and_enabled():
    jupyter = Path(sys.executable).with_name("jupyter")
    listed = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True, timeout=120)
    line = next((ln for ln in (listed.stdout + listed.stderr).splitlines() if "jupyterlab-myst" in ln), "")
    assert "enabled" in line and "OK" in line, listed.stdout + listed.stderr


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser) -> str:
    work = tmp_path_factory.mktemp("lab")
    root = work / "chapters"
    shutil.copytree(ROOT / "chapters", root)
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / "config"), "JUPYTER_DATA_DIR": str(work / "data"),
           "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
    jupyter = Path(sys.executable).with_name("jupyter")
    log = (work / "server.log").open("w")
    server = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--allow-root",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (work / "server.log").read_text()
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_a_chapter_opened_in_jupyterlab_renders_its_myst(lab: str, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{lab}/lab/tree/{CHAPTER}")
        # the danger box of the chapter's opening, rendered by jupyterlab-myst: a titled box, not a fence
        # (jupyterlab-myst renders a cell into a `.myst` widget; the cell's editor, hidden, holds its source)
        page.wait_for_selector(f"{RENDERED} >> text=Thalidomide causes severe birth defects", timeout=120_000)
        page.wait_for_selector(f"{RENDERED} >> text=Danger", timeout=30_000)
        # and no cell shows the raw directive fence
        shown = page.evaluate(f"() => Array.from(document.querySelectorAll('{RENDERED}'))"
                              ".map(e => e.innerText).join('\\n')")
        assert "```{danger}" not in shown and "{cite:p}" not in shown
    finally:
        page.close()
    assert not errors, json.dumps(errors[:3])
