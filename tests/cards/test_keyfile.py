"""The card master key file: strict format, private permissions, no key bytes in errors."""

import os

import pytest

from kiosk.cards.errors import MasterKeyFileError
from kiosk.cards.keyfile import FORMAT_TAG, MasterKeys, create_key_file, load_master_keys

MASTER_HEX = bytes(range(0x40, 0x60)).hex()


def write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_created_file_loads_and_is_private(tmp_path):
    path = tmp_path / "card.key"
    create_key_file(path, key_id=7)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_master_keys(path).key_id == 7


def test_create_never_overwrites(tmp_path):
    path = tmp_path / "card.key"
    create_key_file(path)
    before = path.read_text()
    with pytest.raises(MasterKeyFileError):
        create_key_file(path)
    assert path.read_text() == before


def test_two_created_files_hold_different_keys(tmp_path):
    create_key_file(tmp_path / "a")
    create_key_file(tmp_path / "b")
    assert (tmp_path / "a").read_text() != (tmp_path / "b").read_text()


def test_world_readable_file_is_refused(tmp_path):
    path = write(tmp_path / "k", f"format: {FORMAT_TAG}\nkey_id: 1\nmaster_key: {MASTER_HEX}\n", 0o644)
    with pytest.raises(MasterKeyFileError, match="chmod 600"):
        load_master_keys(path)


@pytest.mark.parametrize(
    "text, message",
    [
        (f"key_id: 1\nmaster_key: {MASTER_HEX}\n", "format"),
        (f"format: {FORMAT_TAG}\nmaster_key: {MASTER_HEX}\n", "key_id"),
        (f"format: {FORMAT_TAG}\nkey_id: 1\nmaster_key: {MASTER_HEX[:-2]}\n", "hex digits"),
        (f"format: {FORMAT_TAG}\nkey_id: 1\nmaster_key: {'zz' * 32}\n", "hex digits only"),
        (f"format: {FORMAT_TAG}\nkey_id: x\nmaster_key: {MASTER_HEX}\n", "decimal"),
        (f"format: {FORMAT_TAG}\nkey_id: 1\nmaster_key: {MASTER_HEX}\nextra: 1\n", "unknown"),
        (f"format: {FORMAT_TAG}\nkey_id: 1\nkey_id: 2\nmaster_key: {MASTER_HEX}\n", "twice"),
        (f"format: {FORMAT_TAG}\nkey_id: 1\nmaster_key: {'00' * 32}\n", "not random"),
        (f"format: {FORMAT_TAG}\nkey_id: 300\nmaster_key: {MASTER_HEX}\n", "0..255"),
    ],
)
def test_malformed_files_are_refused_without_echoing_the_key(tmp_path, text, message):
    path = write(tmp_path / "k", text)
    with pytest.raises(MasterKeyFileError, match=message) as info:
        load_master_keys(path)
    assert MASTER_HEX[:16] not in str(info.value)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(MasterKeyFileError, match="nope"):
        load_master_keys(tmp_path / "nope")


def test_mac_key_and_diversification_key_are_different():
    keys = MasterKeys(bytes(range(32)), 1)
    assert keys.mac_key[:16] != keys.diversify_key
    assert bytes(range(32)) not in (keys.mac_key, keys.diversify_key)
