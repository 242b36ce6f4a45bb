"""The MFRC522's 64-byte FIFO: overflow sets BufferOvfl instead of growing."""

from __future__ import annotations

from collections import deque

from drivers.registers import FIFO_SIZE


class Fifo:
    def __init__(self) -> None:
        self._data: deque[int] = deque()
        self.overflowed = False

    def __len__(self) -> int:
        return len(self._data)

    def push(self, value: int) -> None:
        if len(self._data) >= FIFO_SIZE:
            self.overflowed = True  # the byte is lost, as on the chip
            return
        self._data.append(value & 0xFF)

    def extend(self, data: bytes) -> None:
        for value in data:
            self.push(value)

    def pop(self) -> int:
        # Reading an empty FIFO returns stale data on the chip; 0 is as good as any.
        return self._data.popleft() if self._data else 0

    def drain(self) -> bytes:
        data = bytes(self._data)
        self._data.clear()
        return data

    def flush(self) -> None:
        self._data.clear()
        self.overflowed = False
