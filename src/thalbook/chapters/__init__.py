"""Floor 2: one view module per chapter, and the figures and tables they share.

A view turns what :mod:`thalbook.core` computes into what a chapter shows:
glued values (pre-formatted), MyST tables and figures. It imports the core,
never the build.
"""
