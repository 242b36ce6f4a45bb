"""Why HQ refuses a request: each maps to one HTTP status and one machine-readable code."""

from __future__ import annotations


class HqServiceError(Exception):
    """Root of the errors a use case raises on purpose; `code` is stable, the message is for people."""

    code = "refused"
    status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(HqServiceError):
    code = "not_found"
    status = 404


class IdempotencyConflict(HqServiceError):
    """The idempotency key was used before for a different request: retry the same, never a new one."""

    code = "idempotency_conflict"
    status = 409


class DuplicateOrder(HqServiceError):
    code = "duplicate_order"
    status = 409


class Refused(HqServiceError):
    """The domain says no (e.g. stored value short); `code` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NoProgram(HqServiceError):
    code = "no_program"
    status = 503
