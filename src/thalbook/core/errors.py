"""The errors ``thalbook`` raises, each naming its culprit in one line.

The command line maps :class:`InputError` to exit code 2 (the user gave
something invalid: a parameter, a parameter file, a data file) and
:class:`BuildError` to exit code 1 (a chapter or the book failed to build).

Examples
--------
>>> err = DataError([Problem("measures.csv", 3, "unit", "empty")])
>>> str(err)
'measures.csv:3: unit: empty'
"""

from __future__ import annotations

from dataclasses import dataclass


class ThalbookError(Exception):
    """Base class of every error the package raises on purpose."""

    exit_code = 1


class InputError(ThalbookError):
    """Invalid input from the user: exit code 2, nothing built or published."""

    exit_code = 2


class ParameterError(InputError):
    """A parameter or parameter file is invalid; the message names it."""


@dataclass(frozen=True)
class Problem:
    """One problem in the data package, located to a file, row and field.

    ``row`` is the line number in the file (the header is line 1); ``None``
    when the problem concerns the whole file.
    """

    file: str
    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        return f"{where}: {self.field}: {self.message}"


class DataError(InputError):
    """The data package is invalid; carries every problem found in one run.

    ``str(error)`` is the first problem, so that a one-line report names the
    culprit; ``error.problems`` holds all of them.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid data"
        more = len(self.problems) - 1
        super().__init__(first if more == 0 else f"{first} (and {more} more)")


class BuildError(ThalbookError):
    """A chapter failed to execute or the book failed to build: exit code 1."""


class Interrupted(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM or SIGHUP) ended the build.

    A ``KeyboardInterrupt``, so that no ``except Exception`` on the way swallows
    it and every ``finally`` runs (ending the processes the build started).
    ``published`` lists what had been swapped in when it arrived (usually nothing).

    Examples
    --------
    >>> import signal
    >>> Interrupted(signal.SIGTERM).exit_code
    143
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.published: list[str] = []

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
