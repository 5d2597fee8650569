"""The build writes and deletes only what it made: hostile build directories, links, caches, disks.

Every refusal is checked the same way: exit code, exactly one line on stderr
naming the culprit, no traceback, and not one foreign byte changed (a digest of
every entry under the directory, links included, before and after).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, seed_book, seed_cache, thalbook

pytestmark = pytest.mark.slow

MARKER = ".thalbook-build"
#: Every name the build creates inside its directory (src/thalbook/press/builddir.py says the same;
#: written out here so that a name added there without a test here is noticed in review).
OWNED = (".lock", ".building", "run.json", "cache", "executed", "pending", "failed", "stage", "kernels",
         "jb", "site", "html", ".html.tmp", "pdf", "logs")


def snapshot(path: Path) -> str:
    """Digest of every entry under ``path``: names, file bytes, link targets, never following a link."""
    h = hashlib.sha256()
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted([*dirs, *files]):
            entry = Path(folder) / name
            h.update(str(entry.relative_to(path)).encode() + b"\0")
            if entry.is_symlink():
                h.update(b"link:" + os.readlink(entry).encode())
            elif entry.is_file():
                h.update(entry.read_bytes())
    return h.hexdigest()


def refused(proc: subprocess.CompletedProcess, code: int, culprit: str) -> str:
    """Assert a one-line refusal naming ``culprit`` (a regular expression); return the line."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    # A build that got as far as executing prints its progress first; the refusal is one line, the last.
    lines = proc.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("thalbook:") and "error" in ln]
    assert len(errors) == 1 and errors[0] == lines[-1], proc.stderr
    assert re.search(culprit, lines[-1]), lines[-1]
    return lines[-1]


# --------------------------------------------------------------------------- directories that are not the build's


def test_a_directory_with_foreign_content_is_refused_untouched(tmp_path: Path):
    out = tmp_path / "site-of-mine"
    (out / "html").mkdir(parents=True)
    (out / "site" / "p").mkdir(parents=True)
    (out / "html" / "index.html").write_text("a\n")
    (out / "site" / "p" / "cat.jpg").write_bytes(b"b\n")
    (out / "pending").mkdir()
    (out / "pending" / "draft.ipynb").write_text("{}\n")
    before = snapshot(out)
    for fmt in ("html", "all"):
        refused(thalbook("build", "--format", fmt, "--out", str(out)), 2, rf"--out {re.escape(str(out))}: not empty")
        refused(thalbook("run", "--out", str(out)), 2, "not a thalbook build directory")
    assert snapshot(out) == before


@pytest.mark.parametrize(("out", "culprit"), [
    ("", r"--out '': an empty path"),
    ("/", r"--out /: the root of the file system"),
    (".", r"holds the book's sources"),
    ("..", r"holds the book's sources"),
    ("chapters/x", r"inside the book's sources \(chapters/\)"),
    ("data", r"inside the book's sources \(data/\)"),
    ("_build", r"_build: Jupyter Book's own directory, which `jupyter-book clean` empties"),
    ("README.md", r"README\.md: not a directory"),
    ("README.md/x", r"README\.md/x: not a directory"),
])
def test_paths_that_cannot_be_a_build_directory_are_refused(out: str, culprit: str):
    before = snapshot(ROOT / "chapters"), snapshot(ROOT / "data"), (ROOT / "README.md").read_bytes()
    refused(thalbook("build", "--out", out), 2, culprit)
    assert (snapshot(ROOT / "chapters"), snapshot(ROOT / "data"), (ROOT / "README.md").read_bytes()) == before


def test_an_empty_directory_is_adopted_and_marked(tmp_path: Path, built_book: Path):
    out = tmp_path / "empty"
    out.mkdir()
    proc = thalbook("run", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / MARKER).is_file()


# --------------------------------------------------------------------------- links the build did not make


@pytest.fixture
def marked(tmp_path: Path, built_book: Path) -> Path:
    """A build directory the build marked, with a copy of the session's cache."""
    return seed_cache(built_book, tmp_path / "_book")


@pytest.mark.parametrize("inner", ["logs/x", "site/x", "cache/results/x"])
def test_a_build_directory_inside_another_is_refused_untouched(marked: Path, inner: str):
    before = snapshot(marked)
    for verb in ("build", "run"):
        refused(thalbook(verb, "--out", str(marked / inner)), 2,
                rf"--out {re.escape(str(marked / inner))}: inside the build directory {re.escape(str(marked))}")
    assert snapshot(marked) == before


def test_a_build_directory_that_lost_its_marker_is_healed(marked: Path):
    """``make clean`` racing a running build can delete the marker while the build recreates its names."""
    (marked / MARKER).unlink()
    proc = thalbook("run", "--out", str(marked))
    assert proc.returncode == 0, proc.stderr
    assert f"restored  {marked / MARKER}: the build directory had lost its marker" in proc.stderr
    assert (marked / MARKER).is_file()
    again = thalbook("run", "--out", str(marked))
    assert again.returncode == 0 and "restored" not in again.stderr, again.stderr


