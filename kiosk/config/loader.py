"""Reading config.yaml into the schema (kiosk/config/schema.py), with every problem located.

Every problem in the file is reported at once as ``FILE:LINE: dotted.key: message`` so a
technician can fix them in one pass. Unknown keys are errors (with a "did you mean" hint), not
silently ignored. Relative paths are resolved against the directory holding config.yaml, so the
same file works in the repository and under /etc/kiosk.

Secrets never need to sit in config.yaml: a value may be written as ``!secret NAME`` and is then
read from ``secrets.yaml`` beside it (or the file named by ``KIOSK_SECRETS_FILE``), and
``KIOSK_HQ_USERNAME`` / ``KIOSK_HQ_PASSWORD`` override the MQTT credentials (handy with a systemd
EnvironmentFile).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from kiosk.config.schema import (
    DEFAULT_CONFIG_NAME,
    MAX_CONFIG_BYTES,
    MAX_NESTING,
    SECRET_ENV_OVERRIDES,
    Config,
    ConfigError,
    shown,
)

# --- loading ------------------------------------------------------------------------------


class _SecretTag:
    """Marks a `!secret NAME` scalar until the secrets file has been read."""

    def __init__(self, name: str):
        self.name = name


class _GuardedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses what a config file never needs and a hostile file relies on.

    Aliases are refused outright: a few lines of nested aliases ("billion laughs") expand to a
    structure that takes minutes to walk. Nesting is capped because the composer recurses.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not supported; write the value out", self.peek_event().start_mark
            )
        if self._depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_NESTING} levels", self.peek_event().start_mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _guarded_scalar(construct: Any) -> Any:
    """PyYAML lets ValueError escape for 2001-13-45 or a 5000-digit number; make it a YAML error."""

    def guarded(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, OverflowError, TypeError, AttributeError, LookupError) as exc:
            # Which exception a malformed scalar raises is PyYAML's implementation detail
            # ("!!timestamp ''" is an AttributeError, "!!bool maybe" a KeyError): all mean the same.
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {shown(node.value)}: {exc}", node.start_mark
            ) from None

    return guarded


for _tag in (
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:bool",
):
    _GuardedLoader.add_constructor(_tag, _guarded_scalar(yaml.SafeLoader.yaml_constructors[_tag]))


class _LineLoader(_GuardedLoader):
    """A guarded SafeLoader that knows `!secret`."""


def _construct_secret(loader: yaml.SafeLoader, node: yaml.Node) -> _SecretTag:
    return _SecretTag(loader.construct_scalar(node))  # type: ignore[arg-type]  # stubs say ScalarNode; PyYAML checks


_LineLoader.add_constructor("!secret", _construct_secret)


def _line_index(root: yaml.Node | None) -> tuple[dict[tuple[str, ...], int], list[tuple[int, tuple[str, ...]]]]:
    """Map each dotted key path to its 1-based line; also report duplicate keys as (line, path)."""
    lines: dict[tuple[str, ...], int] = {}
    duplicates: list[tuple[int, tuple[str, ...]]] = []

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = path + (key,)
                if key in seen:
                    duplicates.append((key_node.start_mark.line + 1, child))
                seen.add(key)
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines, duplicates


def _where(file: str, line: int, path: tuple[str, ...]) -> tuple[str, str]:
    """`FILE:LINE: dotted.key` and a note for a key that cannot be written as one plain word.

    A key with spaces (or an empty one) would make the line ambiguous to read and to parse, so
    the problem is filed under the enclosing section and the odd key is named in the message.
    """
    for end, part in enumerate(path):
        if not part or any(c.isspace() for c in part):
            return f"{file}:{line}: {'.'.join(path[:end]) or '(top)'}", f"key {shown('.'.join(path[end:]))}: "
    return f"{file}:{line}: {'.'.join(path) or '(top)'}", ""


def _line_for(path: tuple[str, ...], lines: Mapping[tuple[str, ...], int]) -> int:
    """The line of the key itself, or of the nearest enclosing key when it is missing."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def _problem_line(problem: str) -> int:
    """The LINE of a `FILE:LINE: ...` problem, for sorting; 0 when it has none."""
    match = re.match(r"^.*?:(\d+):", problem)
    return int(match.group(1)) if match else 0


def _known_fields(path: tuple[str, ...]) -> list[str]:
    model: type[BaseModel] = Config
    for part in path:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [name for name in model.model_fields if name != "source"]


def _message(error: Mapping[str, Any]) -> str:
    """Turn a pydantic error into words a technician can act on."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing":
        return "required value is missing"
    if kind == "extra_forbidden":
        path = tuple(str(p) for p in error["loc"])
        hint = difflib.get_close_matches(path[-1], _known_fields(path[:-1]), n=1)
        known = ", ".join(_known_fields(path[:-1]))
        return f"unknown key (did you mean {hint[0]!r}?)" if hint else f"unknown key (known keys: {known})"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace(" or ", ", ").replace("'", "")
        return f"must be one of {expected} (got {shown(given)})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number (got {shown(given)})"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number (got {shown(given)})"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false (got {shown(given)})"
    if kind in ("string_type",):
        return f"must be text (got {shown(given)})"
    if kind == "invalid_key":
        return "keys must be text (put this one in quotes)"
    if kind == "string_unicode":
        return f"must be valid Unicode text (got {shown(given)})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a section of key: value lines"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']} (got {shown(given)})"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']} (got {shown(given)})"
    if kind == "greater_than":
        return f"must be greater than {ctx['gt']} (got {shown(given)})"
    if kind == "less_than":
        return f"must be less than {ctx['lt']} (got {shown(given)})"
    if kind == "string_pattern_mismatch":
        return f"has characters that are not allowed (got {shown(given)}; use letters, digits, - and _)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


class _Withheld:
    """Stands in for a secret's value in a problem message: the message says what is wrong, never the value."""

    def __repr__(self) -> str:
        return "a secret value, not shown"


