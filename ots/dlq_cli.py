"""`ots dlq list|show|replay|purge|keygen`: the arguments and the printing around `ots.dlq`."""

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from nats.js import JetStreamContext

from contracts.streams import DLQ
from ots import dlq
from ots_runtime.broker import connect
from ots_runtime.sealing import PrivateKey, private_keys, public_text
from ots_runtime.settings import Settings

Subparsers = argparse._SubParsersAction  # argparse names no public type for it


def add_parser(sub: "Subparsers[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("dlq", help="dead letters: list, show (redacted), replay, purge, keygen")
    commands = p.add_subparsers(dest="dlq_command", required=True)
    listing = commands.add_parser("list", help="one line per dead letter")
    listing.add_argument("--service", help="only this service's letters")
    show = commands.add_parser("show", help="one letter as JSON, personal data redacted")
    show.add_argument("seq", type=_sequence, help=f"its sequence in {DLQ.name}")
    show.add_argument(
        "--original", action="store_true",
        help="its original unmasked, opened with the DLQ private key (administrators only)",
    )  # fmt: skip
    _key_file(show)
    replay = commands.add_parser(
        "replay", help="publish originals to their subjects again, then delete the letters"
    )
    replay.add_argument("seq", type=_sequence, nargs="?", help="one letter, by sequence")
    replay.add_argument("--all", action="store_true", help="every letter (of --service)")
    replay.add_argument("--service", help="with --all: only this service's letters")
    _key_file(replay)
    purge = commands.add_parser("purge", help="delete dead letters (after confirmation)")
    purge.add_argument("--service", help="only this service's letters")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    commands.add_parser(
        "keygen",
        help="print a new key pair for sealed originals (OTS_DLQ_PUBLIC_KEY, _PRIVATE_KEY)",
    )


def _key_file(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--key-file", type=Path,
        help="the DLQ private key(s), `kid:<base64>`, one a line (default OTS_DLQ_PRIVATE_KEY)",
    )  # fmt: skip


def keygen() -> int:
    private = PrivateKey.generate()
    print(f"OTS_DLQ_PUBLIC_KEY={public_text(private.public)}")
    print(f"OTS_DLQ_PRIVATE_KEY={private.text()}")
    return 0


def keys_of(args: argparse.Namespace, settings: Settings) -> dlq.Keys | None:
    """The private keys given: `--key-file`, else `OTS_DLQ_PRIVATE_KEY`, else none."""
    key_file: Path | None = getattr(args, "key_file", None)
    if key_file is not None:
        try:
            text = key_file.read_text()
        except OSError as error:
            raise ValueError(f"--key-file {key_file}: {error.strerror}") from None
        return private_keys(text, f"--key-file {key_file}")
    if settings.dlq_private_key:
        return private_keys(settings.dlq_private_key)
    return None


def _sequence(text: str) -> int:
    seq = int(text)
    if seq < 1:
        raise argparse.ArgumentTypeError("a stream sequence is 1 or more")
    return seq


async def run_dlq(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.nats_url:
        print("ots: OTS_NATS_URL must be set (ots run sets it)", file=sys.stderr)
        return 2
    nc = await connect(settings.nats_url, name="ots-dlq", user=settings.nats_user,
                       password=settings.nats_password)  # fmt: skip
    try:
        return await command(args, nc.jetstream(), keys_of(args, settings))
    except (ValueError, dlq.LetterNotFound, dlq.NotReplayable) as error:
        print(f"ots dlq: {error}", file=sys.stderr)
        return 1
    finally:
        await nc.close()


async def command(
    args: argparse.Namespace, js: JetStreamContext, keys: dlq.Keys | None = None
) -> int:
    if args.dlq_command == "list":
        return await list_letters(js, args.service)
    if args.dlq_command == "show":
        letter = await dlq.get_letter(js, args.seq)
        if args.original:
            try:
                shown = dlq.shown_original(letter, keys)
            except dlq.NotReplayable as error:
                print(f"ots dlq show: no original of {args.seq}: {error}", file=sys.stderr)
                return 1
        else:
            shown = dlq.redacted(letter)
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0
    if args.dlq_command == "replay":
        return await replay(js, args, keys)
    return await purge(js, args.service, yes=args.yes)


def _scope(service: str | None) -> str:
    return f" of {service}" if service else ""


async def list_letters(js: JetStreamContext, service: str | None) -> int:
    found = await dlq.letters(js, service)
    if not found:
        print(f"no dead letters{_scope(service)}")
        return 0
    print(f"{'SEQ':>6}  {'SERVICE':<10} {'SUBJECT':<30} {'ATTEMPTS':>8}  {'FAILED_AT':<25} REASON")
    for item in found:
        if isinstance(item, dlq.Unreadable):
            print(f"{item.seq:>6}  {'?':<10} {item.subject:<30} {'?':>8}  {'?':<25} "
                  f"unreadable letter: {item.problem}")  # fmt: skip
            continue
        d = item.dead
        failed_at = d.failed_at.isoformat(timespec="seconds")
        print(f"{item.seq:>6}  {d.service:<10} {d.subject:<30} {d.attempts:>8}  "
              f"{failed_at:<25} {dlq.one_line(d.error)}")  # fmt: skip
    print(f"{len(found)} dead letter(s)")
    return 0


def _describe(result: dlq.Replayed | dlq.Skipped) -> str:
    if isinstance(result, dlq.Skipped):
        return f"kept {result.seq} ({result.subject}): {result.reason}"
    repeat = " (already replayed once: not published again)" if result.duplicate else ""
    return (
        f"replayed {result.seq}: {result.subject} event {result.event_id or '?'} "
        f"as {result.stream} sequence {result.stream_seq}{repeat}"
    )


async def replay(js: JetStreamContext, args: argparse.Namespace, keys: dlq.Keys | None) -> int:
    if args.all == (args.seq is not None):
        print("ots dlq replay: give either SEQ or --all", file=sys.stderr)
        return 2
    if args.seq is not None:
        if args.service:
            print("ots dlq replay: --service goes with --all", file=sys.stderr)
            return 2
        try:
            print(_describe(await dlq.replay(js, args.seq, keys)))
        except dlq.NotReplayable as error:
            print(f"ots dlq replay: kept {args.seq}: {error}", file=sys.stderr)
            return 1
        return 0
    results = await dlq.replay_all(js, args.service, keys)
    for result in results:
        print(_describe(result))
    kept = sum(isinstance(r, dlq.Skipped) for r in results)
    print(f"{len(results) - kept} replayed, {kept} kept")
    return 1 if kept else 0


async def purge(
    js: JetStreamContext, service: str | None, *, yes: bool, ask: Callable[[str], str] = input
) -> int:
    """`ask` is the prompt (standard input, read as the operator types)."""
    waiting = await dlq.count(js, service)
    if not waiting:
        print(f"no dead letters{_scope(service)}")
        return 0
    if not yes:
        try:
            answer = ask(f"delete {waiting} dead letter(s){_scope(service)}? type yes: ")
        except EOFError:
            answer = ""
        if answer.strip() != "yes":
            print("nothing purged")
            return 1
    print(f"purged {await dlq.purge(js, service)} dead letter(s){_scope(service)}")
    return 0
