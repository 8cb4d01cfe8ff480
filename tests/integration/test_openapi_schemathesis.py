"""Every service answers as its OpenAPI document says: Schemathesis, with every check it has,
sends generated requests (valid and invalid; stateful where the document has links) to each
service running on real NATS and PostgreSQL. No 5xx, and every status, content type, header
and body is one the document declares."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.engine import Status, events, from_schema
from schemathesis.engine.statistic import Statistic
from schemathesis.schemas import BaseSchema

from ots_runtime.settings import Settings
from services.dispatch.app import create_app as dispatch_app
from services.intake.app import create_app as intake_app
from services.metrics.app import create_app as metrics_app
from services.recording.app import create_app as recording_app
from tests.integration.intake_fixtures import Tokens, bearer, intake, tokens
from tests.integration.test_recording_fixtures import recording_config
from tests.support.http_service import serving
from tests.support.intake import intake_config
from tests.support.requests import a_home_visit

__all__ = ["intake", "tokens"]

MIN_CASES = 1000
# Generated examples per operation and phase: enough for the four services together to pass
# MIN_CASES, few enough for the run to stay short on two shared cores.
MAX_EXAMPLES = 20
SEED = 11
# What Schemathesis expects of a request its schema calls valid (its default, 5xx left out:
# not_a_server_error refuses those anyway)...
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]
# ...and where a rule of the domain may still refuse one with a 422 the operation documents:
# rules across fields or about today, which JSON Schema cannot state.
DOMAIN_RULES = [
    ("POST", "/v1/visits"),  # the window from today, ages on its first day, services per venue
    ("GET", "/v1/visits"),  # a cursor is one the API issued
    ("PUT", "/v1/teams/{team_id}"),  # a shift ends after it starts
    ("PUT", "/v1/devices/{device_id}"),  # expiry in the future; the team exists
    ("GET", "/v1/reports/services"),  # `from` not after `to`
    ("GET", "/v1/reports/services.png"),  # `from` not after `to`
]


@dataclass(frozen=True)
class Identities:
    """Who Schemathesis sends requests as, in the order it tries them on an operation (it
    moves on when one is refused), and the peers whose objects must stay apart: it reads
    each peer's objects as that peer and replays the read as the others."""

    names: tuple[str, ...]
    peers: tuple[str, ...] = ()


# Agencies first, so that the visits, plans and enrollments they read are their own and
# object_level_authorization tries each agency's reads as the other one.
AS_AGENCIES = Identities(("agency", "other_agency", "operator"), peers=("agency", "other_agency"))
AS_OPERATOR = Identities(("operator",))
Narrow = Callable[[BaseSchema], BaseSchema]


def every_operation(schema: BaseSchema) -> BaseSchema:
    return schema


def visits_only(schema: BaseSchema) -> BaseSchema:
    return schema.include(tag="visits")


def all_but_visits(schema: BaseSchema) -> BaseSchema:
    return schema.exclude(tag="visits")


@dataclass
class Outcome:
    service: str
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    stateful_ran: bool = False
    has_links: bool = False


def auth_file(tokens: Tokens, identities: Identities, folder: Path) -> Path:
    """The identities as a Web Fuzzing Commons auth file, the form Schemathesis reads."""
    path = folder / f"{'-'.join(identities.names)}.json"
    path.write_text(json.dumps({"auth": [
        {"name": name,
         "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {getattr(tokens, name)}"}]}
        for name in identities.names
    ]}))  # fmt: skip
    return path


def config_for(identities: Identities, path: Path) -> schemathesis.Config:
    auth: dict[str, Any] = {"path": str(path)} | (
        {"peers": list(identities.peers)} if identities.peers else {}
    )
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "cache": {"enabled": False},
        "checks": {"enabled": True},
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {"stateful": {"max-steps": 10}},
        "workers": 1,
        "operations": [
            {"include-method": method, "include-path": path,
             "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}}}
            for method, path in DOMAIN_RULES
        ],
        "auth": {"wfc": auth},
    })  # fmt: skip


