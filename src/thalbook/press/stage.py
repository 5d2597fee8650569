"""Stage the book: its sources and the executed chapters, in ``<out>/stage``.

Jupyter Book builds the stage, never the project itself: the staged
``_config.yml`` carries the package version and the release date of
``CITATION.cff``, and the reproducibility page carries the run record
(:mod:`thalbook.press.record`). Only files whose bytes changed are
rewritten, so that Sphinx's incremental build re-reads only what changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from thalbook import __version__
from thalbook.core import paths
from thalbook.core.errors import InputError
from thalbook.core.evidence import citation
from thalbook.press import builddir, record
from thalbook.press.toc import BOOK_FILES


def staged_config(path: Path, with_pdf: bool = False) -> bytes:
    """``_config.yml`` with the package version and release date filled in, so that the book shows one of each.

    ``thalbook.__version__`` is the only place the version is written (CITATION.cff
    repeats it, checked by a test): Sphinx's ``release`` puts it on the PDF title
    page, and the ``version`` substitution puts it on the landing page. The date
    is ``date-released`` of the ``CITATION.cff`` beside ``path``, as written there
    (ISO 8601, as the "How to cite" page prints it): Sphinx's ``today`` puts it on
    the PDF title page, which would otherwise print the day of the build.
    """
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["version"] = sphinx_config["release"] = __version__
    cff = path.with_name("CITATION.cff")
    released = citation.load_cff(cff).get("date-released")
    if not released:
        raise InputError(f"{cff}: no date-released, the date the book's title page prints")
    sphinx_config["today"] = str(released)
    config.setdefault("parse", {}).setdefault("myst_substitutions", {})["version"] = __version__
    # The stage, and only the stage, may be built (thalbook.press.sphinxext refuses the project itself).
    sphinx_config["thalbook_stage"] = True
    # Whether the HTML book carries its PDF (built together): then every chapter page links it.
    sphinx_config["thalbook_pdf"] = with_pdf
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True).encode()


def write_if_changed(dst: Path, content: bytes) -> bool:
    """Write ``content`` to ``dst`` unless it already holds exactly that, so an unchanged file keeps its mtime."""
    if dst.is_file() and not dst.is_symlink() and dst.read_bytes() == content:
        return False
    builddir.write_atomic(dst, content)
    return True


def copy_if_changed(src: Path, dst: Path) -> bool:
    """Copy ``src`` to ``dst`` unless identical (see :func:`write_if_changed`)."""
    return write_if_changed(dst, src.read_bytes())


def stage(out: Path, run: dict[str, Any], with_pdf: bool = False) -> Path:
    """Assemble the book in ``out/stage`` from ``out/executed`` and the run record ``run``; return the stage.

    ``run`` is the record :func:`thalbook.press.pipeline.run` writes to
    ``out/run.json``; ``with_pdf``: the HTML book will carry the PDF built
    with it (:data:`thalbook.press.publish.PDF_IN_HTML`). The data and
    results packages are not staged: publishing puts them beside the pages
    (:meth:`thalbook.press.publish.Publication.prepare_html`).
    """
    stage_dir = out / "stage"
    project = paths.project()
    wanted = set()
    for name in BOOK_FILES:
        if (project.root / name).exists():
            if name == "_config.yml":
                write_if_changed(stage_dir / name, staged_config(project.root / name, with_pdf))
            else:
                copy_if_changed(project.root / name, stage_dir / name)
            wanted.add(stage_dir / name)
    for md in project.chapters.glob("*.md"):
        text = md.read_text(encoding="utf-8")
        if md.name == record.PAGE:
            text = record.render_run(run, text)
        write_if_changed(stage_dir / "chapters" / md.name, text.encode())
        wanted.add(stage_dir / "chapters" / md.name)
    for nb in (out / "executed").glob("*.ipynb"):
        copy_if_changed(nb, stage_dir / "chapters" / nb.name)
        wanted.add(stage_dir / "chapters" / nb.name)
    for stale in stage_dir.glob("chapters/*"):
        if stale.is_file() and stale not in wanted:
            stale.unlink()
    return stage_dir
