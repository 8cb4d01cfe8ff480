"""Teams and their devices, as operators manage them; each change is published."""

import base64
import binascii
import json
from typing import Any

import asyncpg
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.enums import DeviceKind, Kit, Weekday
from contracts.events import DeviceEnrolled, GeoPoint, Id, Shift, TeamUpdated
from contracts.jember import LAT_RANGE, LON_RANGE, is_inside_jember
from contracts.subjects import DEVICE_ENROLLED, TEAM_UPDATED
from ots_runtime.http import field_problem
from ots_runtime.outbox import enqueue
from services.intake.domain.text import Name
from services.intake.visits import SCHEMA, SOURCE


class JemberPoint(GeoPoint):
    """A team's base: the document bounds it to Jember as `check_team` does."""

    lat: float = Field(
        ge=-90,
        le=90,
        strict=True,
        json_schema_extra={"minimum": LAT_RANGE[0], "maximum": LAT_RANGE[1]},
    )
    lon: float = Field(
        ge=-180,
        le=180,
        strict=True,
        json_schema_extra={"minimum": LON_RANGE[0], "maximum": LON_RANGE[1]},
    )


class TeamBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    base: JemberPoint
    kits: list[Kit] = Field(max_length=3)
    shift: Shift = Shift()
    working_days: list[Weekday] = Field(
        default_factory=lambda: [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI],
        max_length=7,
    )
    max_people_per_day: int = Field(ge=1, le=2000, strict=True)
    active: bool = Field(default=True, strict=True)


class DeviceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: Id
    kind: DeviceKind
    public_key: str = Field(
        max_length=64, description="The raw 32-byte Ed25519 key, standard base64.",
        json_schema_extra={"pattern": r"^[A-Za-z0-9+/]{43}=$"},
    )  # fmt: skip
    expires_at: AwareDatetime = Field(description="In the future, unless `revoked` (422).")
    revoked: bool = Field(default=False, strict=True)


def check_team(body: TeamBody) -> None:
    if not is_inside_jember(body.base.lat, body.base.lon):
        raise field_problem("base", "the team's base must lie inside Jember")
    if body.shift.start >= body.shift.end:
        raise field_problem("shift.end", "the shift must end after it starts")


async def put_team(conn: asyncpg.Connection, team_id: str, body: TeamBody) -> dict[str, Any]:
    """Store the team and publish it with its next version: the row lock orders concurrent
    updates, so the version consumers compare follows the order they were committed in."""
    check_team(body)
    first = TeamUpdated(team_id=team_id, version=1, **body.model_dump())
    version = await conn.fetchval(
        "INSERT INTO intake.teams AS t (team_id, body, version) VALUES ($1, $2, 1) "
        "ON CONFLICT (team_id) DO UPDATE SET version = t.version + 1, "
        "body = jsonb_set(EXCLUDED.body, '{version}', to_jsonb(t.version + 1)), updated_at = now() "
        "RETURNING version",
        team_id, first.model_dump_json(),
    )  # fmt: skip
    event = first.model_copy(update={"version": version})
    await enqueue(conn, SCHEMA, TEAM_UPDATED, event, source=SOURCE, subject_id=team_id)
    return event.model_dump(mode="json")


def raw_public_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise field_problem("public_key", "public_key must be standard base64") from error
    if len(key) != 32:
        raise field_problem("public_key", "public_key must be a 32-byte raw Ed25519 key")
    return key


async def put_device(conn: asyncpg.Connection, device_id: str, body: DeviceBody) -> dict[str, Any]:
    raw_public_key(body.public_key)
    if not await conn.fetchval("SELECT true FROM intake.teams WHERE team_id = $1", body.team_id):
        raise field_problem("team_id", f"no team {body.team_id}: create the team first")
    event = DeviceEnrolled(device_id=device_id, **body.model_dump())
    await conn.execute(
        "INSERT INTO intake.devices (device_id, team_id, body) VALUES ($1, $2, $3) "
        "ON CONFLICT (device_id) DO UPDATE SET team_id = EXCLUDED.team_id, body = EXCLUDED.body, "
        "updated_at = now()",
        device_id, body.team_id, event.model_dump_json(),
    )  # fmt: skip
    await enqueue(conn, SCHEMA, DEVICE_ENROLLED, event, source=SOURCE, subject_id=device_id)
    return event.model_dump(mode="json")


async def list_rows(conn: asyncpg.Connection, table: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT body FROM intake.{table} ORDER BY 1")
    return [json.loads(r["body"]) for r in rows]
