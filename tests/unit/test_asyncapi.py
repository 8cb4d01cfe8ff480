"""The AsyncAPI document describes every subject, its schemas accept the examples, and the
checked-in copy is the generated one."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import contracts
from contracts import subjects
from contracts.asyncapi import build_document, channel_id, message_name, render_document
from contracts.examples import example_event
from contracts.subjects import ALL, EventSpec

CHECKED_IN = Path(contracts.__file__).with_name("asyncapi.json")
SPECS = pytest.mark.parametrize("spec", ALL, ids=lambda spec: spec.pattern)

Json = Any


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def resolve(document: Json, ref: str) -> Json:
    """A local JSON pointer such as `#/components/schemas/Venue`."""
    assert ref.startswith("#/"), ref
    node = document
    for token in ref[2:].split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def refs_in(node: Json) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def schema_errors(document: Json, schema: Json, value: Json, at: str = "$") -> list[str]:
    """The keywords pydantic emits, checked just enough to catch a schema that disagrees with
    its model; not a general JSON Schema validator."""
    if "$ref" in schema:
        return schema_errors(document, resolve(document, schema["$ref"]), value, at)
    if "anyOf" in schema:
        branches = [schema_errors(document, branch, value, at) for branch in schema["anyOf"]]
        return [] if any(not errors for errors in branches) else [f"{at}: matches no anyOf"]
    expected = _JSON_TYPES.get(schema.get("type", ""), (object,))
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        return [f"{at}: {value!r} is not {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        return [f"{at}: {value!r} is not {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: {value!r} is not one of {schema['enum']}"]
    errors = []
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{at}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, int | float) and not schema.get("minimum", value) <= value:
        errors.append(f"{at}: {value} is below {schema['minimum']}")
    if isinstance(value, int | float) and not value <= schema.get("maximum", value):
        errors.append(f"{at}: {value} is above {schema['maximum']}")
    if isinstance(value, str) and len(value) > schema.get("maxLength", len(value)):
        errors.append(f"{at}: longer than {schema['maxLength']}")
    if isinstance(value, dict):
        missing = [name for name in schema.get("required", []) if name not in value]
        errors += [f"{at}: {name} is missing" for name in missing]
        for name, item in value.items():
            item_schema = schema.get("properties", {}).get(name, schema.get("additionalProperties"))
            if isinstance(item_schema, dict):
                errors += schema_errors(document, item_schema, item, f"{at}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += schema_errors(document, schema["items"], item, f"{at}[{index}]")
    return errors


def payload_schema(document: dict[str, Any], spec: EventSpec) -> Json:
    return document["components"]["messages"][message_name(spec)]["payload"]


def example_json(spec: EventSpec) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(example_event(spec).model_dump_json())
    return value


def test_the_document_declares_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "OTS"
    assert document["info"]["version"]
    assert document["servers"]["nats"]["protocol"] == "nats"


def test_the_document_has_a_channel_for_every_subject(document: dict[str, Any]) -> None:
    assert set(document["channels"]) == {channel_id(spec) for spec in ALL}


def test_per_device_channels_name_their_device_id_parameter(document: dict[str, Any]) -> None:
    capture = document["channels"][channel_id(subjects.GATEWAY_CAPTURE)]
    recapture = document["channels"][channel_id(subjects.RECAPTURE_REQUESTED)]
    dead_letters = document["channels"][channel_id(subjects.DEAD_LETTER)]

    assert capture["address"] == "ots.gateway.{device_id}.capture"
    assert set(capture["parameters"]) == {"device_id"}
    assert recapture["address"] == "ots.recapture.requested.{device_id}"
    assert dead_letters["address"] == "ots.dlq.{service}"
    assert set(dead_letters["parameters"]) == {"service"}


@SPECS
def test_every_address_parameter_is_declared(document: dict[str, Any], spec: EventSpec) -> None:
    channel = document["channels"][channel_id(spec)]

    assert set(re.findall(r"{(\w+)}", channel["address"])) == set(channel.get("parameters", {}))


@SPECS
def test_every_producer_sends_and_every_consumer_receives(
    document: dict[str, Any], spec: EventSpec
) -> None:
    operations = document["operations"]
    expected = {f"{spec.producer}_sends_{channel_id(spec)}": "send"}
    expected |= {
        f"{consumer}_receives_{channel_id(spec)}": "receive" for consumer in spec.consumers
    }

    assert {name: operations[name]["action"] for name in expected} == expected


def test_operation_ids_read_as_sentences(document: dict[str, Any]) -> None:
    assert document["operations"]["intake_sends_ots_visit_requested"]["action"] == "send"
    assert document["operations"]["recording_receives_ots_gateway_capture"]["action"] == "receive"


def test_every_ref_resolves_inside_the_document(document: dict[str, Any]) -> None:
    refs = set(refs_in(document))

    assert refs
    for ref in refs:
        assert resolve(document, ref) is not None, ref


def test_the_schemas_of_the_models_are_in_the_components(document: dict[str, Any]) -> None:
    assert {spec.model.__name__ for spec in ALL} <= set(document["components"]["schemas"])


@SPECS
def test_every_payload_schema_accepts_its_example(
    document: dict[str, Any], spec: EventSpec
) -> None:
    schema = payload_schema(document, spec)
    event = example_json(spec)
    data_schema = resolve(document, schema["properties"]["data"]["$ref"])

    assert set(schema["required"]) <= set(event)
    assert set(data_schema["required"]) <= set(event["data"])
    assert schema_errors(document, schema, event) == []


@SPECS
def test_every_message_carries_its_example(document: dict[str, Any], spec: EventSpec) -> None:
    message = document["components"]["messages"][message_name(spec)]

    assert message["examples"][0]["payload"] == example_json(spec)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("data", "residents", 0, "nik"), "350921520348000"),
        (("data", "venue", "type"), "shopping_mall"),
        (("data", "expected_people"), 0),
        (("data", "requester"), "dinsos"),
        (("specversion",), "0.3"),
        (("type",), "ots.visit.cancelled.v1"),
    ],
)
def test_the_schema_check_refuses_what_the_model_refuses(
    document: dict[str, Any], path: tuple[str | int, ...], value: Json
) -> None:
    event: Json = example_json(subjects.VISIT_REQUESTED)
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    assert schema_errors(document, payload_schema(document, subjects.VISIT_REQUESTED), event)


def test_the_schema_check_misses_no_required_field(document: dict[str, Any]) -> None:
    event = example_json(subjects.VISIT_REQUESTED)
    del event["data"]["window"]

    errors = schema_errors(document, payload_schema(document, subjects.VISIT_REQUESTED), event)

    assert errors == ["$.data: window is missing"]


def test_the_document_is_the_same_on_every_run() -> None:
    assert render_document() == render_document()


def test_the_checked_in_document_is_up_to_date() -> None:
    checked_in = CHECKED_IN.read_text(encoding="utf-8") if CHECKED_IN.exists() else ""

    assert checked_in == render_document(), "contracts/asyncapi.json is stale: run make asyncapi"
