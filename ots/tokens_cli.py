"""`ots tokens create|list|revoke|keygen`: the register of API tokens intake issues."""

import argparse
import sys
from datetime import datetime

import asyncpg

from ots_runtime.auth import Role, new_key_pair, token_keys
from ots_runtime.settings import Settings
from services.intake.tokens import create_token, list_tokens, revoke_token

Subparsers = argparse._SubParsersAction  # argparse names no public type for it
COLUMNS = ("id", "role", "agency", "label", "created", "expires", "revoked")


def add_parser(sub: "Subparsers[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("tokens", help="API tokens: create, list, revoke, keygen")
    commands = p.add_subparsers(dest="tokens_command", required=True)
    create = commands.add_parser("create", help="print a new bearer token (its id on stderr)")
    create.add_argument("--role", choices=[r.value for r in Role], required=True)
    create.add_argument("--agency", required=True)
    create.add_argument("--label", default="")
    create.add_argument(
        "--ttl-days", type=int, help="days until it expires (default OTS_TOKEN_TTL_DAYS, 90)"
    )
    commands.add_parser("list", help="every token's id, role, agency and dates; never a token")
    revoke = commands.add_parser("revoke", help="refuse a token everywhere, by its id")
    revoke.add_argument("token_id")
    commands.add_parser(
        "keygen", help="print a new signing key pair (OTS_TOKEN_SIGNING_KEY, _PUBLIC_KEYS)"
    )


def keygen() -> int:
    signing, public = new_key_pair()
    print(f"OTS_TOKEN_SIGNING_KEY={signing}")
    print(f"OTS_TOKEN_PUBLIC_KEYS={public}")
    return 0


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def table(rows: list[asyncpg.Record]) -> str:
    cells = [COLUMNS] + [
        (r["token_id"], r["role"], r["agency"], r["label"] or "-", _when(r["created_at"]),
         _when(r["expires_at"]), _when(r["revoked_at"]))
        for r in rows
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


async def run_tokens(args: argparse.Namespace, settings: Settings) -> int:
    _, database_url = settings.require_urls()
    conn = await asyncpg.connect(database_url)
    try:
        return await command(args, settings, conn)
    except (ValueError, RuntimeError) as error:
        print(f"ots tokens: {error}", file=sys.stderr)
        return 1
    finally:
        await conn.close()


async def command(args: argparse.Namespace, settings: Settings, conn: asyncpg.Connection) -> int:
    if args.tokens_command == "create":
        ttl = args.ttl_days if args.ttl_days is not None else settings.token_ttl_days
        if not 1 <= ttl <= 730:
            raise ValueError("--ttl-days must be between 1 and 730")
        issued = await create_token(
            conn, token_keys(settings), role=Role(args.role), agency=args.agency,
            ttl_days=ttl, label=args.label,
        )  # fmt: skip
        print(f"token {issued.token_id} expires {_when(issued.expires_at)}", file=sys.stderr)
        print(issued.token)
    elif args.tokens_command == "list":
        print(table(await list_tokens(conn)))
    elif args.tokens_command == "revoke":
        row = await revoke_token(conn, args.token_id)
        if row is None:
            print(f"ots tokens: no token {args.token_id}", file=sys.stderr)
            return 1
        print(
            f"token {args.token_id} revoked at {_when(row['revoked_at'])}; every service "
            "refuses it once intake has published the revocation (seconds)"
        )
    return 0
