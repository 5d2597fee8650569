"""Tables as MyST, so that they render in the HTML book and in the PDF.

A pandas DataFrame displays as an HTML table, which the LaTeX builder cannot
use (it falls back to the plain-text repr). A ``{list-table}`` directive is a
docutils table: Sphinx renders it in HTML and in LaTeX, numbers it, gives it
its caption and an anchor (``:name:``) for ``{numref}``, and with ``:widths:``
(always given: :func:`column_widths`) the LaTeX
columns wrap their text instead of running off the page.

A chapter displays the MyST with :func:`show`; the notebook's Markdown output
is parsed as MyST because ``nb_render_markdown_format`` is ``myst``.

A long table can be folded beneath a title (:func:`fold`, a sphinx-design
dropdown, which Jupyter Book loads), kept to one output (:func:`only`: the
web book or the PDF) or put in a block that a link can open at
(:func:`container`).

Examples
--------
>>> print(list_table([["8", "10"]], ["k", "n"], "A caption", "tbl-demo"))
````{list-table} A caption
:header-rows: 1
:name: tbl-demo
:class: longtable
:widths: 44 44
<BLANKLINE>
* - k
  - n
* - 8
  - 10
````
>>> escape("> 20% of *all*")
'\\\\> 20% of \\\\*all\\\\*'
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import yaml

#: Every table caption of the chapter views, by table name, beside this module so that a wheel ships it.
CAPTIONS = "captions.yaml"

#: ASCII punctuation that Markdown or MyST could read as markup inside a cell.
_MARKUP = re.compile(r"([\\`*_\[\]<>#|$~{}])")
#: A cell that begins like a list item or a numbered list would become one.
_LEADING_LIST = re.compile(r"^(\s*)([-+]\s|\d+[.)]\s)")


def escape(text) -> str:
    """Make ``text`` literal in a MyST cell: markup characters are backslash-escaped.

    Line breaks become spaces (a list-table cell is one paragraph here), a
    leading ``- `` or ``1. `` is escaped so that it does not start a list, and a
    leading ``%`` so that MyST does not read the line as a comment.

    Examples
    --------
    >>> escape("1. first")
    '1\\\\. first'
    >>> escape("% responding")
    '\\\\% responding'
    >>> escape(None)
    ''
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    flat = " ".join(str(text).split())
    flat = _MARKUP.sub(r"\\\1", flat)
    match = _LEADING_LIST.match(flat)
    if match:
        marker = match.group(2)
        escaped = "\\" + marker if marker[0] in "-+" else marker.replace(".", "\\.", 1).replace(")", "\\)", 1)
        flat = match.group(1) + escaped + flat[match.end():]
    if flat.startswith("%"):
        flat = "\\" + flat
    return flat


def _cell(text: str) -> str:
    text = " ".join(str(text).split())
    return text if text else "\u2014"  # an empty bullet would end the list-table's row


#: Characters of 10-pt text on one line of the PDF's text block (A4), and the cell padding in characters.
LINE_CHARS = 88
PADDING_CHARS = 3


def _longest_word(cell: str) -> float:
    """The longest unbreakable run of a cell, in characters (code, set in a wider font, counts 1.25).

    Examples
    --------
    >>> _longest_word("he2017-study-start-abs-methods"), _longest_word("`announced-vs-reported` check")
    (8.0, 26.25)
    """
    longest = 0.0
    for word in str(cell).split():
        code = word.count("`") >= 2
        plain = word.replace("`", "").replace("*", "").replace("\\", "")
        # LaTeX breaks a line after a hyphen in text, never inside code
        parts = [plain] if code else plain.split("-")
        longest = max(longest, max(len(p) + (0 if code else 1) for p in parts) * (1.25 if code else 1.0))
    return longest


