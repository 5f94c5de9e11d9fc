"""User-facing errors.

Every error that a user can cause with an argument or a file derives from `UserError`. The
command line turns it into one line on stderr and exit status 2; Python callers get an
ordinary exception (a `ValueError`, so `except ValueError` keeps working).
Messages name the file or option and the offending value.
"""

from __future__ import annotations

import re

# torch's DataLoader re-raises a worker's exception in the main process as
# `type(exc)(message)`, the message being this line followed by the worker's traceback
_WORKER_HEADER = re.compile(r"Caught (\w+) in DataLoader worker process \d+\.")


def worker_error_line(text: str) -> str | None:
    """The original error line of a message that torch's DataLoader wrapped around an exception
    raised in a worker ("Caught E in DataLoader worker process N." + the worker's traceback,
    whose last line is "module.E: message"), or None when `text` is not such a message."""
    lines = text.strip().splitlines()
    header = _WORKER_HEADER.match(lines[0]) if lines else None
    if header is None or len(lines) < 2:
        return None
    last = lines[-1].strip()
    named = re.match(rf"(?:[\w.]+\.)?{header.group(1)}: (.*)", last)
    return named.group(1) if named else last


class UserError(ValueError):
    """A bad argument or a bad file, explained in one line."""


class BadFileError(UserError):
    """A file that cannot be read, is truncated or corrupt, or holds the wrong content."""

    def __init__(self, path, problem: str | None = None):
        if problem is None:  # rebuilt from one message, e.g. by torch's DataLoader from a worker's
            path, problem = _split_message(str(path), self)
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if problem else self.path)


class BadOptionError(UserError):
    """A command-line option or keyword argument with a value outside what is allowed."""

    def __init__(self, option: str, problem: str | None = None):
        if problem is None:  # rebuilt from one message (see BadFileError)
            option, problem = _split_message(option, self)
        self.option = option
        self.problem = problem
        super().__init__(f"{option}: {problem}" if problem else option)


def _split_message(message: str, exc: BaseException) -> tuple[str, str]:
    """(where, problem) of a one-message `UserError`: "WHERE: PROBLEM", or a DataLoader worker's
    wrapped message, whose worker traceback is kept as a note (shown by --debug)."""
    line = worker_error_line(message)
    if line is not None:
        exc.add_note(message.strip())
    where, _, problem = (line if line is not None else message).partition(": ")
    return where, problem


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
