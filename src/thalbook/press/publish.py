"""Publish the built book atomically: HTML and PDF swapped in together, or neither.

``<out>/html`` is a symbolic link, replaced atomically by one to a new
``<out>/site/<id>/`` tree; ``<out>/pdf/book.pdf`` is replaced atomically. Both
are prepared beside the published ones first (:class:`Publication`), then
swapped in with signals held, so that a failure or a signal before the swap
leaves the published book exactly as it was. Each published output carries
the key of the book it is (``.thalbook-key``), with the digest of the site's
files, so that a build with nothing changed publishes nothing, and a site
changed since it was published is built again. The build directory itself is claimed and locked
by :mod:`thalbook.press.builddir`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from thalbook.core.errors import BuildError
from thalbook.core.evidence.validate import named_files
from thalbook.press import builddir

#: The file beside a published output that holds the key of the book it is.
KEY_FILE = ".thalbook-key"
#: Where the HTML book carries its PDF, when both are built together (every chapter page links it).
PDF_IN_HTML = "book.pdf"


def published_key(out: Path) -> str | None:
    """The key of the book currently published in ``out/html``, if any."""
    marker = out / "html" / KEY_FILE
    return marker.read_text().split("\n", 1)[0].strip() if marker.is_file() else None


def tree_digest(root: Path, record: str = KEY_FILE) -> str:
    """SHA-256 of the names of everything under ``root``, and the bytes of its files, but ``root/record``.

    ``record`` is the file at the top that holds the digest itself (a
    site's key file, a results cache entry's digest). Directories count by
    their names (an empty directory added to a site changes it), links and
    other special files by their names and kinds; a file named like
    ``record`` anywhere but at the top is a file like any other.
    """
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.parent == root and path.name == record:
            continue
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file" if path.is_file() else "other"
        h.update(f"{path.relative_to(root)}\0{kind}\0".encode())
        if kind == "file":
            h.update(path.read_bytes())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of one file's bytes, read in blocks (a PDF can be large)."""
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def site_intact(out: Path) -> bool:
    """Whether the published ``out/html`` holds exactly the files the build published (its key file says which).

    Anything that wrote into the site after it was published (a tool run on
    the project, an editor) makes it a site the build did not make.
    """
    marker = out / "html" / KEY_FILE
    lines = marker.read_text().split("\n") if marker.is_file() else []
    return len(lines) > 1 and lines[1].strip() == tree_digest((out / "html").resolve())


def pdf_key(out: Path) -> str | None:
    """The key of the book currently published as ``out/pdf/book.pdf``, if any.

    None, too, when the PDF's bytes are not those published (truncated,
    replaced): its key file records their digest.
    """
    target, key_file = out / "pdf" / "book.pdf", out / "pdf" / KEY_FILE
    if target.is_symlink() or not target.is_file() or not key_file.is_file():
        return None
    lines = key_file.read_text().split("\n")
    if len(lines) < 2 or lines[1].strip() != file_sha256(target):
        return None
    return lines[0].strip()


def pdf_changed(out: Path) -> bool:
    """Whether a published PDF is there whose bytes are not those the build published."""
    return (out / "pdf" / "book.pdf").is_file() and (out / "pdf" / KEY_FILE).is_file() and pdf_key(out) is None


