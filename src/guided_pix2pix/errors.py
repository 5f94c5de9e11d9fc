"""User-facing errors.

Every error that a user can cause with an argument or a file derives from `UserError`. The
command line turns it into one line on stderr and exit status 2; Python callers get an
ordinary exception (a `ValueError`, so `except ValueError` keeps working).
Messages name the file or option and the offending value.
"""

from __future__ import annotations


class UserError(ValueError):
    """A bad argument or a bad file, explained in one line."""


class BadFileError(UserError):
    """A file that cannot be read, is truncated or corrupt, or holds the wrong content."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class BadOptionError(UserError):
    """A command-line option or keyword argument with a value outside what is allowed."""

    def __init__(self, option: str, problem: str):
        self.option = option
        self.problem = problem
        super().__init__(f"{option}: {problem}")
