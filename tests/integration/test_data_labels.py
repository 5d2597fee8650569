"""A label of the data package holding '$' runs through a chapter as text.

matplotlib reads text between two '$' as mathtext and MyST as maths; a data
label is neither. The safety chapter, whose figures and tables show adverse
events and withdrawal reasons as written, is executed with papermill on a copy
of the data package whose labels hold '$'.
"""

from __future__ import annotations

import csv
import shutil

import nbformat
import papermill
import pytest

from tests.conftest import ROOT
from thalbook.core import paths
from thalbook.core.evidence import data

pytestmark = pytest.mark.slow

DOLLAR = r"(cost: $\notasymbol$)"  # between two $, mathtext would parse (and fail on) the rest


def _append(path, row_id: str, column: str, text: str) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    for row in rows:
        if row["id"] == row_id:
            row[column] += text
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_a_dollar_in_labels_does_not_stop_the_safety_chapter(tmp_path, monkeypatch):
    directory = tmp_path / "data"
    shutil.copytree(ROOT / "data", directory)
    _append(directory / "adverse_events.csv", "wei2003-drug-eruption-results", "event", f" {DOLLAR}")
    _append(directory / "withdrawals.csv", "wei2003-drug-eruption-results", "reason", f" {DOLLAR}")
    assert data.validate(directory) == []
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(directory))  # the kernel inherits it, as under thalbook build
    out = tmp_path / "safety.ipynb"
    papermill.execute_notebook(str(ROOT / "chapters" / "safety.ipynb"), str(out), kernel_name="python3",
                               progress_bar=False, execution_timeout=300)
    outputs = [o for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", [])]
    # glue(..., display=False) stores the figure under the scrapbook mime prefix
    figures = {o["metadata"]["scrapbook"]["name"] for o in outputs if "scrapbook" in o.get("metadata", {})
               and f"{o['metadata']['scrapbook']['mime_prefix']}image/svg+xml" in o.get("data", {})}
    assert {"fig_safety_events", "fig_safety_as_flow"} <= figures
    markdown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert r"(cost: \$\\notasymbol\$)" in markdown  # in the tables, escaped for MyST
