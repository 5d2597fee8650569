"""A chapter opened in JupyterLab 4, as a Jupyter user would open it: its MyST renders (jupyterlab-myst), and
once it has run, its prose reads with the book's numbers, citations and table numbers.

The server runs from this environment on a free local port, with its own
configuration, data, settings and runtime folders and a copy of the chapters
as its root, so that nothing of the user's Jupyter set-up or of the project is
touched; its kernels find the project through ``THALBOOK_PROJECT``, as
``make lab``'s find it from ``chapters/``. Every cell is drawn (JupyterLab's
windowing off), so that the page's text is the whole notebook's. Screenshots
of the chapter go to ``test-artifacts/jupyterlab/`` for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import papermill
import pytest

from tests.conftest import ARTIFACTS, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A chapter whose opening markdown holds a MyST admonition (the teratogenicity warning).
CHAPTER = "safety.ipynb"
#: A chapter whose prose glues numbers, cites and refers to tables and figures by number.
NUMBERS = "crohns_results.ipynb"
#: What jupyterlab-myst renders a markdown cell into, and a cell output into.
RENDERED = ".jp-MarkdownCell .myst"
OUTPUT = ".jp-OutputArea-output"
SHOTS = ARTIFACTS / "jupyterlab"
#: JupyterLab settings of the test server: every cell drawn, no news pop-up over the page.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}
#: The visible text of the notebook's elements ``selector`` finds (a folded cell renders nothing).
VISIBLE_TEXT_JS = """(selector) => Array.from(document.querySelectorAll(
    `.jp-NotebookPanel:not(.lm-mod-hidden) ${selector}`)).filter(e => e.checkVisibility())
    .map(e => e.innerText).join('\\n')"""
#: The outputs of the cells that show the prose filled in (``view.prose``), as one text.
PROSE_TEXT_JS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell'))
    .filter(c => c.querySelector('.jp-InputArea').innerText.includes('view.prose('))
    .map(c => Array.from(c.querySelectorAll('.jp-OutputArea-output')).map(o => o.innerText).join('\\n'))
    .join('\\n')"""


@dataclass
class Lab:
    url: str
    root: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _glued_and_cited(notebook: Path) -> tuple[set[str], set[str]]:
    """The glued names (those with an underscore, which no sentence holds) and citation keys of its prose."""
    prose = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown")
    glued = {k for k in re.findall(r"\{glue:text\}`([^`:]+)", prose) if "_" in k}
    return glued, set(re.findall(r"\{cite:[pt]\}`([^`]+)`", prose))


def _open(lab: Lab, browser, notebook: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{lab.url}/lab/tree/{notebook}?reset")  # a fresh workspace: this notebook only
    page.wait_for_selector(f".jp-NotebookPanel:not(.lm-mod-hidden) {RENDERED}", timeout=120_000)
    return page


def _photograph(page, name: str, text: str) -> Path:
    """Scroll the output holding ``text`` into view and save a screenshot of the window."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(OUTPUT, has_text=text).first.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def test_jupyterlab_myst_is_installed_and_enabled():
    jupyter = Path(sys.executable).with_name("jupyter")
    listed = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True, timeout=120)
    line = next((ln for ln in (listed.stdout + listed.stderr).splitlines() if "jupyterlab-myst" in ln), "")
    assert "enabled" in line and "OK" in line, listed.stdout + listed.stderr


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser) -> Lab:
    work = tmp_path_factory.mktemp("lab")
    root = work / "chapters"
    shutil.copytree(ROOT / "chapters", root)
    for name, values in SETTINGS.items():
        (work / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (work / "settings" / name).write_text(json.dumps(values), encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / "config"), "JUPYTER_DATA_DIR": str(work / "data"),
           "JUPYTER_RUNTIME_DIR": str(work / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
           "THALBOOK_PROJECT": str(ROOT)}
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
        yield Lab(f"http://127.0.0.1:{port}", root)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_a_chapter_opened_in_jupyterlab_renders_its_myst(lab: Lab, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{lab.url}/lab/tree/{CHAPTER}?reset")
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


def test_an_executed_chapter_reads_with_its_numbers_in_jupyterlab(lab: Lab, browser):
    """The executed copy a reader opens (papermill's, as the build's): the prose with the book's numbers."""
    executed = lab.root / "crohns_results.executed.ipynb"
    papermill.execute_notebook(str(ROOT / "chapters" / NUMBERS), str(executed), kernel_name="python3",
                               cwd=str(ROOT / "chapters"), progress_bar=False, execution_timeout=300)
    page = _open(lab, browser, executed.name)
    try:
        outputs = page.evaluate(PROSE_TEXT_JS)
        markdown = page.evaluate(VISIBLE_TEXT_JS, RENDERED)
        # the opening sentence as the book prints it: "He et al. [He et al., 2017] treated 47 adults ..."
        assert re.search(r"He et al\. \[He et al\., 2017\] treated 47 adults with active Crohn.s disease", outputs)
        assert re.search(r"with\s+50 to 100 mg of thalidomide a day", outputs)
        assert "Table 3.1 lists, for every percentage the record gives" in outputs
        assert re.search(r"23\.4% at week 8 is\s+11 of 47", outputs)
        assert "[Lazzerini et al., 2013]" in outputs and "(Fig. 3.1)" in outputs
        # and no prose a reader sees holds a key: no role, no glued name, no citation key, no table's name
        # (the tables' own cells cite as the book's MyST does: jupyterlab-myst flags those keys)
        glued, cited = _glued_and_cited(ROOT / "chapters" / NUMBERS)
        for text in (outputs, markdown):
            assert not re.search(r"\{(glue:text|cite:[pt]|numref)\}", text)
            assert not [k for k in glued | cited if re.search(rf"\b{re.escape(k)}\b", text)]
            assert "tbl-crohns" not in text and "fig-crohns" not in text
        shot = _photograph(page, "crohns_results-executed", "treated 47 adults")
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


def test_a_chapter_run_in_jupyterlab_shows_its_prose_with_its_numbers(lab: Lab, browser):
    """Run › Run All Cells on the chapter as committed (no outputs): each folded paragraph gets its numbers."""
    page = _open(lab, browser, NUMBERS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=120_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        # the last paragraph of the chapter, filled in by the last prose cell
        page.wait_for_selector(f"{OUTPUT} >> text=a randomised trial in adults", timeout=300_000)
        outputs = page.evaluate(PROSE_TEXT_JS)
        assert re.search(r"treated 47 adults with active Crohn.s disease", outputs)
        assert re.search(r"with\s+50 to 100 mg of thalidomide a day", outputs)
        assert not re.search(r"\{(glue:text|cite:[pt]|numref)\}", outputs)
        assert page.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0
        assert "Traceback" not in page.evaluate(VISIBLE_TEXT_JS, OUTPUT)
        prose_cells = [c for c in nbformat.read(ROOT / "chapters" / NUMBERS, as_version=4).cells
                       if c.source.startswith("view.prose(")]
        filled = page.locator(".jp-CodeCell", has_text="view.prose(").locator(OUTPUT)
        assert filled.count() == len(prose_cells)
        _photograph(page, "crohns_results-run", "gives the remission rate at each visit")
    finally:
        page.close()
    assert not errors, json.dumps(errors[:3])