def column_widths(header: Sequence[str], rows: Sequence[Sequence[str]],
                  preferred: Sequence[int] | None = None) -> list[int]:
    """Relative column widths for the PDF in which every column holds its longest word.

    ``preferred`` (the caller's proportions; by default each column's longest
    cell, within 4 to 40 characters) is scaled to the line, then every column
    is widened to its longest unbreakable word, and the room this takes is
    taken back from the columns that have more than they need, so that the
    table still fits the text width. A table whose words alone exceed the
    line keeps the words' widths (LaTeX then reports it, and the PDF test
    fails).

    Examples
    --------
    >>> column_widths(["n", "what"], [["12", "a long sentence that wraps over several lines of the table"]])
    [8, 80]
    >>> column_widths(["check", "meaning"], [["`percent-to-count`", "a long text"]], preferred=[10, 90])
    [23, 65]
    """
    columns = list(zip(header, *rows, strict=True)) if rows else [[h] for h in header]
    if preferred is None:
        preferred = [min(40, max(4, max(len(str(cell)) for cell in column))) for column in columns]
    need = [max(_longest_word(cell) for cell in column) + PADDING_CHARS for column in columns]
    total = sum(preferred)
    widths = [max(p * LINE_CHARS / total, n) for p, n in zip(preferred, need, strict=True)]
    excess = sum(widths) - LINE_CHARS
    if excess > 0:
        spare = [w - n for w, n in zip(widths, need, strict=True)]
        room = sum(spare)
        if room > 0:
            widths = [w - excess * s / room if excess < room else n
                      for w, s, n in zip(widths, spare, need, strict=True)]
    return [max(1, round(w)) for w in widths]


@functools.cache
def captions() -> dict[str, str]:
    """Table name (or the stem of a family of names) -> its caption, as :data:`CAPTIONS` words it."""
    return yaml.safe_load(Path(__file__).with_name(CAPTIONS).read_text(encoding="utf-8"))


def caption(name: str, **values) -> str:
    """The caption of table ``name`` from :data:`CAPTIONS`, its ``{fields}`` filled in with ``values``.

    Raises
    ------
    ValueError
        If the file has no caption ``name``, or its fields are not the names of ``values``.

    Examples
    --------
    >>> caption("tbl-audit-summary", rounding="half-up")
    'Findings and audit checks by study and verdict (half-up rounding).'
    >>> caption("tbl-audit-summary")
    Traceback (most recent call last):
    ...
    ValueError: captions.yaml: tbl-audit-summary has the fields rounding, given none
    """
    if name not in captions():
        raise ValueError(f"{CAPTIONS}: no caption {name}")
    text = captions()[name]
    fields = sorted({field for _, field, _, _ in string.Formatter().parse(text) if field is not None})
    if fields != sorted(values):
        raise ValueError(f"{CAPTIONS}: {name} has the fields {', '.join(fields) or 'none'}, "
                         f"given {', '.join(sorted(values)) or 'none'}")
    return text.format(**values)


def list_table(
    rows: Iterable[Sequence[str]],
    header: Sequence[str],
    caption: str,
    name: str,
    widths: Sequence[int] | None = None,
) -> str:
    """MyST for a captioned, named ``{list-table}``.

    Parameters
    ----------
    rows : iterable of sequences of str
        Cell texts, already MyST (use :func:`escape` for literal text). An
        empty cell is shown as an em dash.
    header : sequence of str
        Column headings (MyST).
    caption : str
        The table's caption (MyST, one line).
    name : str
        Its label, for ``{numref}`` and as the HTML id.
    widths : sequence of int, optional
        Preferred relative column widths, adjusted by :func:`column_widths`
        so that every column holds its longest word; the PDF wraps each
        column to its width.

    Returns
    -------
    str
        The directive, fenced with four backticks so cells may hold code.

    Raises
    ------
    ValueError
        If the caption cites, a row has not as many cells as the header, or
        ``widths`` not as many entries.
    """
    header = list(header)
    if "{cite" in caption:
        # In LaTeX a citation inside a caption breaks the PDF build (hyperref).
        raise ValueError(f"list_table {name}: the caption must not hold citations; cite in the cells or the prose")
    if widths is not None and len(widths) != len(header):
        raise ValueError(f"list_table {name}: {len(widths)} widths for {len(header)} columns")
    # longtable: the PDF breaks the table across pages (Sphinx does so by itself only above 30 rows).
    lines = [f"````{{list-table}} {' '.join(caption.split())}", ":header-rows: 1", f":name: {name}",
             ":class: longtable"]
    rows = [list(row) for row in rows]
    for number, row in enumerate([header, *rows]):
        if len(row) != len(header):
            raise ValueError(f"list_table {name}: row {number} has {len(row)} cells, the header {len(header)}")
    widths = column_widths(header, rows, widths)
    lines.append(f":widths: {' '.join(str(int(w)) for w in widths)}")
    lines.append("")
    for row in [list(header), *rows]:
        lines.append(f"* - {_cell(row[0])}")
        lines.extend(f"  - {_cell(cell)}" for cell in row[1:])
    lines.append("````")
    return "\n".join(lines)


