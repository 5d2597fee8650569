"""Floor 1: what the papers say and what follows from it.

The vocabulary of analytic choices, the data package, the cohort (who was
enrolled, who left when), the statistics and the consistency audit. Nothing
here imports Jupyter, Sphinx, papermill, the chapters or the build.
"""
