"""The one family of errors the core raises; the front doors turn them into one-line reasons."""

from __future__ import annotations


class AnonymiseError(Exception):
    """Something went wrong with one photo; the message is a one-line reason for the user."""


class NotAnImageError(AnonymiseError):
    """The file is not a photo anonymise reads (skipped, not failed)."""


class UnreadableImageError(AnonymiseError):
    """The file claims to be a photo but cannot be decoded."""


class WriteError(AnonymiseError):
    """The anonymised copy could not be written or did not pass the clean check."""


class UncleanOutputError(WriteError):
    """The written copy carried something besides pixels and the structure they need.

    The copy is deleted before this is raised; it is never left where a user could publish it.
    """


def one_line(error: BaseException) -> str:
    """An error's message on one line (a reason must never break a line of output)."""
    return " ".join(str(error).split()) or type(error).__name__
