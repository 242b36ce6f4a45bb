"""The data directory: writable, its SQLite files intact, and room left on the disk."""

from __future__ import annotations

from pathlib import Path

from app.doctor.core import CheckResult, DoctorContext

#: Below this the ledger may fail to commit; below the warning level a technician should act.
MIN_FREE_BYTES = 100 * 1024 * 1024
WARN_FREE_BYTES = 500 * 1024 * 1024

_DB_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def database_files(data_dir: Path) -> list[Path]:
    """The live SQLite files in `data_dir` (not their -wal/-shm, not quarantined copies)."""
    if not data_dir.is_dir():
        return []
    return sorted(p for p in data_dir.iterdir() if p.is_file() and p.suffix in _DB_SUFFIXES)


def quarantined_files(data_dir: Path) -> list[Path]:
    if not data_dir.is_dir():
        return []
    return sorted(p for p in data_dir.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm")))


def check_data_dir(ctx: DoctorContext) -> CheckResult:
    name = "data dir"
    if ctx.config is None:
        return CheckResult.skip(name, "needs a valid config")
    data_dir = Path(ctx.config.ledger.data_dir)
    if not data_dir.exists():
        return CheckResult.warning(
            name,
            f"{data_dir} does not exist yet",
            "it is created at the first start of the service (StateDirectory=kiosk): sudo systemctl start kiosk",
        )
    if not data_dir.is_dir():
        return CheckResult.failed(
            name, f"{data_dir} is not a directory", f"move {data_dir} aside and restart the kiosk"
        )
    if not ctx.can_access(data_dir, write=True):
        return CheckResult.failed(
            name,
            f"user {ctx.who} cannot write to {data_dir}",
            f"sudo chown -R {ctx.who}: {data_dir}",
        )
    return CheckResult.passed(name, f"{data_dir} writable by {ctx.who}")


def check_databases(ctx: DoctorContext) -> list[CheckResult]:
    name = "database"
    if ctx.config is None:
        return [CheckResult.skip(name, "needs a valid config")]
    data_dir = Path(ctx.config.ledger.data_dir)
    files = database_files(data_dir)
    results: list[CheckResult] = []
    if not files:
        results.append(CheckResult.passed(name, f"no database in {data_dir} yet (created at first start)"))
    for path in files:
        problems = ctx.db_probe(path)
        if problems:
            results.append(
                CheckResult.failed(
                    f"{name} {path.name}",
                    f"{path} fails the integrity check: {'; '.join(problems[:3])}",
                    "sudo systemctl stop kiosk; keep a copy of the file (and its -wal) for HQ support; "
                    "then start the kiosk: it moves the corrupt ledger aside (*.corrupt-*) and rebuilds "
                    "it from HQ; unsent events in the old file are recovered from that copy",
                )
            )
        else:
            results.append(CheckResult.passed(f"{name} {path.name}", f"{path} integrity ok"))
    leftovers = quarantined_files(data_dir)
    if leftovers:
        results.append(
            CheckResult.warning(
                "quarantined ledgers",
                f"{len(leftovers)} corrupt ledger(s) were moved aside: " + ", ".join(p.name for p in leftovers),
                "send them to HQ support so any events they hold that HQ never acknowledged can be recovered; "
                "delete them afterwards",
            )
        )
    return results


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(ctx: DoctorContext) -> CheckResult:
    name = "disk"
    if ctx.config is None:
        return CheckResult.skip(name, "needs a valid config")
    where = _existing(Path(ctx.config.ledger.data_dir))
    usage = ctx.disk_usage(where)
    free_mib = usage.free // (1024 * 1024)
    detail = f"{free_mib} MiB free of {usage.total // (1024 * 1024)} MiB on the filesystem of {where}"
    fix = (
        "free space: sudo journalctl --vacuum-size=100M; sudo apt clean; "
        "remove old *.corrupt-* ledgers after HQ has them"
    )
    if usage.free < MIN_FREE_BYTES:
        return CheckResult.failed(name, detail, fix)
    if usage.free < WARN_FREE_BYTES:
        return CheckResult.warning(name, detail, fix)
    return CheckResult.passed(name, detail)
