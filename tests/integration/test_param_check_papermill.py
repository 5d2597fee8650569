"""A chapter run by papermill alone refuses a NaN level as ``thalbook`` does, before any statistic.

papermill's command line reads ``-p confidence_level nan`` as a float, so the
chapter receives NaN, which a JSON Schema range lets through; the chapter's own
check (:func:`thalbook.core.parameters.check`) must refuse it, naming the
parameter, rather than let a statistics function fail on it later.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("how", [["-p", "confidence_level", "nan"], ["-y", "confidence_level: .nan"]],
                         ids=["-p", "-y"])
def test_papermill_refuses_a_nan_level_naming_the_parameter(tmp_path: Path, how: list[str]):
    out = tmp_path / "out.ipynb"
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("papermill")), "crohns_results.ipynb", str(out), *how,
         "--kernel", "python3"],
        cwd=ROOT / "chapters", capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "ParameterError: confidence_level: nan is not a finite number" in proc.stderr, proc.stderr[-2000:]
    assert "proportion_ci" not in proc.stderr, "refused by a statistics function, not by the chapter's check"
