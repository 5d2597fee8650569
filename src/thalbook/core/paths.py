"""Every path the project uses, absolute and anchored at this file.

Papermill runs each chapter with its own working directory, so nothing in the
package may depend on the current directory. The data directory can be moved
for a whole build with the ``THALBOOK_DATA_DIR`` environment variable, which
the pipeline sets for every kernel it starts (``thalbook build --data DIR``).

Examples
--------
>>> from thalbook.core import paths
>>> (paths.ROOT / "_toc.yml").exists()
True
>>> paths.data_dir().name
'data'
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parents[1]
CHAPTERS = ROOT / "chapters"
PARAMS = ROOT / "params"
DEFAULT_PARAMS = PARAMS / "default.yml"
DATA = ROOT / "data"
#: The default build directory. Not ``_build``: that is Jupyter Book's own, and
#: ``jupyter-book clean`` deletes everything in it (the cache and the published book too).
BUILD = ROOT / "_book"
#: Jupyter Book's own build directory, which a build may not use (see :data:`BUILD`).
JUPYTER_BOOK_BUILD = ROOT / "_build"
REFERENCES = ROOT / "references.bib"
CITATION = ROOT / "CITATION.cff"

DATA_DIR_ENV = "THALBOOK_DATA_DIR"
#: Names a directory where a caller that validated the data package (the build,
#: before any chapter runs) left a file ``data-<content digest>``: the kernels it
#: starts then skip validating the same bytes again (:func:`thalbook.core.data.load`).
VALIDATED_ENV = "THALBOOK_VALIDATED_DATA"


def data_dir() -> Path:
    """Return the data directory in force: ``$THALBOOK_DATA_DIR`` or ``data/``.

    Returns
    -------
    pathlib.Path
        Absolute path of the data package directory.
    """
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override).resolve() if override else DATA
