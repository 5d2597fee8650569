"""What a chapter shows: its view (glued values, tables, figures), the parameter box, glue.

Examples
--------
>>> print(parameter_markdown({"ci_method": "wilson", "confidence_level": 0.95}))
```{admonition} Parameters of this run
:class: note
`ci_method` = `wilson`, `confidence_level` = `0.95`.
Re-run with other values: `thalbook build --set NAME=VALUE` (see the reproducibility appendix).
```
>>> plain(np.float64(0.5)), plain(np.int64(3))
(0.5, 3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from thalbook.core import parameters


def check_names(chapter: str, params: Mapping[str, Any], names: Sequence[str]) -> None:
    """Refuse parameters other than the chapter's ``names``: a mistake of the calling code.

    Raises
    ------
    TypeError
        If ``params`` lacks one of ``names`` or has another.

    Examples
    --------
    >>> check_names("audit", {"rounding": "half-up", "ci_method": "wilson"}, ("rounding",))
    Traceback (most recent call last):
    ...
    TypeError: audit.build: parameters must be rounding; missing [], unexpected ['ci_method']
    """
    missing, extra = set(names) - set(params), set(params) - set(names)
    if missing or extra:
        raise TypeError(f"{chapter}.build: parameters must be {', '.join(names) or 'none'}; "
                        f"missing {sorted(missing)}, unexpected {sorted(extra)}")


def check_values(params: Mapping[str, Any]) -> None:
    """Refuse a parameter value that ``thalbook build`` would refuse: the user's input.

    The check is :func:`thalbook.core.parameters.check`, the one the build
    runs on parameter files and ``--set``, so that a chapter run by papermill
    answers as ``thalbook`` does, word for word (without saying where the
    value came from: the chapter cannot know).

    Raises
    ------
    thalbook.core.errors.ParameterError
        An :class:`~thalbook.core.errors.InputError` naming the parameter and
        what is wrong with its value: not finite (NaN, an infinity), of the
        wrong type (a boolean or text is not a number) or outside what the
        schema allows.

    Examples
    --------
    >>> check_values({"confidence_level": 0.3})
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: confidence_level: 0.3 is less than the minimum of 0.5
    >>> check_values({"confidence_level": float("nan")})
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: confidence_level: nan is not a finite number
    """
    parameters.check(params)


def parameter_markdown(values: dict[str, Any]) -> str:
    """MyST for the small box that tells which parameter values a chapter ran with."""
    if values:
        listed = ", ".join(f"`{name}` = `{value}`" for name, value in sorted(values.items()))
        body = (f"{listed}.\nRe-run with other values: `thalbook build --set NAME=VALUE` "
                "(see the reproducibility appendix).")
    else:
        body = "This chapter takes no parameters: it reads the data package only."
    return f"```{{admonition}} Parameters of this run\n:class: note\n{body}\n```"


def parameter_box(**values: Any):
    """Display the parameter box (an IPython Markdown object, rendered as MyST)."""
    from IPython.display import Markdown

    return Markdown(parameter_markdown(values))


def plain(value: Any) -> Any:
    """NumPy scalars as plain Python numbers (format specs in glue fail on NumPy 2 scalars)."""
    return value.item() if isinstance(value, np.generic) else value


def glue(name: str, value: Any) -> Any:
    """Glue ``value`` under ``name`` for ``{glue:text}`` in the prose, without displaying it."""
    from myst_nb import glue as _glue

    value = plain(value)
    _glue(name, value, display=False)
    return value


@dataclass
class View:
    """What one chapter shows, computed without a kernel: glued values, tables and figures by name.

    A chapter's view module builds it (``build(package, params) -> View``); the
    notebook glues it once and shows one table or figure per cell::

        view = crohns_results.build(data.load(), {"ci_method": ci_method, ...})
        view.glue()
        view.show("tbl-crohns-counts")

    Parameters
    ----------
    params : dict
        The parameters the chapter ran with (shown in its parameter box).
    values : dict
        Glue name -> value for ``{glue:text}``: text formatted for the reader,
        or a number when the prose formats it.
    tables : dict
        Table name (``tbl-...``) -> MyST (:func:`thalbook.chapters.tables.list_table`).
    figures : dict
        Figure name (``fig-...``) -> matplotlib figure, already closed (it is
        drawn only when shown).

    Examples
    --------
    >>> view = View({"ci_method": "wilson"}, {"n": 47}, {"tbl-x": "| a |"}, {})
    >>> view.value("n")
    47
    >>> view.show("tbl-y")
    Traceback (most recent call last):
    ...
    KeyError: "no table or figure 'tbl-y' in this view (it has: tbl-x)"
    """

    params: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """One glued value (for tests and for views built on other views)."""
        return self.values[name]

    def glue(self) -> None:
        """Glue every value for the chapter's prose, without displaying any."""
        for name, value in self.values.items():
            glue(name, value)

    def parameter_box(self):
        """The box that says which parameter values the chapter ran with."""
        return parameter_box(**self.params)

    def show(self, name: str):
        """Display the table or figure ``name`` as this cell's output."""
        if name in self.tables:
            from IPython.display import Markdown

            return Markdown(self.tables[name])
        if name in self.figures:
            from IPython.display import display

            display(self.figures[name])
            return None
        known = ", ".join([*self.tables, *self.figures]) or "nothing"
        raise KeyError(f"no table or figure {name!r} in this view (it has: {known})")
