"""`ots recording purge --before DATE [--dry-run]`: retention of delivered recordings' samples
(the rule: services/recording/samples/purge.py and services/recording/README.md)."""

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta

from contracts.jember import WIB
from ots_runtime.settings import Settings

Subparsers = argparse._SubParsersAction  # argparse names no public type for it


def add_parser(sub: "Subparsers[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("recording", help="the recording service's administration")
    commands = p.add_subparsers(dest="recording_command", required=True)
    purging = commands.add_parser(
        "purge",
        help="delete the captures and sealed samples of recordings delivered to the centre",
        description="Delete the captures (rows and sealed samples) of people whose recording"
        " was completed before DATE (00:00 WIB), in a completed visit, and whose"
        " ots.recording.completed has been published.",
    )
    purging.add_argument("--before", type=date.fromisoformat, required=True, metavar="DATE",
                         help="YYYY-MM-DD: recordings completed before this day (WIB)")  # fmt: skip
    purging.add_argument("--dry-run", action="store_true", help="count, delete nothing")


async def run_recording(args: argparse.Namespace, settings: Settings) -> int:
    import asyncpg

    from services.recording.samples.purge import purge
    from services.recording.samples.settings import SamplesSettings
    from services.recording.samples.store import open_store

    before = datetime.combine(args.before, time(0), WIB)
    # A repeat of a purged capture must be caught by the inbox, not stored again.
    latest = datetime.now(UTC) - timedelta(hours=settings.inbox_retention_hours)
    if before > latest:
        print(f"ots recording purge: --before must be no later than {latest.date()} (the inbox "
              f"keeps repeats out for OTS_INBOX_RETENTION_HOURS={settings.inbox_retention_hours:g})",
              file=sys.stderr)  # fmt: skip
        return 2
    if not settings.database_url:
        print("ots: OTS_DATABASE_URL must be set (ots run sets it)", file=sys.stderr)
        return 2
    try:
        config = SamplesSettings(env=settings.env, data_dir=settings.data_dir)
        samples = open_store(config.samples_location())
    except ValueError as error:
        print(f"ots recording purge: {error}", file=sys.stderr)
        return 2
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        done = await purge(pool, samples, before, dry_run=args.dry_run)
    finally:
        await pool.close()
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb}: {done.captures} capture(s) of {done.people} delivered recording(s) completed "
          f"before {args.before} WIB, {done.samples} sealed sample(s) ({done.sample_bytes} bytes) "
          f"in {samples.where}")  # fmt: skip
    return 0
