"""A masked dead letter keeps its original sealed to the administrators' key: replayable after
a fix by whoever holds the private key, and by nobody else."""

import base64
import json
import logging
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from contracts import CloudEvent
from contracts.examples import DAUGHTER_IN_LAW_NIK, GRANDMOTHER_NIK, GRANDSON_NIK, example_event
from contracts.streams import DLQ
from contracts.subjects import GATEWAY_CAPTURE, VISIT_REQUESTED
from ots import dlq
from ots.cli import offline_command, parser
from ots.embedded_env import (
    EmbeddedServers,
    child_env,
    development_dlq_key,
    load_runtime_env,
)
from ots_runtime.broker import ConsumerSpec, ensure_consumer
from ots_runtime.dead_letter import (
    MASKED_ATTRIBUTE,
    MAX_SEALED_BYTES,
    SEALED_ATTRIBUTE,
    DeadLetterer,
    seal_originals_to,
)
from ots_runtime.sealing import PrivateKey, private_keys, public_text
from ots_runtime.settings import Settings
from tests.support.dlq import DispatchConsumer, has_letters, ots, requested_body
from tests.support.events import eventually

SPEC = ConsumerSpec("dispatch-sealed-dlq-test", "OTS_EVENTS", ("ots.visit.requested",),
                    max_deliver=2, ack_wait_seconds=2)  # fmt: skip
DISPATCH = DispatchConsumer(SPEC, VISIT_REQUESTED)
SECRETS = (GRANDMOTHER_NIK, DAUGHTER_IN_LAW_NIK, GRANDSON_NIK, "Siti Aminah", "Dewi Lestari",
           "Rizky")  # fmt: skip
ADMIN = PrivateKey.generate("dlq-admin")
ORIGINAL_HEADERS = {"Nats-Msg-Id": "transport-1", "Ots-Trace": "t-1",
                    "Ots-Note": f"asked for by {GRANDMOTHER_NIK}"}  # fmt: skip


