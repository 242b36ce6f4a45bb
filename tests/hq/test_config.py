"""hq.yaml: the shipped file loads; mistakes name the file and the key; the example programmes
in docs/examples/ are valid programmes (they are what the README tells an operator to load)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hq.cli import main
from hq.config import HqConfigError, load_settings
from hq.domain.examples import courier_program, supermarket_program
from hq.domain.program import parse_program

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_hq_yaml_loads_with_paths_relative_to_it():
    settings = load_settings(REPO / "hq.yaml")
    assert settings.database == f"sqlite+pysqlite:///{REPO / 'var/hq/hq.sqlite'}"
    assert settings.signing_key == REPO / "var/keys/hq_private.pem"


def test_an_unknown_key_is_named_with_the_file(tmp_path):
    path = tmp_path / "hq.yaml"
    path.write_text("database: sqlite+pysqlite:///x.db\nsigning_key: k.pem\nmqtt:\n  hots: broker\n")
    with pytest.raises(HqConfigError, match=r"hq.yaml: mqtt.hots: Extra inputs are not permitted"):
        load_settings(path)


def test_an_unknown_database_is_refused_with_the_forms_that_work(tmp_path):
    path = tmp_path / "hq.yaml"
    path.write_text("database: mysql://hq@db/hq\nsigning_key: k.pem\n")
    with pytest.raises(HqConfigError, match="database: .*postgresql"):
        load_settings(path)


def test_a_bad_config_is_one_line_and_exit_status_2(tmp_path, capsys):
    path = tmp_path / "hq.yaml"
    path.write_text("database: [\n")
    assert main(["--config", str(path), "migrate"]) == 2
    assert "hq.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "build"), [("supermarket", supermarket_program), ("courier", courier_program)])
def test_the_example_programmes_in_docs_are_current_and_valid(name, build):
    document = json.loads((REPO / "docs/examples" / f"{name}-programme.json").read_text(encoding="utf-8"))
    assert document == build()
    assert parse_program(1, document).version == 1


def test_the_openapi_document_in_docs_is_the_one_the_code_serves():
    from hq.cli import openapi_document

    shipped = json.loads((REPO / "docs/hq-openapi.json").read_text(encoding="utf-8"))
    assert shipped == openapi_document(), "regenerate: .venv/bin/kiosk-hq openapi > docs/hq-openapi.json"