def has_links(document: dict[str, Any]) -> bool:
    return any(
        "links" in answer
        for item in document["paths"].values()
        for operation in item.values()
        for answer in operation.get("responses", {}).values()
    )


def fuzz(outcome: Outcome, base_url: str, config: schemathesis.Config, narrow: Narrow) -> None:
    """Schemathesis's whole run (examples, coverage, fuzzing, stateful) against one served
    document, as its CLI runs it."""
    document = httpx.get(f"{base_url}/openapi.json").json()
    outcome.has_links = has_links(document)
    schema = narrow(schemathesis.openapi.from_dict(document, config=config))
    schema.config.base_url = base_url
    statistic = Statistic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            statistic.on_scenario_finished(event.recorder)
        elif isinstance(event, events.PhaseFinished) and event.phase.name.value == "stateful":
            outcome.stateful_ran |= event.status is Status.SUCCESS
        elif isinstance(event, events.NonFatalError):
            outcome.failures.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            outcome.failures.append(f"schemathesis stopped: {event.exception!r}")
    outcome.cases += statistic.total_cases
    for label, grouped in statistic.failures.items():
        for group in grouped.values():
            outcome.failures += [
                f"{label}: {failure.title}\n{failure.message}\n{group.code_sample}"
                for failure in group.failures
            ]


@pytest.mark.timeout(300)
async def test_every_service_answers_as_its_openapi_document_says(
    settings: Settings, tokens: Tokens, tmp_path: Path
) -> None:
    agencies_first = config_for(AS_AGENCIES, auth_file(tokens, AS_AGENCIES, tmp_path))
    operator = config_for(AS_OPERATOR, auth_file(tokens, AS_OPERATOR, tmp_path))
    services: list[tuple[str, Callable[[], FastAPI], list[tuple[schemathesis.Config, Narrow]]]] = [
        # Teams and devices are the operator's alone: tried as the operator, not as agencies.
        ("intake", lambda: intake_app(settings, intake_config()),
         [(agencies_first, visits_only), (operator, all_but_visits)]),
        ("dispatch", lambda: dispatch_app(settings), [(agencies_first, every_operation)]),
        ("recording", lambda: recording_app(settings, recording_config()),
         [(agencies_first, every_operation)]),
        ("metrics", lambda: metrics_app(settings), [(agencies_first, every_operation)]),
    ]  # fmt: skip
    outcomes = []
    for name, make, runs in services:
        outcome = Outcome(name)
        async with serving(make()) as client:
            base_url = str(client.base_url).rstrip("/")
            for config, narrow in runs:
                # Schemathesis is synchronous: it runs in a thread while the service serves
                # from this loop.
                await asyncio.to_thread(fuzz, outcome, base_url, config, narrow)
        outcomes.append(outcome)

    for o in outcomes:
        print(f"schemathesis {o.service}: {o.cases} cases, {len(o.failures)} failures, "
              f"stateful {'run' if o.stateful_ran else 'not run: no links'}")  # fmt: skip
    total = sum(o.cases for o in outcomes)
    print(f"schemathesis: {total} cases against the four services")
    assert [f for o in outcomes for f in o.failures] == []
    assert total >= MIN_CASES
    assert [o.stateful_ran for o in outcomes] == [o.has_links for o in outcomes]
    assert any(o.has_links for o in outcomes)


async def test_an_empty_idempotency_key_is_refused_not_a_server_error(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    """Found by Schemathesis: an empty key reached the database as a key with no body hash."""
    headers = bearer(tokens.operator) | {"Idempotency-Key": ""}
    response = await intake.post("/v1/visits", json=a_home_visit(), headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_a_method_a_path_does_not_serve_is_405_naming_every_method_it_does(
    intake: httpx.AsyncClient,
) -> None:
    response = await intake.request("DELETE", "/v1/visits")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == "application/problem+json"
    assert (await intake.request("TRACE", "/v1/teams/t-1")).headers["allow"] == "PUT"
