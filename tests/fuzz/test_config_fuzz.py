"""Fuzzing config.yaml loading: whatever the file holds, load_config returns a Config or raises
ConfigError whose every problem reads ``FILE:LINE: key: message`` on one line. Nothing else escapes
(no yaml, pydantic, Unicode or OS exceptions) and nothing blows up (alias bombs, deep nesting).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kiosk.config import Config, ConfigError, load_config
from kiosk.config.schema import MAX_CONFIG_BYTES, MAX_NESTING
from tests.fuzz.fuzzing import corpus, fuzz_settings

REPO = Path(__file__).resolve().parents[2]
SHIPPED = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
#: What follows "FILE:" in a problem: line, one-word dotted key (or (top)/(file)/(syntax)), message.
AFTER_FILE = re.compile(r"^(\d+): (\S+): (.+)$")
#: The issue's shape for a whole problem line.
PROBLEM = re.compile(r"^.+:\d+: \S+: .+")

MINIMAL = """\
device:
  id: k1
  store_id: s1
  display_name: Test store
security:
  hq_public_key: keys/hq.pem
  card_master_key: keys/card.key
  voucher_signing_key: keys/voucher.pem
"""
USES_A_SECRET = MINIMAL + "hq:\n  password: !secret mqtt_password\n"


def outcome(path: Path) -> Config | list[str]:
    """The loaded Config, or the problems of the ConfigError; any other exception fails the test."""
    try:
        return load_config(path, environ={})
    except ConfigError as exc:
        return exc.problems


def assert_well_formed(problems: list[str], *files: Path) -> list[re.Match[str]]:
    """Every problem is one line, names one of `files`, a line number, a one-word key and a message."""
    assert problems, "a ConfigError must say what is wrong"
    parsed = []
    for problem in problems:
        assert PROBLEM.match(problem), problem
        assert "\n" not in problem and "\r" not in problem, problem
        file = next((f for f in files if problem.startswith(f"{f}:")), None)
        assert file is not None, f"{problem!r} names none of {files}"
        match = AFTER_FILE.match(problem[len(str(file)) + 1 :])
        assert match, problem
        assert int(match.group(1)) >= 1, problem
        parsed.append(match)
    return parsed


def rejected(path: Path, *also: Path) -> list[str]:
    result = outcome(path)
    assert isinstance(result, list), f"{path.name} was accepted"
    assert_well_formed(result, path, *also)
    return result


def expectation(case: Path) -> str | None:
    """Corpus files may start with `# expect: TEXT`: TEXT must appear in one of the problems."""
    first = case.read_bytes().split(b"\n", 1)[0]
    if first.startswith(b"# expect: "):
        return first[len(b"# expect: ") :].decode("utf-8").strip()
    return None


# --- corpus --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", corpus("config"))
def test_corpus_config_file(case: Path, tmp_path: Path):
    path = tmp_path / "config.yaml"
    shutil.copyfile(case, path)
    if case.name.startswith("ok-"):
        assert isinstance(outcome(path), Config), "a valid (if unusual) file must load"
        return
    problems = rejected(path)
    expected = expectation(case)
    if expected:
        assert any(expected in p for p in problems), (expected, problems)


@pytest.mark.parametrize("case", corpus("config-secrets"))
def test_corpus_secrets_file(case: Path, tmp_path: Path):
    shutil.copyfile(case, tmp_path / "secrets.yaml")
    path = tmp_path / "config.yaml"
    path.write_text(USES_A_SECRET, encoding="utf-8")
    if case.name.startswith("ok-"):
        assert isinstance(outcome(path), Config)
        return
    problems = rejected(path, tmp_path / "secrets.yaml")
    expected = expectation(case)
    if expected:
        assert any(expected in p for p in problems), (expected, problems)


# --- generated inputs ----------------------------------------------------------------------------

YAML_TOKENS = [
    "device:",
    "reader:",
    "display:",
    "hq:",
    "security:",
    "id:",
    "width:",
    "timezone:",
    "port:",
    "  ",
    "    ",
    "\t",
    "- ",
    "? ",
    ": ",
    ":",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "<<: ",
    "!!python/object:os.system ",
    "!!python/name:os.system",
    "!!binary ",
    "!!set ",
    "!!omap ",
    "!!int ",
    "!!float ",
    "!!timestamp ",
    "!!str ",
    "!!map ",
    "!!seq ",
    "!secret ",
    "!x ",
    "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n",
    "---",
    "...",
    "[",
    "]",
    "{",
    "}",
    ",",
    "'",
    '"',
    "\\",
    "\\u",
    "\\x00",
    "\\0",
    "\\ud800",
    "\\U0010ffff",
    "|",
    ">-",
    "#",
    "\n",
    "\r\n",
    "\r",
    "\0",
    "\ufeff",
    "\x85",
    "\u2028",
    "\x1b",
    "~",
    "null",
    "true",
    "yes",
    "0x",
    "0o",
    "0b",
    "1e9999",
    ".nan",
    "-.inf",
    "9" * 40,
    "2001-02-29",
    "2001-13-45",
    "2024-01-01T25:00:00Z",
    "12:30:00",
    "Asia",
    "Asia/Shanghai",
    "../",
    "/dev/null",
    "星河湾",
    "k1",
    "emulator",
    "800",
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config-fuzz")


@fuzz_settings(300)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(scratch: Path, data: bytes):
    path = scratch / "config.yaml"
    path.write_bytes(data)
    result = outcome(path)
    if isinstance(result, list):
        assert_well_formed(result, path)


@fuzz_settings(300)
@given(st.lists(st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=4)), max_size=80).map("".join))
def test_yaml_shaped_text(scratch: Path, text: str):
    path = scratch / "config.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    result = outcome(path)
    if isinstance(result, list):
        assert_well_formed(result, path)


@fuzz_settings(150)
@given(st.lists(st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=4)), max_size=60).map("".join))
def test_yaml_shaped_secrets_file(scratch: Path, text: str):
    folder = scratch / "with-secrets"
    folder.mkdir(exist_ok=True)
    (folder / "secrets.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
    path = folder / "config.yaml"
    path.write_text(USES_A_SECRET, encoding="utf-8")
    result = outcome(path)
    if isinstance(result, list):
        assert_well_formed(result, path, folder / "secrets.yaml")


# Structured mutations of the shipped config.yaml: replace leaves, delete keys, add keys.

SECTIONS = {name: field.annotation for name, field in Config.model_fields.items() if name != "source"}
REQUIRED = [(s, k) for s, model in SECTIONS.items() for k, f in model.model_fields.items() if f.is_required()]
PATHS = [(s,) for s in SHIPPED] + [(s, k) for s, body in SHIPPED.items() for k in body]
TRICKY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\0",
        "\ud800",
        "Asia",
        "../../etc/passwd",
        "a" * 300,
        "kiosk/#",
        "+",
        "星",
        "\u202e",
        "1e999",
        "0x10",
        "null",
        "-1",
        "\t",
        "a: b",
        "- x",
    ]
)
LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.text(max_size=20),
    TRICKY_TEXT,
)
VALUE = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
NAME = st.one_of(
    st.sampled_from(["widht", "driverr", "font", "id", "x y", "", "__class__", "model_config"]), st.text(max_size=8)
)
OPERATION = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(PATHS), VALUE),
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("add"), st.sampled_from([()] + [(s,) for s in SHIPPED]), st.tuples(NAME, VALUE)),
)


def mutate(operations: list[tuple[str, tuple[str, ...], Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {s: dict(body) for s, body in SHIPPED.items()}
    for op, path, arg in operations:
        parent: Any = data
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if op == "add":
            target = data if not path else data.get(path[0])
            if isinstance(target, dict):
                target[arg[0]] = arg[1]
        elif isinstance(parent, dict):
            if op == "set":
                parent[path[-1]] = arg
            elif op == "delete":
                parent.pop(path[-1], None)
    return data


@fuzz_settings(200)
@given(st.lists(OPERATION, max_size=5))
def test_mutations_of_the_shipped_config(scratch: Path, operations):
    data = mutate(operations)
    path = scratch / "config.yaml"
    path.write_bytes(yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass"))
    result = outcome(path)
    if not operations:
        assert isinstance(result, Config)
    if isinstance(result, Config):
        # Accepted values are the ones written, not silently replaced by defaults.
        dumped = result.model_dump()
        for section, body in data.items():
            for key, value in body.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    assert dumped[section][key] == value, (section, key)
        return
    assert_well_formed(result, path)
    for section, key in REQUIRED:
        if isinstance(data.get(section), dict) and key not in data[section]:
            assert any(f": {section}.{key}: required value is missing" in p for p in result), (section, key)
    for section, body in data.items():
        if section in SECTIONS and isinstance(body, dict):
            for key in body:
                if isinstance(key, str) and re.fullmatch(r"\w+", key) and key not in SECTIONS[section].model_fields:
                    assert any(f": {section}.{key}: unknown key" in p for p in result), (section, key)


# --- regressions: each was a crash or a hang found by the suites above ---------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_alias_bomb_is_refused_at_the_first_alias(tmp_path):
    # Used to take over a minute walking 9**9 list items; aliases are now refused outright.
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert rejected(path) == [
        f"{path}:2: (syntax): not valid YAML: aliases (*name) are not supported; write the value out"
    ]


def test_deep_nesting_is_refused_instead_of_exhausting_the_stack(tmp_path):
    # Used to raise RecursionError out of yaml.compose.
    path = write(tmp_path, MINIMAL + "display:\n  font: " + "[" * 3000 + "]" * 3000 + "\n")
    assert rejected(path) == [f"{path}:10: (syntax): not valid YAML: nested deeper than {MAX_NESTING} levels"]


def test_integer_beyond_the_digit_limit_is_a_yaml_problem_on_its_line(tmp_path):
    # Used to raise ValueError (Python's int-from-text digit limit) out of the YAML constructor.
    path = write(tmp_path, MINIMAL + "display:\n  width: " + "9" * 5000 + "\n")
    (problem,) = rejected(path)
    assert problem.startswith(f"{path}:10: (syntax): not valid YAML: cannot read '9999")


def test_impossible_date_is_a_yaml_problem_on_its_line(tmp_path):
    # Used to raise ValueError("month must be in 1..12") out of the YAML constructor.
    path = write(tmp_path, MINIMAL + "display:\n  font: 2001-13-45\n")
    (problem,) = rejected(path)
    assert problem == f"{path}:10: (syntax): not valid YAML: cannot read '2001-13-45': month must be in 1..12"


def test_timezone_naming_a_directory_is_an_unknown_timezone(tmp_path):
    # Used to raise IsADirectoryError (OSError) out of pydantic validation; long names raised
    # "File name too long".
    text = MINIMAL.replace("  display_name: Test store\n", "  display_name: Test store\n  timezone: Asia\n")
    (problem,) = rejected(write(tmp_path, text))
    assert ":5: device.timezone: unknown timezone 'Asia'" in problem


def test_nul_in_a_path_is_reported_not_raised(tmp_path):
    # Used to raise ValueError("embedded null byte") from Path.resolve() after validation.
    path = write(tmp_path, MINIMAL.replace("keys/hq.pem", '"keys/hq\\0.pem"'))
    assert rejected(path) == [
        f"{path}:6: security.hq_public_key: must not contain NUL characters (got 'keys/hq\\x00.pem')"
    ]


def test_lone_surrogate_in_a_path_is_reported_not_raised(tmp_path):
    # Used to raise UnicodeEncodeError from Path.resolve() after validation.
    path = write(tmp_path, MINIMAL.replace("keys/card.key", '"keys/\\ud800.key"'))
    (problem,) = rejected(path)
    assert problem.startswith(f"{path}:7: security.card_master_key: must be valid Unicode text")


def test_invalid_utf8_names_the_line_of_the_bad_byte(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(MINIMAL.encode() + b"display:\n  font: \xff\n")
    assert rejected(path) == [f"{path}:10: (file): not UTF-8 text (byte 0xff)"]


def test_endless_file_is_refused_after_the_size_limit(tmp_path):
    # /dev/zero stands for any file that is far too big (or never ends).
    zero = Path("/dev/zero")
    if not zero.exists():
        pytest.skip("no /dev/zero")
    assert rejected(zero) == [f"{zero}:1: (file): larger than {MAX_CONFIG_BYTES} bytes; is this the right file?"]


def test_key_with_spaces_is_filed_under_its_section(tmp_path):
    # "reader.poll interval: ..." would not be one word; the odd key moves into the message.
    path = write(tmp_path, MINIMAL + "reader:\n  poll interval: 40\n")
    (problem,) = rejected(path)
    assert problem.startswith(f"{path}:10: reader: key 'poll interval': unknown key")


def test_long_value_is_quoted_cut_short(tmp_path):
    path = write(tmp_path, MINIMAL + "reader:\n  driver: " + "x" * 10_000 + "\n")
    (problem,) = rejected(path)
    assert problem.startswith(f"{path}:10: reader.driver: must be one of") and len(problem) < 300


def test_undecodable_secrets_file_is_a_problem_of_that_file(tmp_path):
    # Used to raise UnicodeDecodeError out of load_config.
    (tmp_path / "secrets.yaml").write_bytes(b"mqtt_password: \xc3\x28\n")
    path = write(tmp_path, USES_A_SECRET)
    problems = rejected(path, tmp_path / "secrets.yaml")
    assert f"{tmp_path / 'secrets.yaml'}:1: (file): not UTF-8 text (byte 0xc3)" in problems


def test_secrets_path_that_is_a_directory_is_a_problem_of_that_path(tmp_path):
    # Used to raise IsADirectoryError out of load_config.
    (tmp_path / "secrets.yaml").mkdir()
    path = write(tmp_path, USES_A_SECRET)
    problems = rejected(path, tmp_path / "secrets.yaml")
    assert any(p.startswith(f"{tmp_path / 'secrets.yaml'}:1: (file): cannot read") for p in problems)


def test_integer_too_long_to_print_is_still_reported(tmp_path):
    # 4000 hex digits parse fine but cannot be printed in decimal: repr() raised ValueError while
    # the problem line was being written.
    path = write(tmp_path, MINIMAL + "display:\n  width: -0x" + "f" * 4000 + "\n")
    assert rejected(path) == [f"{path}:10: display.width: must be at least 240 (got <int too long to show>)"]


@pytest.mark.parametrize("tag", ["!!timestamp", "!!float", "!!int", "!!bool"])
def test_empty_scalar_with_a_type_tag_is_a_yaml_problem(tmp_path, tag):
    # "!!timestamp ''" raised AttributeError and "!!bool ''" KeyError out of PyYAML.
    path = write(tmp_path, MINIMAL + f"display:\n  font: {tag} ''\n")
    (problem,) = rejected(path)
    assert problem.startswith(f"{path}:10: (syntax): not valid YAML: cannot read ''")


def test_yes_or_no_for_a_pin_number_is_refused(tmp_path):
    # YAML 1.1 reads "no" as false and pydantic took false as 0: "reset_pin: no" meant GPIO 0.
    path = write(tmp_path, MINIMAL + "reader:\n  reset_pin: no\n")
    (problem,) = rejected(path)
    assert problem.startswith(f"{path}:10: reader.reset_pin: must not be a yes/no value (got False;")


def test_yes_or_no_still_sets_a_switch(tmp_path):
    config = load_config(write(tmp_path, MINIMAL + "display:\n  fullscreen: yes\n"), environ={})
    assert config.display.fullscreen is True
