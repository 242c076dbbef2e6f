"""Errors raised by services; views turn them into messages, the CLI into exit codes."""

from __future__ import annotations


class ServiceError(Exception):
    """A rule was broken; ``message`` is for the user (a lazy translatable string)."""

    def __init__(self, message, field: str | None = None, errors: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
        #: Every problem found, by field name, when a service checks several fields at once.
        self.errors = errors or ({field: message} if field else {})


class PermissionDenied(ServiceError):
    """The acting person may not do this."""


class NotFound(ServiceError):
    """The object does not exist (or the acting person may not know it exists)."""
