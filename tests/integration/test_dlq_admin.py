"""`ots dlq`: operators list, read (redacted), replay and purge dead letters. Masked letters
replayed from their sealed originals: tests/integration/test_dlq_sealed_originals.py."""

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from contracts import CloudEvent, envelope
from contracts.events import VisitCancelled
from contracts.examples import GRANDMOTHER_NIK, GRANDSON_NIK, example_event
from contracts.streams import DLQ
from contracts.subjects import DEVICE_ENROLLED, GATEWAY_CAPTURE, VISIT_CANCELLED
from ots import dlq
from ots_runtime.broker import ConsumerSpec, ensure_consumer
from ots_runtime.dead_letter import MASKED_ATTRIBUTE, DeadLetterer
from ots_runtime.settings import Settings
from tests.support.dlq import DispatchConsumer, has_letters, ots, requested_body
from tests.support.events import eventually

SPEC = ConsumerSpec("dispatch-dlq-test", "OTS_EVENTS", ("ots.visit.cancelled",), max_deliver=2,
                    ack_wait_seconds=2)  # fmt: skip
DISPATCH = DispatchConsumer(SPEC, VISIT_CANCELLED)


async def dead_letter(
    js: JetStreamContext, body: bytes, *, subject: str, seq: int, service: str = "intake",
    error: str = "ValueError: the handler cannot cope", headers: dict[str, str] | None = None,
    stream: str = "OTS_EVENTS",
) -> None:  # fmt: skip
    await DeadLetterer(js, service).send_stored(
        subject=subject, data=body, headers=headers or {"Nats-Msg-Id": f"m-{seq}"},
        stream=stream, stream_seq=seq, error=error, attempts=5,
    )  # fmt: skip


def cancelled(visit_id: str, event_id: str) -> bytes:
    data = VisitCancelled(visit_id=visit_id, reason="moved")
    event = envelope(data, type_=VISIT_CANCELLED.type, source="ots/test", subject=visit_id,
                     event_id=event_id)  # fmt: skip
    return event.model_dump_json().encode()


