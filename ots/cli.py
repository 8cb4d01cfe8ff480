"""`ots`: run, serve, migrate, streams, tokens, asyncapi, dlq, recording."""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from contracts.streams import ALL_BUCKETS, ALL_STREAMS
from ots.dlq_cli import add_parser as add_dlq_parser
from ots.dlq_cli import keygen as dlq_keygen
from ots.dlq_cli import run_dlq
from ots.embedded_env import load_runtime_env, local_settings
from ots.recording_cli import add_parser as add_recording_parser
from ots.tokens_cli import add_parser as add_tokens_parser
from ots.tokens_cli import keygen as tokens_keygen
from ots.tokens_cli import run_tokens
from ots_runtime.logs import configure_logging
from ots_runtime.settings import Settings


def serve(settings: Settings, name: str) -> int:
    import uvicorn

    from ots.registry import MODULES, service

    entry = service(name)
    if entry is None:
        print(f"ots: unknown service {name!r}; known: {', '.join(MODULES)}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, name)
    uvicorn.run(
        entry.create_app(settings), host=settings.bind_host, port=settings.port_of(name),
        log_config=None, access_log=False, loop="uvloop", http="httptools",
    )  # fmt: skip
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ots", description="On the Spot population services")
    sub = p.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser(
        "run", help="the whole system on this machine (embedded servers if unset)"
    )
    run_p.add_argument("--demo", action="store_true", help="simulate a day, then stop")
    run_p.add_argument("--seed", type=int, default=1)
    simulate = sub.add_parser("simulate", help="drive one realistic day through a running OTS")
    simulate.add_argument("--seed", type=int, default=1)
    demo = sub.add_parser("demo", help="run --demo: exit 0 only if every figure matches")
    demo.add_argument("--seed", type=int, default=1)
    serve_p = sub.add_parser("serve", help="one service, for deployments")
    serve_p.add_argument("service")
    sub.add_parser("migrate", help="apply every service's SQL migrations")
    streams = sub.add_parser("streams", help="create or update streams and durable consumers")
    streams.add_argument("--replicas", type=int, default=1)
    add_tokens_parser(sub)
    sub.add_parser("asyncapi", help="print the AsyncAPI 3 document of the whole system")
    plan = sub.add_parser("plan", help="plan a scenario offline (no NATS, no PostgreSQL)")
    plan.add_argument("scenario", help="JSON: {date, teams, visits}; see services/dispatch")
    device = sub.add_parser("device", help="capture devices")
    device.add_subparsers(dest="device_command", required=True).add_parser(
        "keygen", help="print a new Ed25519 key pair"
    )
    metrics = sub.add_parser("metrics", help="the metrics service's administration")
    metrics_sub = metrics.add_subparsers(dest="metrics_command", required=True)
    history = metrics_sub.add_parser(
        "import-history", help="load yearly counts from before OTS (replaces the years named)"
    )
    history.add_argument(
        "file",
        type=Path,
        help="CSV: year,service_type,venue_type,kecamatan_code,count; `unknown` (or a column "
        "left out) where the published figures do not say",
    )
    add_dlq_parser(sub)
    add_recording_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    offline = offline_command(args)
    if offline is not None:
        return offline
    settings = load_runtime_env(local_settings(args.command))
    if args.command in ("run", "demo"):
        from ots.supervisor import run

        configure_logging(settings.log_level)
        return run(settings, demo=args.command == "demo" or args.demo, seed=args.seed)
    if args.command == "simulate":
        from ots.simulate.summary import run_simulation

        return run_simulation(settings, args.seed)
    if args.command == "serve":
        return serve(settings, args.service)
    return asyncio.run(admin(args, settings))


def offline_command(args: argparse.Namespace) -> int | None:
    """The commands that need no servers, so no settings: they work with none configured."""
    if args.command == "device":
        from services.recording.keygen import keygen_text

        print(keygen_text(), end="")
        return 0
    if args.command == "tokens" and args.tokens_command == "keygen":
        return tokens_keygen()
    if args.command == "dlq" and args.dlq_command == "keygen":
        return dlq_keygen()
    if args.command == "plan":
        from services.dispatch.offline import main as plan_main

        return plan_main(args.scenario)
    if args.command == "asyncapi":
        from contracts.asyncapi import build_document

        print(json.dumps(build_document(), indent=2, sort_keys=True))
        return 0
    return None


async def admin(args: argparse.Namespace, settings: Settings) -> int:
    from ots import admin as a

    if args.command == "migrate":
        applied = await a.migrate_all(settings)
        for schema, versions in applied.items():
            print(f"{schema}: {', '.join(versions) or 'up to date'}")
    elif args.command == "streams":
        count = await a.provision_streams(settings, replicas=args.replicas)
        streams = ", ".join(stream.name for stream in ALL_STREAMS)
        buckets = ", ".join(bucket.name for bucket in ALL_BUCKETS)
        print(f"streams {streams}, buckets {buckets} and {count} consumer(s) provisioned")
    elif args.command == "tokens":
        return await run_tokens(args, settings)
    elif args.command == "metrics":
        from services.metrics.history_import import import_history

        return await import_history(settings, args.file)
    elif args.command == "dlq":
        return await run_dlq(args, settings)
    elif args.command == "recording":
        from ots.recording_cli import run_recording

        return await run_recording(args, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
