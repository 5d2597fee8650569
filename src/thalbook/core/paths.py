"""Every path the package uses: its own files, found from this file, and the project's, found at call time.

The package (``thalbook``, wherever pip installed it) and the project (the
book's sources: ``_config.yml``, ``_toc.yml``, ``chapters/``, ``params/``,
``data/``) are found apart. The package's own files (the Sphinx templates, the
schemas) are found from where the package is (:data:`PACKAGE`, ``__file__``).
The project is found each time one of its paths is asked for
(:func:`project`), never when the package is imported, in this order:

1. the directory a caller chose, :func:`use_project` (``thalbook --project DIR``);
2. ``$THALBOOK_PROJECT`` (:data:`PROJECT_ENV`), which the build sets for every
   kernel it starts, whatever its own working directory;
3. the nearest directory holding every one of :data:`MARKERS`, from the
   working directory upward, as git finds its repository.
   A chapter run by papermill or JupyterLab alone works in ``chapters/``, so
   the search finds its project.

The markers are the two files of a Jupyter Book and the default parameter
set, which every build reads: a build's stage (``_book/stage``) holds the
first two only, so a search never stops there. The data directory is not a
marker: it can be moved for a whole build with the ``THALBOOK_DATA_DIR``
environment variable, which the pipeline sets for every kernel it starts
(``thalbook build --data DIR``).

Examples
--------
>>> from thalbook.core import paths
>>> (paths.project().root / "_toc.yml").exists()
True
>>> paths.project().chapters.name
'chapters'
>>> paths.data_dir().name
'data'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from thalbook.core.errors import InputError

#: The installed package: its own files (templates, schemas) and the source the cache keys hash.
PACKAGE = Path(__file__).resolve().parents[1]

#: The files, relative to it, that make a directory a thalbook project.
MARKERS = ("_config.yml", "_toc.yml", "params/default.yml")
#: Names the project, for a process that cannot be told otherwise (a kernel the build starts).
PROJECT_ENV = "THALBOOK_PROJECT"
DATA_DIR_ENV = "THALBOOK_DATA_DIR"
#: Names a directory where a caller that validated the data package (the build,
#: before any chapter runs) left a file ``data-<content digest>``: the kernels it
#: starts then skip validating the same bytes again (:func:`thalbook.core.evidence.data.load`).
VALIDATED_ENV = "THALBOOK_VALIDATED_DATA"
#: Names a directory where the processes of one build share the results each computes once
#: (:func:`thalbook.core.computed.once`): the build names one of its own for its kernels.
COMPUTED_ENV = "THALBOOK_COMPUTED"


@dataclass(frozen=True)
class Project:
    """The paths of one project, all under its absolute ``root``."""

    root: Path

    @property
    def chapters(self) -> Path:
        return self.root / "chapters"

    @property
    def params(self) -> Path:
        return self.root / "params"

    @property
    def default_params(self) -> Path:
        return self.params / "default.yml"

    @property
    def data(self) -> Path:
        """The project's own data package (the one in force is :func:`data_dir`)."""
        return self.root / "data"

    @property
    def build(self) -> Path:
        """The default build directory. Not ``_build``: that is Jupyter Book's own, and
        ``jupyter-book clean`` deletes everything in it (the cache and the published book too)."""
        return self.root / "_book"

    @property
    def jupyter_book_build(self) -> Path:
        """Jupyter Book's own build directory, which a build may not use (see :attr:`build`)."""
        return self.root / "_build"

    @property
    def references(self) -> Path:
        return self.root / "references.bib"

    @property
    def citation(self) -> Path:
        return self.root / "CITATION.cff"


#: The project a caller chose (:func:`use_project`); it wins over the environment and the search.
_chosen: Path | None = None


def missing_markers(directory: Path) -> list[str]:
    """The markers (:data:`MARKERS`) ``directory`` lacks: none when it is a project."""
    return [name for name in MARKERS if not (directory / name).is_file()]


def find_project(start: Path | str | None = None) -> Path:
    """The nearest project from ``start`` (default: the working directory) upward.

    Raises
    ------
    thalbook.core.errors.InputError
        No directory from ``start`` up is a project: one line naming
        ``start`` and how to name a project instead.

    Examples
    --------
    >>> find_project(project().chapters) == project().root
    True
    """
    start = Path(start if start is not None else Path.cwd()).absolute()
    for directory in (start, *start.parents):
        if not missing_markers(directory):
            return directory
    raise InputError(f"no thalbook project in {start} or any directory above it (a project holds "
                     f"{', '.join(MARKERS)}); run thalbook inside one, or name it with --project DIR")


def _checked(directory: Path | str, given: str) -> Path:
    """``directory``, absolute, if it is a project; ``given`` names it in the error otherwise."""
    root = Path(directory).expanduser().resolve()
    if not root.is_dir():
        raise InputError(f"{given}: no such directory")
    missing = missing_markers(root)
    if missing:
        raise InputError(f"{given}: not a thalbook project (no {missing[0]})")
    return root


def project() -> Project:
    """The project in force: the one chosen, else ``$THALBOOK_PROJECT``, else the nearest upward.

    Raises
    ------
    thalbook.core.errors.InputError
        The directory chosen or named by the environment is not a project,
        or no project was chosen and none is found (:func:`find_project`).
    """
    if _chosen is not None:
        return Project(_chosen)
    named = os.environ.get(PROJECT_ENV)
    if named:
        return Project(_checked(named, f"{PROJECT_ENV}={named}"))
    return Project(find_project())


@contextlib.contextmanager
def use_project(directory: Path | str, given: str | None = None) -> Iterator[Project]:
    """Within the block, the project is ``directory``, whatever the working directory or environment.

    ``given`` names the directory in an error (default ``--project DIR``).

    Raises
    ------
    thalbook.core.errors.InputError
        ``directory`` is not a project (one line naming it and the marker it lacks).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp, use_project(tmp):  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    ...
    thalbook.core.errors.InputError: --project ...: not a thalbook project (no _config.yml)
    """
    global _chosen
    root = _checked(directory, given or f"--project {directory}")
    previous, _chosen = _chosen, root
    try:
        yield Project(root)
    finally:
        _chosen = previous


def data_dir() -> Path:
    """Return the data directory in force: ``$THALBOOK_DATA_DIR`` or the project's ``data/``.

    Returns
    -------
    pathlib.Path
        Absolute path of the data package directory.
    """
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override).resolve() if override else project().data
