"""A chapter run by papermill alone refuses a parameter as ``thalbook`` does, in one last line.

papermill only warns about a name the notebook's ``parameters`` cell does not
declare ("Passed unknown parameter") and passes any value; the chapter's own
check (:func:`thalbook.chapters.view.check_names` and ``check_values``, through
:func:`thalbook.core.parameters.check`) must refuse a misspelt name and an
invalid value, naming the parameter in ``thalbook build --set``'s words, before
any statistic is computed.

papermill's command line prints, for a failing cell, its own Python traceback
(26 lines through click, which no notebook can change) and then the cell's
error output. The chapter makes that output one line, so that the line
naming the parameter ends stderr; the traceback stays in the executed notebook,
folded just above the error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT, thalbook

pytestmark = pytest.mark.slow

#: Most lines papermill's stderr may have for a refused parameter. Measured (papermill 2.7, click 8): 35
#: or 36 lines, 26 of them papermill's own traceback; before the chapter's error was one line, 71 for a
#: refused value, the cell's traceback (36 lines) between papermill's and the line naming the parameter.
MAX_STDERR_LINES = 40

#: (papermill's options, the same parameter as ``thalbook build --set`` takes it).
REFUSED = [
    pytest.param(["-p", "ci_methd", "jeffreys"], "ci_methd=jeffreys", id="misspelt-name"),
    pytest.param(["-p", "confidence_level", "2"], "confidence_level=2", id="invalid-value"),
]


def papermill(tmp_path: Path, *options: str, notebook: str = "crohns_results.ipynb") -> subprocess.CompletedProcess:
    """Run papermill's command line; stdout and stderr as text whose line breaks are the terminal's.

    papermill's progress bar redraws one line with carriage returns, which
    ``text=True`` would turn into line breaks: they are kept as they are.
    """
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("papermill")), notebook, str(tmp_path / "out.ipynb"), *options,
         "--kernel", "python3"],
        cwd=ROOT / "chapters", capture_output=True, timeout=300)
    proc.stdout, proc.stderr = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    return proc


def terminal_lines(text: str) -> list[str]:
    """The lines a terminal shows: split at line feeds only, each as its last carriage return left it."""
    return [line.rsplit("\r", 1)[-1] for line in text.split("\n")]


def last_line(text: str) -> str:
    return [line for line in terminal_lines(text) if line.strip()][-1]


@pytest.mark.parametrize("how", [["-p", "confidence_level", "nan"], ["-y", "confidence_level: .nan"]],
                         ids=["-p", "-y"])
def test_papermill_refuses_a_nan_level_naming_the_parameter(tmp_path: Path, how: list[str]):
    proc = papermill(tmp_path, *how)
    assert proc.returncode != 0
    assert last_line(proc.stderr) == "ParameterError: confidence_level: nan is not a finite number", proc.stderr
    assert "proportion_ci" not in proc.stderr, "refused by a statistics function, not by the chapter's check"


@pytest.mark.parametrize("options, override", REFUSED)
def test_papermill_refuses_as_thalbook_does_in_one_last_line(tmp_path: Path, options: list[str], override: str):
    proc = papermill(tmp_path, *options)
    refused = thalbook("build", "--set", override, "--out", str(tmp_path / "book"), timeout=120)
    assert refused.returncode == 2, refused.stderr
    prefix = "thalbook: error: --set "
    assert refused.stderr.startswith(prefix) and refused.stderr.count("\n") == 1, refused.stderr
    message = refused.stderr[len(prefix):].strip()
    assert message.startswith(override.partition("=")[0] + ": "), "thalbook's line names the parameter"

    assert proc.returncode != 0, proc.stderr
    # the same words as thalbook's, as the last line of the terminal's output
    assert last_line(proc.stderr) == f"ParameterError: {message}", proc.stderr
    # all the chapter adds to papermill's report is that line: no traceback of the cell
    lines = terminal_lines(proc.stderr)
    heading = next(i for i, line in enumerate(lines) if line.startswith("Exception encountered at"))
    assert [line for line in lines[heading + 1:] if line.strip()] == [f"ParameterError: {message}"]
    assert "src/thalbook" not in proc.stderr and "Cell In[" not in proc.stderr, proc.stderr
    assert len(lines) <= MAX_STDERR_LINES, f"{len(lines)} lines of stderr:\n{proc.stderr}"


def test_the_executed_notebook_keeps_the_traceback_folded_above_the_error(tmp_path: Path):
    proc = papermill(tmp_path, "-p", "ci_methd", "jeffreys")
    assert proc.returncode != 0
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    failed = next(cell for cell in nb.cells if cell.cell_type == "code"
                  and any(out.output_type == "error" for out in cell.get("outputs", [])))
    *before, error = failed.outputs
    line = "ParameterError: ci_methd: unknown parameter (known: confidence_level, ci_method, analysis_set, rounding)"
    assert error.output_type == "error" and error.ename == "ParameterError" and error.traceback == [line]
    traceback = before[-1]
    assert traceback.output_type == "display_data"
    text = traceback.data["text/plain"]
    # from the cell, through the chapter's build, to the check that refused
    assert text.startswith("Traceback (most recent call last):") and text.rstrip().endswith(line)
    assert "crohns_results.build(" in text and "crohns_results.py" in text and "parameters.py" in text, text
    assert "interactiveshell.py" not in text, "IPython's own frames are not the chapter's story"
    assert traceback.data["text/html"].startswith("<details>"), "folded in JupyterLab"


def test_a_parameter_of_the_book_that_the_chapter_does_not_take_is_refused(tmp_path: Path):
    proc = papermill(tmp_path, "-p", "ci_method", "wilson", notebook="background.ipynb")
    assert proc.returncode != 0
    assert last_line(proc.stderr) == "ParameterError: ci_method: not a parameter of chapter background (it takes none)"


def test_correct_parameters_run_under_papermill_and_as_jupyterlab_runs_the_notebook(tmp_path: Path):
    proc = papermill(tmp_path, "-p", "ci_method", "jeffreys", "-p", "confidence_level", "0.9", "--inject-paths")
    assert proc.returncode == 0, proc.stderr
    assert "ParameterError" not in proc.stderr
    used = json.loads((tmp_path / "out.ipynb").read_text())["metadata"]["papermill"]["parameters"]
    assert used["ci_method"] == "jeffreys"

    # JupyterLab: the cells run in order without papermill's injected cell, then the
    # chapter's cell again in the same kernel (a person re-running it after others ran)
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "chapters" / "crohns_results.ipynb", as_version=4)
    client = NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "chapters")}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        chapter = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                       and "parameters" not in cell.metadata.get("tags", []))
        client.execute_cell(nb.cells[chapter], chapter)
    assert not [out for cell in nb.cells for out in cell.get("outputs", []) if out.output_type == "error"]