@pytest.fixture
def sealing(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The service started with the administrators' public key, as production is configured."""
    monkeypatch.setattr("ots_runtime.dead_letter._Sealing.key", None)  # restored afterwards
    configured = settings.model_copy(update={"dlq_public_key": public_text(ADMIN.public)})
    assert seal_originals_to(configured, "intake") == ADMIN.public
    return configured


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "dlq.key"
    path.write_text(ADMIN.text() + "\n")
    return path


async def stored_letter(js: JetStreamContext, seq: int = 1) -> tuple[bytes, dict[str, Any]]:
    """The letter's bytes as stored (headers, as the stream API gives them, and body), and its
    body parsed."""
    raw = await js.get_msg(DLQ.name, seq=seq)
    stored_headers = base64.b64decode(raw.hdrs) if raw.hdrs else b""
    return stored_headers + (raw.data or b""), json.loads(raw.data or b"")


async def letter_of(js: JetStreamContext, body: bytes, seq: int = 4, **kw: Any) -> None:
    await DeadLetterer(js, "dispatch", **kw).send_stored(
        subject="ots.visit.requested", data=body, headers=ORIGINAL_HEADERS, stream="OTS_EVENTS",
        stream_seq=seq, error=f"ValueError: {GRANDMOTHER_NIK} 'name': 'Siti Aminah'", attempts=5,
    )  # fmt: skip


# A consumer that fails until the fix, then applies -------------------------------------------


@pytest.fixture
async def applied(settings: Settings, db: asyncpg.Pool) -> AsyncIterator[None]:
    await db.execute("CREATE TABLE dispatch.applied (visit_id text, event_id text, niks text[])")
    yield


async def before_the_fix(conn: asyncpg.Connection, event: CloudEvent[Any]) -> None:
    raise ValueError(f"cannot plan {event.data.residents[0].nik} ({event.data.residents[0].name})")


async def after_the_fix(conn: asyncpg.Connection, event: CloudEvent[Any]) -> None:
    niks = [resident.nik for resident in event.data.residents]
    await conn.execute("INSERT INTO dispatch.applied VALUES ($1, $2, $3)", event.data.visit_id,
                       event.id, niks)  # fmt: skip


async def test_a_masked_letter_is_replayed_from_its_sealed_original_with_the_private_key(
    applied: None, sealing: Settings, nc: Client, db: asyncpg.Pool, key_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    js = nc.jetstream()
    await ensure_consumer(js, SPEC)
    body = requested_body()
    await js.publish("ots.visit.requested", body, headers=ORIGINAL_HEADERS)
    async with DISPATCH.consuming(nc, db, before_the_fix):
        await eventually(lambda: has_letters(js))

    # Stored masked: neither NIK nor name anywhere in the letter's bytes, headers included.
    stored, letter = await stored_letter(js)
    assert SEALED_ATTRIBUTE in letter and letter[MASKED_ATTRIBUTE] is True
    assert [s for s in SECRETS if s.encode() in stored] == []
    assert b"************0002" in stored

    # Without the private key the letter is kept, and the operator is told which key it needs.
    assert await ots(sealing, "replay", "1") == 1
    err = capsys.readouterr().err
    assert err == (
        "ots dlq replay: kept 1: its original is sealed to DLQ key dlq-admin: give that private "
        "key (OTS_DLQ_PRIVATE_KEY, or --key-file) to open it\n"
    )
    assert await dlq.count(js) == 1

    async with DISPATCH.consuming(nc, db, after_the_fix):
        assert await ots(sealing, "replay", "1", "--key-file", str(key_file)) == 0
        out = capsys.readouterr().out
        assert out.startswith("replayed 1: ots.visit.requested event ")
        replay_seq = int(out.split()[-1])
        await eventually(lambda: DISPATCH.settled_up_to(js, replay_seq))
    sent = json.loads(body)
    assert await db.fetch("SELECT visit_id, event_id, niks FROM dispatch.applied") == [
        (sent["data"]["visit_id"], sent["id"], [GRANDMOTHER_NIK, DAUGHTER_IN_LAW_NIK, GRANDSON_NIK])
    ]
    replayed = await js.get_msg("OTS_EVENTS", seq=replay_seq)
    assert replayed.data == body  # byte for byte
    # Its headers as they were (the NIK in one included), but for a fresh `Nats-Msg-Id`.
    assert replayed.headers == {
        **ORIGINAL_HEADERS, "Nats-Msg-Id": "replay.1.dlq.dispatch.OTS_EVENTS.1",
    }  # fmt: skip
    assert await dlq.count(js) == 0


# Reading a letter ------------------------------------------------------------------------------


async def test_show_prints_the_original_only_with_original_and_the_private_key(
    sealing: Settings, nc: Client, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    await letter_of(js, requested_body())

    assert await ots(sealing, "show", "1") == 0
    out = capsys.readouterr().out
    assert json.loads(out)["sealed_original"] == "sealed to DLQ key dlq-admin"
    assert [s for s in SECRETS if s in out] == []

    assert await ots(sealing, "show", "1", "--original") == 1
    shown = capsys.readouterr()
    assert shown.out == "" and "sealed to DLQ key dlq-admin: give that private key" in shown.err

    with_key = sealing.model_copy(update={"dlq_private_key": ADMIN.text()})
    assert await ots(with_key, "show", "1", "--original") == 0
    original = json.loads(capsys.readouterr().out)
    assert original["headers"] == ORIGINAL_HEADERS
    assert original["body"].encode() == requested_body()
    assert await ots(sealing, "show", "1", "--original", "--key-file", str(key_file)) == 0
    assert json.loads(capsys.readouterr().out) == original


async def test_a_letter_sealed_to_another_key_names_the_key_it_needs(
    sealing: Settings, nc: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    await letter_of(js, requested_body())
    other = sealing.model_copy(update={"dlq_private_key": PrivateKey.generate("dlq-old").text()})

    assert await ots(other, "replay", "1") == 1
    assert capsys.readouterr().err == (
        "ots dlq replay: kept 1: its original is sealed to DLQ key dlq-admin, not to the key(s) "
        "given (dlq-old)\n"
    )
    assert await dlq.count(js) == 1


# Tampering -----------------------------------------------------------------------------------


def flipped(box: str) -> str:
    """The box with one character of its ciphertext changed."""
    last = box[-1]
    return box[:-1] + ("A" if last != "A" else "B")


async def republished_letter(js: JetStreamContext, body: bytes, msg_id: str) -> int:
    ack = await js.publish("ots.dlq.dispatch", body, headers={"Nats-Msg-Id": msg_id})
    return ack.seq


@pytest.mark.parametrize("tamper", ["ciphertext", "another letter's box", "subject"])
async def test_a_sealed_original_altered_or_moved_is_refused_and_nothing_is_published(
    tamper: str, sealing: Settings, nc: Client, key_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    js = nc.jetstream()
    await letter_of(js, requested_body(), seq=4)
    await letter_of(js, requested_body(), seq=5)
    _, letter = await stored_letter(js, 1)
    if tamper == "ciphertext":
        letter[SEALED_ATTRIBUTE] = flipped(letter[SEALED_ATTRIBUTE])
    elif tamper == "another letter's box":
        letter[SEALED_ATTRIBUTE] = (await stored_letter(js, 2))[1][SEALED_ATTRIBUTE]
    else:  # redirected: the replay would publish it to a subject of the attacker's choosing
        letter["data"]["subject"] = "ots.visit.cancelled"
    seq = await republished_letter(js, json.dumps(letter).encode(), f"tampered-{tamper}")
    events_before = (await js.stream_info("OTS_EVENTS")).state.last_seq

    assert await ots(sealing, "replay", str(seq), "--key-file", str(key_file)) == 1
    assert capsys.readouterr().err == (
        f"ots dlq replay: kept {seq}: its sealed original is refused: it does not open with DLQ "
        "key dlq-admin for this letter (altered, or moved from another letter)\n"
    )
    assert (await js.stream_info("OTS_EVENTS")).state.last_seq == events_before
    assert [letter.seq for letter in await dlq.letters(js)] == [1, 2, seq]


# What is sealed, and when ----------------------------------------------------------------------


async def test_an_original_with_no_personal_data_is_kept_as_it_was_and_not_sealed(
    sealing: Settings, nc: Client
) -> None:
    js = nc.jetstream()
    await DeadLetterer(js, "intake").send_stored(
        subject="ots.visit.cancelled", data=b'{"data": {"visit_id": "v-1"}}',
        headers={"Nats-Msg-Id": "m-1"}, stream="OTS_EVENTS", stream_seq=1,
        error="ValueError: no", attempts=5,
    )  # fmt: skip
    _, letter = await stored_letter(js)
    assert SEALED_ATTRIBUTE not in letter and MASKED_ATTRIBUTE not in letter


async def test_a_gateway_capture_is_sealed_without_its_sample_and_still_not_replayed(
    sealing: Settings, nc: Client, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    capture = json.loads(example_event(GATEWAY_CAPTURE).model_dump_json())
    sample = capture["data"].pop("sample")  # what the gateway consumer's dead letters keep
    await DeadLetterer(js, "recording").send_stored(
        subject="ots.gateway.gw-1.capture", data=json.dumps(capture).encode(), headers={},
        stream="OTS_GATEWAY", stream_seq=3, error="ValueError: no", attempts=5,
    )  # fmt: skip
    stored, letter = await stored_letter(js)
    assert SEALED_ATTRIBUTE in letter and capture["data"]["nik"].encode() not in stored

    with_key = sealing.model_copy(update={"dlq_private_key": ADMIN.text()})
    assert await ots(with_key, "show", "1", "--original") == 0
    assert (
        sample not in capsys.readouterr().out
    )  # the biometric sample is never kept, sealed or not
    assert await ots(sealing, "replay", "1", "--key-file", str(key_file)) == 1
    assert "the biometric sample is never kept" in capsys.readouterr().err


async def test_an_original_too_large_to_seal_is_kept_masked_and_not_replayed(
    sealing: Settings, nc: Client, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    large = {"data": {"nik": GRANDMOTHER_NIK, "note": "x" * MAX_SEALED_BYTES}}
    await letter_of(js, json.dumps(large).encode())
    stored, letter = await stored_letter(js)
    assert SEALED_ATTRIBUTE not in letter and GRANDMOTHER_NIK.encode() not in stored
    assert letter[MASKED_ATTRIBUTE] is True

    assert await ots(sealing, "replay", "1", "--key-file", str(key_file)) == 1
    assert "masked and no sealed original was kept" in capsys.readouterr().err


async def test_an_original_just_within_the_bound_is_sealed_and_opens_whole(
    sealing: Settings, nc: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    js = nc.jetstream()
    body = json.dumps({"data": {"nik": GRANDMOTHER_NIK, "note": "x"}}).encode()
    padding = MAX_SEALED_BYTES - len(body) - len(json.dumps(ORIGINAL_HEADERS)) - 1
    body = body.replace(b'"x"', b'"' + b"x" * padding + b'"')
    await letter_of(js, body)  # the letter, sealed copy included, fits the stream's 1 MiB
    _, letter = await stored_letter(js)
    assert SEALED_ATTRIBUTE in letter

    with_key = sealing.model_copy(update={"dlq_private_key": ADMIN.text()})
    assert await ots(with_key, "show", "1", "--original") == 0
    assert json.loads(capsys.readouterr().out)["body"].encode() == body


async def test_a_service_without_the_public_key_warns_once_and_keeps_letters_masked(
    settings: Settings, nc: Client, key_file: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr("ots_runtime.dead_letter._Sealing.key", None)
    with caplog.at_level(logging.WARNING, logger="ots_runtime.dead_letter"):
        assert seal_originals_to(settings, "intake") is None
    [warning] = caplog.records
    assert "OTS_DLQ_PUBLIC_KEY is not set" in warning.getMessage()
    js = nc.jetstream()
    await letter_of(js, requested_body())
    _, letter = await stored_letter(js)
    assert SEALED_ATTRIBUTE not in letter and letter[MASKED_ATTRIBUTE] is True

    assert await ots(settings, "replay", "1", "--key-file", str(key_file)) == 1
    assert "masked and no sealed original was kept" in capsys.readouterr().err


def test_a_malformed_public_key_stops_the_service_from_starting(settings: Settings) -> None:
    with pytest.raises(ValueError, match="OTS_DLQ_PUBLIC_KEY must be `kid:<base64 of 32 bytes>`"):
        seal_originals_to(settings.model_copy(update={"dlq_public_key": "no-kid"}), "intake")


# Keys ------------------------------------------------------------------------------------------


def test_keygen_prints_a_pair_that_seals_and_opens(capsys: pytest.CaptureFixture[str]) -> None:
    assert offline_command(parser().parse_args(["dlq", "keygen"])) == 0
    public_line, private_line = capsys.readouterr().out.splitlines()
    public = public_line.removeprefix("OTS_DLQ_PUBLIC_KEY=")
    [private] = private_keys(private_line.removeprefix("OTS_DLQ_PRIVATE_KEY=")).values()
    assert public_text(private.public) == public


def test_ots_run_keeps_one_development_key_pair_and_gives_services_only_its_public_key(
    base_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTS_DLQ_PRIVATE_KEY", "x")  # say, the operator's shell has one
    dev = Settings(env="development", data_dir=str(tmp_path), nats_url=base_settings.nats_url,
                   database_url=base_settings.database_url, dlq_private_key=None)  # fmt: skip
    servers = EmbeddedServers(dev)  # both servers given: it starts none
    running = servers.start()
    try:
        key = development_dlq_key(tmp_path)  # made by start, once, owner-only
        assert stat.S_IMODE(os.stat(tmp_path / "dlq-private-key").st_mode) == 0o600
        assert running.dlq_public_key == public_text(key.public)
        env = child_env(running)
        assert env["OTS_DLQ_PUBLIC_KEY"] == public_text(key.public)
        assert "OTS_DLQ_PRIVATE_KEY" not in env

        runtime_env = tmp_path / "runtime.env"
        assert stat.S_IMODE(os.stat(runtime_env).st_mode) == 0o600
        monkeypatch.delenv("OTS_DLQ_PRIVATE_KEY")
        beside = load_runtime_env(Settings(env="development", data_dir=str(tmp_path)))
        assert beside.dlq_private_key == key.text()  # for `ots dlq replay` beside `ots run`
        assert EmbeddedServers(dev).start().dlq_public_key == running.dlq_public_key  # restart
    finally:
        servers.stop()
