"""The inference room: the statistics of what a paper prints.

Intervals and rounding, what whole numbers a printed percentage, mean or SD allows,
which test reproduces a printed p-value, the counts behind percentages, and patient-level
data that reproduce every printed summary at once.
"""
