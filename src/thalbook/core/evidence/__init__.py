"""The evidence room: the data package read safely, validated and loaded.

Its files are read without following links and validated by the Table Schemas and the
hand-written rules; the tables are loaded with every number as printed; quotes are
checked against their source texts and citation keys against ``references.bib``.
"""
