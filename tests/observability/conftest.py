"""Fixtures shared with other suites: the doctor's healthy device layout (tests/ops)."""

from tests.ops.conftest import kiosk_setup  # noqa: F401 - re-exported as a fixture for this directory
