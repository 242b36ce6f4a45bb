"""Reader benchmark: our MFRC522 driver next to the `mfrc522` package, against the same emulator.

Both stacks talk SPI framing to the same register-level emulator at 4 MHz (with a 15 us per
transaction overhead, typical of spidev on a Pi), so register accesses are counted on the chip's
pins and modelled time comes from the same timing model. Figures:

- idle_poll_ops / _mfrc522: register accesses of one poll of an empty field (ours: a ReaderService
  poll, including the Idle command and FIFO flush every exchange starts with; the package:
  MFRC522_Request(PICC_REQIDL), what SimpleMFRC522's loop does).
- read_ops / _mfrc522: register accesses of one member-card read: activation, two sector
  authentications (the kiosk keeps two record copies, sectors 1 and 2), six block reads, halt.
- idle_poll_cpu_us / _mfrc522: process CPU time per idle poll. It includes the emulator's own
  Python work, which grows with register accesses, so the absolute figures overstate a Pi's cost.
- tap_to_data_ms_p50/p95: modelled time from a card entering the field (at a random moment of
  the poll cycle, 2.5 ms card power-up) to the authenticated member record in memory, with the
  ReaderThread's schedule (poll, then wait poll_interval) at the default interval (28 ms); the
  same figures at 50 ms are reported too (`*_at_50ms`), to show why the default is not longer.

Ends with one JSON line. `--quick` (or KIOSK_BENCH_QUICK=1) uses fewer samples.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time

from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K, ModelClock, TimingModel
from drivers.emulator.pkg_shim import gpio_module, spidev_module
from drivers.emulator.wire import EmulatorSpiDevice
from drivers.mfrc522 import Mfrc522
from drivers.reader_service import DEFAULT_POLL_INTERVAL_S, ReaderService
from drivers.transport.mfrc522pkg import load_package
from drivers.transport.spi import SpiTransport

KEY = b"\xff" * 6
UID = bytes.fromhex("a1b2c3d4")
RECORD_SECTORS = (1, 2)
TIMING = TimingModel(spi_hz=4_000_000, card_power_up_s=0.0025)


def member_card() -> MifareClassic1K:
    card = MifareClassic1K(UID)
    for sector in RECORD_SECTORS:
        for i in range(3):
            card.set_block(sector * 4 + i, bytes([sector * 16 + i]) * 16)
    return card


def read_member(session) -> bytes:
    record = b""
    for sector in RECORD_SECTORS:
        session.authenticate(sector * 4, KEY, "A")
        record += b"".join(session.read_block(sector * 4 + i) for i in range(3))
    return record


# --- our stack --------------------------------------------------------------------------------------
def our_stack(poll_interval_s: float = DEFAULT_POLL_INTERVAL_S, job=read_member):
    chip = MFRC522Emulator(Field(), timing=TIMING)
    wire = EmulatorSpiDevice(chip)
    driver = Mfrc522(SpiTransport(wire, sleep=wire.sleep))
    service = ReaderService(driver, ModelClock(chip), poll_interval_s=poll_interval_s, cooldown_s=0.2, read_job=job)
    service.start()
    return chip, service


def ours_idle(polls: int) -> tuple[float, float]:
    chip, service = our_stack()
    service.poll_once()
    before = chip.bus_stats.register_accesses
    cpu = time.process_time()
    for _ in range(polls):
        service.poll_once()
    cpu = time.process_time() - cpu
    return (chip.bus_stats.register_accesses - before) / polls, cpu / polls * 1e6


def ours_read() -> int:
    chip, service = our_stack()
    service.poll_once()
    chip.field.present(member_card())
    chip.advance(0.01)
    before = chip.bus_stats.register_accesses
    events = service.poll_once()
    assert any(type(e).__name__ == "CardPresented" and len(e.result) == 96 for e in events), events
    return chip.bus_stats.register_accesses - before


# --- the mfrc522 package -------------------------------------------------------------------------------
def package_reader():
    chip = MFRC522Emulator(Field(), timing=TIMING)
    package = load_package((spidev_module(chip), gpio_module(chip)))
    reader = package.MFRC522(spd=4_000_000)
    reader.logger.handlers = []
    return chip, reader


def package_idle(polls: int) -> tuple[float, float]:
    chip, reader = package_reader()
    before = chip.bus_stats.register_accesses
    cpu = time.process_time()
    for _ in range(polls):
        reader.MFRC522_Request(reader.PICC_REQIDL)
    cpu = time.process_time() - cpu
    return (chip.bus_stats.register_accesses - before) / polls, cpu / polls * 1e6


def package_read() -> int:
    chip, reader = package_reader()
    chip.field.present(member_card())
    chip.advance(0.01)
    before = chip.bus_stats.register_accesses
    status, _ = reader.MFRC522_Request(reader.PICC_REQIDL)
    status, uid = reader.MFRC522_Anticoll()
    assert status == reader.MI_OK, "package failed to read the UID"
    reader.MFRC522_SelectTag(uid)
    record = b""
    for sector in RECORD_SECTORS:
        assert reader.MFRC522_Auth(reader.PICC_AUTHENT1A, sector * 4, list(KEY), uid) == reader.MI_OK
        for i in range(3):
            record += bytes(reader.MFRC522_Read(sector * 4 + i))
    reader.MFRC522_StopCrypto1()
    assert len(record) == 96
    return chip.bus_stats.register_accesses - before


# --- latency ---------------------------------------------------------------------------------------------
def tap_to_data(samples: int, poll_interval_s: float = DEFAULT_POLL_INTERVAL_S, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    done_at: list[float] = []

    def timed_job(session):
        record = read_member(session)
        done_at.append(chip.model_time_s)  # the record is in memory now
        return record

    chip, service = our_stack(poll_interval_s, job=timed_job)
    interval = service.poll_interval_s
    latencies = []
    for _ in range(samples):
        card = member_card()
        # The card arrives at a random moment during the wait that follows a poll.
        service.poll_once()
        arrive_in = rng.uniform(0, interval)
        chip.advance(arrive_in)
        entered = chip.model_time_s
        chip.field.present(card)
        chip.advance(interval - arrive_in)
        done_at.clear()
        for _ in range(20):
            events = service.poll_once()
            if any(type(e).__name__ == "CardPresented" for e in events):
                break
            chip.advance(interval)
        latencies.append((done_at[-1] - entered) * 1e3)
        chip.field.remove(card)
        while service.present_uid is not None:  # let the removal complete before the next tap
            chip.advance(interval)
            service.poll_once()
    return latencies


def main(argv: list[str]) -> int:
    quick = "--quick" in argv or os.environ.get("KIOSK_BENCH_QUICK") == "1"
    polls = 50 if quick else 300
    package_polls = 5 if quick else 30
    samples = 60 if quick else 400

    idle_ops, idle_cpu = ours_idle(polls)
    idle_ops_pkg, idle_cpu_pkg = package_idle(package_polls)
    read_ops, read_ops_pkg = ours_read(), package_read()
    latencies = tap_to_data(samples)
    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20)[18]
    at_50 = tap_to_data(samples, 0.05)

    print(f"{'':34}{'ours':>12}{'mfrc522 pkg':>14}")
    print(
        f"{'register accesses / idle poll':34}{idle_ops:>12.1f}{idle_ops_pkg:>14.1f}"
        f"   ratio 1/{idle_ops_pkg / idle_ops:.0f}"
    )
    print(f"{'register accesses / member read':34}{read_ops:>12d}{read_ops_pkg:>14d}")
    print(f"{'CPU us / idle poll (incl. emulator)':34}{idle_cpu:>12.0f}{idle_cpu_pkg:>14.0f}")
    print(
        f"tap-to-data at {DEFAULT_POLL_INTERVAL_S * 1e3:.0f} ms polling, 4 MHz SPI, "
        f"{samples} taps: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms"
    )
    print(
        f"(same at 50 ms polling: p50 {statistics.median(at_50):.1f} ms, "
        f"p95 {statistics.quantiles(at_50, n=20)[18]:.1f} ms)"
    )
    print(
        json.dumps(
            {
                "idle_poll_ops": round(idle_ops, 1),
                "idle_poll_ops_mfrc522": round(idle_ops_pkg, 1),
                "read_ops": read_ops,
                "read_ops_mfrc522": read_ops_pkg,
                "idle_poll_cpu_us": round(idle_cpu, 1),
                "idle_poll_cpu_us_mfrc522": round(idle_cpu_pkg, 1),
                "tap_to_data_ms_p50": round(p50, 2),
                "tap_to_data_ms_p95": round(p95, 2),
                "tap_to_data_ms_p50_at_50ms": round(statistics.median(at_50), 2),
                "tap_to_data_ms_p95_at_50ms": round(statistics.quantiles(at_50, n=20)[18], 2),
                "poll_interval_ms": DEFAULT_POLL_INTERVAL_S * 1e3,
                "spi_hz": TIMING.spi_hz,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
