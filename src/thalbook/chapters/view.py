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

import ast
import html
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from thalbook.core import errors, parameters


class ParameterError(errors.ParameterError):
    """A parameter a chapter refuses: :class:`thalbook.core.errors.ParameterError`, one line in a kernel.

    IPython shows an exception that has a ``_render_traceback_`` method by
    the lines that method returns instead of a traceback (its protocol for
    exceptions that format themselves). This one returns the exception's own
    line, so that a notebook's error output, and papermill's report of it on
    the terminal (papermill prints that output's traceback), end with the line
    naming the parameter, with nothing to scroll past. The traceback is kept
    in the notebook, folded, just above the error (:func:`in_one_line`).
    Outside a kernel a chapter raises the core's exception itself.

    Examples
    --------
    >>> ParameterError("alpha: unknown parameter")._render_traceback_()
    ['ParameterError: alpha: unknown parameter']
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def _kernel() -> Any:
    """The IPython shell of the Jupyter kernel running this code (papermill's, JupyterLab's), or None."""
    ipython = sys.modules.get("IPython")  # a kernel has imported it; importing it here would cost every caller
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if getattr(shell, "kernel", None) is not None else None  # not a terminal IPython


def given_names(shell: Any) -> list[str]:
    """The names a notebook's parameters were given under, as the cells ``shell`` ran before this one assigned them.

    papermill runs a notebook's ``parameters`` cell, then the cell it injects
    after it (tagged ``injected-parameters``, one ``name = value`` line per
    ``-p``, ``-y`` or ``-f`` value), then the cell that calls the chapter's
    ``build``. IPython's input history (``In``) then holds those two cells
    before the current one, each nothing but assignments, and the names they
    assign are the parameters given, papermill's included (a JupyterLab run of
    the notebook has the ``parameters`` cell alone). Once anything else has
    run, as when a person works in the notebook, a name in the namespace no
    longer tells a parameter from a variable of theirs: nothing is returned.

    Returns
    -------
    list of str
        In the order assigned; empty when another kind of cell ran before this one.
    """
    names: list[str] = []
    for source in shell.user_ns.get("In", [])[1:-1]:  # In[0] is empty, In[-1] is the current cell
        try:
            body = ast.parse(source).body
        except SyntaxError:
            return []
        for node in body:
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                target = node.target
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            else:
                return []
            if not isinstance(target, ast.Name):
                return []
            names.append(target.id)
    return names


def in_one_line(exc: errors.ParameterError, shell: Any) -> ParameterError:
    """``exc``, just caught in a Jupyter kernel, as :class:`ParameterError`, its traceback shown folded first.

    The traceback ``exc`` would have had, from the notebook cell down to where
    it was raised, becomes an output of the cell, above the error: folded (an
    HTML ``<details>``) in JupyterLab, plain text in the notebook file for
    other readers. papermill's terminal shows a failing cell's error output
    alone (the ``text/plain`` goes to its log with ``--log-output``).

    Parameters
    ----------
    exc : thalbook.core.errors.ParameterError
        The refusal, caught by the caller (its traceback starts in the caller's frame).
    shell : IPython.core.interactiveshell.InteractiveShell
        The kernel's shell (its ``display`` sends the traceback to the cell).

    Returns
    -------
    ParameterError
        The same message, for the caller to raise ``from exc``.
    """
    from IPython.display import display

    tb = exc.__traceback__
    outer = []
    for frame, line in traceback.walk_stack(tb.tb_frame.f_back if tb is not None else None):
        outer.append((frame, line))
        if frame.f_globals is shell.user_global_ns:  # the notebook cell: what called it is IPython's
            break
    frames = [*traceback.StackSummary.extract(reversed(outer)), *traceback.extract_tb(tb)]
    text = "".join(["Traceback (most recent call last):\n", *traceback.format_list(frames),
                    f"{ParameterError.__name__}: {exc}\n"])
    display({"text/plain": text,
             "text/html": f"<details><summary>Traceback of the refusal below</summary><pre>{html.escape(text)}"
                          "</pre></details>"}, raw=True)
    return ParameterError(str(exc))


def check_names(chapter: str, params: Mapping[str, Any], names: Sequence[str]) -> None:
    """Refuse parameters other than the chapter's ``names``: in ``params``, given by the notebook's own code.

    ``params`` lacking one of ``names`` or having another is a mistake of the
    code that calls ``build``. In a notebook run by papermill, the names the
    notebook was given (:func:`given_names`) are checked too: a name papermill
    was given that the chapter does not declare (its ``-p``, ``-y`` and ``-f``
    only warn, "Passed unknown parameter") is the user's mistake, refused as
    ``thalbook`` refuses it.

    Raises
    ------
    TypeError
        If ``params`` lacks one of ``names`` or has another.
    ParameterError
        In a Jupyter kernel, if the notebook was given a name that is not a
        parameter (in the words of :func:`thalbook.core.parameters.parse`, as
        ``thalbook build --set``), a value ``thalbook`` would refuse, or a
        parameter of the book that the chapter does not take. papermill's own
        ``PAPERMILL_INPUT_PATH`` and ``PAPERMILL_OUTPUT_PATH`` (``--inject-paths``)
        are let through.

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
    shell = _kernel()
    if shell is None:
        return
    namespace = shell.user_ns
    given = {name: namespace[name] for name in given_names(shell)
             if name in namespace and not name.startswith("PAPERMILL_")}
    try:
        parameters.parse(given)
        others = sorted(set(given) - set(names))
        if others:
            takes = f"its parameters: {', '.join(names)}" if names else "it takes none"
            raise errors.ParameterError(f"{others[0]}: not a parameter of chapter {chapter} ({takes})")
    except errors.ParameterError as exc:
        raise in_one_line(exc, shell) from exc


def check_values(params: Mapping[str, Any]) -> parameters.Parameters:
    """Return the chapter's parameters checked, refusing a value ``thalbook build`` would refuse.

    The check is :func:`thalbook.core.parameters.parse`, the one the build
    runs on parameter files and ``--set``, so that a chapter run by papermill
    answers as ``thalbook`` does, word for word (without saying where the
    value came from: the chapter cannot know).

    Returns
    -------
    thalbook.core.parameters.Parameters
        The values, each of its type; a parameter the chapter does not take keeps its default.

    Raises
    ------
    thalbook.core.errors.ParameterError
        An :class:`~thalbook.core.errors.InputError` naming the parameter and
        what is wrong with its value: not finite (NaN, an infinity), of the
        wrong type (a boolean or text is not a number) or outside what the
        schema allows; in a Jupyter kernel, :class:`ParameterError`, shown in
        one line (:func:`in_one_line`).

    Examples
    --------
    >>> check_values({"ci_method": "jeffreys"}).ci_method
    <CiMethod.JEFFREYS: 'jeffreys'>
    >>> check_values({"confidence_level": 0.3})
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: confidence_level: 0.3 is less than the minimum of 0.5
    >>> check_values({"confidence_level": float("nan")})
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: confidence_level: nan is not a finite number
    """
    try:
        return parameters.parse(params)
    except errors.ParameterError as exc:
        shell = _kernel()
        if shell is None:
            raise
        raise in_one_line(exc, shell) from exc


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

    def prose(self, cell: str) -> None:
        """Display the chapter's markdown cell ``cell`` (its id) as the book prints it, for JupyterLab.

        jupyterlab-myst shows a ``{glue:text}`` role as its key and cannot
        resolve ``{cite:p}`` or ``{numref}``; this cell's output is the prose
        with its glued values, citations and numbers written out, and its
        glued figures in place (:func:`thalbook.chapters.prose.filled`). The
        book removes the cell that calls it (``remove-cell``).
        """
        from IPython.display import Markdown, display

        from thalbook.chapters import prose

        for part in prose.filled(cell, self.values):
            display(Markdown(part) if isinstance(part, str) else self.values[part.name])
