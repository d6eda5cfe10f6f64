"""Typed errors with stable codes: stored on sources, shown to users, never a traceback."""

from __future__ import annotations


class MonitorError(Exception):
    """An expected failure. `code` is stable and machine-readable; the message is for people."""

    code = "error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(MonitorError):
    code = "config_invalid"


class StateError(MonitorError):
    """The state directory or database cannot be used (locked, unwritable, newer schema)."""

    code = "state_unusable"


class FetchError(MonitorError):
    """A source or link could not be fetched; `code` says why (http_503, timeout, too_large, ...)."""

    code = "fetch_failed"

    def __init__(self, message: str, code: str | None = None, *, retry_after: float | None = None,
                 permanent: bool = False):
        super().__init__(message, code)
        self.retry_after = retry_after
        self.permanent = permanent


class ParseError(MonitorError):
    code = "parse_failed"


class ExtractError(MonitorError):
    code = "extract_failed"


class DeliveryError(MonitorError):
    """An alert could not be delivered. `permanent` errors are recorded and not retried."""

    code = "delivery_failed"

    def __init__(self, message: str, code: str | None = None, *, permanent: bool = False,
                 retry_after: float | None = None):
        super().__init__(message, code)
        self.permanent = permanent
        self.retry_after = retry_after
