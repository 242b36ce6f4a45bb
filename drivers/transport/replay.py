"""ReplayTransport: plays back a register trace recorded by SpyTransport, checking every write.

First contact with a real board is recorded once (`reader.spy: true`, see docs/hardware.md) and
then replayed here, with no board, through the real driver: the trace serves the chip's answers to
each read, and each write the driver makes must be the one in the trace. The first difference
raises `TraceMismatch` naming the step, the trace line, what the trace holds and what the driver
did, so a driver change that alters the exchange with a real chip shows up in CI.

Trace format: SpyTransport's lines, one access a line, `#` comments and blank lines ignored::

    R VERSION -> 92
    W COMMAND <- 0F
    W FIFO_DATA <- 93 20
    R FIFO_DATA x5 -> 88 04 11 22 bf
    wait 0.100 ms
    hard reset

Lines copied from the kiosk's log are accepted too: text lines are cut after
`drivers.transport.spy: `, and JSON lines (logging.format: json) are read from their `msg`.
Waits are not checked (they are the host's business, and the trace's own reads of ComIrqReg say
when the chip was done): a `wait` line in the trace is skipped, and the driver may wait freely.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from drivers.errors import ReaderError
from drivers.transport.base import TransportStats
from drivers.transport.spy import register_name

SPY_LOGGER = "drivers.transport.spy"
_READ = re.compile(r"^R (?P<name>\w+)(?: x(?P<count>\d+))? -> ?(?P<data>[0-9A-Fa-f ]*)$")
_WRITE = re.compile(r"^W (?P<name>\w+) <- (?P<data>[0-9A-Fa-f ]+)$")
_WAIT = re.compile(r"^wait [0-9.]+ ms$")


class TraceMismatch(ReaderError, AssertionError):
    """The driver did something else than the recorded trace at some step (or ran past its end)."""


class TraceFormatError(ReaderError, ValueError):
    """A trace line that is none of the spy's forms."""


@dataclass(frozen=True)
class Step:
    """One recorded access: `op` is "R", "W", "hard reset" or "close"; `line` is 1-based in the file."""

    op: str
    name: str
    data: bytes
    line: int
    text: str


def _spy_text(raw: str) -> str | None:
    """The spy's own text in a trace or log line, or None for a line that is not the spy's."""
    line = raw.strip()
    if not line or line.startswith("#"):
        return None
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return line
        if isinstance(record, dict) and record.get("logger", SPY_LOGGER) == SPY_LOGGER:
            return str(record.get("msg", "")).strip() or None
        return None
    marker = SPY_LOGGER + ": "
    if marker in line:
        return line.split(marker, 1)[1].strip()
    if re.search(r"\b\w+(\.\w+)+: ", line):
        return None  # another logger's line in a copied log
    return line


def parse_trace(text: str) -> list[Step]:
    """The steps of a trace, in order (waits and `close` left out: neither is checked)."""
    steps: list[Step] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _spy_text(raw)
        if line is None or _WAIT.match(line) or line == "close":
            continue
        if line == "hard reset":
            steps.append(Step("hard reset", "", b"", number, line))
            continue
        match = _READ.match(line) or _WRITE.match(line)
        if match is None:
            raise TraceFormatError(f"trace line {number} is not a register access: {raw.strip()!r}")
        data = bytes.fromhex(match["data"])
        count = match.groupdict().get("count")
        if count is not None and int(count) != len(data):
            raise TraceFormatError(f"trace line {number} reads x{count} but lists {len(data)} bytes")
        steps.append(Step(line[0], match["name"], data, number, line))
    return steps


class ReplayTransport:
    """A RegisterTransport that answers from `steps` and checks the driver's writes against them."""

    def __init__(self, steps: list[Step], *, source: str = "trace") -> None:
        self.steps = steps
        self.source = source
        self.position = 0
        self.stats = TransportStats()
        self.waited_s = 0.0

    @classmethod
    def from_file(cls, path: str | Path) -> ReplayTransport:
        path = Path(path)
        return cls(parse_trace(path.read_text(encoding="utf-8")), source=str(path))

    @property
    def remaining(self) -> int:
        return len(self.steps) - self.position

    def finish(self) -> None:
        """Raise TraceMismatch if the driver stopped before the trace's end."""
        if self.remaining:
            step = self.steps[self.position]
            raise TraceMismatch(
                f"{self.source}: the driver stopped at step {self.position + 1} of {len(self.steps)}; "
                f"the trace goes on with line {step.line}: {step.text!r}"
            )

    def _expect(self, op: str, name: str, data: bytes | None, did: str) -> Step:
        if self.position >= len(self.steps):
            raise TraceMismatch(f"{self.source}: the trace ended ({len(self.steps)} steps) but the driver did {did!r}")
        step = self.steps[self.position]
        matches = step.op == op and step.name == name
        if matches and op == "R":
            matches = data is None or len(step.data) == len(data)
        elif matches and op == "W":
            matches = step.data == data
        if not matches:
            raise TraceMismatch(
                f"{self.source}: step {self.position + 1} (line {step.line}): "
                f"the trace has {step.text!r}, the driver did {did!r}"
            )
        self.position += 1
        return step

    def _count(self, *, reads: int = 0, writes: int = 0) -> None:
        self.stats.register_reads += reads
        self.stats.register_writes += writes
        self.stats.transactions += 1
        self.stats.bytes_moved += reads + writes + 1

    def read(self, reg: int) -> int:
        name = register_name(reg)
        step = self._expect("R", name, b"\x00", f"R {name}")
        self._count(reads=1)
        return step.data[0]

    def write(self, reg: int, value: int) -> None:
        name = register_name(reg)
        self._expect("W", name, bytes((value,)), f"W {name} <- {value:02X}")
        self._count(writes=1)

    def read_fifo(self, count: int) -> bytes:
        step = self._expect("R", "FIFO_DATA", bytes(count), f"R FIFO_DATA x{count}")
        self._count(reads=count)
        return step.data

    def write_fifo(self, data: bytes) -> None:
        self._expect("W", "FIFO_DATA", bytes(data), f"W FIFO_DATA <- {bytes(data).hex(' ')}")
        self._count(writes=len(data))

    def wait(self, seconds: float) -> None:
        self.waited_s += seconds

    def hard_reset(self) -> None:
        self._expect("hard reset", "", None, "hard reset")

    def close(self) -> None:
        pass
