"""Across 1,000 personalized cards every sector key is distinct and none is a public default."""

import os
import random

from drivers.emulator.cards import MifareClassic1K
from kiosk.cards import access, layout
from kiosk.cards.personalize import personalize
from tests.cards.default_keys import PUBLIC_DEFAULT_KEYS

CARDS = int(os.environ.get("KIOSK_KEY_TEST_CARDS", "1000"))


def test_all_sector_keys_of_many_personalized_cards_are_distinct_and_not_public(keys, tap, faults):
    rng = random.Random(20261123)
    uids = set()
    while len(uids) < CARDS:
        uid = bytes(rng.randrange(256) for _ in range(4))
        if uid[0] != 0x88:  # 0x88 is the cascade tag, never a 4-byte UID's first byte
            uids.add(uid)
    seen: dict[bytes, tuple[bytes, int, str]] = {}
    for uid in sorted(uids):
        card = MifareClassic1K(uid)
        personalize(tap(card), keys, "M0001", 1, faults)
        for sector in layout.KEYED_SECTORS:
            raw = card.block(layout.trailer_block(sector))  # the emulator's backdoor: real stored keys
            assert access.decode(raw[6:10]) == access.MEMBER
            for key, kind in ((raw[0:6], "A"), (raw[10:16], "B")):
                assert key not in PUBLIC_DEFAULT_KEYS, (uid.hex(), sector, kind)
                assert key not in seen, f"{uid.hex()}/{sector}{kind} repeats {seen.get(key)}"
                seen[key] = (uid, sector, kind)
    assert len(seen) == CARDS * len(layout.KEYED_SECTORS) * 2
