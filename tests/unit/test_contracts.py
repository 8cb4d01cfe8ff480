"""The message contract: every subject has a valid example, a stream, and a model that refuses
what the contract forbids."""

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ValidationError

from contracts import events as ev
from contracts import subjects
from contracts.examples import (
    DEVICE_ID,
    EXAMPLES,
    canonical_bytes,
    example_event,
    example_subject,
)
from contracts.jember import is_inside_jember, is_jember_kecamatan
from contracts.streams import ADVISORIES, ALL_STREAMS
from contracts.subjects import ALL, EventSpec, envelope_model, spec_for_subject

SPECS = pytest.mark.parametrize("spec", ALL, ids=lambda spec: spec.pattern)
GATEWAY_SPECS = [spec for spec in ALL if spec.producer == "gateway"]
GatewayMessage = ev.GatewayCapture | ev.GatewayException | ev.GatewayService | ev.GatewayVisitClosed


def nats_filter_covers(subject_filter: str, pattern: str) -> bool:
    """Whether every subject matching `pattern` (whose `*` is any one token) matches the filter:
    `*` in the filter takes one token, a trailing `>` one or more."""
    filter_tokens, tokens = subject_filter.split("."), pattern.split(".")
    for position, wanted in enumerate(filter_tokens):
        if wanted == ">":
            return len(tokens) > position
        if position >= len(tokens) or wanted not in ("*", tokens[position]):
            return False
    return len(tokens) == len(filter_tokens)


