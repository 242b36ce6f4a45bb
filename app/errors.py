"""The program's exception root: errors raised by the wiring, CLI, doctor, notify and scenario."""


class AppError(Exception):
    """Base of the errors `app/` raises on purpose (each also derives from the built-in it behaves like)."""