def prune_unfinished(out: Path) -> None:
    """Remove what a killed build left half prepared: a site tree, a PDF, a link (the caller holds the lock)."""
    site = out / "site"
    if site.is_dir() and not site.is_symlink():
        for tmp in site.glob(".*.tmp"):
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
    for tmp in (out / "pdf" / ".book.pdf.tmp", out / ".html.tmp"):
        if tmp.is_symlink() or tmp.is_file():
            tmp.unlink()


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP while the book is swapped in; deliver them after.

    The swap is a few renames: held signals make it all or nothing.
    """
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _site_name(key: str) -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{key[:12]}"


def _is_site(path: Path) -> bool:
    """Whether ``path`` is a published tree the build made (its name and its key file say so)."""
    return (not path.is_symlink() and path.is_dir() and (path / KEY_FILE).is_file()
            and len(path.name) == 28 and path.name[8] == "T" and path.name[15] == "-")


def _drop_unshown_images(site: Path) -> None:
    """Remove from the copy of a site the figures no page shows any more.

    Sphinx's incremental build keeps in ``_images/`` every figure an earlier
    build drew; the published book carries only those its pages show.
    """
    images = site / "_images"
    if not images.is_dir():
        return
    pages = "".join(p.read_text(encoding="utf-8", errors="replace") for p in site.rglob("*.html"))
    for image in images.iterdir():
        if image.is_file() and f"_images/{image.name}" not in pages:
            image.unlink()


class Publication:
    """What is to be swapped in: a new site tree and/or a new PDF, prepared beside the published ones.

    :meth:`commit` swaps them in together with signals held; anything prepared
    but not committed is removed by :meth:`discard`.
    """

    def __init__(self, out: Path, key: str) -> None:
        self.out, self.key = out, key
        self.site_tmp: Path | None = None
        self.pdf_tmp: Path | None = None

    def prepare_html(self, built: Path, html_key: str | None = None, pdf: Path | None = None,
                     packages: Mapping[str, Path] | None = None) -> None:
        """Copy the built HTML beside the published one; with ``pdf``, put that PDF in it as ``book.pdf``.

        ``html_key`` (default: the book's key) is what the key file records:
        an HTML book that carries its PDF has a key of its own. ``packages``
        maps a folder of the site (``data``, ``results``) to a data package
        published there as it is, its descriptor beside its CSVs, so that
        frictionless and pandas load it by URL (Sphinx's ``{download}`` role
        would put each file in a folder of its own).
        """
        site = self.out / "site"
        self.site_tmp = site / f".{_site_name(self.key)}.tmp"
        try:
            site.mkdir(exist_ok=True)
            shutil.rmtree(self.site_tmp, ignore_errors=True)
            shutil.copytree(built, self.site_tmp)
            _drop_unshown_images(self.site_tmp)
            if pdf is not None:
                shutil.copyfile(pdf, self.site_tmp / PDF_IN_HTML)
            for folder, source in (packages or {}).items():
                (self.site_tmp / folder).mkdir()
                # What the descriptor names only: the directory may also hold what is no part of the
                # package (dotfiles, swap files, notes), and a link could publish a file from outside it.
                for f in named_files(source):
                    target = self.site_tmp / folder / f.relative_to(source)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(f, target)
            (self.site_tmp / KEY_FILE).write_text(f"{html_key or self.key}\n{tree_digest(self.site_tmp)}\n")
        except OSError as exc:
            raise BuildError(f"{self.site_tmp}: cannot prepare the new HTML book: {builddir.os_reason(exc)}") from None

    def prepare_pdf(self, built: Path) -> None:
        pdf = self.out / "pdf"
        self.pdf_tmp = pdf / ".book.pdf.tmp"
        try:
            pdf.mkdir(exist_ok=True)
            shutil.copyfile(built, self.pdf_tmp)
        except OSError as exc:
            raise BuildError(f"{self.pdf_tmp}: cannot prepare the new PDF book: {builddir.os_reason(exc)}") from None

    def commit(self) -> list[str]:
        """Swap in what was prepared; return what was published ("html", "pdf")."""
        done = []
        link = self.out / "html"
        with signals_held():
            if self.site_tmp is not None:
                new = self.site_tmp.with_name(self.site_tmp.name[1:-4])
                if new.exists():
                    shutil.rmtree(new)
                self.site_tmp.rename(new)
                self.site_tmp = None
                tmp_link = self.out / ".html.tmp"
                tmp_link.unlink(missing_ok=True)
                os.symlink(os.path.relpath(new, self.out), tmp_link)
                os.replace(tmp_link, link)
                done.append("html")
            if self.pdf_tmp is not None:
                digest = file_sha256(self.pdf_tmp)
                os.replace(self.pdf_tmp, self.out / "pdf" / "book.pdf")
                self.pdf_tmp = None
                builddir.write_atomic(self.out / "pdf" / KEY_FILE, f"{self.key}\n{digest}\n".encode())
                done.append("pdf")
        if "html" in done:
            current = link.resolve()
            for old in (self.out / "site").iterdir():
                if old != current and _is_site(old):
                    shutil.rmtree(old, ignore_errors=True)
        return done

    def discard(self) -> None:
        if self.site_tmp is not None:
            shutil.rmtree(self.site_tmp, ignore_errors=True)
        if self.pdf_tmp is not None:
            self.pdf_tmp.unlink(missing_ok=True)
