"""The auditing room: every published number and statement checked, and the findings.

Each number is checked against what is possible and against the same number elsewhere;
the checks are grouped into findings with stable identifiers made from structured keys.
"""