def frame_table(
    frame: pd.DataFrame,
    caption: str,
    name: str,
    widths: Sequence[int] | None = None,
    markup: Iterable[str] = (),
) -> str:
    """A DataFrame as a :func:`list_table`; every column is escaped except those in ``markup``.

    Examples
    --------
    >>> frame = pd.DataFrame({"event": ["dry mouth"], "reported": ["7/8"]})
    >>> print(frame_table(frame, "Events", "tbl-events").splitlines()[-2])
      - 7/8
    """
    markup = set(markup)
    rows = [
        [str(value) if column in markup else escape(value) for column, value in zip(frame.columns, row, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    return list_table(rows, [escape(c) for c in frame.columns], caption, name, widths)


def _fence(body: str) -> str:
    """A colon fence longer than any colon fence inside ``body`` (so that directives nest)."""
    inner = [len(m) for m in re.findall(r"^(:{3,})", body, flags=re.M)]
    return ":" * max(3, max(inner, default=0) + 1)


def fold(title: str, body: str) -> str:
    """MyST for ``body`` folded beneath ``title``: a sphinx-design ``{dropdown}``.

    In HTML the dropdown is a ``<details>`` element, closed until the reader
    opens it (no script needed); in the PDF its title and body are printed
    as they are (the title as a rubric).

    Examples
    --------
    >>> print(fold("Every row", "a *table*"))
    :::{dropdown} Every row
    a *table*
    :::
    >>> fold("Outer", fold("Inner", "x")).splitlines()[0]
    '::::{dropdown} Outer'
    """
    fence = _fence(body)
    return "\n".join([f"{fence}{{dropdown}} {' '.join(title.split())}", body, fence])


def container(body: str, classes: str, name: str | None = None) -> str:
    """MyST for ``body`` in a ``{container}`` (an HTML ``<div>`` of ``classes``), labelled ``name``.

    The label is the div's HTML id, so that ``page.html#<name>`` opens at it.

    Examples
    --------
    >>> print(container("text", "box", name="here"))
    :::{container} box
    :name: here
    text
    :::
    """
    fence = _fence(body)
    options = [f":name: {name}"] if name else []
    return "\n".join([f"{fence}{{container}} {classes}", *options, body, fence])


def only(output: str, body: str) -> str:
    """MyST for ``body`` in one kind of output only: ``html`` (the web book) or ``latex`` (the PDF).

    A Sphinx ``{only}`` directive: the other builder leaves ``body`` out.
    Labels (``:name:``) inside it are still defined for both, so a label
    must not stand in both an ``html`` and a ``latex`` body.

    Examples
    --------
    >>> print(only("latex", "print me"))
    :::{only} latex
    print me
    :::
    """
    if output not in ("html", "latex"):
        raise ValueError(f"only: output must be html or latex, got {output!r}")
    fence = _fence(body)
    return f"{fence}{{only}} {output}\n{body}\n{fence}"


def show(myst: str):
    """Display MyST text as the cell's output (an IPython Markdown object)."""
    from IPython.display import Markdown

    return Markdown(myst)
