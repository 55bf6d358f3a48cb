"""Errors a user can cause, in one hierarchy. The CLI turns each into one line on stderr and an exit code.

Catch by class, never by name: ``except DatabaseError`` covers a damaged and a read-only database,
``except UsageError`` everything that is the caller's mistake (exit 2), ``except CCBrowserError``
everything this package raises on purpose.
"""

from __future__ import annotations


class CCBrowserError(Exception):
    """A runtime failure (network, API, missing id): exit code 1."""

    exit_code = 1


class UsageError(CCBrowserError):
    """A bad option, value or query: exit code 2."""

    exit_code = 2


class AmbiguousId(UsageError):
    """An id prefix that several completions share; `candidates` are the first few of them."""

    def __init__(self, message: str, prefix: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.prefix = prefix
        self.candidates = candidates


class ConfigError(UsageError):
    """The config file is unreadable or does not match its schema: exit code 2, fixed by editing it."""


class NotFound(CCBrowserError):
    """An id that the local store does not hold."""


class DatabaseError(CCBrowserError):
    """The local database cannot be used as it is (damaged, read-only, not a ccbrowser database)."""


class DamagedDatabase(DatabaseError):
    """SQLite reports the file as corrupt: nothing more is written to it."""


class ReadOnlyDatabase(DatabaseError):
    """The file or its directory cannot be written (SQLite needs both: the -wal and -shm files)."""


class DiskFull(DatabaseError):
    """SQLite could not write for want of space: what was committed before stays, nothing is half-written."""


class APIError(CCBrowserError):
    """The server answered with an error that retrying will not fix."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class AuthError(APIError):
    """401/403: the key, project or organisation is wrong. Fatal for a sync."""


class NotFoundError(APIError):
    """404 from the server: the completion (or its messages) does not exist there (any more).

    Not :class:`NotFound`, which is an id the *local* database does not hold.
    """


class UnsupportedError(APIError):
    """The server does not implement this operation (some routers lack update/delete)."""


class NetworkError(CCBrowserError):
    """The server could not be reached, or kept failing, after every retry."""
