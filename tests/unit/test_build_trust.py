"""The build trusts only what it verified, and its directory heals: the parts that need no book.

The whole build exercises the same paths in tests/integration/test_faults.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from thalbook.core import paths
from thalbook.core.errors import InputError
from thalbook.press import builddir, publish, results
from thalbook.press.pipeline import _failure
from thalbook.press.sphinxext import _index_this_build_only

# --------------------------------------------------------------------------- the build directory


def lost_marker(tmp_path: Path) -> Path:
    """A build directory as ``rm -rf`` racing a running build leaves it: its names, no marker."""
    out = tmp_path / "_book"
    (out / "cache" / "valid-data").mkdir(parents=True)
    (out / "logs").mkdir()
    (out / "logs" / "kernels.log").write_text("...\n")
    return out


def test_a_build_directory_that_lost_its_marker_is_healed(tmp_path: Path):
    out = lost_marker(tmp_path)
    said = []
    with builddir.session(out, said.append) as (directory, _line):
        assert (directory / builddir.MARKER).is_file()
    assert said == [f"  restored  {out / builddir.MARKER}: the build directory had lost its marker"]
    assert (out / "logs" / "kernels.log").read_text() == "...\n"


def test_a_directory_with_a_name_the_build_does_not_make_is_not_healed(tmp_path: Path):
    out = lost_marker(tmp_path)
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(InputError, match="not a thalbook build directory"):
        builddir.claim(out)
    assert not (out / builddir.MARKER).exists()


def test_only_build_names_without_anything_only_the_build_makes_is_not_healed(tmp_path: Path):
    """A directory of someone's that happens to hold folders called cache and logs stays theirs."""
    out = tmp_path / "mine"
    (out / "cache").mkdir(parents=True)
    (out / "logs").mkdir()
    with pytest.raises(InputError, match="not a thalbook build directory"):
        builddir.claim(out)
    assert not (out / builddir.MARKER).exists()


@pytest.mark.parametrize("inner", ["logs/inner", "site/x/inner", "cache"])
def test_a_build_directory_inside_another_is_refused(tmp_path: Path, inner: str):
    outer = builddir.claim(tmp_path / "outer")
    with pytest.raises(InputError, match=f"inside the build directory {outer}"):
        builddir.claim(outer / inner)
    assert not (outer / inner).exists()


def test_a_build_directory_inside_the_projects_book_is_refused():
    with pytest.raises(InputError, match="inside the build directory"):
        builddir.claim(paths.project().build / "html" / "nested")


# --------------------------------------------------------------------------- published artefacts


def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "chapters").mkdir(parents=True)
    (root / "index.html").write_text("<html></html>")
    (root / "chapters" / "a.html").write_text("<p>a</p>")
    return root


@pytest.mark.parametrize("change", ["empty directory", "key file deeper down", "file", "bytes"])
def test_every_change_to_a_site_changes_its_digest(tmp_path: Path, change: str):
    root = site(tmp_path)
    before = publish.tree_digest(root)
    if change == "empty directory":
        (root / "added").mkdir()
    elif change == "key file deeper down":
        (root / "chapters" / publish.KEY_FILE).write_text("<script>x</script>")
    elif change == "file":
        (root / "added.html").write_text("")
    else:
        (root / "index.html").write_text("<html> </html>")
    assert publish.tree_digest(root) != before


def test_the_key_file_at_the_top_is_not_part_of_the_digest(tmp_path: Path):
    root = site(tmp_path)
    before = publish.tree_digest(root)
    (root / publish.KEY_FILE).write_text("key\ndigest\n")
    assert publish.tree_digest(root) == before


