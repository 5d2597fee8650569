"""The build directory: claimed by the build, locked, and never followed through a foreign symlink.

A build directory (``thalbook build --out DIR``, default ``_book``) is one of:

- new: the build creates it;
- empty: the build adopts it;
- marked: it holds :data:`MARKER`, a regular file the build wrote when it
  created or adopted the directory;
- one whose marker was lost (``make clean`` racing a running build), holding
  only the build's own names and something only the build makes: the marker
  is restored, and the build says so.

Anything else (a non-empty directory the build did not mark, a file, ``""``,
``/``, the project's sources or a directory that contains them, the project's
``_build``, which ``jupyter-book clean`` empties, a directory inside another
build directory or inside the project's ``_book``) is refused with
one line and exit code 2: the build only ever writes or deletes what it made.
Inside a marked directory the build touches only the names in :data:`OWNED`;
anything else there is left alone. Before it writes, the build checks that no
path under those names is a symbolic link it did not make (the one link it
makes is ``html``, pointing into ``site/``).

Written by hand: no library keeps a directory's ownership this way.

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = claim(Path(tmp) / "book")
...     (out / MARKER).is_file()
True
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from thalbook.core import paths
from thalbook.core.errors import BuildError, InputError
from thalbook.press.lifeline import Lifeline

#: Written by the build in every directory it builds into.
MARKER = ".thalbook-build"
MARKER_TEXT = "A thalbook build directory: the build owns the names it creates here.\n"
#: The names the build creates inside its directory; nothing else there is touched.
OWNED = (MARKER, ".lock", ".building", "run.json", "cache", "executed", "pending", "failed", "stage",
         "jb", "site", "html", ".html.tmp", "pdf", "logs", "kernels")
#: Directories of the project's sources: a build directory may not be inside one.
SOURCE_DIRS = ("chapters", "data", "params", "src", "tests", "benchmarks", "scripts", ".git")


def _describe(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def claim(out: str | os.PathLike) -> Path:
    """Return ``out`` as an absolute build directory the build may write, creating or marking it.

    Parameters
    ----------
    out : str or path
        The directory the user named (``--out``).

    Returns
    -------
    pathlib.Path
        The absolute directory, holding :data:`MARKER`.

    Raises
    ------
    thalbook.core.errors.InputError
        ``out`` is empty, ``/``, the project or inside its sources, a file, or a
        non-empty directory the build did not mark; or it cannot be created.
    """
    text = os.fspath(out)
    if not text.strip():
        raise InputError("--out '': an empty path (an unset variable?); name a build directory")
    try:
        directory = Path(text).expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        raise InputError(f"--out {_describe(text)}: {os_reason(exc)}") from None
    where = f"--out {directory}"
    if directory == Path(directory.anchor):
        raise InputError(f"{where}: the root of the file system cannot be a build directory")
    project = paths.project()
    root = project.root.resolve()
    if directory == root or directory in root.parents:
        raise InputError(f"{where}: holds the book's sources; name a directory of its own (default: _book)")
    if directory == project.jupyter_book_build.resolve():
        raise InputError(f"{where}: Jupyter Book's own directory, which `jupyter-book clean` empties; "
                         "name another (default: _book)")
    for name in SOURCE_DIRS:
        if directory.is_relative_to(root / name):
            raise InputError(f"{where}: inside the book's sources ({name}/); name a directory of its own")
    for outer in (project.build.resolve(), *(p for p in directory.parents if _marked(p))):
        if directory != outer and directory.is_relative_to(outer):
            raise InputError(f"{where}: inside the build directory {outer}, whose names belong to its "
                             "builds; name a directory of its own")
    try:
        if directory.exists() and not directory.is_dir():
            raise InputError(f"{where}: not a directory")
        marker = directory / MARKER
        if directory.is_dir():
            try:
                marked = stat.S_ISREG(marker.lstat().st_mode)
            except FileNotFoundError:
                marked = False
            if not marked:
                if marker.is_symlink() or (any(directory.iterdir()) and not _lost_its_marker(directory)):
                    raise InputError(
                        f"{where}: not empty and not a thalbook build directory (no {MARKER}); "
                        "name a new or empty directory")
                marker.write_text(MARKER_TEXT)
        else:
            directory.mkdir(parents=True)
            marker.write_text(MARKER_TEXT)
    except OSError as exc:
        raise InputError(f"{where}: {os_reason(exc)}") from None
    return directory


def _marked(directory: Path) -> bool:
    """Whether ``directory`` holds the build's marker as a regular file."""
    try:
        return stat.S_ISREG((directory / MARKER).lstat().st_mode)
    except OSError:
        return False