@pytest.mark.parametrize("name", OWNED)
@pytest.mark.parametrize("target_kind", ["file", "directory"])
def test_a_link_at_a_path_the_build_touches_is_refused(marked: Path, tmp_path: Path, name: str, target_kind: str):
    victim = tmp_path / "victim"
    if target_kind == "file":
        victim.write_text("not the build's\n")
    else:
        (victim / "inside").mkdir(parents=True)
        (victim / "inside" / "keep.txt").write_text("not the build's\n")
    link = marked / name
    if link.is_dir():
        shutil.rmtree(link)
    os.symlink(victim, link)
    before = snapshot(victim) if victim.is_dir() else victim.read_bytes()
    refused(thalbook("build", "--format", "all", "--out", str(marked)), 2,
            rf"{re.escape(str(link))}: a symbolic link the build did not make")
    assert (snapshot(victim) if victim.is_dir() else victim.read_bytes()) == before
    assert link.is_symlink()


def test_a_link_deep_inside_the_cache_is_refused(marked: Path, tmp_path: Path):
    victim = tmp_path / "victim.ipynb"
    victim.write_text("not the build's\n")
    entry = next((marked / "cache").glob("*/*.ipynb"))
    entry.unlink()
    os.symlink(victim, entry)
    refused(thalbook("build", "--out", str(marked)), 2, rf"{re.escape(str(entry))}: a symbolic link")
    assert victim.read_text() == "not the build's\n"


def test_a_marker_that_is_a_link_does_not_mark(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("x\n")
    os.symlink(victim, out / MARKER)
    refused(thalbook("build", "--out", str(out)), 2, "not a thalbook build directory")
    assert victim.read_text() == "x\n"


def test_a_real_html_directory_left_by_another_tool_is_refused_untouched(marked: Path):
    (marked / "html").mkdir()
    (marked / "html" / "index.html").write_text("from jupyter-book build .\n")
    before = snapshot(marked / "html")
    refused(thalbook("build", "--out", str(marked)), 2, rf"{re.escape(str(marked / 'html'))}: a directory")
    assert snapshot(marked / "html") == before


def test_foreign_files_in_a_build_directory_survive_a_build(marked: Path):
    (marked / "notes.txt").write_text("mine\n")
    (marked / "site").mkdir()
    (marked / "site" / "p").mkdir()
    (marked / "site" / "p" / "cat.jpg").write_bytes(b"mine\n")
    for _ in range(2):  # the second build replaces the first one's site, and must prune only that
        proc = thalbook("build", "--format", "html", "--out", str(marked), "--set", "rounding=half-even")
        assert proc.returncode == 0, proc.stderr
        proc = thalbook("build", "--format", "html", "--out", str(marked))
        assert proc.returncode == 0, proc.stderr
    assert (marked / "notes.txt").read_text() == "mine\n"
    assert (marked / "site" / "p" / "cat.jpg").read_bytes() == b"mine\n"
    assert len([p for p in (marked / "site").iterdir() if p.name != "p"]) == 1


# --------------------------------------------------------------------------- the cache heals itself


def damage_truncate_meta(entry: Path) -> None:
    meta = entry.with_suffix(".json")
    meta.write_bytes(meta.read_bytes()[:5])


def damage_delete_meta(entry: Path) -> None:
    entry.with_suffix(".json").unlink()


def damage_truncate_notebook(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[:100])


def damage_delete_notebook(entry: Path) -> None:
    entry.unlink()


def damage_meta_not_an_object(entry: Path) -> None:
    entry.with_suffix(".json").write_text("[1, 2]\n")


@pytest.mark.parametrize("damage", [damage_truncate_meta, damage_delete_meta, damage_truncate_notebook,
                                    damage_delete_notebook, damage_meta_not_an_object],
                         ids=lambda f: f.__name__.removeprefix("damage_"))
def test_a_damaged_cache_entry_is_discarded_and_executed_again(marked: Path, damage):
    chapter = "safety"
    entries = sorted((marked / "cache" / chapter).glob("*.ipynb"))
    assert entries, "the session's cache has no entry for the chapter"
    for entry in entries:
        damage(entry)
    proc = thalbook("run", "--out", str(marked))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert re.search(rf"repaired\s+{chapter}\b", proc.stderr), proc.stderr
    assert re.search(rf"executed\s+{chapter}\b", proc.stderr), proc.stderr
    again = thalbook("run", "--out", str(marked))
    assert again.returncode == 0 and "executing" not in again.stderr, again.stderr


# --------------------------------------------------------------------------- a full disk, a read-only directory


@contextlib.contextmanager
def tmpfs(where: Path, size: str):
    """A small tmpfs mounted at ``where`` (needs root: CI runs as root on its machine)."""
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}): run as root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def tmp_leftovers(out: Path) -> list[Path]:
    return [p for p in (*out.glob("site/.*.tmp"), *out.glob("pdf/.*.tmp"), *out.glob(".*.tmp"))]


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until at most ``leave`` bytes are free; return the filler file."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as handle:
        with contextlib.suppress(OSError):
            handle.write(b"\0" * max(free - leave, 0))
    return filler


