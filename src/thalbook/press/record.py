"""The record of a run, shown on the book's reproducibility page.

The pipeline knows what no kernel can: which parameters each chapter received,
how long each took and when it ran. ``chapters/reproducibility.md`` holds the
page's prose and names each value it shows, ``{{ name }}`` (a MyST
substitution, with a placeholder in its front matter so that the page builds
by itself too). This module computes the values from the run record
(``<out>/run.json``) and the vocabulary, and fills them in when the book is
staged: the page costs no kernel and is always the record of the book it
belongs to.
"""

from __future__ import annotations

import hashlib
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from thalbook import __version__
from thalbook.core import paths
from thalbook.core.evidence.validate import named_files
from thalbook.core.vocabulary import DESCRIPTIONS, EFFECTS, allowed

#: The page the record fills in, in the project's ``chapters/``.
PAGE = "reproducibility.md"
#: Packages whose versions the page reports (every pin is in requirements.txt).
KEY_PACKAGES = (
    "jupyter-book", "myst-nb", "sphinx", "sphinxcontrib-bibtex", "papermill", "pandas", "numpy", "scipy",
    "statsmodels", "seaborn", "matplotlib", "frictionless", "jsonschema",
)

_FRONT_MATTER = re.compile(r"\A---\n(.*?\n)---\n", re.S)
_REFERENCE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _table(header: list[str], rows: list[list[Any]], caption: str, name: str, widths: list[int]) -> str:
    """A captioned list-table (cells are MyST): it wraps in the PDF, where a pipe table would overflow."""
    from thalbook.chapters.tables import list_table

    return list_table([[str(c) for c in row] for row in rows], header, caption, name, widths)


def _defaults() -> dict[str, Any]:
    from thalbook.press import params

    try:
        return params.resolve()
    except Exception:  # the page is still useful without them; the build validated the set in force
        return {}


def values(params: dict[str, Any], declared: dict[str, tuple[str, ...]], timings: dict[str, dict[str, Any]],
           data_dir: Path) -> dict[str, str]:
    """The values the reproducibility page shows, by the name the page gives each.

    Parameters
    ----------
    params : dict
        The parameter set of the run.
    declared : dict
        Chapter name -> the parameters its ``parameters`` cell declares.
    timings : dict
        Chapter name -> ``{"seconds": float, "executed_at": str}``.
    data_dir : path
        The data package used; ``checksums`` lists the files its descriptor
        names (:func:`thalbook.core.evidence.validate.named_files`), as published.

    Returns
    -------
    dict
        Name -> MyST: ``parameters_table``, ``effects_table``, ``set_options``,
        ``times_table``, ``kernel_seconds``, ``versions_table``, ``checksums``.
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
    chapter_rows = [[ch, f"{t['seconds']:.1f}", t["executed_at"]] for ch, t in sorted(timings.items())]
    versions = [["python", platform.python_version()], ["thalbook", __version__]]
    for name in KEY_PACKAGES:
        try:
            versions.append([name, metadata.version(name)])
        except metadata.PackageNotFoundError:
            versions.append([name, "not installed"])
    # The files published with the book: what the descriptor names, not whatever else the directory holds.
    files = named_files(data_dir)
    return {
        "parameters_table": _table(["parameter", "value", "meaning", "allowed values"], param_rows,
                                   "The parameters of this build.", "tbl-repro-parameters", [22, 18, 30, 30]),
        "effects_table": _table(["parameter", "chapters that use it", "what changes"], effect_rows,
                                "What each parameter changes, and where.", "tbl-repro-effects", [20, 22, 58]),
        "set_options": " ".join(f"--set {k}={v}" for k, v in params.items()),
        "times_table": _table(["chapter", "seconds", "executed at"], chapter_rows, "Execution time of each chapter.",
                              "tbl-repro-times", [35, 20, 45]),
        "kernel_seconds": f"{sum(t['seconds'] for t in timings.values()):.1f}",
        "versions_table": _table(["package", "version"], versions, "Versions of Python and the main packages.",
                                 "tbl-repro-versions", [50, 50]),
        "checksums": "\n".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(data_dir).as_posix()}"
                               for p in files),
    }


def fill(page: str, filled: dict[str, str]) -> str:
    """``page`` with each ``{{ name }}`` of ``filled`` replaced by its value, and its placeholder dropped.

    Other substitutions (the book's ``{{ version }}``) are left to MyST.

    Examples
    --------
    >>> page = "---\\nmyst:\\n  substitutions:\\n    n: '*n*'\\n---\\nIn all {{ n }} seconds, version {{ version }}.\\n"
    >>> fill(page, {"n": "3.2"})
    'In all 3.2 seconds, version {{ version }}.\\n'
    """
    match = _FRONT_MATTER.match(page)
    if match:
        front = yaml.safe_load(match.group(1)) or {}
        myst = front.get("myst") or {}
        substitutions = {k: v for k, v in (myst.get("substitutions") or {}).items() if k not in filled}
        if substitutions:
            myst["substitutions"] = substitutions
        else:
            myst.pop("substitutions", None)
        if myst:
            front["myst"] = myst
        else:
            front.pop("myst", None)
        rest = page[match.end():]
        if front:
            page = f"---\n{yaml.safe_dump(front, sort_keys=False, allow_unicode=True)}---\n{rest}"
        else:
            page = rest.lstrip("\n")
    return _REFERENCE.sub(lambda m: filled.get(m.group(1), m.group(0)), page)


def render(params: dict[str, Any], declared: dict[str, tuple[str, ...]], timings: dict[str, dict[str, Any]],
           data_dir: Path, page: str | None = None) -> str:
    """Return the reproducibility page (``page``, default :data:`PAGE`) filled in with this run's record.

    See :func:`values` for the parameters.

    Examples
    --------
    >>> text = render({"rounding": "half-up"}, {"audit": ("rounding",)},
    ...               {"audit": {"seconds": 1.5, "executed_at": "2026-01-01T00:00:00"}}, Path("/nonexistent"))
    >>> "* - `rounding`\\n  - `half-up`" in text
    True
    >>> "* - `rounding`\\n  - audit" in text
    True
    """
    text = (paths.project().chapters / PAGE).read_text(encoding="utf-8") if page is None else page
    return fill(text, values(params, declared, timings, data_dir))


def render_run(run: dict[str, Any], page: str | None = None) -> str:
    """The reproducibility page filled in from a run record, as ``<out>/run.json`` holds it."""
    chapters = run["chapters"]
    return render(run["params"], {c: tuple(r["parameters"]) for c, r in chapters.items()},
                  {c: {"seconds": r["seconds"], "executed_at": r["executed_at"]} for c, r in chapters.items()},
                  Path(run["data_dir"]), page)
