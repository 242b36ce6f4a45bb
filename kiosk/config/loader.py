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
from dataclasses import dataclass
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
    ReaderConfig,
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
        line, problem = _syntax_problem(exc, text)
        problem = " ".join(str(problem).split())  # one problem, one line
        raise ConfigError([f"{file}:{line}: (syntax): not valid YAML: {problem}"]) from None


# --- where a YAML syntax error really is -----------------------------------------------------

#: What PyYAML counts as a line break (the marks it reports count lines the same way).
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
#: A `key:` followed by a space or the end of the line, once comments are taken off.
_KEY_COLON = re.compile(r":(\s|$)")
_COMMENT = re.compile(r"(^|\s)#.*$")
#: Contexts whose mark is where something opened that the error shows was never closed.
_OPENED_CONTEXTS = ("while scanning a quoted scalar", "while scanning a simple key", "while parsing a flow")


def _significant(line: str) -> str:
    """A line without its comment and trailing blanks ("" for a blank or comment-only line)."""
    return _COMMENT.sub("", line).rstrip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _syntax_problem(exc: yaml.YAMLError, text: str) -> tuple[int, str]:
    """The 1-based line to blame for a YAML error, and the problem in words.

    PyYAML reports where it *noticed* the mistake, which is often a line or more after it: an
    unclosed quote at the end of the file, `id:k1` (no space after the colon) or a key without a
    colon when it reaches the next key. The context mark (where an unclosed quote or bracket
    opened) or the line before is then where the mistake is.
    """
    if isinstance(exc, yaml.reader.ReaderError):
        code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
        line = text.count("\n", 0, exc.position) + 1
        return line, f"character U+{code:04X} is not allowed in YAML (control characters, NUL)"
    problem = str(getattr(exc, "problem", None) or exc)
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return 1, problem
    if not isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError)):
        return mark.line + 1, problem  # a value or structure we refuse: the mark is on it
    if "'\\t'" in problem:
        problem += " (use spaces: YAML allows no tabs here)"
    context = str(getattr(exc, "context", None) or "")
    opened = getattr(exc, "context_mark", None)
    if opened is not None and opened.line < mark.line and context.startswith(_OPENED_CONTEXTS):
        return opened.line + 1, _opened_problem(context, problem, text, opened.index, mark.line + 1)

    quoted = _token_before(text, mark.index)
    if isinstance(quoted, yaml.ScalarToken) and quoted.style and quoted.start_mark.line < quoted.end_mark.line:
        # A quote left open is closed by the next quote in the file: the mistake is where it opened.
        start, end = quoted.start_mark.line + 1, quoted.end_mark.line + 1
        return start, f"the quote {quoted.style} opened on this line closes only on line {end} ({problem} there)"

    lines = _LINE_BREAK.split(text)
    here = lines[mark.line] if mark.line < len(lines) else ""
    earlier = [n for n in range(min(mark.line, len(lines)) - 1, -1, -1) if _significant(lines[n])]
    if not earlier:
        return mark.line + 1, problem
    previous = earlier[0]
    above = _significant(lines[previous])
    at_line_start = not here[: mark.column].strip()
    mapping_value = problem.startswith("mapping values are not allowed")
    # PyYAML read the line above on into this one: a plain value continues over lines, so a key
    # without ': ' is only noticed at the next key (or at a line indented too far).
    spilled = at_line_start or (mapping_value and not _KEY_COLON.search(here[: mark.column]))
    if spilled and (mapping_value or problem.startswith("expected <block end>")):
        if not _KEY_COLON.search(above) and not above.lstrip().startswith(("-", "[", "{", "?")):
            return previous + 1, _NO_KEY_COLON
        if mapping_value and _indent(here) > _indent(lines[previous]):
            return mark.line + 1, f"this line is indented further than line {previous + 1} above it ({problem})"
        if "'<block mapping start>'" in problem:
            return mark.line + 1, f"this line's indentation does not line up with the keys above it ({problem})"
    if at_line_start and not here.strip():
        return previous + 1, problem  # noticed at the start of the next line, or at the end of the file
    return mark.line + 1, problem


_NO_KEY_COLON = "no ': ' after the key on this line (a missing colon, or no space after it?)"


def _token_before(text: str, index: int) -> yaml.Token | None:
    """The last YAML token that starts before `index` (None if there is none or the text cannot be scanned)."""
    last = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= index:
                break
            last = token
    except yaml.YAMLError:
        pass  # the scanner's own error is where the scan stops; the tokens before it are the ones wanted
    return last


def _opened_problem(context: str, problem: str, text: str, index: int, noticed: int) -> str:
    if context.startswith("while scanning a quoted scalar"):
        return f"the quote {text[index : index + 1]} opened on this line is never closed ({problem})"
    if context.startswith("while scanning a simple key"):
        return _NO_KEY_COLON
    return f"the {text[index : index + 1]} opened on this line is never closed ({problem} on line {noticed})"


def _resolve_paths(config: Config, base: Path) -> Config:
    """Make every relative path absolute against the config file's directory."""
    updates: dict[str, BaseModel] = {}
    for section_name in ("ledger", "hq", "security", "monitoring", "simulation"):
        section = getattr(config, section_name)
        changed = {}
        for name, value in section:
            if isinstance(value, Path) and not value.is_absolute():
                changed[name] = (base / value).resolve()
        if changed:
            updates[section_name] = section.model_copy(update=changed)
    font = Path(config.display.font).expanduser() if config.display.font else None
    if font is not None and not font.is_absolute():
        # display.font is text ("" = look for one), but a path like the others once given.
        updates["display"] = config.display.model_copy(update={"font": str((base / font).resolve())})
    return config.model_copy(update=updates)


