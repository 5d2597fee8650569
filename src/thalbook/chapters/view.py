"""What a chapter shows besides its figures: the parameter box and glued values.

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

from typing import Any

import numpy as np


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
