"""Two cold builds from the same inputs give the same book.

The session's cold build (``built_book``) is compared with a second cold build
into a fresh directory: every executed notebook must be identical once the
records of *when* and *where* it ran are set aside (papermill's start/end times
and durations, the kernel's per-cell ``execution`` timestamps, and the output
path, which names the build directory), and every figure, in the notebooks and
in the HTML's ``_images``, must be byte-identical.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from tests.conftest import thalbook

pytestmark = pytest.mark.slow

TIMING = ("start_time", "end_time", "duration")


def comparable(path: Path, out: Path) -> dict:
    """The executed notebook as JSON, less timing, with the build directory replaced by ``<out>``."""
    nb = nbformat.read(path, as_version=4)
    record = nb.metadata.get("papermill", {})
    for key in TIMING:
        record.pop(key, None)
    if "output_path" in record:
        record["output_path"] = record["output_path"].replace(str(out), "<out>")
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for key in TIMING:
            cell.metadata.get("papermill", {}).pop(key, None)
    return json.loads(nbformat.writes(nb))


def figures(path: Path) -> dict[str, str]:
    """SHA-256 of every figure output (SVG for the HTML, PDF for LaTeX), keyed by cell, output and format."""
    found = {}
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for j, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            if "image/svg+xml" in data:
                found[f"cell {i} output {j} svg"] = hashlib.sha256(data["image/svg+xml"].encode()).hexdigest()
            if "application/pdf" in data:
                pdf = base64.b64decode(data["application/pdf"])
                found[f"cell {i} output {j} pdf"] = hashlib.sha256(pdf).hexdigest()
    return found


def first_difference(a, b, where: str = "") -> str:
    """Where two JSON values first differ, for a readable failure."""
    if type(a) is not type(b):
        return f"{where}: {a!r:.200} != {b!r:.200}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return first_difference(a.get(key), b.get(key), f"{where}.{key}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return first_difference(x, y, f"{where}[{i}]")
    return f"{where}: {a!r:.200} != {b!r:.200}"


@pytest.fixture(scope="module")
def second_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("second") / "_book"
    proc = thalbook("build", "--format", "html", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "cached" not in proc.stderr, "the second build must be cold"
    return out


def test_both_builds_had_the_same_inputs(built_book: Path, second_build: Path):
    keys = [{c: r["key"] for c, r in json.loads((o / "run.json").read_text())["chapters"].items()}
            for o in (built_book, second_build)]
    # Keys hash each chapter, its parameters, the data, the package and the requirements: if they
    # differ, the sources changed between the two builds and the comparison below means nothing.
    assert keys[0] == keys[1]
    assert all(not r["cached"] for r in json.loads((second_build / "run.json").read_text())["chapters"].values())


def test_executed_notebooks_are_identical(built_book: Path, second_build: Path):
    names = sorted(p.name for p in (built_book / "executed").glob("*.ipynb"))
    assert names and names == sorted(p.name for p in (second_build / "executed").glob("*.ipynb"))
    for name in names:
        a = comparable(built_book / "executed" / name, built_book.resolve())
        b = comparable(second_build / "executed" / name, second_build.resolve())
        assert a == b, f"{name} differs at {first_difference(a, b)}"


def test_figures_are_byte_identical(built_book: Path, second_build: Path):
    for name in sorted(p.name for p in (built_book / "executed").glob("*.ipynb")):
        assert figures(built_book / "executed" / name) == figures(second_build / "executed" / name), name

    def images(out: Path) -> dict[str, bytes]:
        folder = out / "html" / "_images"
        return {p.name: p.read_bytes() for p in sorted(folder.glob("*"))} if folder.is_dir() else {}

    first, second = images(built_book), images(second_build)
    assert sorted(first) == sorted(second)
    assert all(first[name] == second[name] for name in first), [n for n in first if first[n] != second[n]]
    total = sum(len(figures(p)) for p in (built_book / "executed").glob("*.ipynb"))
    assert total > 0 and first, "no figure was compared"
    print(f"{total} notebook figure(s) and {len(first)} HTML image(s) compared")
