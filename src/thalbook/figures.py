"""One plotting style for the whole book: colour-blind-safe, deterministic PNG.

Figures are PNG so that they appear in the PDF as well as the HTML (the
LaTeX builder takes no SVG), at a fixed size and resolution so that two
builds from the same inputs give byte-identical images.
"""

from __future__ import annotations

import matplotlib as mpl
import seaborn as sns

#: seaborn's colour-blind-safe palette (after Okabe and Ito), used everywhere.
PALETTE = sns.color_palette("colorblind")


def use_book_style() -> None:
    """Apply the book's style to matplotlib and seaborn (call once per chapter)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font="DejaVu Sans")
    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 4.0),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "axes.titleweight": "bold",
            # Text as shapes, and no timestamp in metadata: reproducible bytes.
            "svg.hashsalt": "thalbook",
            "figure.autolayout": False,
        }
    )
    # The inline backend renders PNG; retina doubling would change sizes per machine.
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # not in a kernel (e.g. doctest): plain matplotlib is fine
        pass