def _lost_its_marker(directory: Path) -> bool:
    """Whether ``directory`` is a build directory whose marker was deleted, and nothing else touched.

    ``rm -rf`` (``make clean``) racing a running build can delete the marker
    while the build goes on creating its names. Such a directory holds only
    names of :data:`OWNED`, no link but the build's ``html``, and at least one
    thing no other program makes: the build's lock file, its run record or
    its verdict on the data.
    """
    names = {entry.name for entry in directory.iterdir()}
    if not names <= set(OWNED):
        return False
    if any((directory / name).is_symlink() for name in names - {"html"}):
        return False
    return ((directory / ".lock").is_file() or (directory / "cache" / "valid-data").is_dir()
            or _is_run_record(directory / "run.json"))


def _is_run_record(path: Path) -> bool:
    try:
        return "thalbook" in json.loads(path.read_bytes())
    except (OSError, ValueError, TypeError):
        return False


def os_reason(exc: BaseException) -> str:
    """What went wrong, in a few words: an OSError's ``strerror`` (the first of a ``shutil.Error``).

    Examples
    --------
    >>> os_reason(OSError(28, "No space left on device"))
    'no space left on device'
    """
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        first = exc.args[0][0]
        return str(first[-1] if isinstance(first, tuple) else first).splitlines()[0][:200]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def check_links(out: Path) -> None:
    """Refuse any symbolic link under the build's own names that the build did not make.

    ``html`` must be the build's link into ``site/`` (or absent); every other
    owned path must not be a link, nor hold one.

    Raises
    ------
    thalbook.core.errors.InputError
        Naming the first foreign link (or a real ``html`` directory, which
        another tool such as ``jupyter-book build`` left there).
    """
    html = out / "html"
    if html.is_symlink():
        target = Path(os.readlink(html))
        if target.is_absolute() or len(target.parts) != 2 or target.parts[0] != "site":
            raise InputError(f"{html}: a symbolic link the build did not make (to {target}); remove it")
    elif html.exists():
        raise InputError(f"{html}: a {'directory' if html.is_dir() else 'file'} the build did not make "
                         "(left by another tool?); move it away")
    for name in OWNED:
        if name == "html":
            continue
        path = out / name
        if path.is_symlink():
            raise InputError(f"{path}: a symbolic link the build did not make; remove it")
        if not path.is_dir():
            continue
        for folder, dirs, files in os.walk(path):
            for entry in (*dirs, *files):
                if os.path.islink(os.path.join(folder, entry)):
                    raise InputError(f"{os.path.join(folder, entry)}: a symbolic link the build did not make; "
                                     "remove it")


@contextlib.contextmanager
def lock(out: Path) -> Iterator[int]:
    """Hold an exclusive lock on ``out`` for the whole build, so that two builds never write it at once.

    The lock file is opened without following a link and without truncating;
    its descriptor (yielded) is not inherited by programs the build starts,
    but for the one it is passed to on purpose
    (:class:`thalbook.press.lifeline.Lifeline`), which keeps the lock held
    until the build's children are gone.
    """
    path = out / ".lock"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{path}: a symbolic link the build did not make; remove it") from None
        raise BuildError(f"{path}: cannot lock the build directory: {os_reason(exc)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"{out}: another thalbook build is running there") from None
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def session(out: str | os.PathLike,
            progress: Callable[[str], None] | None = None) -> Iterator[tuple[Path, Lifeline]]:
    """Claim and lock the build directory ``out`` for one build; yield it as an absolute path, and the lifeline.

    A directory the build did not make is refused (:func:`claim`), and so is any
    link under the build's own names that it did not make (:func:`check_links`).
    Every process the build starts is registered with the lifeline
    (:mod:`thalbook.press.lifeline`), which ends them if the build dies, and
    keeps the lock until they are gone.
    """
    text = os.fspath(out)
    given = Path(text).expanduser()
    lost = bool(text.strip()) and given.is_dir() and not _marked(given) and any(given.iterdir())
    directory = claim(out)
    if lost and progress is not None:
        progress(f"  restored  {directory / MARKER}: the build directory had lost its marker")
    with lock(directory) as fd, Lifeline(hold=fd) as line:
        check_links(directory)
        yield directory, line


def write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file and ``os.replace``.

    A link at ``path`` is replaced, never followed; a reader never sees half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
