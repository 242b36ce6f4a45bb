"""The membership-card kiosk's domain: ledger, rules, vouchers, card records and verification, the
session state machine, view models and the config schema.

Nothing here imports pygame, paho, spidev, RPi.GPIO, pyserial or systemd, nor the `drivers`,
`screens`, `sync` or `app` packages; `app.bootstrap` is the one composition root that wires the
domain to them.
"""
