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


class Interrupted(Exception):
    """A run stopped on request (SIGTERM, SIGINT) after saving its state: not an error of the
    user's, so the command line prints its one line without "error:" and exits `exit_code`
    (128 + the signal number: 143 for SIGTERM, 130 for SIGINT)."""

    def __init__(self, message: str, exit_code: int):
        self.exit_code = exit_code
        super().__init__(message)


def _os_reason(exc: BaseException) -> str:
    """A short reason for a failed write: the OS error text where one can be found."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    text = str(exc)
    # safetensors: 'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "..." })'
    start = text.find('message: "')
    if start >= 0:
        end = text.find('"', start + 10)
        if end > start:
            return text[start + 10 : end]
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


class writing:
    """Context manager: turn a failed write (full disk, read-only or vanished folder) into
    `BadFileError(path, "<what> (<OS reason>)")`.

    It converts `OSError` and the errors that safetensors raises for I/O failures; anything
    else (a bug) goes through unchanged.
    """

    def __init__(self, path, what: str = "write failed"):
        self.path, self.what = path, what

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, UserError):
            return False
        if isinstance(exc, OSError) or (type(exc).__name__ == "SafetensorError" and "IoError" in str(exc)):
            raise BadFileError(self.path, f"{self.what} ({_os_reason(exc)})") from exc
        return False
