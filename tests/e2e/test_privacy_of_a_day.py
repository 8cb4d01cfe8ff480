"""A simulated day, with some bad messages thrown in so that every service dead-letters: no
dead letter and no log line of any service holds a full NIK or a resident's name of that day,
nor a home visit's address or coordinates."""

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.enums import Modality
from contracts.streams import DLQ
from ots.simulate.day import simulate_day
from ots.simulate.people import Person
from ots.simulate.tablet import SimulatedDevice
from ots_runtime.broker import connect
from ots_runtime.dead_letter import SEALED_ATTRIBUTE, DeadLetterer
from ots_runtime.logs import JsonFormatter
from ots_runtime.settings import Settings
from tests.support.e2e_system import SERVICES, System, running_system
from tests.support.events import eventually

SEED = 6
HOME_ADDRESS = "Jl. Kenanga 7, Dusun Krajan"
HOME_LAT, HOME_LON = "-8.2301357", "113.6402468"


@pytest.fixture
async def system() -> AsyncIterator[System]:
    async with running_system(log_level="DEBUG") as running:
        yield running


def event(type_: str, data: object, subject: str = "x") -> bytes:
    return json.dumps({
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "ots/test", "type": type_,
        "time": datetime.now(UTC).isoformat(), "subject": subject, "data": data,
    }).encode()  # fmt: skip


def bad_messages(people: list[Person], visit_id: str) -> list[tuple[str, bytes]]:
    """Each carries residents' NIKs and names, and each fails its consumers' validation."""
    first, second, third = people[:3]
    residents = [{"nik": p.nik, "name": p.name, "needs": []} for p in (first, second)]
    requested = {
        "visit_id": f"bad-{uuid.uuid4().hex[:8]}", "priority": "whenever",
        "requester": {"agency_type": "village", "agency_name": "Desa Ajung"},
        "venue": {"type": "home", "name": f"Rumah {first.name}",
                  "address": f"{HOME_ADDRESS}, rumah {first.name}, NIK {first.nik}",
                  "kecamatan_code": "350901", "lat": float(HOME_LAT), "lon": float(HOME_LON)},
        "residents": residents, "services": ["ktp_el_recording"],
    }  # fmt: skip
    completed = {"visit_id": visit_id, "nik": third.nik, "name": third.name, "team_id": None}
    not_json = f'{{"residents": [{{"nik": "{second.nik}", "name": "{second.name}"'.encode()
    return [
        ("ots.visit.requested", event("ots.visit.requested.v1", requested)),
        ("ots.recording.completed", event("ots.recording.completed.v1", completed)),
        ("ots.visit.requested", not_json),
    ]


async def dead_letter_bodies(js: JetStreamContext) -> list[bytes]:
    """Every dead letter as stored, byte for byte."""
    found: list[bytes] = []
    seq = 1
    while True:
        try:
            raw = await js.get_msg(DLQ.name, seq=seq, subject=DLQ.subjects[0], next=True)
        except NotFoundError:
            return found
        found.append(raw.data or b"")
        seq = (raw.seq or seq) + 1


def services_of(letters: list[bytes]) -> set[str]:
    return {json.loads(letter)["data"]["service"] for letter in letters}


@pytest.mark.timeout(300)
async def test_no_dead_letter_nor_log_line_of_a_day_holds_a_full_nik_or_a_name(
    system: System,
) -> None:
    result = await simulate_day(system.settings, SEED, patience=90)
    assert result.differences == []
    people = [p for visit in result.scenario.visits for p in visit.people]
    visit_id = result.worked[0].visit_id

    assert system.settings.nats_url
    nc = await connect(system.settings.nats_url, name="e2e-privacy")
    try:
        js = nc.jetstream()
        for subject, body in bad_messages(people, visit_id):
            await js.publish(subject, body, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        intruder = SimulatedDevice("gw-intruder")  # never enrolled: refused, its NIK nowhere
        forged = intruder.capture(visit_id, people[0].nik, Modality.FACE)
        await js.publish(forged.subject, forged.body, headers={"Nats-Msg-Id": forged.msg_id})

        async def every_service_dead_lettered() -> bool:
            return services_of(await dead_letter_bodies(js)) >= set(SERVICES)

        await eventually(every_service_dead_lettered, within=60)
        letters = await dead_letter_bodies(js)
    finally:
        await nc.close()

    logs = {path.name: path.read_text(errors="replace") for path in system.root.glob("*.log")}
    assert set(logs) >= {f"{name}.log" for name in SERVICES}
    assert all(text.strip() for text in logs.values()), "a service logged nothing: proves nothing"
    secrets = (
        {p.nik for p in people} | {p.name for p in people} | {HOME_ADDRESS, HOME_LAT, HOME_LON}
    )
    leaks = [
        (where, secret)
        for where, text in [*((f"letter {i}", b.decode(errors="replace"))
                              for i, b in enumerate(letters)), *logs.items()]
        for secret in secrets
        if secret in text
    ]  # fmt: skip
    assert leaks == [], (
        f"{len(leaks)} full NIKs, names or home addresses found in {sorted({w for w, _ in leaks})}"
    )
    # Masked letters keep their originals sealed (to the tests' DLQ key), searched above too.
    sealed = [letter for letter in letters if SEALED_ATTRIBUTE in json.loads(letter)]
    assert sealed, "no original was sealed: proves nothing"
    masked = {"*" * 12 + p.nik[-4:] for p in people[:3]}
    assert any(m in letter.decode() for letter in letters for m in masked), "nothing was masked"
    print(f"{len(letters)} dead letters from {sorted(services_of(letters))} and "
          f"{sum(t.count(chr(10)) for t in logs.values())} log lines searched for "
          f"{len(secrets)} NIKs and names of the day: none found")  # fmt: skip


async def test_a_database_error_naming_a_resident_is_masked_in_its_dead_letter_and_its_log(
    settings: Settings, nc: Client, db: asyncpg.Pool
) -> None:
    nik, name = "3509015205900001", "Siti Aminah"
    await db.execute(
        "CREATE TABLE intake.people (nik text UNIQUE, name text CHECK (name <> $$Siti Aminah$$))"
    )
    await db.execute("INSERT INTO intake.people VALUES ($1, 'Budi')", nik)
    errors = []
    for values in ((nik, "Budi"), ("3509015205900002", name)):
        with pytest.raises(asyncpg.PostgresError) as raised:
            await db.execute("INSERT INTO intake.people VALUES ($1, $2)", *values)
        errors.append(raised.value)
    assert nik in str(errors[0]) and name in str(errors[1])  # what asyncpg says: details included
    body = json.dumps({"data": {"residents": [{"nik": nik, "name": name}]}}).encode()
    for seq, error in enumerate(errors, 1):
        await DeadLetterer(nc.jetstream(), "intake").send_stored(
            subject="ots.visit.requested", data=body, headers={}, stream="OTS_EVENTS",
            stream_seq=seq, error=f"{type(error).__name__}: {error}", attempts=5,
        )  # fmt: skip
    stored = b"".join(await dead_letter_bodies(nc.jetstream())).decode()
    logged = io.StringIO()
    handler = logging.StreamHandler(logged)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.privacy")
    log.addHandler(handler)
    try:
        for error in errors:
            try:
                raise error
            except asyncpg.PostgresError:
                log.exception("applying the visit failed")
    finally:
        log.removeHandler(handler)

    assert "Key (nik)=(************0001)" in stored and "Failing row contains" in stored
    for secret in (nik, "3509015205900002", name):
        assert secret not in stored and secret not in logged.getvalue()
