"""The membership-card kiosk: domain (ledger, rules, vouchers, card records, config) and app wiring.

Domain modules here import no pygame, paho or spidev; `kiosk.app` is the one composition root
that wires drivers, screens and sync together.
"""

__version__ = "0.1.0"
