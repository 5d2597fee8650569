"""Tables as MyST, so that they render in the HTML book and in the PDF.

A pandas DataFrame displays as an HTML table, which the LaTeX builder cannot
use (it falls back to the plain-text repr). A ``{list-table}`` directive is a
docutils table: Sphinx renders it in HTML and in LaTeX, numbers it, gives it
its caption and an anchor (``:name:``) for ``{numref}``, and with ``:widths:``
the LaTeX columns wrap their text instead of running off the page.

A chapter displays the MyST with :func:`show`; the notebook's Markdown output
is parsed as MyST because ``nb_render_markdown_format`` is ``myst``.

Examples
--------
>>> print(list_table([["8", "10"]], ["k", "n"], "A caption", "tbl-demo"))
````{list-table} A caption
:header-rows: 1
:name: tbl-demo
:class: longtable
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

import re
from collections.abc import Iterable, Sequence

import pandas as pd

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
        Relative column widths; given, the PDF wraps each column to its width.

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
    if widths is not None:
        lines.append(f":widths: {' '.join(str(int(w)) for w in widths)}")
    lines.append("")
    for number, row in enumerate([header, *rows]):
        row = list(row)
        if len(row) != len(header):
            raise ValueError(f"list_table {name}: row {number} has {len(row)} cells, the header {len(header)}")
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


def show(myst: str):
    """Display MyST text as the cell's output (an IPython Markdown object)."""
    from IPython.display import Markdown

    return Markdown(myst)
