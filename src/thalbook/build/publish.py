"""Publish the built book atomically: HTML and PDF swapped in together, or neither.

``<out>/html`` is a symbolic link, replaced atomically by one to a new
``<out>/site/<id>/`` tree; ``<out>/pdf/book.pdf`` is replaced atomically. Both
are prepared beside the published ones first (:class:`Publication`), then
swapped in with signals held, so that a failure or a signal before the swap
leaves the published book exactly as it was. Each published output carries
the key of the book it is (``.thalbook-key``), with the digest of the site's
files, so that a build with nothing changed publishes nothing, and a site
changed since it was published is built again. The build directory itself is claimed and locked
by :mod:`thalbook.build.builddir`.
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

from thalbook.build import builddir
from thalbook.core.errors import BuildError

#: The file beside a published output that holds the key of the book it is.
KEY_FILE = ".thalbook-key"
#: Where the HTML book carries its PDF, when both are built together (every chapter page links it).
PDF_IN_HTML = "book.pdf"


def published_key(out: Path) -> str | None:
    """The key of the book currently published in ``out/html``, if any."""
    marker = out / "html" / KEY_FILE
    return marker.read_text().split("\n", 1)[0].strip() if marker.is_file() else None


def tree_digest(root: Path) -> str:
    """SHA-256 of the names and bytes of every regular file under ``root`` but the key file."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.name != KEY_FILE):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
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
    """The key of the book currently published as ``out/pdf/book.pdf``, if any."""
    target, key_file = out / "pdf" / "book.pdf", out / "pdf" / KEY_FILE
    return key_file.read_text().strip() if target.is_file() and key_file.is_file() else None


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
                # Regular files only: a link could publish a file from outside the package.
                for f in sorted(p for p in source.iterdir() if p.is_file() and not p.is_symlink()):
                    shutil.copyfile(f, self.site_tmp / folder / f.name)
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
                os.replace(self.pdf_tmp, self.out / "pdf" / "book.pdf")
                self.pdf_tmp = None
                builddir.write_atomic(self.out / "pdf" / KEY_FILE, (self.key + "\n").encode())
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
