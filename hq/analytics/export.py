"""CSV export of any analytics rows (a list of one of the frozen dataclasses).

The header is the dataclass's field names, in declaration order. Cells: None is empty, a datetime
is ISO 8601 with its offset, a float (a share or rate) has six decimals, anything else its str().
Lines end in CRLF (RFC 4180, what spreadsheets expect).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from hq.analytics._common import AnalyticsError


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def to_csv(rows: Sequence[Any], *, fields: Sequence[str] | None = None) -> str:
    """`rows` as CSV text with a header line; `fields` picks and orders columns (default: all).

    An empty list has no type to take a header from: pass `fields` for a header-only file, else
    the result is empty."""
    if rows and not all(dataclasses.is_dataclass(row) and not isinstance(row, type) for row in rows):
        raise AnalyticsError("to_csv: rows must be analytics dataclasses")
    names = list(fields) if fields is not None else ([f.name for f in dataclasses.fields(rows[0])] if rows else [])
    if not names:
        return ""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(getattr(row, name)) for name in names])
    return buffer.getvalue()
