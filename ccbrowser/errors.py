"""Errors a user can cause. The CLI turns them into one line on stderr and an exit code."""


class CCBrowserError(Exception):
    """A runtime failure (network, API, missing id): exit code 1."""

    exit_code = 1


class UsageError(CCBrowserError):
    """A bad option, value or query: exit code 2."""

    exit_code = 2


class NotFound(CCBrowserError):
    """An id that the local store does not hold."""


class NetworkError(CCBrowserError):
    """The server could not be reached, or kept failing, after every retry."""
