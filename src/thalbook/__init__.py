"""thalbook: a reproducible re-analysis of two open-label thalidomide studies.

The package holds all of the book's logic; the chapter notebooks only call it.
Data flows one way: ``data`` (load and validate what the papers report) ->
``stats`` and ``audit`` (recompute and judge) -> chapters (glue, figures, prose)
-> ``pipeline`` (execute, cache, build, publish).
"""

__version__ = "0.2.0"
