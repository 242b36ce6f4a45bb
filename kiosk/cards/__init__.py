"""Membership-card security: diversified keys, authenticated records, verification on every tap.

The card is an identity token, never the wallet. Everything here talks to the card through the
`TagSession` protocol (docs/architecture.md) and imports nothing from `drivers/`; which driver
exceptions mean "the card refused our key" or "the card went away" is injected as `CardFaults`.
See docs/card-layout.md for the on-card layout and the threat model.
"""