def secrets_file_for(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The secrets file `!secret NAME` reads from: $KIOSK_SECRETS_FILE, else secrets.yaml beside config.yaml."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("KIOSK_CONFIG") or DEFAULT_CONFIG_NAME)
    return Path(environ.get("KIOSK_SECRETS_FILE") or path.parent / "secrets.yaml")


def load_config(path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and return the configuration, or raise ConfigError listing every problem."""
    return _load(path, environ).config


@dataclass(frozen=True)
class CheckedConfig:
    """A configuration `check_config_file` found usable, and its warnings (FILE:LINE: key: warning: ...)."""

    config: Config
    warnings: tuple[str, ...] = ()


def check_config_file(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> CheckedConfig:
    """`load_config`, and every file and device the config names is there: what `kiosk check-config`
    checks and what `kiosk run` starts with.

    Left out are the files the kiosk makes itself: the data directory, and the key files while
    the simulation generates them (simulation.enabled with generate_keys). A missing file is
    reported like any other problem, as FILE:LINE: key: message in a ConfigError.
    """
    loaded = _load(path, environ)
    problems = [f"{loaded.where(key)}: {message}" for key, message in _missing_files(loaded)]
    if problems:
        raise ConfigError(sorted(problems, key=_problem_line))
    warnings = []
    if loaded.config.hq.password_in_clear:
        warnings.append(
            f"{loaded.where(('hq', 'password'))}: warning: the password crosses the network unencrypted "
            "(hq.tls_ca is null, so no TLS, and hq.host is not this machine); set hq.tls_ca to HQ's CA "
            "certificate and hq.port to the broker's TLS port (usually 8883)"
        )
    return CheckedConfig(loaded.config, tuple(warnings))


#: The key files and what to do when one is missing, in the order the kiosk opens them.
_KEY_FILES = (
    ("card_master_key", "install the fleet's card key file from HQ"),
    ("voucher_signing_key", "create it with: kiosk keys init --config {config}"),
    ("hq_public_key", "install HQ's public key file (hq_public.pem) from HQ"),
)


def _missing_files(loaded: _Loaded) -> list[tuple[tuple[str, ...], str]]:
    """(key, message) for each file or device the kiosk opens at start-up and cannot find."""
    config = loaded.config
    wanted: list[tuple[tuple[str, ...], Path, str]] = []
    if config.display.font:
        font_fix = "point display.font at a CJK font, or leave it empty to use one installed on the system"
        wanted.append((("display", "font"), Path(config.display.font), font_fix))
    if not (config.simulation.enabled and config.simulation.generate_keys):
        for name, fix in _KEY_FILES:
            if name != "hq_public_key" or config.hq.enabled:  # HQ's key is only for checking HQ's pushes
                wanted.append((("security", name), getattr(config.security, name), fix.format(config=config.source)))
    if config.hq.enabled:
        for name in ("tls_ca", "tls_cert", "tls_key"):
            if getattr(config.hq, name) is not None:
                wanted.append((("hq", name), getattr(config.hq, name), "install the file HQ provided"))
    problems: list[tuple[tuple[str, ...], str]] = []
    for key, file, fix in wanted:
        named = "the file this secret names" if key in loaded.secret_paths else str(file)
        if not file.exists():
            problems.append((key, f"{named} does not exist; {fix}"))
        elif not file.is_file():
            problems.append((key, f"{named} is not a file; {fix}"))
    device = _missing_reader_device(config.reader)
    if device is not None:
        problems.append(device)
    metrics = config.monitoring.metrics_file
    if metrics is not None and not metrics.parent.is_dir():
        problems.append(
            (
                ("monitoring", "metrics_file"),
                f"{metrics.parent} is not a directory; install prometheus-node-exporter (it reads "
                "/var/lib/prometheus/node-exporter) or point metrics_file at its textfile directory",
            )
        )
    return problems


def _missing_reader_device(reader: ReaderConfig) -> tuple[tuple[str, ...], str] | None:
    """(key, message) when the real reader's bus has no device node; None when it has (or is emulated)."""
    if reader.driver == "uart" and not Path(reader.serial_port).exists():
        return ("reader", "serial_port"), (
            f"{reader.serial_port} does not exist; turn the UART on (enable_uart=1 in /boot/firmware/config.txt, "
            "then reboot) or correct the port"
        )
    node = Path(f"/dev/spidev{reader.spi_bus}.{reader.spi_device}")
    if reader.driver in ("spi", "mfrc522") and not node.exists():
        return ("reader", "driver"), (
            f"{reader.driver} needs {node} (spi_bus {reader.spi_bus}, spi_device {reader.spi_device}), which does "
            "not exist; turn SPI on (dtparam=spi=on in /boot/firmware/config.txt, then reboot) or correct "
            "spi_bus and spi_device"
        )
    return None


@dataclass(frozen=True)
class _Loaded:
    config: Config
    file: str
    lines: Mapping[tuple[str, ...], int]
    secret_paths: set[tuple[str, ...]]

    def where(self, key: tuple[str, ...]) -> str:
        """`FILE:LINE: dotted.key` for one of the schema's keys (the enclosing section's line if not written)."""
        return _where(self.file, _line_for(key, self.lines), key)[0]


def _load(path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None) -> _Loaded:
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

    secrets_path = secrets_file_for(path, environ)
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
    return _Loaded(config.model_copy(update={"source": path.resolve()}), file, lines, secret_paths)
