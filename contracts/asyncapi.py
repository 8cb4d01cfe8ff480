"""The AsyncAPI 3.0.0 document of every OTS message, generated from `contracts.subjects.ALL`.

`python -m contracts.asyncapi > contracts/asyncapi.json` (`make asyncapi`) refreshes the
checked-in copy; a unit test fails while the two differ.
"""

import copy
import json
import sys
from typing import Any

from contracts import subjects
from contracts.examples import DEVICE_ID, example_event, example_subject
from contracts.subjects import EventSpec, envelope_model

ASYNCAPI_VERSION = "3.0.0"
# Follows the `.v1` suffix of every CloudEvents type: a breaking change bumps both.
CONTRACT_VERSION = "1.0.0"
SCHEMA_REF_TEMPLATE = "#/components/schemas/{model}"

Document = dict[str, Any]

_PARAMETERS: dict[str, Document] = {
    "device_id": {
        "description": "The enrolled device's id; NATS permissions confine a gateway to its own.",
        "examples": [DEVICE_ID],
    },
    "service": {
        "description": "The service that could not process the message.",
        "examples": ["intake", "dispatch", "recording", "metrics"],
    },
}

_HEADERS: Document = {
    "type": "object",
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "description": "The CloudEvents `id`, so that JetStream drops re-sends.",
        }
    },
    "required": ["Nats-Msg-Id"],
}


def parameter_name(spec: EventSpec) -> str:
    return "service" if spec is subjects.DEAD_LETTER else "device_id"


def channel_id(spec: EventSpec) -> str:
    """`ots_gateway_capture` for `ots.gateway.*.capture`: the type less its version."""
    return spec.type.removesuffix(".v1").replace(".", "_").replace("-", "_")


def channel_address(spec: EventSpec) -> str:
    placeholder = "{" + parameter_name(spec) + "}"
    return ".".join(placeholder if token == "*" else token for token in spec.pattern.split("."))


def message_name(spec: EventSpec) -> str:
    return spec.model.__name__


def operation_id(actor: str, verb: str, spec: EventSpec) -> str:
    return f"{actor}_{verb}_{channel_id(spec)}"


def _hoist_definitions(schema: Document, schemas: Document) -> Document:
    for name, definition in schema.pop("$defs", {}).items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are both named {name}")
    return schema


def _channel(spec: EventSpec) -> Document:
    channel: Document = {
        "address": channel_address(spec),
        "title": spec.pattern,
        "description": spec.summary,
        "messages": {message_name(spec): {"$ref": f"#/components/messages/{message_name(spec)}"}},
    }
    if "*" in spec.pattern:
        name = parameter_name(spec)
        channel["parameters"] = {name: copy.deepcopy(_PARAMETERS[name])}
    return channel


def _message(spec: EventSpec, schemas: Document) -> Document:
    schema = envelope_model(spec).model_json_schema(ref_template=SCHEMA_REF_TEMPLATE)
    # The model takes any `type`; on this channel only one is right.
    schema["properties"]["type"]["const"] = spec.type
    event = example_event(spec)
    return {
        "name": message_name(spec),
        "title": spec.type,
        "summary": spec.summary,
        "contentType": "application/json",
        "headers": copy.deepcopy(_HEADERS),
        "payload": _hoist_definitions(schema, schemas),
        "examples": [
            {
                "name": example_subject(spec),
                "headers": {"Nats-Msg-Id": event.id},
                "payload": json.loads(event.model_dump_json()),
            }
        ],
    }


def _operations(spec: EventSpec) -> Document:
    channel_ref = {"$ref": f"#/channels/{channel_id(spec)}"}
    message_ref = {"$ref": f"#/channels/{channel_id(spec)}/messages/{message_name(spec)}"}
    roles = [(spec.producer, "send", "sends")]
    roles += [(consumer, "receive", "receives") for consumer in spec.consumers]
    return {
        operation_id(actor, verb, spec): {
            "action": action,
            "channel": channel_ref,
            "messages": [message_ref],
            "summary": f"{actor} {verb} {spec.pattern}: {spec.summary}",
        }
        for actor, action, verb in roles
    }


def build_document() -> Document:
    schemas: Document = {}
    channels: Document = {}
    messages: Document = {}
    operations: Document = {}
    for spec in subjects.ALL:
        channels[channel_id(spec)] = _channel(spec)
        messages[message_name(spec)] = _message(spec, schemas)
        operations.update(_operations(spec))
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "OTS",
            "version": CONTRACT_VERSION,
            "description": (
                "On the Spot population-administration services of Jember: intake, dispatch, "
                "recording, metrics and the teams' device gateways. Every message body is a "
                "CloudEvents 1.0 JSON envelope."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": "localhost:4222",
                "protocol": "nats",
                "description": (
                    "NATS with JetStream (streams OTS_EVENTS, OTS_GATEWAY, OTS_DLQ; key-value "
                    "buckets OTS_WORKLIST and OTS_FEEDBACK, keyed by device id, values "
                    "Worklist and Feedback: see gateway/README.md)."
                ),
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render_document() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    sys.stdout.write(render_document())


if __name__ == "__main__":
    main()
