"""The NATS connection, and the streams and durable consumers provisioned explicitly."""

import logging
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from contracts.streams import ALL_BUCKETS, ALL_STREAMS, BucketSpec, Retention, StreamSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer a service reads from; created by `ots streams`, never by FastStream."""

    durable: str
    stream: str
    filter_subjects: tuple[str, ...]
    max_deliver: int = 5
    ack_wait_seconds: float = 30.0
    max_ack_pending: int = 1000


def inbox_prefix(user: str | None) -> str:
    """Replies come back under `_INBOX.<user>`: the only inboxes deploy/nats/nats.conf lets
    that user read, so no client can read another's replies."""
    return f"_INBOX.{user}" if user else "_INBOX"


def server_list(url: str) -> list[str]:
    """`OTS_NATS_URL` may name every node of a cluster, separated by commas."""
    return [server.strip() for server in url.split(",") if server.strip()]


async def log_connection_error(error: Exception) -> None:
    log.warning("nats: %s", error)


async def log_reconnected() -> None:
    log.info("nats: reconnected")


async def connect(
    url: str, *, name: str, user: str | None = None, password: str | None = None
) -> Client:
    client: Client = await nats.connect(
        server_list(url),
        name=name,
        user=user,
        password=password,
        inbox_prefix=inbox_prefix(user),
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
        error_cb=log_connection_error,
        reconnected_cb=log_reconnected,
    )
    return client


def stream_config(spec: StreamSpec, *, replicas: int = 1) -> api.StreamConfig:
    retention = (
        api.RetentionPolicy.WORK_QUEUE
        if spec.retention is Retention.WORK_QUEUE
        else api.RetentionPolicy.LIMITS
    )
    return api.StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=retention,
        storage=api.StorageType.FILE,
        max_age=spec.max_age_days * 24 * 3600,
        duplicate_window=spec.duplicate_window_seconds,
        max_msg_size=spec.max_msg_bytes,
        num_replicas=replicas,
    )


def consumer_config(spec: ConsumerSpec) -> api.ConsumerConfig:
    return api.ConsumerConfig(
        name=spec.durable,
        durable_name=spec.durable,
        filter_subjects=list(spec.filter_subjects),
        ack_policy=api.AckPolicy.EXPLICIT,
        deliver_policy=api.DeliverPolicy.ALL,
        max_deliver=spec.max_deliver,
        ack_wait=spec.ack_wait_seconds,
        max_ack_pending=spec.max_ack_pending,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, *, replicas: int = 1) -> None:
    config = stream_config(spec, replicas=replicas)
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("stream %s created", spec.name)
        return
    await js.update_stream(config)


async def ensure_bucket(js: JetStreamContext, spec: BucketSpec, *, replicas: int = 1) -> None:
    """A key-value bucket keeping one value per key, readable by direct get."""
    try:
        await js.stream_info(spec.stream)
    except NotFoundError:
        await js.create_key_value(api.KeyValueConfig(
            bucket=spec.name, history=1, max_value_size=spec.max_value_bytes,
            storage=api.StorageType.FILE, replicas=replicas, direct=True,
        ))  # fmt: skip
        log.info("bucket %s created", spec.name)


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    """Create or update: the server applies a changed max_deliver or ack_wait to the durable."""
    await js.add_consumer(spec.stream, consumer_config(spec))


async def provision(
    js: JetStreamContext, consumers: list[ConsumerSpec], *, replicas: int = 1
) -> None:
    for stream in ALL_STREAMS:
        await ensure_stream(js, stream, replicas=replicas)
    for bucket in ALL_BUCKETS:
        await ensure_bucket(js, bucket, replicas=replicas)
    for consumer in consumers:
        await ensure_consumer(js, consumer)


async def streams_present(js: JetStreamContext) -> bool:
    try:
        for stream in ALL_STREAMS:
            await js.stream_info(stream.name)
    except Exception:
        return False
    return True
