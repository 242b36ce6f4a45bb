"""HQ's pure domain: the programme document, points, tiers and stored value.

No I/O, no SQL and no clock: every time is passed in (and must be timezone-aware), money is
integer fen, points are integers, multipliers are `Decimal`. The store and the HTTP layer call
these functions; tests call them directly.

- `program`: HQ's versioned programme document (the kiosk rules plus earning, re-evaluation and
  top-up terms), validated once into frozen objects.
- `points`: earning, dated lots spent oldest-first, expiry, proportional refunds, overdraft.
- `tiers`: upgrades after a purchase, scheduled re-evaluation, manual overrides.
- `topup`: top-up bonuses and the first-day limit on spending stored value.
- `examples`: the supermarket and courier-style programmes (documentation, tests, demo seed).
"""
