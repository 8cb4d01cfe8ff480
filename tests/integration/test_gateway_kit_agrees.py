"""`ots-gateway verify` gives recording's own verdict on every message of a day, honest and
forged: recording runs on real NATS and PostgreSQL, the kit reads the same messages offline."""

import base64
import dataclasses
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from contracts.enums import Modality, RejectionReason
from contracts.gateway.inbound import best_effort_ids, read
from contracts.gateway.judge import DEFAULT_MAX_MESSAGE_BYTES as MAX_BYTES
from contracts.gateway.signing import GENESIS_HASH
from ots.simulate.rules import every_slot
from ots.simulate.tablet import GatewayMessage, SimulatedDevice
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    Scene,
    configured,
    eventually,
    gateway_drained,
    running_scene,
)

FINGER = Modality.FINGER
settling_at_once = configured(close_grace_seconds=0)


def with_body(message: GatewayMessage, **changes: Any) -> GatewayMessage:
    body = json.loads(message.body)
    data = changes.pop("data", {})
    body.update(changes)
    body["data"].update(data)
    return dataclasses.replace(message, body=json.dumps(body).encode())


def a_day(scene: Scene) -> list[GatewayMessage]:
    """Two people fully recorded, with every kind of forgery and mistake mixed in."""
    d, visit, (a, b) = scene.device, scene.visit_id, scene.niks
    day = [d.service(visit, "kk", 2), *d.full_recording(visit, a, quality=90)]
    day += [d.exception(visit, b, FINGER, "right_thumb"),
            *[d.capture(visit, b, m, p, quality=90) for m, p in every_slot()
              if p != "right_thumb"]]  # fmt: skip
    day.append(d.exception(visit, b, Modality.FACE, reason="bandage"))  # never excepted
    day.append(day[3])  # a re-send of a capture: ignored, not refused
    impostor = SimulatedDevice(d.device_id)  # the right name, another key
    day.append(impostor.capture(visit, a, FINGER, "left_index", quality=90))
    head_a = d.chains[(visit, a)]
    day.append(with_body(d.capture(visit, a, FINGER, "left_index", quality=95),
                         data={"sample": base64.b64encode(b"\x00" * 64).decode()}))  # fmt: skip
    d.chains[(visit, a)] = (0, GENESIS_HASH)
    day.append(d.capture(visit, a, FINGER, "left_index", quality=95))  # sequence 1 again
    d.chains[(visit, a)] = (head_a[0], "00" * 32)
    day.append(d.capture(visit, a, FINGER, "left_ring", quality=95))  # does not follow
    head_b = d.chains[(visit, b)]
    d.chains[(visit, b)] = (head_b[0] + 1, "11" * 32)
    day.append(d.capture(visit, b, FINGER, "left_ring", quality=95))  # predecessor never sent
    d.chains[(visit, a)] = head_a
    reused = day[1].data["capture_id"]
    day.append(d.capture(visit, a, FINGER, "left_little", quality=95, capture_id=reused))
    d.chains[(visit, a)] = head_a
    elsewhere = with_body(day[2], id="moved-to-another-subject")
    day.append(dataclasses.replace(elsewhere, subject="ots.gateway.gw-team07-02.capture",
                                   msg_id="moved-to-another-subject"))  # fmt: skip
    day.append(with_body(d.service(visit, "kia"), source="ots/gateway/gw-team07-02"))
    day.append(SimulatedDevice("gw-nobody-knows").capture(visit, a, FINGER, "left_index"))
    day.append(GatewayMessage(f"ots.gateway.{d.device_id}.capture", b'{"specversion": "1.0"',
                              "not-json", {}))  # fmt: skip
    day.append(d.capture(visit, b, Modality.FACE, sample=bytes(210_000)))
    return day


def log_line(message: GatewayMessage) -> str:
    try:
        event: Any = json.loads(message.body)
    except ValueError:
        event = message.body.decode()
    return json.dumps({"subject": message.subject, "event": event})


def item_of(message: GatewayMessage, verdict: str) -> str:
    """The id recording's rejection names: the item's, or what can be read of an unreadable
    message's (recording reads no further than its size limit)."""
    if verdict in ("rejected malformed", "rejected too_large"):
        return best_effort_ids(message.subject, message.body[:MAX_BYTES])[1]
    return read(message.subject, message.body, MAX_BYTES).item_id


def kits_verdicts(tmp_path: Path, day: list[GatewayMessage], keys: dict[str, str]) -> list[str]:
    path = tmp_path / "day.jsonl"
    path.write_text("".join(log_line(m) + "\n" for m in day))
    args = [f"--key={device}={key}" for device, key in keys.items()]
    answer = subprocess.run([sys.executable, "-m", "ots_gateway.cli", "verify", *args, str(path)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    lines = answer.stdout.splitlines()
    assert answer.returncode == (1 if any(" rejected " in f" {v} " for v in lines) else 0)
    assert [int(line.split()[0]) for line in lines] == list(range(1, len(day) + 1))
    return [line.split(" ", 1)[1] for line in lines]


async def test_verify_gives_recordings_verdict_on_every_message_of_a_day(
    scene: Scene, tmp_path: Path
) -> None:
    day = [*a_day(scene), scene.device.visit_closed(scene.visit_id)]
    verdicts = kits_verdicts(tmp_path, day, {scene.device.device_id: scene.device.public_key})

    await scene.send(day[:-1])
    await eventually(lambda: gateway_drained(scene.nc))
    await scene.send(day[-1:])
    completed = await scene.events("ots.visit.completed", expect=1, within=30)
    assert [e["data"]["visit_id"] for e in completed] == [scene.visit_id]
    recorded = await scene.events("ots.recording.completed", expect=2, within=30)
    assert sorted(e["data"]["nik"] for e in recorded) == sorted(scene.niks)

    expected = Counter(
        (item_of(m, v), v.removeprefix("rejected ")) for m, v in zip(day, verdicts, strict=True)
        if v != "ok"
    )  # fmt: skip
    found = await scene.events("ots.recording.rejected", expect=sum(expected.values()), within=30)
    recordings = Counter((e["data"]["capture_id"], e["data"]["reason"]) for e in found)
    assert recordings == expected
    every_reason = {reason for _, reason in expected}
    assert every_reason >= {r.value for r in (
        RejectionReason.BAD_SIGNATURE, RejectionReason.HASH_MISMATCH,
        RejectionReason.REPLAYED_CHAIN, RejectionReason.BROKEN_CHAIN,
        RejectionReason.DUPLICATE_CAPTURE_ID, RejectionReason.FACE_NOT_EXCEPTABLE,
        RejectionReason.DEVICE_MISMATCH, RejectionReason.SOURCE_MISMATCH,
        RejectionReason.UNKNOWN_DEVICE, RejectionReason.MALFORMED, RejectionReason.TOO_LARGE,
    )}  # fmt: skip

    accepted = {m.data["capture_id"] for m, v in zip(day, verdicts, strict=True)
                if v == "ok" and "capture_id" in m.data}  # fmt: skip
    stored = {r["capture_id"] for r in await scene.db.fetch(
        "SELECT capture_id FROM recording.captures WHERE visit_id = $1 AND linked",
        scene.visit_id)}  # fmt: skip
    assert stored == accepted
