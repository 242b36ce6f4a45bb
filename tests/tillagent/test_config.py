"""till.yaml: checked once, errors name the file and the key; the till token never lives in it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tillagent.config import TOKEN_ENV, load_settings, till_token
from tillagent.errors import TillConfigError

MINIMAL = {"hq_url": "https://hq.example.com", "till_id": "T1", "store_id": "S01", "hq_public_key": "hq.pem",
           "journal": "journal.sqlite"}  # fmt: skip


def write(folder: Path, **changes: object) -> Path:
    path = folder / "till.yaml"
    path.write_text(yaml.safe_dump({**MINIMAL, **changes}), encoding="utf-8")
    return path


def test_the_sample_till_yaml_at_the_repository_root_loads():
    settings = load_settings(Path(__file__).resolve().parents[2] / "till.yaml")
    assert (settings.offline_daily_cap_fen, settings.offline_max_value_fen) == (20_000, 5_000)


def test_defaults_fill_what_is_not_given_and_paths_are_relative_to_the_file(tmp_path: Path):
    settings = load_settings(write(tmp_path))
    assert (settings.timeout_s, settings.timezone, settings.scope_store) == (3.0, "Asia/Shanghai", "S01")
    assert settings.journal == tmp_path / "journal.sqlite"


def test_an_unknown_key_is_an_error_naming_file_and_key(tmp_path: Path):
    path = write(tmp_path, offline_cap=100)
    with pytest.raises(TillConfigError, match=rf"^{path}: offline_cap: Extra inputs are not permitted"):
        load_settings(path)


def test_a_bad_value_is_an_error_naming_file_and_key(tmp_path: Path):
    path = write(tmp_path, till_scope="everywhere")
    with pytest.raises(TillConfigError, match=rf"^{path}: till_scope:"):
        load_settings(path)


def test_a_token_in_the_yaml_is_refused_without_echoing_it(tmp_path: Path):
    path = write(tmp_path, token="till_secret")
    with pytest.raises(TillConfigError, match=rf"^{path}: token: .*never goes in till.yaml") as refused:
        load_settings(path)
    assert "till_secret" not in str(refused.value)


def test_the_token_comes_from_the_environment_before_the_token_file(tmp_path: Path):
    (tmp_path / "token").write_text("till_from_file\n")
    path = write(tmp_path, token_file="token")
    settings = load_settings(path)
    assert till_token(settings, path, {TOKEN_ENV: "till_from_env"}) == "till_from_env"
    assert till_token(settings, path, {}) == "till_from_file"


def test_no_token_anywhere_is_an_error_naming_token_file(tmp_path: Path):
    path = write(tmp_path)
    with pytest.raises(TillConfigError, match=rf"^{path}: token_file: no till token"):
        till_token(load_settings(path), path, {})
