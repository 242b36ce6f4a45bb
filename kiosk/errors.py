"""The kiosk's exception root: every error the domain raises on purpose derives from KioskError."""


class KioskError(Exception):
    """Base of the kiosk's own errors (config, ledger, card records, ...)."""
