"""Floor 3, the press: parameters, execution, staging and publishing of the book, and the command line.

It may import the chapters and the core; nothing imports it but the command line.
"""