def values_named(value: Any, name: str) -> Iterator[Any]:
    """Every value under the key `name`, at any depth of a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == name:
                yield item
            yield from values_named(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from values_named(item, name)


def example_json(spec: EventSpec) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(example_event(spec).model_dump_json())
    return document


def test_every_subject_has_an_example() -> None:
    assert set(EXAMPLES) == {spec.pattern for spec in ALL}


def test_subject_patterns_and_types_are_unique() -> None:
    assert len({spec.pattern for spec in ALL}) == len(ALL)
    assert len({spec.type for spec in ALL}) == len(ALL)


@SPECS
def test_every_example_is_an_instance_of_its_subjects_model(spec: EventSpec) -> None:
    assert type(EXAMPLES[spec.pattern]) is spec.model


@SPECS
def test_every_event_survives_a_json_round_trip(spec: EventSpec) -> None:
    event = example_event(spec)

    parsed = envelope_model(spec).model_validate_json(event.model_dump_json())

    assert parsed == event
    assert parsed.data == EXAMPLES[spec.pattern]


@SPECS
def test_every_envelope_is_cloudevents_1_0_json(spec: EventSpec) -> None:
    document = example_json(spec)

    assert document["specversion"] == "1.0"
    assert document["datacontenttype"] == "application/json"
    assert document["type"] == spec.type
    assert document["time"].endswith("+07:00")


@SPECS
def test_the_type_is_the_pattern_without_its_wildcard_plus_v1(spec: EventSpec) -> None:
    assert "*" not in spec.type
    assert spec.type == spec.pattern.replace(".*", "") + ".v1"


def test_the_type_of_per_device_subjects_omits_the_device_id() -> None:
    assert subjects.GATEWAY_CAPTURE.type == "ots.gateway.capture.v1"
    assert subjects.GATEWAY_VISIT_CLOSED.type == "ots.gateway.visit-closed.v1"
    assert subjects.RECAPTURE_REQUESTED.type == "ots.recapture.requested.v1"
    assert DEVICE_ID not in example_event(subjects.GATEWAY_CAPTURE).type


@SPECS
def test_spec_for_subject_finds_the_spec_of_every_concrete_subject(spec: EventSpec) -> None:
    assert spec_for_subject(example_subject(spec)) is spec


def test_spec_for_subject_matches_any_device_id() -> None:
    assert spec_for_subject("ots.gateway.gw-team11-02.capture") is subjects.GATEWAY_CAPTURE
    assert spec_for_subject("ots.recapture.requested.gw-team11-02") is (
        subjects.RECAPTURE_REQUESTED
    )
    assert spec_for_subject("ots.dlq.recording") is subjects.DEAD_LETTER


@pytest.mark.parametrize(
    "subject",
    ["ots.visit", "ots.visit.requested.extra", "ots.gateway.capture", "ots.unknown.thing", ""],
)
def test_spec_for_subject_knows_no_subject_outside_the_contract(subject: str) -> None:
    assert spec_for_subject(subject) is None


@SPECS
def test_every_subject_is_kept_by_exactly_one_stream(spec: EventSpec) -> None:
    covering = [
        (stream.name, subject_filter)
        for stream in ALL_STREAMS
        for subject_filter in stream.subjects
        if nats_filter_covers(subject_filter, spec.pattern)
    ]

    assert len(covering) == 1, covering


def test_every_stream_filter_keeps_some_subject_of_the_contract() -> None:
    for stream in (s for s in ALL_STREAMS if s is not ADVISORIES):  # JetStream's own subjects
        for subject_filter in stream.subjects:
            assert any(nats_filter_covers(subject_filter, spec.pattern) for spec in ALL), (
                subject_filter
            )


@pytest.mark.parametrize(
    ("subject_filter", "pattern", "covered"),
    [
        ("ots.visit.>", "ots.visit.requested", True),
        ("ots.gateway.>", "ots.gateway.*.capture", True),
        ("ots.gateway.*.capture", "ots.gateway.*.capture", True),
        ("ots.gateway.gw-1.capture", "ots.gateway.*.capture", False),
        ("ots.visit.>", "ots.visit", False),
        ("ots.visit.*", "ots.visit.requested.extra", False),
        ("ots.team.>", "ots.visit.requested", False),
    ],
)
def test_nats_filter_semantics_of_the_stream_check(
    subject_filter: str, pattern: str, covered: bool
) -> None:
    assert nats_filter_covers(subject_filter, pattern) is covered


def test_examples_are_in_jember() -> None:
    data = [example_json(spec)["data"] for spec in ALL]
    codes = [code for d in data for code in values_named(d, "kecamatan_code")]
    niks = [nik for d in data for nik in values_named(d, "nik")]
    niks += [nik for d in data for absent in values_named(d, "absent_niks") for nik in absent]
    places = [p for d in data for key in ("venue", "base") for p in values_named(d, key)]

    assert codes and niks and places
    # A NIK begins with the code of the kecamatan where it was issued.
    assert all(is_jember_kecamatan(code) for code in codes + [nik[:6] for nik in niks])
    assert all(is_inside_jember(place["lat"], place["lon"]) for place in places)


@pytest.mark.parametrize("spec", GATEWAY_SPECS, ids=lambda spec: spec.pattern)
def test_gateway_examples_are_signed_by_the_enrolled_device(spec: EventSpec) -> None:
    enrolled = EXAMPLES[subjects.DEVICE_ENROLLED.pattern]
    assert isinstance(enrolled, ev.DeviceEnrolled)
    data = EXAMPLES[spec.pattern]
    assert isinstance(data, GatewayMessage)
    public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(enrolled.public_key))

    public_key.verify(base64.b64decode(data.signature), canonical_bytes(data))

    assert data.device_id == enrolled.device_id == DEVICE_ID
    assert example_subject(spec) == spec.subject(DEVICE_ID)


def test_the_capture_example_is_the_first_link_of_its_chain() -> None:
    capture = EXAMPLES[subjects.GATEWAY_CAPTURE.pattern]
    assert isinstance(capture, ev.GatewayCapture)
    sample_hash = hashlib.sha256(base64.b64decode(capture.sample)).hexdigest()
    first_link = hashlib.sha256(hashlib.sha256(b"").digest() + bytes.fromhex(sample_hash))

    assert capture.sequence == 1
    assert capture.sha256 == sample_hash
    assert capture.chain_hash == first_link.hexdigest()


def test_the_dead_letter_example_carries_a_readable_original() -> None:
    letter = EXAMPLES[subjects.DEAD_LETTER.pattern]
    assert isinstance(letter, ev.DeadLetter)

    assert spec_for_subject(letter.subject) is subjects.VISIT_REQUESTED
    assert json.loads(letter.original)["id"] == letter.headers["Nats-Msg-Id"]


def with_changes(spec: EventSpec, changes: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = EXAMPLES[spec.pattern].model_dump(mode="json")
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        target = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[leaf] = value
    return data


@pytest.mark.parametrize(
    ("spec", "changes"),
    [
        (subjects.VISIT_REQUESTED, {"residents.0.nik": "350921520348000"}),
        (subjects.VISIT_REQUESTED, {"residents.0.nik": "35092152034800AB"}),
        (subjects.VISIT_REQUESTED, {"venue.type": "shopping_mall"}),
        (subjects.VISIT_REQUESTED, {"venue.kecamatan_code": "35092"}),
        (subjects.VISIT_REQUESTED, {"services": []}),
        (subjects.VISIT_REQUESTED, {"priority": "critical"}),
        (subjects.VISIT_REQUESTED, {"fixed_start": "2026-12-08T09:00:00"}),
        (subjects.VISIT_REQUESTED, {"residents.0.needs": ["wheelchair_user"]}),
        (subjects.TEAM_UPDATED, {"shift.start": "7:30"}),
        (subjects.TEAM_UPDATED, {"working_days": ["monday"]}),
        (subjects.DEVICE_ENROLLED, {"public_key": "not-a-key"}),
        (subjects.DEVICE_ENROLLED, {"kind": "scanner"}),
        (subjects.GATEWAY_CAPTURE, {"quality": 101}),
        (subjects.GATEWAY_CAPTURE, {"sequence": 0}),
        (subjects.GATEWAY_CAPTURE, {"sha256": "DB" * 32}),
        (subjects.GATEWAY_CAPTURE, {"modality": "voice"}),
        (subjects.GATEWAY_CAPTURE, {"captured_at": "2026-12-08T09:52:13"}),
        (subjects.GATEWAY_CAPTURE, {"device_id": "gw team03"}),
        (subjects.GATEWAY_CAPTURE, {"device_id": "gw-*"}),
        (subjects.GATEWAY_SERVICE, {"service_type": "passport"}),
        (subjects.GATEWAY_VISIT_CLOSED, {"absent_niks": ["123"]}),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else value.pattern,
)
def test_the_model_refuses_what_the_contract_forbids(
    spec: EventSpec, changes: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        spec.model.model_validate(with_changes(spec, changes))


def test_a_refused_envelope_names_the_bad_field() -> None:
    document = example_json(subjects.VISIT_REQUESTED)
    document["data"]["residents"][0]["nik"] = "350921520348000"

    with pytest.raises(ValidationError) as refused:
        envelope_model(subjects.VISIT_REQUESTED).model_validate(document)

    assert refused.value.errors()[0]["loc"] == ("data", "residents", 0, "nik")


def test_an_envelope_without_a_time_offset_is_refused() -> None:
    document = example_json(subjects.VISIT_CANCELLED)
    document["time"] = "2026-12-05T08:30:00"

    with pytest.raises(ValidationError):
        envelope_model(subjects.VISIT_CANCELLED).model_validate(document)


def test_a_device_id_is_one_subject_token() -> None:
    data = with_changes(subjects.DEVICE_ENROLLED, {"device_id": "gw.team03.01"})

    with pytest.raises(ValidationError):
        ev.DeviceEnrolled.model_validate(data)


def test_models_are_immutable() -> None:
    cancelled = EXAMPLES[subjects.VISIT_CANCELLED.pattern]
    assert isinstance(cancelled, ev.VisitCancelled)

    with pytest.raises(ValidationError):
        cancelled.reason = "changed"  # type: ignore[misc]


def test_unknown_fields_are_ignored_so_producers_can_add_fields() -> None:
    data = with_changes(subjects.VISIT_CANCELLED, {"cancelled_by": "operator-7"})

    assert isinstance(ev.VisitCancelled.model_validate(data), BaseModel)