_WITHHELD = _Withheld()


def _secret_message(error: Mapping[str, Any]) -> str:
    """`_message` for a secret: the kind of problem, never the value (a validator's own words may quote it)."""
    if error["type"] == "value_error":
        return "is not acceptable (a secret: its value is not shown)"
    return _message({**error, "input": _WITHHELD})


def _resolve_secrets(
    data: Any,
    secrets: Mapping[str, Any] | None,
    secrets_path: Path,
    problems: list[str],
    path: tuple[str, ...],
    lines: Mapping[tuple[str, ...], int],
    file: str,
    secret_paths: set[tuple[str, ...]],
) -> Any:
    if isinstance(data, dict):
        return {
            k: _resolve_secrets(v, secrets, secrets_path, problems, path + (str(k),), lines, file, secret_paths)
            for k, v in data.items()
        }
    if isinstance(data, _SecretTag):
        where, note = _where(file, _line_for(path, lines), path)
        if secrets is None:
            problems.append(f"{where}: {note}!secret {data.name} used but {secrets_path} does not exist")
            return None
        if data.name not in secrets:
            problems.append(f"{where}: {note}secret {data.name!r} not found in {secrets_path}")
            return None
        secret_paths.add(path)
        return secrets[data.name]
    return data


def _read_yaml(path: Path, loader: type[yaml.SafeLoader]) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data of one YAML file, or ConfigError saying why not."""
    file = str(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([f"{file}:1: file not found (pass --config PATH or set KIOSK_CONFIG)"]) from None
    except OSError as exc:
        raise ConfigError([f"{file}:1: (file): cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{file}:1: (file): larger than {MAX_CONFIG_BYTES} bytes; is this the right file?"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError([f"{file}:{line}: (file): not UTF-8 text (byte 0x{raw[exc.start]:02x})"]) from None
    try:
        return yaml.compose(text, Loader=loader), yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        elif isinstance(exc, yaml.reader.ReaderError):
            line = text.count("\n", 0, exc.position) + 1
        else:
            line = 1
        if isinstance(exc, yaml.reader.ReaderError):
            code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
            problem = f"character U+{code:04X} is not allowed in YAML (control characters, NUL)"
        else:
            problem = getattr(exc, "problem", None) or str(exc)
        problem = " ".join(str(problem).split())  # one problem, one line
        raise ConfigError([f"{file}:{line}: (syntax): not valid YAML: {problem}"]) from None


def _resolve_paths(config: Config, base: Path) -> Config:
    """Make every relative path absolute against the config file's directory."""
    updates: dict[str, BaseModel] = {}
    for section_name in ("ledger", "hq", "security"):
        section = getattr(config, section_name)
        changed = {}
        for name, value in section:
            if isinstance(value, Path) and not value.is_absolute():
                changed[name] = (base / value).resolve()
        if changed:
            updates[section_name] = section.model_copy(update=changed)
    return config.model_copy(update=updates)


def load_config(path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and return the configuration, or raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("KIOSK_CONFIG") or DEFAULT_CONFIG_NAME)
    file = str(path)
    root, data = _read_yaml(path, _LineLoader)

    lines, duplicates = _line_index(root)
    problems: list[str] = []
    for line, key_path in duplicates:
        where, note = _where(file, line, key_path)
        problems.append(f"{where}: {note}key appears twice")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{file}:1: (file): the file must be a mapping of sections (device:, reader:, ...)"])

    secrets_path = Path(environ.get("KIOSK_SECRETS_FILE") or path.parent / "secrets.yaml")
    secrets: dict[str, Any] | None = None
    if secrets_path.exists():
        try:
            loaded = _read_yaml(secrets_path, _GuardedLoader)[1] or {}
        except ConfigError as exc:
            problems.extend(exc.problems)
        else:
            secrets = loaded if isinstance(loaded, dict) else None
            if secrets is None:
                problems.append(f"{secrets_path}:1: (file): must be a mapping of NAME: value")
    # Values that must never appear in a message: the SecretStr fields, whatever came from
    # secrets.yaml or the environment (filled in below).
    secret_paths: set[tuple[str, ...]] = set(SECRET_ENV_OVERRIDES.values())
    data = _resolve_secrets(data, secrets, secrets_path, problems, (), lines, file, secret_paths)

    for variable, (section, key) in SECRET_ENV_OVERRIDES.items():
        if environ.get(variable):
            section_data = data.setdefault(section, {})
            if isinstance(section_data, dict):
                section_data[key] = environ[variable]

    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(str(p) for p in error["loc"])
            where, note = _where(file, _line_for(loc, lines), loc)
            secret = any(loc[: len(s)] == s for s in secret_paths)
            problems.append(f"{where}: {note}{_secret_message(error) if secret else _message(error)}")
        config = None

    if problems:
        problems.sort(key=_problem_line)
        raise ConfigError(problems)
    assert config is not None
    config = _resolve_paths(config, path.parent.resolve())
    return config.model_copy(update={"source": path.resolve()})
