"""Validation of the ids that appear inside topics (device, store) and of the topic prefix."""

from __future__ import annotations

import re

from sync.errors import TopicError

_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PREFIX_LEVEL_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def check_id(value: str, what: str = "id") -> str:
    """Return `value` if it can be a topic level; ids end up in ACL patterns, so keep them plain."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise TopicError(f"{what} {value!r} must match [A-Za-z0-9_.-]{{1,64}}")
    return value


def check_prefix(prefix: str) -> str:
    """A prefix is one or more plain levels: no wildcards, no leading/trailing/double slashes."""
    if not isinstance(prefix, str) or not prefix:
        raise TopicError("topic prefix must not be empty")
    if prefix.startswith("$"):
        raise TopicError(f"topic prefix {prefix!r} must not start with '$' (reserved by brokers)")
    for level in prefix.split("/"):
        if not _PREFIX_LEVEL_RE.fullmatch(level):
            raise TopicError(f"topic prefix {prefix!r}: level {level!r} is not plain [A-Za-z0-9_.-]")
    return prefix
