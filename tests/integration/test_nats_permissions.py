"""deploy/nats/nats.conf on a real nats-server: every service does its real work with its own
user, and nothing more; each device gateway is confined to its own subjects and inbox.

The server runs the shipped nats.conf (its JetStream directory, gateway listener port and
certificate moved to temporary ones, the certificate made by deploy/nats/dev_cert.py) and the
shipped example gateways.conf, listening on free ports. Services connect to the plaintext
client port, gateways to the TLS WebSocket listener (wss://), trusting the development
authority. Clients ask for their replies under `_INBOX.<user>`, as nats.conf requires.
Refusals are read from the server's `-ERR 'Permissions Violation ...'`, which nats-py hands to
the error callback (lower-cased); a refused request also times out.
"""

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import ssl
import subprocess
import sys
import typing
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from contracts import events as contract_events
from contracts import examples
from contracts.streams import ADVISORIES
from contracts.subjects import ALL as ALL_SPECS
from contracts.subjects import (
    DEAD_LETTER,
    GATEWAY_CAPTURE,
    RECAPTURE_REQUESTED,
    ROUTE_PLANNED,
    TEAM_UPDATED,
    VISIT_REQUESTED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
    EventSpec,
)
from ots.registry import all_consumers, services
from ots_runtime.broker import ConsumerSpec, provision, streams_present
from ots_runtime.consumer import EventConsumer
from ots_runtime.embedded import free_port, nats_server_binary, wait_for_port
from ots_runtime.max_deliveries import watcher_spec
from ots_runtime.outbox import OutboxRelay, enqueue
from ots_runtime.settings import Settings
from ots_runtime.subscriber import Durable, consuming, inbox_of
from services.intake import read_model
from services.metrics.adapters.snapshot import _lags
from tests.support.deploy_tools import load_yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nats"
SERVICES = ("intake", "dispatch", "recording", "metrics")
DEVICE_A = examples.DEVICE_ID  # the contract's example device: its examples are signed
DEVICE_B = "gw-team07-01"
EXAMPLE_DEVICES = [DEVICE_A, DEVICE_B]  # what the shipped gateways.conf was generated for
REFUSAL_WAIT = 0.5
SHIPPED_STORE = "/data/jetstream"
SHIPPED_CERTS = "/etc/nats/tls"  # where compose mounts deploy/nats/tls
SHIPPED_GATEWAY_PORT = "port: 8443"
CERT_HOSTS = ["localhost", "127.0.0.1"]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DEPLOY / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gateway_users = _load("gateway_users")
dev_cert = _load("dev_cert")


def password(user: str) -> str:
    return f"pw{user.replace('-', '')}x7Q"  # letters first: the server parses env values


def server_env() -> dict[str, str]:
    env = {f"OTS_NATS_{s.upper()}_PASSWORD": password(s) for s in (*SERVICES, "admin")}
    for device in EXAMPLE_DEVICES:
        env[gateway_users.password_variable(device)] = password(gateway_users.user_name(device))
    return {**os.environ, **env}


