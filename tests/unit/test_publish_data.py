"""What leaves the data directory: only the files the descriptor names, none too large, no live formulas.

A data directory also holds what is no part of the package (an ``.env``, an
editor's swap file, notes, an HTML page with a script, a folder). The site
publishes, and the reproducibility page lists, exactly the files the data and
results descriptors name (``thalbook.core.evidence.validate.named_files``);
``thalbook check-data`` warns about the rest. A file too large is refused by
its size before it is read. CSV exports quote any text cell a spreadsheet
would evaluate.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from thalbook.core import paths
from thalbook.core.analyses import results_package
from thalbook.core.auditing import checks
from thalbook.core.auditing.verdicts import COLUMNS
from thalbook.core.errors import DataError
from thalbook.core.evidence import data, rules, validate
from thalbook.press import cli, record
from thalbook.press.publish import Publication

#: What the data package publishes: its descriptor, its readme and the files of its resources.
NAMED = sorted(["datapackage.json", "README.md", *(f"{name}.csv" for name in rules.RESOURCES)])
#: What a data directory may hold besides: each must stay behind, with a warning.
EXTRA = {".env": "TOKEN=secret\n", ".notes.swp": "b0VIM 8.2\n", "evil.html": "<script>alert(1)</script>\n",
         "notes.txt": "to do\n", "drafts/old.csv": "a,b\n1,2\n"}
#: 300 MB, as a sparse file: no disk or memory is used to make it.
HUGE = 300_000_000


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A copy of the real data package with files beside it that are no part of it."""
    directory = tmp_path / "data"
    shutil.copytree(paths.project().data, directory)
    for name, text in EXTRA.items():
        (directory / name).parent.mkdir(exist_ok=True)
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir())


# ------------------------------------------------------------------ publishing and listing

def test_named_files_are_the_descriptor_the_readme_and_the_resources(hostile):
    assert [p.relative_to(hostile).as_posix() for p in validate.named_files(hostile)] == NAMED


