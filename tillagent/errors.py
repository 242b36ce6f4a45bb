"""The till agent's exception tree, with builtin parents where they fit."""

from __future__ import annotations


class TillAgentError(Exception):
    """Root of everything the till agent raises on purpose."""


class TillConfigError(TillAgentError, ValueError):
    """till.yaml (or the token or a key it names) cannot be used; the message names file and key."""


class HqUnreachable(TillAgentError, ConnectionError):
    """HQ gave no usable answer: no connection, a timeout, a dropped connection or a 5xx.

    `delivered` is False only when HQ certainly did not act on the request (the connection was never
    made, or HQ answered 503, which HQ sends for requests that did not happen); otherwise HQ may have
    committed it and a retry must reuse the request id.
    """

    def __init__(self, why: str, *, delivered: bool) -> None:
        super().__init__(why)
        self.why = why
        self.delivered = delivered


class DirectoryProblem(TillAgentError, ValueError):
    """The key directory (fetched or cached) cannot be trusted or used; the message says why."""