@dataclass
class Broker:
    url: str
    store: Path
    gateway_port: int
    ca: Path  # the development authority that signed the gateway listener's certificate
    gateway_passwords: dict[str, str] = field(default_factory=dict)  # else password(user)

    @property
    def gateway_url(self) -> str:
        return f"wss://localhost:{self.gateway_port}"

    def trusting(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def password(self, user: str) -> str:
        return self.gateway_passwords.get(user) or password(user)


@contextlib.contextmanager
def running(config: Path, ports: list[int], env: dict[str, str]) -> Iterator[None]:
    """nats-server on this config, once it listens on every port; its log on failure."""
    log_path = config.with_name("nats-server.log")
    log = log_path.open("wb")
    args = [nats_server_binary(), "-c", str(config), "-a", "127.0.0.1"]
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for port in ports:
            wait_for_port(port, timeout=15, process=process)
    except Exception:
        log.close()
        raise AssertionError(log_path.read_text()) from None
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """The shipped nats.conf and gateways.conf, side by side in a temporary directory, with
    JetStream's directory, the client and gateway ports and the certificate moved there (the
    server refuses `-sd` beside a configured store directory)."""
    tmp = tmp_path_factory.mktemp("nats-permissions")
    dev_cert.make_certificate(tmp / "tls", CERT_HOSTS)
    shipped = (DEPLOY / "nats.conf").read_text()
    assert shipped.count(f'store_dir: "{SHIPPED_STORE}"') == 1
    assert shipped.count(SHIPPED_GATEWAY_PORT) == 1 and shipped.count(SHIPPED_CERTS) == 2
    assert shipped.count("port: 4222") == 1
    port, gateway_port = free_port(), free_port()
    config = (
        shipped.replace(SHIPPED_STORE, str(tmp / "store"))
        .replace(SHIPPED_CERTS, str(tmp / "tls"))
        .replace(SHIPPED_GATEWAY_PORT, f"port: {gateway_port}")
        .replace("port: 4222", f"port: {port}")
    )
    (tmp / "nats.conf").write_text(config)
    (tmp / "gateways.conf").write_text((DEPLOY / "gateways.conf").read_text())
    with running(tmp / "nats.conf", [port, gateway_port], server_env()):
        yield Broker(f"nats://127.0.0.1:{port}", tmp / "store", gateway_port, tmp / "tls/ca.crt")


@dataclass
class Session:
    """One client connected as one user, with what the server refused it."""

    user: str
    nc: Client
    errors: list[str] = field(default_factory=list)

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream(timeout=2)

    def saw(self, text: str) -> bool:
        return any(text.lower() in error.lower() for error in self.errors)  # nats-py lowers it

    async def refused(self, text: str) -> None:
        """The server's -ERR arrives before its PONG, but nats-py may call back a bit later."""
        await self.nc.flush()
        expected = f"permissions violation for {text}"
        for _ in range(200):
            if self.saw(expected):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{self.user}: no {expected!r} among {self.errors}")

    async def refused_publish(self, subject: str) -> None:
        await self.nc.publish(subject, b"{}")
        await self.refused(f'publish to "{subject}"')

    async def refused_subscription(self, subject: str) -> None:
        await self.nc.subscribe(subject)
        await self.refused(f'subscription to "{subject}"')

    async def close(self) -> None:
        await self.nc.close()


async def connect_as(broker: Broker, user: str, *, inbox_prefix: str | None = None) -> Session:
    """What ots_runtime.broker.connect must do for a user: replies under `_INBOX.<user>`.
    A gateway comes in as a device does: over wss://, verifying the server's certificate."""
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    gateway = user.startswith("gateway-")
    nc = await nats.connect(
        broker.gateway_url if gateway else broker.url, user=user,
        password=broker.password(user), name=f"test-{user}",
        inbox_prefix=inbox_prefix or f"_INBOX.{user}", error_cb=on_error,
        tls=broker.trusting() if gateway else None,
        allow_reconnect=False, connect_timeout=2,
    )  # fmt: skip
    return Session(user, nc, errors)


@pytest.fixture(scope="module")
async def admin(broker: Broker) -> AsyncIterator[Session]:
    """`ots streams` as the administrator: the streams and every durable consumer."""
    session = await connect_as(broker, "admin")
    consumers = all_consumers()
    assert ("OTS_GATEWAY", "recording-gateway") in {(c.stream, c.durable) for c in consumers}
    await provision(session.js, consumers)
    yield session
    await session.close()


@pytest.fixture
async def connected(broker: Broker, admin: Session) -> AsyncIterator[dict[str, Session]]:
    """Every service, and gateways A and B, each connected as itself."""
    users = [*SERVICES, *(gateway_users.user_name(d) for d in EXAMPLE_DEVICES)]
    sessions = {user: await connect_as(broker, user) for user in users}
    sessions["A"] = sessions[gateway_users.user_name(DEVICE_A)]
    sessions["B"] = sessions[gateway_users.user_name(DEVICE_B)]
    yield sessions
    for user in users:
        await sessions[user].close()


def concrete_subject(spec: EventSpec, service: str) -> str:
    if spec is DEAD_LETTER:
        return spec.subject(service)
    return spec.subject(DEVICE_A) if "*" in spec.pattern else spec.pattern


def stream_of(subject: str) -> str:
    if subject.startswith("ots.gateway."):
        return "OTS_GATEWAY"
    return "OTS_DLQ" if subject.startswith("ots.dlq.") else "OTS_EVENTS"


def example_body(spec: EventSpec) -> bytes:
    return examples.example_event(spec).model_dump_json().encode()


async def publish_as(session: Session, spec: EventSpec, body: bytes | None = None) -> str:
    """Publish as the outbox relay does (`publish_async`), waiting for the stream's ack."""
    subject = concrete_subject(spec, session.user)
    msg_id = str(uuid.uuid4())
    pending = await session.js.publish_async(
        subject, body or example_body(spec), headers={"Nats-Msg-Id": msg_id}
    )
    ack = await asyncio.wait_for(pending, timeout=2)
    assert ack.stream == stream_of(subject) and not ack.duplicate, (session.user, subject)
    return msg_id


async def total_messages(admin: Session) -> int:
    infos = [await admin.js.stream_info(s) for s in ("OTS_EVENTS", "OTS_GATEWAY", "OTS_DLQ")]
    return sum(info.state.messages for info in infos)


# --- the generator and the shipped example ------------------------------------------------


def test_the_shipped_gateways_conf_is_what_the_generator_writes() -> None:
    shipped = (DEPLOY / "gateways.conf").read_text()
    assert shipped == gateway_users.render_gateway_users(EXAMPLE_DEVICES)
    run = subprocess.run([sys.executable, str(DEPLOY / "gateway_users.py"), *EXAMPLE_DEVICES],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert run.stdout == shipped


def test_the_generator_knows_the_contracts_gateway_subjects_and_ids() -> None:
    kinds = {s.pattern.removeprefix("ots.gateway.*.") for s in ALL_SPECS if s.producer == "gateway"}
    assert set(gateway_users.GATEWAY_KINDS) == kinds
    id_pattern: Any = typing.get_args(contract_events.Id)[1].pattern
    assert gateway_users.DEVICE_ID.pattern in id_pattern.replace("+", "{1,64}")
    assert {ROUTE_PLANNED.pattern, RECAPTURE_REQUESTED.pattern} == {
        gateway_users.ROUTES, "ots.recapture.requested.*"}  # fmt: skip


@pytest.mark.parametrize(
    "device_ids",
    [["a.b"], ["*"], [">"], ["gw 1"], [""], ["x" * 65], ["gw-1", "gw-1"], ["gw-1", "GW_1"]],
)
def test_the_generator_refuses_ids_that_could_widen_or_share_a_permission(
    device_ids: list[str],
) -> None:
    with pytest.raises(ValueError):
        gateway_users.render_gateway_users(device_ids)
    run = subprocess.run([sys.executable, str(DEPLOY / "gateway_users.py"), *device_ids],
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 2 and "gateway_users:" in run.stderr and not run.stdout


# --- who may connect ------------------------------------------------------------------------


async def test_jetstream_keeps_its_files_where_it_is_told(admin: Session, broker: Broker) -> None:
    assert any(p.is_file() for p in broker.store.rglob("*"))


@pytest.mark.parametrize(("user", "secret"), [(None, None), ("intake", "wrong"), ("nobody", "x")])
async def test_strangers_and_wrong_passwords_are_refused(
    broker: Broker, admin: Session, user: str | None, secret: str | None
) -> None:
    async def quiet(_: Exception) -> None:
        pass

    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(broker.url, user=user, password=secret, allow_reconnect=False,
                           connect_timeout=2, error_cb=quiet)  # fmt: skip


# --- services: their own subjects ---------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_publishes_what_it_produces_and_nothing_else(
    connected: dict[str, Session], admin: Session, service: str
) -> None:
    me = connected[service]
    before = await total_messages(admin)
    mine = [s for s in ALL_SPECS if s.producer == service or s is DEAD_LETTER]
    for spec in mine:
        await publish_as(me, spec)
    assert await total_messages(admin) == before + len(mine)

    for spec in ALL_SPECS:
        if spec not in mine:
            await me.refused_publish(concrete_subject(spec, service))
    for other in SERVICES:
        if other != service:
            await me.refused_publish(f"ots.dlq.{other}")
    await me.refused_publish("ots.anything.else")
    await asyncio.sleep(0.1)  # a refused message is dropped, never stored
    assert await total_messages(admin) == before + len(mine)


async def test_metrics_publishes_only_its_dead_letters(connected: dict[str, Session]) -> None:
    metrics = connected["metrics"]
    for spec in ALL_SPECS:
        if spec is not DEAD_LETTER:
            await metrics.refused_publish(concrete_subject(spec, "metrics"))
    await metrics.refused_publish("ots.metrics.anything")


def _durables(service: str) -> list[ConsumerSpec]:
    return [c for c in services()[service].consumers if c.stream != ADVISORIES.name]


def _feeder(durable: ConsumerSpec) -> EventSpec:
    """A subject this durable reads, to put one message in front of it."""
    return next(s for s in ALL_SPECS if s.pattern in durable.filter_subjects)


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_binds_fetches_and_acks_its_own_durables(
    connected: dict[str, Session], admin: Session, service: str
) -> None:
    me = connected[service]
    assert await streams_present(me.js)  # /readyz
    for durable in _durables(service):
        feeder = _feeder(durable)
        producer = connected["A" if feeder.producer == "gateway" else feeder.producer]
        msg_id = await publish_as(producer, feeder)

        await me.js.consumer_info(durable.stream, durable.durable)
        sub = await me.js.pull_subscribe_bind(durable.durable, stream=durable.stream)
        fetched: list[Msg] = []
        while not any((m.headers or {}).get("Nats-Msg-Id") == msg_id for m in fetched):
            fetched += await sub.fetch(100, timeout=2)
        await fetched[0].in_progress()
        for msg in fetched:
            await msg.ack_sync(timeout=2)  # the server confirms each ack
        await sub.unsubscribe()

        info = await admin.js.consumer_info(durable.stream, durable.durable)
        assert info.num_ack_pending == 0, durable
    assert not me.errors, me.errors


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_reads_its_max_deliveries_advisories_and_the_messages_they_name(
    connected: dict[str, Session], admin: Session, service: str
) -> None:
    me = connected[service]
    watcher = watcher_spec(service, _durables(service))
    await me.js.consumer_info(ADVISORIES.name, watcher.durable)
    sub = await me.js.pull_subscribe_bind(watcher.durable, stream=ADVISORIES.name)
    with contextlib.suppress(NatsTimeout):
        await sub.fetch(1, timeout=0.5)
    await sub.unsubscribe()
    await publish_as(connected["intake"], VISIT_REQUESTED)
    last = (await admin.js.stream_info("OTS_EVENTS")).state.last_seq
    assert (await me.js.get_msg("OTS_EVENTS", last)).subject == VISIT_REQUESTED.pattern
    if service == "recording":
        await publish_as(connected["A"], GATEWAY_CAPTURE)
        last = (await admin.js.stream_info("OTS_GATEWAY")).state.last_seq
        assert await me.js.delete_msg("OTS_GATEWAY", last)
    assert not me.errors, me.errors


async def test_metrics_sees_the_lag_of_every_consumer(connected: dict[str, Session]) -> None:
    lags = await _lags(connected["metrics"].js)
    assert {(lag.stream, lag.consumer) for lag in lags} == {
        (c.stream, c.durable) for c in all_consumers()
    }
    assert not connected["metrics"].errors


# --- services: nobody else's durable, no other way in -------------------------------------


async def test_fetching_from_another_services_durable_gets_nothing(
    connected: dict[str, Session],
) -> None:
    """Through nats-py as a service would: the pull request is refused, the fetch times out."""
    intake = connected["intake"]
    sub = await intake.js.pull_subscribe_bind("dispatch-view", stream="OTS_EVENTS")
    with pytest.raises(TimeoutError):
        await sub.fetch(10, timeout=REFUSAL_WAIT)
    await intake.refused('publish to "$JS.API.CONSUMER.MSG.NEXT.OTS_EVENTS.dispatch-view"')
    with pytest.raises(TimeoutError):
        await intake.nc.jetstream(timeout=REFUSAL_WAIT).consumer_info(
            "OTS_EVENTS", "recording-events"
        )
    await intake.refused('publish to "$JS.API.CONSUMER.INFO.OTS_EVENTS.recording-events"')


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_cannot_pull_ack_or_inspect_another_services_durable(
    connected: dict[str, Session], service: str
) -> None:
    me = connected[service]
    others = [c for c in all_consumers() if c not in services()[service].consumers]
    assert others
    for c in others:
        await me.refused_publish(f"$JS.API.CONSUMER.MSG.NEXT.{c.stream}.{c.durable}")
        await me.refused_publish(f"$JS.API.CONSUMER.INFO.{c.stream}.{c.durable}")
        await me.refused_publish(f"$JS.ACK.{c.stream}.{c.durable}.1.1.1.1700000000000000000.0")


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_has_no_other_way_to_the_messages(
    connected: dict[str, Session], service: str
) -> None:
    me = connected[service]
    for subject in (
        "$JS.API.CONSUMER.CREATE.OTS_EVENTS",  # an ephemeral consumer of its own choosing
        "$JS.API.CONSUMER.CREATE.OTS_GATEWAY.mine",
        "$JS.API.CONSUMER.DURABLE.CREATE.OTS_DLQ.mine",
        "$JS.API.STREAM.MSG.GET.OTS_DLQ",
        "$JS.API.STREAM.MSG.DELETE.OTS_EVENTS",
        "$JS.API.DIRECT.GET.OTS_EVENTS",
        "$JS.API.STREAM.PURGE.OTS_EVENTS",
        "$JS.API.STREAM.DELETE.OTS_DLQ",
        "$JS.API.CONSUMER.DELETE.OTS_EVENTS.intake-status",
    ):
        await me.refused_publish(subject)
    if service != "recording":  # only recording settles what stays in its work queue
        await me.refused_publish("$JS.API.STREAM.MSG.GET.OTS_GATEWAY")
        await me.refused_publish("$JS.API.STREAM.MSG.DELETE.OTS_GATEWAY")
    other = "dispatch" if service != "dispatch" else "intake"
    for subject in ("ots.>", "ots.gateway.>", ">", "_INBOX.>", f"_INBOX.{other}.>", "$JS.>"):
        await me.refused_subscription(subject)


async def test_the_default_inbox_is_refused_so_each_service_needs_its_own_prefix(
    broker: Broker, admin: Session
) -> None:
    """nats-py's `_INBOX.<nuid>` is no user's inbox: without `inbox_prefix` no reply arrives."""
    intake = await connect_as(broker, "intake", inbox_prefix="_INBOX")
    try:
        with pytest.raises(TimeoutError):
            await intake.nc.jetstream(timeout=REFUSAL_WAIT).stream_info("OTS_EVENTS")
        await intake.refused('subscription to "_INBOX.')
    finally:
        await intake.close()


# --- gateways ---------------------------------------------------------------------------------


async def test_a_gateway_publishes_its_own_messages_through_to_jetstream(
    connected: dict[str, Session],
) -> None:
    a = connected["A"]
    for spec in ALL_SPECS:
        if spec.producer == "gateway":
            body = example_body(spec)  # really signed by the example device
            msg_id = str(uuid.uuid4())
            subject = spec.subject(DEVICE_A)
            ack = await a.js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
            assert ack.stream == "OTS_GATEWAY" and not ack.duplicate
            again = await a.js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
            assert again.duplicate and again.seq == ack.seq  # deduplicated across accounts
    oversized = b"x" * (1024 * 1024 + 1)  # over the stream's max_msg_size, under max_payload
    with pytest.raises(nats.js.errors.APIError, match="maximum"):
        await a.js.publish(f"ots.gateway.{DEVICE_A}.capture", oversized)
    assert a.nc.is_connected and not a.errors, a.errors


async def test_a_gateway_is_confined_to_its_own_subjects(connected: dict[str, Session]) -> None:
    a, b = connected["A"], connected["B"]
    for subject in (
        f"ots.gateway.{DEVICE_B}.capture",  # another device's
        f"ots.gateway.{DEVICE_A}.anything",  # not a gateway message
        f"ots.gateway.{DEVICE_A}",
        f"ots.recapture.requested.{DEVICE_A}",  # what recording says, not the device
        "ots.visit.requested",
        "ots.route.planned",
        f"ots.dlq.{DEVICE_A}",
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.OTS_GATEWAY",
        "$JS.API.CONSUMER.MSG.NEXT.OTS_GATEWAY.recording-gateway",
        "$JS.ACK.OTS_GATEWAY.recording-gateway.1.1.1.1700000000000000000.0",
        f"_INBOX.{gateway_users.user_name(DEVICE_B)}.x",
    ):
        await a.refused_publish(subject)
    for subject in (
        f"ots.recapture.requested.{DEVICE_B}",
        "ots.recapture.requested.*",
        "ots.recapture.>",
        "ots.gateway.>",
        f"ots.gateway.{DEVICE_B}.capture",
        "ots.visit.>",
        "ots.>",
        ">",
        "_INBOX.>",
        f"{gateway_users.inbox_prefix(DEVICE_B)}.>",
        "_INBOX.recording.>",
        "$JS.>",
    ):
        await a.refused_subscription(subject)
    await b.refused_subscription(f"ots.recapture.requested.{DEVICE_A}")


async def test_a_gateway_hears_its_recaptures_and_the_routes_only(
    connected: dict[str, Session],
) -> None:
    a, b = connected["A"], connected["B"]
    heard: dict[str, list[str]] = {"A": [], "B": []}

    async def listen(name: str, session: Session, device: str) -> None:
        async def note(msg: Msg) -> None:
            heard[name].append(msg.subject)

        await session.nc.subscribe(f"ots.recapture.requested.{device}", cb=note)
        await session.nc.subscribe("ots.route.planned", cb=note)
        await session.nc.flush()

    await listen("A", a, DEVICE_A)
    await listen("B", b, DEVICE_B)
    await publish_as(connected["recording"], RECAPTURE_REQUESTED)  # for device A
    await publish_as(connected["dispatch"], ROUTE_PLANNED)
    for _ in range(40):
        if len(heard["A"]) == 2 and heard["B"]:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    assert sorted(heard["A"]) == ["ots.recapture.requested." + DEVICE_A, "ots.route.planned"]
    assert heard["B"] == ["ots.route.planned"]
    assert not a.errors and not b.errors


# --- gateways: over TLS only ------------------------------------------------------------------


async def quiet(_: Exception) -> None:
    pass


async def answer_to_plaintext(port: int, request: bytes) -> bytes:
    """What the listener says to a client that speaks without TLS, until it hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()


WEBSOCKET_UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def assert_gateways_come_in_over_tls_only(broker: Broker, device: str) -> None:
    user = gateway_users.user_name(device)
    secret = broker.password(user)

    # Over wss://, trusting the development authority: in, as itself (it may listen for its own
    # recapture requests; what it publishes through to JetStream is shown above, over wss too).
    session = await connect_as(broker, user)
    assert session.nc.connected_url is not None and session.nc.connected_url.scheme == "wss"
    await session.nc.subscribe(f"ots.recapture.requested.{device}")
    await session.nc.flush()
    assert not session.errors, session.errors
    await session.refused_subscription("ots.recapture.requested.*")
    await session.close()

    # Plaintext: a WebSocket upgrade is answered as an HTTPS server answers HTTP, and the NATS
    # protocol itself gets no INFO, no +OK, no PONG: nothing but the connection closed.
    answer = await answer_to_plaintext(broker.gateway_port, WEBSOCKET_UPGRADE)
    assert answer.startswith(b"HTTP/1.0 400") and b"HTTP request to an HTTPS server" in answer
    connect = json.dumps({"user": user, "pass": secret, "verbose": True}).encode()
    answer = await answer_to_plaintext(broker.gateway_port, b"CONNECT " + connect + b"\r\nPING\r\n")
    assert not any(word in answer for word in (b"INFO", b"+OK", b"PONG")), answer

    # The certificate is the development authority's: a client that does not trust it stops at
    # the handshake (nats-py's `tls=` context is what the device configures).
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection("localhost", broker.gateway_port,
                                      ssl=ssl.create_default_context())  # fmt: skip
    _, writer = await asyncio.open_connection("localhost", broker.gateway_port,
                                              ssl=broker.trusting())  # fmt: skip
    writer.close()

    # The right password on the plaintext client port: not a gateway's way in.
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(broker.url, user=user, password=secret, allow_reconnect=False,
                           connect_timeout=2, error_cb=quiet)  # fmt: skip


async def test_a_gateway_comes_in_over_tls_with_the_dev_certificate_and_never_in_plaintext(
    broker: Broker, admin: Session
) -> None:
    await assert_gateways_come_in_over_tls_only(broker, DEVICE_A)


# --- the same files as the NATS Helm chart runs them ---------------------------------------

VALUES = DEPLOY.parent / "k8s" / "nats-values.yaml"


def render_chart_config(values: dict[str, Any], *, port: int, gateway_port: int, store: Path,
                        certs: Path) -> str:  # fmt: skip
    """The chart's nats.conf for these values, as its templates write it (files/config/*.yaml,
    `nats.formatConfig`): its own keys, then `config.merge`, as JSON with keys sorted; a key
    ending in `$include` becomes an include directive and `<< x >>` is written bare. Only what
    these values use; one server, so no cluster block."""
    config = values["config"]
    websocket, tls = config["websocket"], config["websocket"]["tls"]
    assert websocket["enabled"] and tls["enabled"] and tls["secretName"]
    document = {
        "server_name": "nats-0",
        "port": port,
        "jetstream": {"store_dir": str(store), **config["jetstream"]["merge"]},
        "websocket": {
            "port": gateway_port,
            "compression": True,
            "tls": {"cert_file": f"{certs}/{tls['cert']}", "key_file": f"{certs}/{tls['key']}"},
        },
        **config["merge"],
    }
    text = json.dumps(document, indent=2, sort_keys=True)
    text = re.sub(r'".*\$include": "(.*)",?', r"include \1;", text)
    return re.sub(r'"<<\s+(.*)\s+>>"', r"\1", text)


@pytest.fixture(scope="module")
def chart_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """deploy/nats/nats.conf and gateways.conf copied verbatim into the chart's config directory
    (what `--set-file` puts in its ConfigMap), under the main config the chart renders from
    nats-values.yaml. Passwords come from the Secrets: `ots-nats-users` and the gateways'
    Secret that gateway_users.py generates from the enrolled devices."""
    values = load_yaml(VALUES)
    tmp = tmp_path_factory.mktemp("nats-chart")
    certs = tmp / "etc-nats-certs-websocket"
    dev_cert.make_certificate(certs, CERT_HOSTS)
    (tmp / "ots.conf").write_text((DEPLOY / "nats.conf").read_text())
    (tmp / "gateways.conf").write_text((DEPLOY / "gateways.conf").read_text())
    port, gateway_port = free_port(), free_port()
    main = render_chart_config(
        values, port=port, gateway_port=gateway_port, store=tmp / "store", certs=certs
    )
    (tmp / "nats.conf").write_text(main)

    enrolled = [
        {"device_id": DEVICE_A, "kind": "gateway", "revoked": False,
         "expires_at": "2999-01-01T00:00:00+00:00"},
        {"device_id": DEVICE_B, "kind": "gateway", "revoked": False,
         "expires_at": "2999-01-01T00:00:00+00:00"},
    ]  # fmt: skip
    (tmp / "devices.json").write_text(json.dumps(enrolled))
    generated = subprocess.run(
        [sys.executable, str(DEPLOY / "gateway_users.py"), "--devices", str(tmp / "devices.json"),
         "--secret", "ots-nats-gateways"],
        capture_output=True, text=True, check=True, env={"PATH": os.environ.get("PATH", "")},
    )  # fmt: skip
    gateway_secret = json.loads(generated.stdout)
    assert gateway_secret["metadata"]["name"] == "ots-nats-gateways"
    nats_users = {f"OTS_NATS_{u.upper()}_PASSWORD": password(u) for u in (*SERVICES, "admin")}
    env = {**os.environ, **nats_users, **gateway_secret["stringData"]}
    with running(tmp / "nats.conf", [port, gateway_port], env):
        yield Broker(
            f"nats://127.0.0.1:{port}", tmp / "store", gateway_port, certs / "ca.crt",
            {gateway_users.user_name(d): gateway_secret["stringData"][
                gateway_users.password_variable(d)] for d in EXAMPLE_DEVICES},
        )  # fmt: skip


def test_the_chart_config_includes_the_shipped_accounts_and_replaces_their_server_blocks(
    chart_broker: Broker,
) -> None:
    """The chart's jetstream and websocket blocks come after the include, and win: the store is
    the chart's, and the shipped certificate paths (absent here) were never opened."""
    assert (chart_broker.store / "jetstream").is_dir()


@pytest.mark.parametrize("service", SERVICES)
async def test_on_kubernetes_each_service_is_its_own_user_confined_to_its_subjects(
    chart_broker: Broker, service: str
) -> None:
    me = await connect_as(chart_broker, service)
    try:
        mine = [s for s in ALL_SPECS if s.producer == service]
        for spec in mine:
            await me.nc.publish(concrete_subject(spec, service), b"{}")
        await me.nc.flush()
        assert not me.errors, me.errors
        for spec in ALL_SPECS:
            if spec not in mine and spec is not DEAD_LETTER:
                await me.refused_publish(concrete_subject(spec, service))
        await me.refused_subscription("ots.>")
    finally:
        await me.close()
    others = [s for s in SERVICES if s != service]
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(chart_broker.url, user=others[0], password=password(service),
                           allow_reconnect=False, connect_timeout=2, error_cb=quiet)  # fmt: skip


async def test_on_kubernetes_a_generated_gateway_comes_in_over_tls_only(
    chart_broker: Broker,
) -> None:
    await assert_gateways_come_in_over_tls_only(chart_broker, DEVICE_B)


# --- intake's own runtime, as intake ------------------------------------------------------


async def test_intakes_outbox_relay_and_consumer_work_as_intake(
    connected: dict[str, Session], admin: Session, settings: Settings, broker: Broker
) -> None:
    """The real relay publishes; the real consumer fetches, handles, acks, and dead-letters a
    malformed message: all with intake's permissions and nothing refused."""
    intake = connected["intake"]
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        team = examples.EXAMPLES[TEAM_UPDATED.pattern]
        async with pool.acquire() as conn:
            event = await enqueue(conn, "intake", TEAM_UPDATED, team, source="ots/intake",
                                  subject_id=examples.TEAM_ID)  # fmt: skip
        assert await OutboxRelay(pool, intake.js, "intake").drain_once() == 1
        relayed = await admin.js.get_last_msg("OTS_EVENTS", TEAM_UPDATED.pattern)
        assert (relayed.headers or {}).get("Nats-Msg-Id") == event.id

        await publish_as(connected["dispatch"], VISIT_SCHEDULED)  # of a visit intake never had
        await publish_as(connected["dispatch"], VISIT_UNASSIGNED, body=b"{not json")
        # Through FastStream, as the service consumes: its replies too must come under
        # `_INBOX.intake`, or the server refuses the subscription and nothing arrives.
        durable = Durable(read_model.CONSUMER, "intake", inbox=inbox_of("intake"),
                          fetch_timeout=0.2)  # fmt: skip
        consumer = EventConsumer(service="intake", js=intake.js, pool=pool, spec=read_model.CONSUMER,
                                 handlers=read_model.HANDLERS, stop=durable.stop)  # fmt: skip
        async with consuming(broker.url, durable, consumer, user="intake",
                             password=password("intake")):  # fmt: skip
            for _ in range(100):
                info = await admin.js.consumer_info("OTS_EVENTS", read_model.CONSUMER.durable)
                if not info.num_pending and not info.num_ack_pending:
                    break
                await asyncio.sleep(0.1)
        assert not info.num_pending and not info.num_ack_pending
        letter = await admin.js.get_last_msg("OTS_DLQ", "ots.dlq.intake")
        assert b"{not json" in (letter.data or b"") and b"invalid message" in (letter.data or b"")
        claimed = await pool.fetch("SELECT event_id FROM intake.inbox")
        assert examples.example_event(VISIT_SCHEDULED).id in {r["event_id"] for r in claimed}
        assert not intake.errors, intake.errors
    finally:
        await pool.close()