async def test_listing_an_empty_dlq_says_so(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await ots(settings, "list") == 0
    assert capsys.readouterr().out == "no dead letters\n"


async def test_the_list_has_one_line_per_letter_with_its_reason_on_one_line(
    settings: Settings, nc: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    error = f"ValueError: resident {GRANDMOTHER_NIK}\nwas not expected here " + "x" * 200
    await dead_letter(js, requested_body(), subject="ots.visit.requested", seq=7, error=error)
    await dead_letter(js, b"{not json", subject="ots.visit.cancelled", seq=9, service="metrics")

    assert await ots(settings, "list") == 0
    header, first, second, total = capsys.readouterr().out.splitlines()
    assert header.split() == ["SEQ", "SERVICE", "SUBJECT", "ATTEMPTS", "FAILED_AT", "REASON"]
    assert first.split()[:4] == ["1", "intake", "ots.visit.requested", "5"]
    assert "ValueError: resident ************0002 was not expected here" in first
    assert first.endswith("…") and GRANDMOTHER_NIK not in first
    assert second.split()[:4] == ["2", "metrics", "ots.visit.cancelled", "5"]
    assert total == "2 dead letter(s)"

    assert await ots(settings, "list", "--service", "metrics") == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()[1:-1]] == ["metrics"]
    assert await ots(settings, "list", "--service", "dispatch") == 0
    assert capsys.readouterr().out == "no dead letters of dispatch\n"


async def test_show_prints_the_letter_with_niks_masked_and_names_dropped(
    settings: Settings, nc: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    error = f'UniqueViolationError: Key (nik)=({GRANDSON_NIK}) already exists, "name": "Budi"'
    await dead_letter(js, requested_body(), subject="ots.visit.requested", seq=3, error=error)

    assert await ots(settings, "show", "1") == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["seq"] == 1 and shown["id"] == "dlq.intake.OTS_EVENTS.3"
    assert shown["subject"] == "ots.visit.requested" and shown["attempts"] == 5
    assert shown["error"] == (
        'UniqueViolationError: Key (nik)=(************0004) already exists, "name": "[redacted]"'
    )
    data = shown["original"]["data"]
    assert [r["nik"] for r in data["residents"]] == [
        "************0002", "************0001", "************0004",
    ]  # fmt: skip
    assert all("name" not in r for r in data["residents"]) and "name" not in data["venue"]
    for secret in (GRANDMOTHER_NIK, GRANDSON_NIK, "Siti Aminah", "Dewi Lestari", "Rizky"):
        assert secret not in out


async def test_the_letter_is_redacted_before_it_is_stored_and_without_a_dlq_key_never_replayed(
    nc: Client, settings: Settings, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("ots_runtime.dead_letter._Sealing.key", None)  # no OTS_DLQ_PUBLIC_KEY
    js = nc.jetstream()
    error = f"Key (nik)=({GRANDMOTHER_NIK}) already exists; {{'name': 'Siti Aminah'}}"
    await dead_letter(js, requested_body(), subject="ots.visit.requested", seq=4, error=error,
                      service="dispatch")  # fmt: skip
    stored = json.loads((await js.get_msg(DLQ.name, seq=1)).data or b"")
    assert stored["data"]["error"] == (
        "Key (nik)=(************0002) already exists; {'name': \"[redacted]\"}"
    )
    original = stored["data"]["original"]
    for secret in (GRANDMOTHER_NIK, GRANDSON_NIK, "Siti Aminah", "Dewi Lestari", "Rizky"):
        assert secret not in original
    assert "************0002" in original
    # Its personal data gone and no sealed original kept, it cannot be replayed as it was.
    assert await ots(settings, "replay", "1") == 1
    assert capsys.readouterr().err == (
        "ots dlq replay: kept 1: its personal data was masked and no sealed original was kept "
        "(the service had no OTS_DLQ_PUBLIC_KEY, or the original was too large): its producer "
        "must send it again\n"
    )
    assert [letter.seq for letter in await dlq.letters(js)] == [1]


async def test_show_of_a_sequence_with_no_letter_fails_clearly(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await ots(settings, "show", "42") == 1
    assert capsys.readouterr().err == "ots dlq: no dead letter at OTS_DLQ sequence 42\n"


async def test_purge_without_confirmation_deletes_nothing(
    settings: Settings, nc: Client, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    js = nc.jetstream()
    await dead_letter(js, b"{}", subject="ots.visit.cancelled", seq=1)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert await ots(settings, "purge") == 1
    assert capsys.readouterr().out == ("delete 1 dead letter(s)? type yes: nothing purged\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert await ots(settings, "purge") == 1
    assert await dlq.count(js) == 1


async def test_purge_after_yes_deletes_the_letters_of_the_service_named(
    settings: Settings, nc: Client, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    js = nc.jetstream()
    await dead_letter(js, b"{}", subject="ots.visit.cancelled", seq=1)
    await dead_letter(js, b"{}", subject="ots.visit.cancelled", seq=2)
    await dead_letter(js, b"{}", subject="ots.visit.cancelled", seq=3, service="metrics")
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert await ots(settings, "purge", "--service", "intake") == 0
    assert capsys.readouterr().out.endswith("purged 2 dead letter(s) of intake\n")
    assert [letter.seq for letter in await dlq.letters(js)] == [3]

    assert await ots(settings, "purge", "--yes") == 0
    assert capsys.readouterr().out == "purged 1 dead letter(s)\n"
    assert await dlq.count(js) == 0
    assert await ots(settings, "purge", "--yes") == 0
    assert capsys.readouterr().out == "no dead letters\n"


async def test_a_service_name_with_wildcards_is_refused(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await ots(settings, "purge", "--service", ">", "--yes") == 1
    assert "not a service name" in capsys.readouterr().err


@pytest.fixture
async def applied(settings: Settings, db: asyncpg.Pool) -> AsyncIterator[None]:
    await db.execute("CREATE TABLE dispatch.applied (visit_id text, event_id text)")
    yield


async def before_the_fix(conn: asyncpg.Connection, event: CloudEvent[Any]) -> None:
    raise ValueError(f"cannot cancel {event.data.visit_id} yet")


async def after_the_fix(conn: asyncpg.Connection, event: CloudEvent[Any]) -> None:
    await conn.execute(
        "INSERT INTO dispatch.applied VALUES ($1, $2)", event.data.visit_id, event.id
    )


async def test_a_dead_lettered_event_replayed_after_the_fix_is_applied_exactly_once(
    applied: None, settings: Settings, nc: Client, db: asyncpg.Pool,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    js = nc.jetstream()
    await ensure_consumer(js, SPEC)
    await js.publish("ots.visit.cancelled", cancelled("v-1", "evt-1"),
                     headers={"Nats-Msg-Id": "transport-1", "Ots-Trace": "t-1"})  # fmt: skip
    async with DISPATCH.consuming(nc, db, before_the_fix):
        await eventually(lambda: has_letters(js))
    [found] = await dlq.letters(js)
    assert isinstance(found, dlq.Letter)
    assert found.dead.attempts == SPEC.max_deliver
    assert found.dead.error == "ValueError: cannot cancel v-1 yet"
    assert await db.fetchval("SELECT count(*) FROM dispatch.applied") == 0
    stored_letter = (await js.get_msg(DLQ.name, seq=found.seq)).data or b""

    async with DISPATCH.consuming(nc, db, after_the_fix):
        assert await ots(settings, "replay", str(found.seq)) == 0
        out = capsys.readouterr().out
        assert out.startswith(
            f"replayed {found.seq}: ots.visit.cancelled event evt-1 as OTS_EVENTS"
        )
        replay_seq = int(out.split()[-1])
        await eventually(lambda: DISPATCH.settled_up_to(js, replay_seq))
    assert await db.fetch("SELECT visit_id, event_id FROM dispatch.applied") == [("v-1", "evt-1")]
    assert await dlq.count(js) == 0
    replayed = await js.get_msg("OTS_EVENTS", seq=replay_seq)
    assert replayed.headers == {
        "Nats-Msg-Id": f"replay.{found.seq}.dlq.dispatch.OTS_EVENTS.1", "Ots-Trace": "t-1",
    }  # fmt: skip

    # The letter is gone: the same replay again finds nothing to do.
    assert await ots(settings, "replay", str(found.seq)) == 1
    assert "no dead letter" in capsys.readouterr().err
    # A second copy of the letter (say, a replay whose delete was lost) changes nothing either.
    await js.publish("ots.dlq.dispatch", stored_letter, headers={"Nats-Msg-Id": "copy"})
    async with DISPATCH.consuming(nc, db, after_the_fix):
        [again] = await dlq.replay_all(js, "dispatch")
        assert isinstance(again, dlq.Replayed) and not again.duplicate
        await eventually(lambda: DISPATCH.settled_up_to(js, again.stream_seq))
    assert await db.fetch("SELECT visit_id, event_id FROM dispatch.applied") == [("v-1", "evt-1")]
    assert await dlq.count(js) == 0


async def test_a_gateway_capture_whose_sample_was_withheld_is_kept_not_replayed(
    settings: Settings, nc: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    capture = json.loads(example_event(GATEWAY_CAPTURE).model_dump_json())
    del capture["data"]["sample"]
    await dead_letter(js, json.dumps(capture).encode(), subject="ots.gateway.gw-1.capture", seq=5,
                      service="recording", stream="OTS_GATEWAY")  # fmt: skip
    await dead_letter(js, cancelled("v-2", "evt-2"), subject="ots.visit.cancelled", seq=6,
                      service="dispatch")  # fmt: skip

    assert await ots(settings, "replay", "--all") == 1
    kept, replayed, summary = capsys.readouterr().out.splitlines()
    assert kept.startswith("kept 1 (ots.gateway.gw-1.capture): the biometric sample")
    assert replayed.startswith("replayed 2: ots.visit.cancelled event evt-2")
    assert summary == "1 replayed, 1 kept"
    assert [letter.seq for letter in await dlq.letters(js)] == [1]


# Forged letters: every service may publish its own ots.dlq.<service> ----------------------------


async def events_published(js: JetStreamContext) -> int:
    return int((await js.stream_info("OTS_EVENTS")).state.last_seq)


async def forged(js: JetStreamContext, *, on: str, **changes: Any) -> int:
    """A letter as the DeadLetterer writes it, with `changes` made to its `data` (or its `id`),
    published by a compromised service on `ots.dlq.<on>`: its DLQ sequence."""
    enrolled = example_event(DEVICE_ENROLLED).model_dump_json().encode()
    await DeadLetterer(js, changes.pop("writer", on)).send_stored(
        subject=changes.pop("subject", "ots.device.enrolled"), data=enrolled, headers={},
        stream="OTS_EVENTS", stream_seq=3, error="ValueError: no", attempts=5,
    )  # fmt: skip
    written = await js.get_msg(DLQ.name, seq=(await js.stream_info(DLQ.name)).state.last_seq)
    letter = json.loads(written.data or b"")
    await js.delete_msg(DLQ.name, written.seq or 0)
    letter["id"] = changes.pop("id", letter["id"])
    letter["data"].update(changes)
    ack = await js.publish(f"ots.dlq.{on}", json.dumps(letter).encode(),
                           headers={"Nats-Msg-Id": f"forged-{letter['id']}"})  # fmt: skip
    return ack.seq


async def test_a_forged_letter_for_a_subject_its_service_does_not_consume_is_refused(
    settings: Settings, nc: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    seq = await forged(js, on="metrics")  # metrics never reads ots.device.enrolled
    before = await events_published(js)

    assert await ots(settings, "replay", "--all") == 1
    kept, summary = capsys.readouterr().out.splitlines()
    assert kept == (
        f"kept {seq} (ots.device.enrolled): metrics consumes no ots.device.enrolled from "
        "OTS_EVENTS: a service's letter may only replay what that service reads (forged, or "
        "from a consumer since removed)"
    )
    assert summary == "0 replayed, 1 kept"
    assert await events_published(js) == before
    assert [letter.seq for letter in await dlq.letters(js)] == [seq]


@pytest.mark.parametrize(
    ("forgery", "changes", "reason"),
    [
        ("another service named", {"writer": "recording", "service": "recording"},
         "it names 'recording' as its service but was stored on ots.dlq.metrics: a service "
         "dead-letters only on its own ots.dlq.<service>"),
        ("an id naming another service", {"subject": "ots.visit.cancelled",
                                          "id": "dlq.recording.OTS_EVENTS.3"},
         "its id dlq.recording.OTS_EVENTS.3 does not name metrics as the service that "
         "dead-lettered it (dlq.metrics.<stream>.<sequence>)"),
        ("a stream it does not read the subject from", {"subject": "ots.visit.cancelled",
                                                         "id": "dlq.metrics.OTS_GATEWAY.3"},
         "metrics consumes no ots.visit.cancelled from OTS_GATEWAY: a service's letter may only "
         "replay what that service reads (forged, or from a consumer since removed)"),
    ],
)  # fmt: skip
async def test_a_letter_its_service_could_not_have_written_is_refused_and_nothing_published(
    forgery: str, changes: dict[str, str], reason: str, settings: Settings, nc: Client,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    js = nc.jetstream()
    seq = await forged(js, on="metrics", **changes)
    before = await events_published(js)

    assert await ots(settings, "replay", str(seq)) == 1
    assert capsys.readouterr().err == f"ots dlq replay: kept {seq}: {reason}\n"
    assert await events_published(js) == before
    assert await dlq.count(js) == 1


async def test_a_letter_of_what_its_service_consumes_is_replayed(
    settings: Settings, nc: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    await dead_letter(js, cancelled("v-4", "evt-4"), subject="ots.visit.cancelled", seq=8,
                      service="metrics")  # fmt: skip
    await dead_letter(js, example_event(DEVICE_ENROLLED).model_dump_json().encode(),
                      subject="ots.device.enrolled", seq=9, service="recording")  # fmt: skip

    assert await ots(settings, "replay", "--all") == 0
    first, second, summary = capsys.readouterr().out.splitlines()
    assert first.startswith("replayed 1: ots.visit.cancelled event evt-4")
    assert second.startswith("replayed 2: ots.device.enrolled event ")
    assert summary == "2 replayed, 0 kept"


# A masked letter with no sealed original ---------------------------------------------------------


async def test_a_letter_whose_only_masking_was_a_dropped_name_is_marked_and_never_replayed(
    settings: Settings, nc: Client, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("ots_runtime.dead_letter._Sealing.key", None)  # no OTS_DLQ_PUBLIC_KEY
    js = nc.jetstream()
    event = json.loads(cancelled("v-5", "evt-5"))
    event["data"]["cancelled_by"] = {"name": "Siti Aminah"}
    await dead_letter(js, json.dumps(event).encode(), subject="ots.visit.cancelled", seq=10,
                      service="dispatch")  # fmt: skip
    stored = json.loads((await js.get_msg(DLQ.name, seq=1)).data or b"")
    # The name is gone and left no mark behind: only the letter's own flag tells.
    assert stored["data"]["original"] == json.dumps(
        {**event, "data": {**event["data"], "cancelled_by": {}}}
    )
    assert stored[MASKED_ATTRIBUTE] is True
    before = await events_published(js)

    assert await ots(settings, "replay", "1") == 1
    assert capsys.readouterr().err == (
        "ots dlq replay: kept 1: its personal data was masked and no sealed original was kept "
        "(the service had no OTS_DLQ_PUBLIC_KEY, or the original was too large): its producer "
        "must send it again\n"
    )
    assert await events_published(js) == before
    assert [letter.seq for letter in await dlq.letters(js)] == [1]