def published_pdf(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    (out / "pdf").mkdir(parents=True)
    built = tmp_path / "built.pdf"
    built.write_bytes(b"%PDF-1.5\n" + b"x" * 5000 + b"\n%%EOF\n")
    publication = publish.Publication(out, "k" * 64)
    publication.prepare_pdf(built)
    assert publication.commit() == ["pdf"]
    return out


def test_a_published_pdf_is_up_to_date_only_with_the_bytes_it_was_published_with(tmp_path: Path):
    out = published_pdf(tmp_path)
    assert publish.pdf_key(out) == "k" * 64 and not publish.pdf_changed(out)
    pdf = out / "pdf" / "book.pdf"
    pdf.write_bytes(pdf.read_bytes()[:1000])  # truncated
    assert publish.pdf_key(out) is None and publish.pdf_changed(out)


def test_what_a_killed_publication_left_is_pruned(tmp_path: Path):
    out = published_pdf(tmp_path)
    left = [out / "site" / ".20260101T000000-abcdefabcdef.tmp", out / "pdf" / ".book.pdf.tmp"]
    left[0].mkdir(parents=True)
    (left[0] / "index.html").write_text("half")
    left[1].write_bytes(b"%PDF half")
    kept = out / "site" / "notes.txt"  # not a name a publication makes
    kept.write_text("mine")
    publish.prune_unfinished(out)
    assert not any(p.exists() for p in left)
    assert kept.read_text() == "mine" and (out / "pdf" / "book.pdf").is_file()


# --------------------------------------------------------------------------- the results package's cache entry


def entry(tmp_path: Path) -> Path:
    directory = tmp_path / "cache" / "results" / ("a" * 64)
    directory.mkdir(parents=True)
    (directory / "datapackage.json").write_text('{"resources": []}\n')
    (directory / "audit.csv").write_text("study,quantity\nwei2003,asas20\n")
    (directory / results.DIGEST).write_text(results.entry_digest(directory) + "\n")
    return directory


@pytest.mark.parametrize(("harm", "found"), [
    ("truncate", "its files differ"), ("delete", "its files differ"), ("add", "its files differ"),
    ("no digest", "no record of its files"),
])
def test_a_damaged_results_entry_is_not_trusted(tmp_path: Path, harm: str, found: str):
    directory = entry(tmp_path)
    assert results.damage(directory) is None
    if harm == "truncate":
        (directory / "audit.csv").write_text("study,quan")
    elif harm == "delete":
        (directory / "audit.csv").unlink()
    elif harm == "add":
        (directory / "extra").mkdir()
    else:
        (directory / results.DIGEST).unlink()
    assert found in results.damage(directory)


def test_half_written_results_of_killed_builds_are_pruned(tmp_path: Path):
    directory = entry(tmp_path)
    partial = directory.with_name(directory.name + ".partial")
    partial.mkdir()
    (partial / "audit.csv").write_text("half")
    results.prune_partials(tmp_path)
    assert not partial.exists() and results.damage(directory) is None


# --------------------------------------------------------------------------- the search index


def test_the_search_index_keeps_only_terms_of_this_builds_pages(tmp_path: Path):
    """Sphinx's incremental build leaves the words of earlier builds mapped to no page."""
    index = {"docnames": ["a", "b"], "terms": {"wilson": 0, "jeffreys": [], "both": [0, 1]},
             "titleterms": {"old": [], "safety": 1}, "titles": ["A", "B"]}
    (tmp_path / "searchindex.js").write_text("Search.setIndex(" + json.dumps(index) + ")")
    app = SimpleNamespace(outdir=str(tmp_path), builder=SimpleNamespace(format="html"))
    _index_this_build_only(app, None)
    text = (tmp_path / "searchindex.js").read_text()
    assert text.startswith("Search.setIndex(") and text.endswith(")")
    written = json.loads(text[len("Search.setIndex("):-1])
    assert written["terms"] == {"wilson": 0, "both": [0, 1]}
    assert written["titleterms"] == {"safety": 1}
    assert written["docnames"] == ["a", "b"]


# --------------------------------------------------------------------------- a failed LaTeX run


def test_a_latex_run_that_wrote_no_log_is_named_not_makes_error_12(tmp_path: Path):
    """xelatex dying before it writes its log leaves make's "Error 12" as the last word of the output."""
    output = ("Latexmk: Errors, so I did not complete making targets\n"
              "Collected error summary (may duplicate other messages):\n"
              "  xelatex: Command for 'xelatex' gave return code 1\n"
              "make: *** [Makefile:29: book.pdf] Error 12\n")
    log = tmp_path / "pdflatex.log"
    error = _failure("pdflatex", output, 1, tmp_path, log, started=0.0)
    assert str(error).startswith("LaTeX (xelatex) failed: Latexmk: Errors"), error
    assert f"no LaTeX log was written; read {log}" in str(error)


def test_a_latex_error_is_read_from_the_log_this_run_wrote(tmp_path: Path):
    latex = tmp_path / "_build" / "latex"
    latex.mkdir(parents=True)
    (latex / "book.log").write_text("This is XeTeX\n! Undefined control sequence.\nl.12 \\foo\n")
    error = _failure("pdflatex", "make: *** [Makefile:29: book.pdf] Error 12\n", 1, tmp_path,
                     tmp_path / "pdflatex.log", started=0.0)
    assert str(error).startswith("LaTeX (xelatex) failed: ! Undefined control sequence.")
    assert f"read {latex / 'book.log'}" in str(error)


def test_a_sphinx_failure_before_latex_is_not_called_a_latex_failure(tmp_path: Path):
    """A stale LaTeX log of an earlier run does not make a Sphinx error a LaTeX one."""
    latex = tmp_path / "_build" / "latex"
    latex.mkdir(parents=True)
    (latex / "book.log").write_text("! an old error\n")
    output = "WARNING: undefined label: 'fig-x'\n"
    error = _failure("pdflatex", output, 1, tmp_path, tmp_path / "pdflatex.log", started=2e9)
    assert str(error).startswith("jupyter-book pdflatex build failed: WARNING: undefined label"), error
