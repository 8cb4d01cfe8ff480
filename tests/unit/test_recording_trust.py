"""Device trust, pure: the instant a message is judged at, its bounds, and its inbox key."""

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.enums import Modality
from contracts.gateway.inbound import Inbound, read
from contracts.gateway.reasons import Reason, Rejected
from contracts.gateway.verify import Bounds, Device, Visit, verify, visit_day_start
from ots.simulate.tablet import GatewayMessage, SimulatedDevice
from services.recording.gateway.consumer import stored_inbox_keys as inbox_keys

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 10:00 WIB on 10 March
TODAY = date(2026, 3, 10)
TABLET = SimulatedDevice("gw-team01-01")


def device(
    expires_at: datetime = NOW + timedelta(days=1), revoked: bool = False,
    revoked_at: datetime | None = None,
) -> Device:  # fmt: skip
    key = base64.b64decode(TABLET.public_key)
    return Device(TABLET.device_id, "team-01", key, expires_at, revoked, revoked_at)


def visit(day: date | None = TODAY) -> Visit:
    return Visit("visit-1", "team-01", "school", "350921", cancelled=False, visit_date=day)


def inbound(message: GatewayMessage) -> Inbound:
    return read(message.subject, message.body, 1_000_000)


def captured(at: datetime) -> Inbound:
    return inbound(TABLET.capture("visit-1", "3509214101050001", Modality.FACE, captured_at=at))


def judged(item: Inbound, trusted: Device | None = None) -> Reason | None:
    try:
        verify(item, trusted or device(), visit(), NOW, Bounds(timedelta(minutes=5)))
    except Rejected as rejected:
        return rejected.reason
    return None


@pytest.mark.parametrize(
    ("at", "trusted", "reason"),
    [
        (NOW - timedelta(hours=1), device(expires_at=NOW - timedelta(minutes=1)), None),
        (NOW, device(expires_at=NOW - timedelta(minutes=1)), Reason.EXPIRED_DEVICE),
        (NOW - timedelta(hours=1), device(revoked=True, revoked_at=NOW - timedelta(minutes=5)),
         None),
        (NOW, device(revoked=True, revoked_at=NOW - timedelta(minutes=5)), Reason.REVOKED_DEVICE),
        (NOW - timedelta(hours=1), device(revoked=True), Reason.REVOKED_DEVICE),
        (NOW + timedelta(minutes=4), None, None),
        (NOW + timedelta(minutes=6), None, Reason.CAPTURED_IN_FUTURE),
        (visit_day_start(TODAY), None, None),
        (visit_day_start(TODAY) - timedelta(seconds=1), None, Reason.CAPTURED_BEFORE_VISIT_DAY),
    ],
)  # fmt: skip
def test_a_capture_is_judged_at_its_signed_time_within_bounds(
    at: datetime, trusted: Device | None, reason: Reason | None
) -> None:
    assert judged(captured(at), trusted) is reason


def test_a_message_without_a_signed_time_is_judged_at_its_arrival() -> None:
    closed = inbound(TABLET.visit_closed("visit-1"))
    assert judged(closed, device(expires_at=NOW - timedelta(seconds=1))) is Reason.EXPIRED_DEVICE
    assert judged(closed, device(expires_at=NOW + timedelta(seconds=1))) is None


def test_the_source_must_name_the_subjects_device() -> None:
    message = TABLET.capture("visit-1", "3509214101050001", Modality.FACE, captured_at=NOW)
    body = json.loads(message.body) | {"source": "ots/gateway/gw-team01-02"}
    item = read(message.subject, json.dumps(body).encode(), 1_000_000)
    assert judged(item) is Reason.SOURCE_MISMATCH


def test_the_inbox_key_is_per_device_and_the_watcher_finds_it() -> None:
    message = TABLET.visit_closed("visit-1")
    item = inbound(message)
    assert item.inbox_key == f"gw-team01-01:{item.event_id}"
    assert item.inbox_key in inbox_keys(message.body, 7, message.subject)
    assert inbox_keys(message.body, 7, "ots.visit.requested") == ["nats:7", item.event_id]
