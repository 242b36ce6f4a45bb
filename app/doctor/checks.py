"""The doctor's checks in the order a technician should read them: config first, then hardware,
storage, time, network and keys (later checks skip when the config could not be loaded)."""

from __future__ import annotations

from app.doctor.check_broker import check_broker, check_broker_encryption, check_broker_files
from app.doctor.check_clock import check_clock
from app.doctor.check_config import check_config
from app.doctor.check_devices import check_gpio, check_reader_bus
from app.doctor.check_display import check_display, check_fonts
from app.doctor.check_keys import check_keys
from app.doctor.check_reader import check_reader, check_reader_selftest
from app.doctor.check_storage import check_data_dir, check_databases, check_disk

ALL_CHECKS = (
    check_config,
    check_reader_bus,
    check_gpio,
    check_reader,
    check_reader_selftest,
    check_display,
    check_fonts,
    check_data_dir,
    check_databases,
    check_disk,
    check_clock,
    check_broker_files,
    check_broker_encryption,
    check_broker,
    check_keys,
)
