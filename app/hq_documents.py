"""Importing HQ's signed documents from a folder: the simulation's demo, fed by HQ.

`kiosk-hq demo` writes HQ's `rules.json`, `members.json`, `denylist.json` and `voucher_keys.json`, byte for
byte what HQ publishes. The
simulated kiosk imports them into an empty ledger through the link's own checks (signature with the
trusted HQ keys, scope, validity, version, the ledger's validation) and records the accepted
versions where the link keeps them, so a live HQ later continues from there. Anything refused is
reported and the built-in demo is used instead.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk.config import Config
from kiosk.ledger import Ledger
from kiosk.store_clock import StoreClock
from sync.envelope import EnvelopeVerifier
from sync.inbound import PushHandler
from sync.keys import load_public_keys
from sync.state import VersionStore
from sync.topics import Scope

_LOG = logging.getLogger(__name__)
DOCUMENTS = (("rules", "rules.json"), ("members", "members.json"), ("denylist", "denylist.json"))
#: Imported when present (a demo made before HQ kept voucher keys has none).
OPTIONAL = (("voucher_keys", "voucher_keys.json"),)


def import_hq_documents(config: Config, ledger: Ledger, clock: StoreClock, folder: Path) -> bool:
    """True when every document in `folder` was applied (or was already current)."""
    if not all((folder / name).is_file() for _, name in DOCUMENTS):
        return False
    verifier = EnvelopeVerifier(
        load_public_keys([config.security.hq_public_key]), device_id=config.device.id, store_id=config.device.store_id
    )
    versions = VersionStore(config.ledger.sync_state_file)
    try:
        handler = PushHandler(verifier=verifier, versions=versions, ledger=ledger, clock=clock)
        present = [(doc, name) for doc, name in OPTIONAL if (folder / name).is_file()]
        for doc_type, name in (*DOCUMENTS, *present):
            outcome = handler.handle(doc_type, Scope.fleet(), (folder / name).read_bytes())
            if outcome.status == "rejected":
                _LOG.warning("HQ's %s in %s refused (%s: %s)", doc_type, folder, outcome.reason, outcome.detail)
                return False
    finally:
        versions.close()
    _LOG.info("imported HQ's signed demo documents from %s", folder)
    return True
