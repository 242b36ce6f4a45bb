"""`kiosk-hq publish-snapshot`: queue the full member snapshot now, in parts, for every scope (the
same use case the running HQ runs every `feedback.snapshot_interval_s`).

    kiosk-hq publish-snapshot --config hq.yaml

The parts are signed and queued in HQ's database; a running HQ sends them (retained) within
`publish_interval_s`, so a kiosk that was away converges as soon as it reconnects.
"""

from __future__ import annotations

import argparse
import sys

from hq.config import HqSettings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("publish-snapshot", help="queue the full member snapshot (retained, in parts) now")


def run(settings: HqSettings, args: argparse.Namespace) -> int:
    from hq.runtime import ZoneClock
    from hq.service.errors import HqServiceError
    from hq.service.snapshots import prepare_member_snapshots
    from hq.store.engine import open_engine
    from hq.store.migrations import migrate
    from sync.errors import SyncError
    from sync.keys import load_private_key
    from sync.topics import HqTopics

    try:
        key = load_private_key(settings.signing_key)
    except (OSError, SyncError) as exc:
        print(f"kiosk-hq: {exc}", file=sys.stderr)
        return EXIT_USAGE
    engine = open_engine(settings.database)
    migrate(engine)
    topics = HqTopics(settings.mqtt.topic_prefix, settings.mqtt.share_group)
    feedback = settings.feedback
    try:
        with engine.begin() as conn:
            published = prepare_member_snapshots(
                conn, key, topics, ZoneClock(settings.tz).now(), member_scope=feedback.member_scope,
                part_bytes=feedback.snapshot_part_bytes,
            )  # fmt: skip
    except HqServiceError as exc:
        print(f"kiosk-hq: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()
    for snapshot in published:
        print(
            f"{snapshot.scope}: {snapshot.members} member(s) in {snapshot.parts} part(s), versions "
            f"{snapshot.first_version}..{snapshot.first_version + snapshot.parts - 1}"
            + (f"; {snapshot.cleared} old part topic(s) cleared" if snapshot.cleared else "")
        )
    print("queued; the running HQ publishes it (retained) within publish_interval_s")
    return EXIT_OK