@pytest.mark.parametrize("leave", [0, 4 * 2**20], ids=["full", "nearly-full"])
def test_a_full_disk_gives_one_line_and_leaves_the_book(tmp_path: Path, built_book: Path, leave: int):
    with tmpfs(tmp_path / "disk", "64m") as disk:
        out = seed_book(built_book, disk / "_book")
        first = thalbook("build", "--format", "all", "--out", str(out))
        assert first.returncode == 0, first.stderr
        before = snapshot(out / "site"), (out / "pdf" / "book.pdf").read_bytes(), os.readlink(out / "html")
        filler = fill(disk, leave)
        proc = thalbook("build", "--format", "all", "--out", str(out), "--set", "rounding=half-even")
        refused(proc, 1, r"no space left on device|No space left on device")
        assert (snapshot(out / "site"), (out / "pdf" / "book.pdf").read_bytes(), os.readlink(out / "html")) == before
        assert not tmp_leftovers(out), tmp_leftovers(out)
        filler.unlink()
        again = thalbook("build", "--format", "all", "--out", str(out), "--set", "rounding=half-even")
        assert again.returncode == 0, again.stderr
        assert os.readlink(out / "html") != before[2]


def test_a_read_only_build_directory_gives_one_line_and_leaves_the_book(tmp_path: Path, built_book: Path):
    with tmpfs(tmp_path / "disk", "64m") as disk:
        out = seed_cache(built_book, disk / "_book")
        first = thalbook("build", "--format", "html", "--out", str(out))
        assert first.returncode == 0, first.stderr
        before = snapshot(out)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        proc = thalbook("build", "--format", "all", "--out", str(out), "--set", "rounding=half-even")
        refused(proc, 1, rf"{re.escape(str(out))}.*read-only file system")
        assert snapshot(out) == before
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)


# --------------------------------------------------------------------------- a broken installation


def test_a_missing_python_package_gives_one_line(tmp_path: Path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    # Stands for a package that is not installed: importing it fails as a missing one would.
    (shadow / "nbformat.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'nbformat'\", name='nbformat')\n")
    env = {**os.environ, "PYTHONPATH": f"{shadow}{os.pathsep}{ROOT / 'src'}"}
    proc = subprocess.run([sys.executable, "-m", "thalbook.press.cli", "build", "--out", str(tmp_path / "out")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    refused(proc, 1, r"Python package nbformat is missing .*run `make setup`")


def test_a_missing_jupyter_book_command_gives_one_line(tmp_path: Path, built_book: Path):
    """An interpreter beside which no ``jupyter-book`` is installed (a venv with its scripts lost)."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    os.symlink(sys.executable, bin_dir / "python")
    out = seed_cache(built_book, tmp_path / "_book")
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *site_packages])}
    env.pop("THALBOOK_DATA_DIR", None)
    proc = subprocess.run([str(bin_dir / "python"), "-m", "thalbook.press.cli", "build", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert re.search(r"jupyter-book: cannot start Jupyter Book .*run `make setup`", last), last
    assert not (out / "html").exists()


def test_a_hostile_data_directory_publishes_only_what_its_descriptor_names(marked: Path, tmp_path: Path):
    """Dotfiles, an editor's swap file, an HTML page with a script, notes and a folder beside the package:
    none is published, listed on the reproducibility page, or part of any cache key."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    planted = {".env": "SECRET=1\n", ".studies.csv.swp": "swap\n", "evil.html": "<script>alert(1)</script>\n",
               "notes.txt": "private\n", "drafts/old.csv": "a\n1\n"}
    for name, text in planted.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text(text)
    proc = thalbook("build", "--format", "html", "--out", str(marked), "--data", str(data))
    assert proc.returncode == 0, proc.stderr
    assert "executing" not in proc.stderr, "files the package does not name changed a cache key"
    site = (marked / "html").resolve()
    named = {p.name for p in (ROOT / "data").iterdir() if p.suffix in (".csv", ".json", ".md")}
    assert {p.name for p in (site / "data").iterdir()} == named
    page = (site / "chapters" / "reproducibility.html").read_text(encoding="utf-8")
    for name in planted:
        assert Path(name).name not in page, name
    for leaked in site.rglob("*"):
        assert leaked.name not in {Path(n).name for n in planted}, leaked
    check = thalbook("check-data", "--data", str(data))
    assert check.returncode == 0, check.stderr
    warned = [ln for ln in check.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warned) == len(planted), check.stderr
