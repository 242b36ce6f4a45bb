"""The reference HQ tool behind `kiosk hq ...`: keys, signed pushes, event store, listener, fleet view."""
