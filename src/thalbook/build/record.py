"""The record of a run, rendered as the book's reproducibility page.

The pipeline knows what no kernel can: which parameters each chapter received,
how long each took and when it ran. It writes that page itself at staging time,
replacing the marker line of ``chapters/reproducibility.md``, so the page costs
no kernel and is always the record of the book it belongs to.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from thalbook import __version__
from thalbook.core.vocabulary import DESCRIPTIONS, EFFECTS, allowed

MARKER = "<!-- thalbook:run-record -->"
#: Packages whose versions the page reports (every pin is in requirements.txt).
KEY_PACKAGES = (
    "jupyter-book", "myst-nb", "sphinx", "sphinxcontrib-bibtex", "papermill", "pandas", "numpy", "scipy",
    "statsmodels", "seaborn", "matplotlib", "frictionless", "cffconvert",
)

def _table(header: list[str], rows: list[list[Any]], caption: str, name: str, widths: list[int]) -> str:
    """A captioned list-table (cells are MyST): it wraps in the PDF, where a pipe table would overflow."""
    from thalbook.chapters.tables import list_table

    return list_table([[str(c) for c in row] for row in rows], header, caption, name, widths)


def _defaults() -> dict[str, Any]:
    from thalbook.build import params

    try:
        return params.resolve()
    except Exception:  # the page is still useful without them; the build validated the set in force
        return {}


def render(params: dict[str, Any], declared: dict[str, tuple[str, ...]], timings: dict[str, dict[str, Any]],
           data_dir: Path) -> str:
    """Return the MyST of the run record.

    Parameters
    ----------
    params : dict
        The parameter set of the run.
    declared : dict
        Chapter name -> the parameters its ``parameters`` cell declares.
    timings : dict
        Chapter name -> ``{"seconds": float, "executed_at": str}``.
    data_dir : path
        The data package used.

    Examples
    --------
    >>> text = render({"rounding": "half-up"}, {"audit": ("rounding",)},
    ...               {"audit": {"seconds": 1.5, "executed_at": "2026-01-01T00:00:00"}}, Path("/nonexistent"))
    >>> "* - `rounding`\\n  - `half-up`" in text
    True
    >>> "* - `rounding`\\n  - audit" in text
    True
    """
    defaults = _defaults()
    users = {name: [ch for ch, ps in declared.items() if name in ps] for name in params}
    param_rows = []
    for k, v in params.items():
        default = defaults.get(k)
        marker = "" if default is None or default == v else f" (default `{default}`)"
        param_rows.append([f"`{k}`", f"`{v}`{marker}", DESCRIPTIONS.get(k, ""), allowed(k)])
    effect_rows = [[f"`{k}`", ", ".join(users[k]) or "none", EFFECTS.get(k, DESCRIPTIONS.get(k, ""))]
                   for k in params]
    sets = " ".join(f"--set {k}={v}" for k, v in params.items())
    chapter_rows = [[ch, f"{t['seconds']:.1f}", t["executed_at"]] for ch, t in sorted(timings.items())]
    total = sum(t["seconds"] for t in timings.values())
    versions = [["python", platform.python_version()], ["thalbook", __version__]]
    for name in KEY_PACKAGES:
        try:
            versions.append([name, metadata.version(name)])
        except metadata.PackageNotFoundError:
            versions.append([name, "not installed"])
    files = sorted(p for p in data_dir.glob("*") if p.is_file()) if data_dir.is_dir() else []
    checksums = "\n".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in files)
    return "\n\n".join([
        "## Parameters of this build",
        f"This is version {__version__} of the book, built with these parameters "
        "(a value that differs from `params/default.yml` shows the default beside it):",
        _table(["parameter", "value", "meaning", "allowed values"], param_rows, "The parameters of this build.",
               "tbl-repro-parameters", [22, 18, 30, 30]),
        "## What each parameter changes",
        "Each chapter declares in its `parameters` cell the parameters it reads and receives only those, so "
        "changing a parameter re-executes only the chapters listed beside it; the others are taken from the "
        "cache.",
        _table(["parameter", "chapters that use it", "what changes"], effect_rows,
               "What each parameter changes, and where.", "tbl-repro-effects", [20, 22, 58]),
        "## Rebuild this book",
        "On a fresh Debian or Ubuntu machine, `make book` sets everything up (system packages, the pinned "
        "Python environment) and builds this book with the default parameters. To rebuild exactly this "
        "parameter set:",
        f"```bash\n.venv/bin/thalbook build --format all {sets}\n```",
        "Named parameter sets live in `params/`; build one beside the default with "
        "`thalbook build --params params/sensitivity.yml --out _build/sensitivity`, or change one value with "
        "`--set NAME=VALUE`. Invalid values are refused before anything runs. The data package can be "
        "checked and the audit printed without building: `thalbook check-data` and "
        "`thalbook audit --format csv`.",
        "## Execution time per chapter",
        "Each chapter ran in its own kernel under papermill; a chapter whose inputs had not changed "
        "was taken from the cache with the time of its original run.",
        _table(["chapter", "seconds", "executed at"], chapter_rows, "Execution time of each chapter.",
               "tbl-repro-times", [35, 20, 45]),
        f"In all {total:.1f} seconds of kernel time.",
        "## Package versions",
        "Every Python package is pinned in `requirements.txt`; the main ones:",
        _table(["package", "version"], versions, "Versions of Python and the main packages.", "tbl-repro-versions",
               [50, 50]),
        "## Data checksums (SHA-256)",
        "The files of the data package this book was built from, in the format of `sha256sum`: save the lines "
        "beside the downloaded files (the data chapter links to each) and check them with `sha256sum -c`.",
        f"```text\n{checksums}\n```",
    ]) + "\n"
