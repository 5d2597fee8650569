"""Faults lose nothing: a chapter that raises, and a build killed mid-way.

Each case starts from a published HTML + PDF book in a project copy. After the
fault, the published book must be byte-identical, no process the faulty build
started (kernels above all) may still run, and the next build must succeed and
publish. Processes are recognised by an environment variable the test gives
the build, which every child inherits (kernels included).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.conftest import published

pytestmark = pytest.mark.slow

TAG = "THALBOOK_TEST_BUILD"


def first_notebook_chapter(project: Path) -> Path:
    toc = yaml.safe_load((project / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            path = (project / chapter["file"]).with_suffix(".ipynb")
            if path.exists():
                return path
    raise AssertionError("no notebook chapter in _toc.yml")


def start(project: Path, tag: str, *args: str, log: Path) -> subprocess.Popen:
    """Start ``thalbook build`` in its own process group, as a shell would run it."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), TAG: tag}
    env.pop("THALBOOK_DATA_DIR", None)
    with open(log, "w") as stderr:
        return subprocess.Popen([sys.executable, "-m", "thalbook.press.cli", "build", *args], cwd=project, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                start_new_session=True)


def build(project: Path, tag: str, *args: str, log: Path) -> tuple[int, str]:
    proc = start(project, tag, *args, log=log)
    code = proc.wait(timeout=600)
    return code, log.read_text()