def test_a_resource_path_outside_the_package_or_behind_a_link_is_not_named(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n", encoding="utf-8")
    package = tmp_path / "package"
    (package / "sub").mkdir(parents=True)
    for name in ("a.csv", "sub/b.csv"):
        (package / name).write_text("a\n1\n", encoding="utf-8")
    (package / "link.csv").symlink_to(secret)
    (package / "linked").symlink_to(tmp_path)
    paths_named = ["a.csv", "sub/b.csv", "../secret.csv", str(secret), "file:///etc/passwd", "https://x.org/a.csv",
                   "link.csv", "linked/secret.csv", "./a.csv", "sub\\b.csv", "missing.csv", 3, None]
    descriptor = {"resources": [{"name": f"r{i}", "path": path} for i, path in enumerate(paths_named)]}
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    named = [p.relative_to(package).as_posix() for p in validate.named_files(package)]
    assert named == ["a.csv", "datapackage.json", "sub/b.csv"]


def test_the_site_publishes_only_the_named_files_of_each_package(hostile, tmp_path):
    built = tmp_path / "built"
    (built / "_static").mkdir(parents=True)
    (built / "index.html").write_text("<html>book</html>\n", encoding="utf-8")
    (built / "_static" / "style.css").write_text("body {}\n", encoding="utf-8")
    # The results package: its descriptor names its files; the same rule applies to it.
    made = {"findings": pd.DataFrame({c: ["x"] for c in results_package.RESOURCES["findings"][1]})}
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    (results_dir / "findings.csv").write_bytes(results_package.csv_bytes(made["findings"]))
    meta = results_package.descriptor(made, {"rounding": "half-up"})
    (results_dir / "datapackage.json").write_text(json.dumps(meta), encoding="utf-8")
    (results_dir / "stray.log").write_text("left by a crash\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    publication = Publication(out, "0123456789abcdef")
    try:
        publication.prepare_html(built, packages={"data": hostile, "results": results_dir})
        site = publication.site_tmp
        assert _files(site / "data") == NAMED
        assert _files(site / "results") == ["datapackage.json", "findings.csv"]
        for name in NAMED:
            assert (site / "data" / name).read_bytes() == (hostile / name).read_bytes()
        assert not [p for p in _files(site) if Path(p).name in {".env", ".notes.swp", "evil.html", "notes.txt",
                                                                "old.csv", "stray.log"}]
    finally:
        publication.discard()
    assert not any((out / "site").iterdir())


def test_the_reproducibility_page_lists_only_the_named_files(hostile):
    checksums = record.values({}, {}, {}, hostile)["checksums"].splitlines()
    assert [line.split("  ", 1)[1] for line in checksums] == NAMED
    readme = hashlib.sha256((hostile / "README.md").read_bytes()).hexdigest()
    assert f"{readme}  README.md" in checksums


def test_check_data_warns_about_each_unnamed_file_and_passes(hostile, capsys):
    (hostile / "link-to-studies.csv").symlink_to("studies.csv")
    assert cli.main(["check-data", "--data", str(hostile)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{hostile}: data package is valid\n"
    tail = "not named by datapackage.json; it is neither published nor listed"
    expected = sorted([*EXTRA, "link-to-studies.csv"])
    assert captured.err.splitlines() == [f"warning: data/{name}: {tail}" for name in expected]
    # The real package holds nothing else: no warning.
    assert cli.main(["check-data", "--data", str(paths.project().data)]) == 0
    assert capsys.readouterr().err == ""


def test_a_named_file_behind_a_link_is_neither_published_nor_silent(hostile, tmp_path):
    moved = hostile / "drafts" / "measures.csv"
    (hostile / "measures.csv").rename(moved)
    (hostile / "measures.csv").symlink_to(moved)
    assert data.validate(hostile) == []  # a link inside the package reads as its target
    assert "measures.csv" not in [p.name for p in validate.named_files(hostile)]
    assert ("measures.csv", "named by datapackage.json, but not a regular file reached without a link") in \
        validate.unpublished_files(hostile)


def test_the_publish_module_reads_descriptors_without_pandas():
    code = ("import sys; from thalbook.press import publish; from thalbook.core.evidence.validate import named_files; "
            "print('pandas' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(paths.PACKAGE.parent)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert proc.stdout.strip() == "False"


# ------------------------------------------------------------------ size limit

def _sparse(path: Path, size: int = HUGE) -> None:
    with path.open("r+b" if path.exists() else "wb") as handle:
        handle.truncate(size)


def test_check_data_refuses_a_huge_file_by_its_size(hostile, capsys):
    _sparse(hostile / "measures.csv")
    tracemalloc.start()
    try:
        started = time.perf_counter()
        code = cli.main(["check-data", "--data", str(hostile)])
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    problems = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("warning: ")]
    assert problems == ["measures.csv: file: 300.0 MB, over the 10 MB a data file may have"]
    assert peak < 100_000_000 and seconds < 60, (peak, seconds)


def test_a_huge_descriptor_is_refused_before_it_is_read(hostile):
    _sparse(hostile / "datapackage.json")
    assert [str(p) for p in validate.validate(hostile)] == [
        "datapackage.json: file: 300.0 MB, over the 10 MB a data file may have"]
    assert validate.named_files(hostile) == []  # nothing is published from a package that cannot be read


def test_load_refuses_a_huge_file_before_reading_anything(hostile):
    _sparse(hostile / "statements.csv")
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as caught:
            data.load(hostile)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(caught.value) == "statements.csv: file: 300.0 MB, over the 10 MB a data file may have"
    assert peak < 10_000_000, peak
    assert data.content_digest(hostile) is None


def test_a_file_at_the_limit_is_read(hostile):
    assert validate.oversize(hostile / "notes.txt", "notes.txt") is None
    _sparse(hostile / "notes.txt", validate.MAX_FILE_BYTES)
    assert validate.oversize(hostile / "notes.txt", "notes.txt") is None
    _sparse(hostile / "notes.txt", validate.MAX_FILE_BYTES + 1)
    assert validate.oversize(hostile / "notes.txt", "notes.txt") is not None


# ------------------------------------------------------------------ CSV exports

#: Text a spreadsheet would evaluate, and what the export writes instead.
PLANTED = {'=HYPERLINK("https://example.org/x","click")': '\'=HYPERLINK("https://example.org/x","click")',
           "+1": "'+1", "@SUM(A1:A9)": "'@SUM(A1:A9)", "-2+3": "'-2+3", "\tx": "'\tx"}
#: Text that stays as it is: plain numbers (a negative one too) and text that starts harmlessly.
KEPT = ["-1.87", "3.1", "a=b", "8/10 (80%)", ""]


def _audit_rows(cells: list[str]) -> pd.DataFrame:
    rows = [["s", "q", "results", cell, "percent-to-count", "consistent", "d", "", ""] for cell in cells]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _read_back(text: str, column: str) -> list[str]:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)[column].tolist()


def test_audit_csv_quotes_every_cell_a_spreadsheet_would_evaluate():
    text = checks.format_audit(_audit_rows([*PLANTED, *KEPT]), "csv")
    assert _read_back(text, "reported") == [*PLANTED.values(), *KEPT]
    # A carriage return (no cell of the data package holds one) cannot be read back from CSV
    # written with \n line ends, so it is checked in the text itself.
    assert ",'\r=1," in checks.format_audit(_audit_rows(["\r=1"]), "csv")


def test_results_csv_quotes_text_and_keeps_numbers():
    table = pd.DataFrame({"support": [*PLANTED, *KEPT],
                          "change": [-1.87, -2.0, 0.5, 1.0, 2.0, -0.1, 4.0, 5.0, 6.0, 7.0]})
    body = results_package.csv_bytes(table).decode("utf-8")
    assert _read_back(body, "support") == [*PLANTED.values(), *KEPT]
    assert pd.read_csv(io.StringIO(body))["change"].tolist() == table["change"].tolist()
    assert "\n-1.87," in body and ",-1.87\n" in body

