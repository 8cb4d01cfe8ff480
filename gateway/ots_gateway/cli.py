"""`ots-gateway`: the SDK's command line, and the conformance kit for vendors.

ots-gateway vectors                         test vectors as JSON
ots-gateway verify --key DEV=PUBKEY_B64 [--key ...] FILE.jsonl
                                            one line per message: `<line> ok` or
                                            `<line> rejected <reason>`; exit 1 if any is
ots-gateway keygen --device ID --team TEAM --key-file PATH
                                            makes the key; prints the enrolment request
ots-gateway work --device ID --key-file PATH --outbox PATH --nats URL [--worklist FILE]
                                            works today's worklist with simulated captures
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from contracts.gateway.judge import DEFAULT_MAX_MESSAGE_BYTES
from ots_gateway.keys import DeviceKey, enrolment_request
from ots_gateway.kit import BadKey, parse_key, verify_lines
from ots_gateway.vectors import vectors


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BadKey as error:
        print(f"ots-gateway: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ots-gateway", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(required=True)
    cmd = commands.add_parser("vectors", help="print the test vectors as JSON")
    cmd.set_defaults(run=_vectors)
    cmd = commands.add_parser("verify", help="judge a log of gateway messages as recording would")
    cmd.add_argument("--key", action="append", default=[], metavar="DEVICE_ID=PUBLIC_KEY_BASE64")
    cmd.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES,
                     help="recording's gateway_max_message_bytes")  # fmt: skip
    cmd.add_argument("file", type=Path)
    cmd.set_defaults(run=_verify)
    cmd = commands.add_parser("keygen", help="make the device key and its enrolment request")
    cmd.add_argument("--device", required=True)
    cmd.add_argument("--team", required=True)
    cmd.add_argument("--key-file", type=Path, required=True)
    cmd.set_defaults(run=_keygen)
    cmd = commands.add_parser("work", help="work a day from the worklist, simulated captures")
    cmd.add_argument("--device", required=True)
    cmd.add_argument("--key-file", type=Path, required=True)
    cmd.add_argument("--outbox", type=Path, required=True)
    cmd.add_argument("--nats", required=True, help="NATS URL(s), comma-separated")
    cmd.add_argument("--user")
    cmd.add_argument("--password")
    cmd.add_argument("--worklist", type=Path, help="a Worklist JSON file instead of the bucket")
    cmd.add_argument("--quality", type=int, default=90)
    cmd.add_argument("--recapture-quality", type=int, default=90)
    cmd.add_argument("--ca-file", help="the authority of the NATS listener's certificate (wss://)")
    cmd.add_argument("--recapture-wait", type=float, default=0.0,
                     help="seconds of quiet to wait for a visit's recapture requests")  # fmt: skip
    cmd.add_argument("--flush-pause", type=float, default=0.0,
                     help="seconds between two sends (a slow link)")  # fmt: skip
    cmd.add_argument("--flush-batch", type=int, default=32,
                     help="sends acknowledged before the outbox marks them sent")  # fmt: skip
    cmd.set_defaults(run=_work)
    return parser


def _vectors(args: argparse.Namespace) -> int:
    print(json.dumps(vectors(), ensure_ascii=False, indent=2))
    return 0


def _verify(args: argparse.Namespace) -> int:
    keys = dict(parse_key(spec) for spec in args.key)
    with args.file.open(encoding="utf-8", errors="surrogateescape") as lines:
        verdicts = verify_lines(lines, keys, args.max_bytes)
    for number, verdict in verdicts:
        print(number, verdict)
    return 1 if any(v != "ok" for _, v in verdicts) else 0


def _keygen(args: argparse.Namespace) -> int:
    key = DeviceKey.load_or_create(args.key_file)
    print(json.dumps(enrolment_request(args.device, args.team, key), indent=2))
    return 0


def _work(args: argparse.Namespace) -> int:
    from ots_gateway.day import work_day  # NATS is needed only here

    return asyncio.run(work_day(args))


if __name__ == "__main__":
    sys.exit(main())
