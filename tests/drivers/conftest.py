from __future__ import annotations

import pytest

from tests.drivers.rigs import TRANSPORTS, make_rig


@pytest.fixture(params=TRANSPORTS)
def rig(request):
    """The protocol driver over each transport (emulator, SPI framing, UART through a pty)."""
    made = make_rig(request.param)
    yield made
    made.close()


@pytest.fixture
def erig():
    """The protocol driver over the direct emulator transport (fastest; for non-transport tests)."""
    made = make_rig("emulator")
    yield made
    made.close()