def processes(tag: str, project: Path) -> dict[int, str]:
    """Every live process of a build: it inherited ``TAG=tag``, or it works inside ``project``
    (papermill starts each kernel in the chapters folder), so a child given a fresh environment
    is found too. Returns pid -> command line."""
    found = {}
    inside = str(project.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        ours = f"{TAG}={tag}".encode() in environ or cwd == inside or cwd.startswith(inside + "/")
        if ours and cmdline:  # a zombie has no command line
            found[int(entry.name)] = cmdline
    return found


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def assert_no_survivors(tag: str, project: Path, grace: float = 10.0) -> None:
    """Nothing the build started may outlive it (ipykernel polls its parent once a second)."""
    deadline = time.monotonic() + grace
    while (left := processes(tag, project)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes of the dead build still running after {grace} s: {left}"


@pytest.fixture
def chapter(published_project: Path):
    """The first notebook chapter of the copy; put back as it was after the test."""
    path = first_notebook_chapter(published_project)
    original = path.read_bytes()
    yield path
    path.write_bytes(original)


def append_cell(path: Path, source: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    nbformat.write(nb, path)


def plant(chapter: Path, moment: str, started: Path) -> None:
    """Change ``chapter`` so that it re-executes; when ``moment`` is "executing", so that its kernel
    leaves ``started`` and then sleeps, to be caught inside a cell."""
    if moment == "executing":
        append_cell(chapter, f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(60)")
    elif moment == "publish":
        # Hundreds of figures (distinct bytes after a 1 x 1 PNG) make preparing the new site take long
        # enough to be caught from outside; a chapter with many figures publishes the same way.
        append_cell(chapter, "import base64\nfrom IPython.display import Image, display\n"
                             "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk'"
                             "'+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')\n"
                             f"for i in range(600):\n    display(Image(data=png + b{uuid.uuid4().hex!r} + "
                             "str(i).encode()))")
    else:
        append_cell(chapter, f"changed = {uuid.uuid4().hex!r}")


def replace_in_cells(path: Path, old: str, new: str) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace(old, new)
    nbformat.write(nb, path)


def test_a_chapter_that_raises_loses_nothing(published_project: Path, chapter: Path, tmp_path: Path):
    project, tag = published_project, uuid.uuid4().hex
    before = published(project)
    append_cell(chapter, "raise RuntimeError('planted failure')")

    code, stderr = build(project, tag, "--format", "all", log=tmp_path / "failing.log")
    assert code == 1, stderr
    last = stderr.strip().splitlines()[-1]
    assert chapter.stem in last and "planted failure" in last, last
    assert "Traceback" not in stderr
    assert published(project) == before
    assert_no_survivors(tag, project)

    replace_in_cells(chapter, "raise RuntimeError('planted failure')", "planted = 'fixed'")
    code, stderr = build(project, tag, "--format", "html", log=tmp_path / "next.log")
    assert code == 0, stderr
    assert re.search(rf"executed\s+{chapter.stem}\b", stderr), stderr
    after = published(project)
    assert after["html"] != before["html"], "the next build published nothing"
    assert after["pdf"] == before["pdf"]  # an HTML build leaves the PDF alone
    assert_no_survivors(tag, project)


#: (stage, format, what is killed): every stage of a build, killed with SIGKILL as the out-of-memory
#: killer or a CI runner's hard kill does: the build's own process only (its children are not told),
#: and once its whole process group (the lifeline is in a session of its own and outlives it).
KILLS = [("executing", "html", "process"), ("sphinx", "html", "process"), ("latex", "all", "process"),
         ("results", "html", "process"), ("publish", "html", "process"), ("executing", "html", "group")]


@pytest.mark.parametrize(("stage", "fmt", "target"), KILLS, ids=[f"{s}-{f}-{t}" for s, f, t in KILLS])
def test_a_build_killed_with_sigkill_leaves_no_process_and_loses_nothing(
        published_project: Path, chapter: Path, tmp_path: Path, stage: str, fmt: str, target: str):
    """No process of the build is alive 2 s after it was killed, the book is as it was, the next build works.

    The stages are recognised from outside, whatever the pipeline's internals: the planted cell
    leaves a file once the kernel runs it; Sphinx writes its doctrees under ``_book/jb`` after the
    chapter has executed; ``xelatex`` runs; the results package's process runs (its cache entry
    removed, it is computed again); a new site is being prepared beside the published one.
    """
    project, tag = published_project, uuid.uuid4().hex
    out = project / "_book"
    before = published(project)
    started = tmp_path / "kernel-started"
    log = tmp_path / "killed.log"
    if stage == "results":
        for entry in (out / "cache" / "results").iterdir():
            shutil.rmtree(entry)
    else:
        plant(chapter, stage, started)

    def sphinx() -> bool:
        executed = re.search(rf"executed\s+{chapter.stem}\b", log.read_text()) if log.exists() else None
        return bool(executed) and any(p.stat().st_mtime > t0 for p in out.glob("jb/**/*.doctree"))

    def running(what: str):
        return lambda: any(what in command for command in processes(tag, project).values())

    def publishing() -> bool:
        return any(out.glob("site/.*.tmp"))

    ready = {"executing": started.exists, "sphinx": sphinx, "latex": running("xelatex"),
             "results": running("thalbook.press.results"), "publish": publishing}[stage]
    t0 = time.time()
    proc = start(project, tag, "--format", fmt, log=log)
    try:
        wait_for(ready, 300, f"the build to be at its {stage} stage", interval=0.005)
        if stage in ("executing", "sphinx", "latex"):
            time.sleep(0.3)  # inside the step, not at its first instruction
        (os.killpg if target == "group" else os.kill)(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, log.read_text()
    assert_no_survivors(tag, project, grace=2.0)
    if stage == "publish" and published(project) != before:
        # Killed the instant the swap was made: the new book whole, never a mixture.
        from thalbook.press import publish

        assert publish.site_intact(out) and publish.published_key(out) is not None
    else:
        assert published(project) == before, "the killed build changed the published book"

    if stage == "executing":
        replace_in_cells(chapter, "time.sleep(60)", "time.sleep(0)")
    code, stderr = build(project, tag, "--format", fmt, log=tmp_path / "next.log")
    assert code == 0, stderr
    if stage in ("sphinx", "latex", "publish"):
        # Killed after the chapter had executed and been cached: that work is kept.
        assert re.search(rf"cached\s+{chapter.stem}\b", stderr), stderr
    after = published(project)
    if stage == "results":
        assert "results   computed" in stderr, stderr
    else:
        assert after["html"] != before["html"], "the next build published nothing"
    assert (out / "html" / "index.html").is_file()
    assert not list((out / "cache" / "results").glob("*.partial")), "a killed build's partial package was kept"
    assert not list(out.glob("site/.*.tmp")), "a killed build's half-prepared site was kept"
    assert_no_survivors(tag, project)


# --------------------------------------------------------------------------- the signal matrix

#: (moment, format): LaTeX runs only when the PDF is built.
MOMENTS = [("executing", "html"), ("executing", "all"), ("sphinx", "html"), ("sphinx", "all"), ("latex", "all")]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
@pytest.mark.parametrize(("moment", "fmt"), MOMENTS, ids=[f"{m}-{f}" for m, f in MOMENTS])
def test_a_signal_ends_the_build_cleanly(published_project: Path, chapter: Path, tmp_path: Path,
                                         moment: str, fmt: str, signum: signal.Signals):
    """A signal to the build's own process (as ``kill``, ``timeout`` or a cancelled CI job send it).

    The build must end with 128 + the signal's number and an honest last line, leave the
    published HTML and PDF byte-identical, leave no process behind, and the next build must
    succeed. The moments are recognised from outside: a file the planted cell leaves, Sphinx's
    doctrees, a running ``xelatex`` of this build.
    """
    project, tag = published_project, uuid.uuid4().hex
    out = project / "_book"
    before = published(project)
    started = tmp_path / "kernel-started"
    log = tmp_path / "interrupted.log"
    plant(chapter, moment, started)

    def sphinx_running() -> bool:
        executed = re.search(rf"executed\s+{chapter.stem}\b", log.read_text()) if log.exists() else None
        return bool(executed) and any(p.stat().st_mtime > t0 for p in out.glob("jb/**/*.doctree"))

    def latex_running() -> bool:
        return any("xelatex" in command for command in processes(tag, project).values())

    ready = {"executing": started.exists, "sphinx": sphinx_running, "latex": latex_running}[moment]
    t0 = time.time()
    proc = start(project, tag, "--format", fmt, log=log)
    try:
        wait_for(ready, 300, f"the build to be {moment}")
        time.sleep(0.3)  # inside the step, not at its first instruction
        os.kill(proc.pid, signum)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    stderr = log.read_text()
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"thalbook: interrupted by {signum.name}; the published book is unchanged"), stderr
    assert published(project) == before, "the interrupted build changed the published book"
    assert_no_survivors(tag, project)

    if moment == "executing":
        replace_in_cells(chapter, "time.sleep(60)", "time.sleep(0)")
    code, stderr = build(project, tag, "--format", fmt, log=tmp_path / "next.log")
    assert code == 0, stderr
    after = published(project)
    assert after["html"] != before["html"], "the next build published nothing"
    if fmt == "all":
        assert after["pdf"] != before["pdf"], "the next build published no PDF"
    assert_no_survivors(tag, project)


def test_a_failing_latex_run_names_the_tool_and_its_log_and_publishes_neither(
        published_project: Path, chapter: Path, tmp_path: Path):
    """With ``--format all`` the new HTML is built fine, but the PDF fails: neither is published."""
    project, tag = published_project, uuid.uuid4().hex
    before = published(project)
    nb = nbformat.read(chapter, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("```{raw} latex\n\\thalbookundefinedcommand\n```"))
    nbformat.write(nb, chapter)
    code, stderr = build(project, tag, "--format", "all", log=tmp_path / "latex.log")
    assert code == 1, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert re.search(r"LaTeX \(xelatex\) failed: ! Undefined control sequence.*\(read \S+book\.log", last), last
    log = Path(re.search(r"\(read (\S+book\.log)", last).group(1))
    assert "thalbookundefinedcommand" in log.read_text(errors="replace")
    assert published(project) == before, "a failed PDF must leave the HTML unpublished too"
    assert_no_survivors(tag, project)


def test_a_failing_results_package_publishes_no_pdf(published_project: Path, tmp_path: Path):
    """The results package is computed beside Sphinx; a PDF-only build that made its PDF still waits
    for it, and publishes nothing when it failed."""
    project, tag = published_project, uuid.uuid4().hex
    before = published(project)
    source = project / "src" / "thalbook" / "press" / "results.py"
    original = source.read_text(encoding="utf-8")
    head = "def main(argv: list[str]) -> int:\n"
    assert head in original
    source.write_text(original.replace(head, head + "    raise SystemExit('planted results fault')\n", 1),
                      encoding="utf-8")
    try:
        code, stderr = build(project, tag, "--format", "pdf", log=tmp_path / "results.log")
    finally:
        source.write_text(original, encoding="utf-8")
    assert code == 1, stderr
    assert "Traceback" not in stderr
    assert "pdf       built" not in stderr, "the PDF was reported built although the build failed"
    last = stderr.strip().splitlines()[-1]
    assert re.search(r"results package: planted results fault \(full log: \S+results\.log\)", last), last
    assert published(project) == before, "a failed results package must leave the PDF unpublished"
    assert_no_survivors(tag, project)


# --------------------------------------------------------------------------- Jupyter Book's own commands


def publish_current(project: Path, env: dict) -> dict[str, str]:
    """Publish the book as the project now makes it (earlier tests share this project); what a reader sees."""
    current = subprocess.run([sys.executable, "-m", "thalbook.press.cli", "build", "--format", "all"], cwd=project,
                             env=env, capture_output=True, text=True, timeout=600)
    assert current.returncode == 0, current.stderr
    return published(project)


def still_published(project: Path, env: dict, before: dict) -> None:
    """The book the build published is still the one its record describes: the next build changes nothing."""
    rebuilt = subprocess.run([sys.executable, "-m", "thalbook.press.cli", "build", "--format", "all"], cwd=project,
                             env=env, capture_output=True, text=True, timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "html      up to date" in rebuilt.stderr and "pdf       up to date" in rebuilt.stderr
    assert published(project) == before


@pytest.mark.parametrize("builder", ["html", "pdflatex"])
def test_jupyter_book_on_the_project_stops_at_once_and_leaves_the_book_alone(published_project: Path,
                                                                              builder: str):
    project = published_project
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    before = publish_current(project, env)
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", ".", "--builder", builder], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("thalbook:")]
    assert len(said) == 1 and "make book" in said[0], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert published(project) == before
    still_published(project, env, before)


def test_jupyter_book_clean_leaves_the_book_and_its_cache_alone(published_project: Path):
    """``jupyter-book clean`` empties ``_build``, Jupyter Book's directory; the book is built elsewhere."""
    project = published_project
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    before = publish_current(project, env)
    jb = Path(sys.executable).with_name("jupyter-book")
    # a refused `jupyter-book build .` first, so that Jupyter Book has a _build of its own to clean
    subprocess.run([str(jb), "build", "."], cwd=project, env=env, capture_output=True, timeout=300)
    for args in (["clean", "."], ["clean", "--all", "."]):
        proc = subprocess.run([str(jb), *args], cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
    assert published(project) == before
    still_published(project, env, before)


def test_a_site_changed_after_publication_is_built_again(published_project: Path):
    project = published_project
    page = next((project / "_book" / "html" / "chapters").glob("safety.html"))
    original = page.read_bytes()
    page.write_bytes(original.replace(b"</body>", b"<p>written by someone else</p></body>"))
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    # the same format as the published book (an HTML book built with its PDF is another book)
    proc = subprocess.run([sys.executable, "-m", "thalbook.press.cli", "build", "--format", "all"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "changed after it was published" in proc.stderr and "pdf       up to date" in proc.stderr
    rebuilt = (project / "_book" / "html" / "chapters" / "safety.html").read_bytes()
    assert b"written by someone else" not in rebuilt and b"Safety" in rebuilt
    from thalbook.press import publish

    assert publish.site_intact(project / "_book")


# --------------------------------------------------------------------------- what the build trusts


def run_build(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    env.pop("THALBOOK_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "thalbook.press.cli", "build", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_damaged_results_package_in_the_cache_is_computed_again_not_published(published_project: Path,
                                                                                 built_book: Path):
    """One CSV truncated, another deleted: the build notices, computes the package again, publishes it whole."""
    project = published_project
    out = project / "_book"
    assert run_build(project, "--format", "all").returncode == 0
    (entry,) = [p for p in (out / "cache" / "results").iterdir() if p.is_dir()]
    csvs = sorted(entry.glob("*.csv"))
    csvs[0].write_bytes(csvs[0].read_bytes()[:40])
    csvs[1].unlink()
    # The published site is changed too, so that the HTML is published again from the cache entry.
    (out / "html" / "search.html").write_text("changed")
    proc = run_build(project, "--format", "all")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"repaired\s+results: the cached package \w+… was damaged \(its files differ", proc.stderr), (
        proc.stderr)
    for csv in csvs[:2]:
        assert (out / "html" / "results" / csv.name).read_bytes() == (
            built_book / "html" / "results" / csv.name).read_bytes(), csv.name
    again = run_build(project, "--format", "all")
    assert "html      up to date" in again.stderr and "repaired" not in again.stderr, again.stderr


def test_a_truncated_published_pdf_is_built_again(published_project: Path):
    project = published_project
    assert run_build(project, "--format", "all").returncode == 0
    pdf = project / "_book" / "pdf" / "book.pdf"
    whole = pdf.stat().st_size
    pdf.write_bytes(pdf.read_bytes()[: whole // 2])
    proc = run_build(project, "--format", "pdf")
    assert proc.returncode == 0, proc.stderr
    assert "the published PDF was changed after it was published: building it again" in proc.stderr
    assert pdf.read_bytes()[-6:].strip().endswith(b"%%EOF") and pdf.stat().st_size > whole // 2
    assert "pdf       up to date" in run_build(project, "--format", "pdf").stderr


@pytest.mark.parametrize("added", ["an empty directory", "a key file deeper down"])
def test_a_site_with_something_added_is_built_again(published_project: Path, added: str):
    project = published_project
    assert run_build(project, "--format", "all").returncode == 0
    site = (project / "_book" / "html").resolve()
    if added == "an empty directory":
        (site / "uploads").mkdir()
    else:
        (site / "chapters" / ".thalbook-key").write_text("<script>alert(1)</script>")
    proc = run_build(project, "--format", "all")
    assert proc.returncode == 0, proc.stderr
    assert "changed after it was published" in proc.stderr
    now = (project / "_book" / "html").resolve()
    assert not (now / "uploads").exists() and not (now / "chapters" / ".thalbook-key").exists()


def test_the_search_index_holds_only_terms_of_the_pages_of_this_build(published_project: Path):
    """Built with one parameter set and then another into the same directory, no term of the first
    that the second's pages lack is left in the index (Sphinx's incremental build keeps them)."""
    project = published_project
    for rounding in ("truncation", "half-up"):
        proc = run_build(project, "--format", "html", "--set", f"rounding={rounding}")
        assert proc.returncode == 0, proc.stderr
        text = (project / "_book" / "html" / "searchindex.js").read_text(encoding="utf-8")
        index = json.loads(text[len("Search.setIndex("):-1])
        empty = sorted(term for field in ("terms", "titleterms") for term, pages in index[field].items()
                       if pages == [])
        assert not empty, f"terms that lead to no page: {empty[:10]}"


def test_a_latex_engine_that_dies_before_its_log_is_named(published_project: Path, chapter: Path, tmp_path: Path):
    """An ``xelatex`` that fails before writing a log: make's "Error 12" is not the last word."""
    project, tag = published_project, uuid.uuid4().hex
    before = published(project)
    # A new sentence, so that the LaTeX source changes and latexmk runs the engine.
    nb = nbformat.read(chapter, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"A sentence {uuid.uuid4().hex}."))
    nbformat.write(nb, chapter)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "xelatex").write_text("#!/bin/sh\necho 'xelatex: planted failure' >&2\nexit 1\n")
    (fake / "xelatex").chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(project / "src"), TAG: tag,
           "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "thalbook.press.cli", "build", "--format", "pdf"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("thalbook: error: LaTeX (xelatex) failed: "), last
    assert "Error 12" not in last.split("(")[0], last
    assert re.search(r"\((no LaTeX log was written; )?read \S+\.log", last), last
    assert published(project) == before
    assert_no_survivors(tag, project)
