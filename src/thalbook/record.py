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
from thalbook.params import DESCRIPTIONS

MARKER = "<!-- thalbook:run-record -->"
#: Packages whose versions the page reports (every pin is in requirements.txt).
KEY_PACKAGES = (
    "jupyter-book", "myst-nb", "sphinx", "papermill", "pandas", "numpy", "scipy",
    "statsmodels", "seaborn", "matplotlib", "frictionless",
)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


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
    >>> "| `rounding` | `half-up` |" in text
    True
    """
    users = {name: [ch for ch, ps in declared.items() if name in ps] for name in params}
    param_rows = [[f"`{k}`", f"`{v}`", DESCRIPTIONS.get(k, ""), ", ".join(users[k]) or "none"]
                  for k, v in params.items()]
    sets = " ".join(f"--set {k}={v}" for k, v in params.items())
    chapter_rows = [[ch, f"{t['seconds']:.1f}", t["executed_at"]] for ch, t in sorted(timings.items())]
    versions = [["python", platform.python_version()], ["thalbook", __version__]]
    for name in KEY_PACKAGES:
        try:
            versions.append([name, metadata.version(name)])
        except metadata.PackageNotFoundError:
            versions.append([name, "not installed"])
    files = sorted(p for p in data_dir.glob("*") if p.is_file()) if data_dir.is_dir() else []
    checksum_rows = [[f"`{p.name}`", f"`{hashlib.sha256(p.read_bytes()).hexdigest()}`"] for p in files]
    return "\n\n".join([
        "## Parameters of this build",
        _table(["parameter", "value", "what it changes", "chapters that use it"], param_rows),
        "## Rebuild this book",
        "On a fresh Debian or Ubuntu machine, `make book` sets everything up and builds this book "
        "with the default parameters. To rebuild exactly this parameter set:",
        f"```bash\n.venv/bin/thalbook build --format all {sets}\n```",
        "Named parameter sets live in `params/`; build one beside the default with "
        "`thalbook build --params params/sensitivity.yml --out _build/sensitivity`.",
        "## Execution time per chapter",
        "Each chapter ran in its own kernel under papermill; a chapter whose inputs had not changed "
        "was taken from the cache with the time of its original run.",
        _table(["chapter", "seconds", "executed at"], chapter_rows),
        "## Package versions",
        "Every Python package is pinned in `requirements.txt`; the main ones:",
        _table(["package", "version"], versions),
        "## Data checksums (SHA-256)",
        _table(["file", "sha256"], checksum_rows),
    ]) + "\n"
