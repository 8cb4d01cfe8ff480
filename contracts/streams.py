"""The JetStream streams of the contract, described without a NATS dependency."""

from dataclasses import dataclass
from enum import StrEnum


class Retention(StrEnum):
    LIMITS = "limits"
    WORK_QUEUE = "workqueue"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    retention: Retention
    max_age_days: int
    duplicate_window_seconds: int = 2 * 60 * 60
    max_msg_bytes: int = 1024 * 1024


EVENTS = StreamSpec(
    "OTS_EVENTS",
    (
        "ots.visit.>",
        "ots.team.>",
        "ots.device.>",
        "ots.route.>",
        "ots.recording.>",
        "ots.service.>",
        "ots.recapture.>",
        "ots.token.>",
    ),
    Retention.LIMITS,
    max_age_days=3 * 365,
)
GATEWAY = StreamSpec("OTS_GATEWAY", ("ots.gateway.>",), Retention.WORK_QUEUE, max_age_days=30)
DLQ = StreamSpec("OTS_DLQ", ("ots.dlq.>",), Retention.LIMITS, max_age_days=90)

# JetStream's own advisory that a message reached max_deliver unsettled, kept so that one
# raised while no replica of its service was running is still handled when one starts.
MAX_DELIVERIES_ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
ADVISORIES = StreamSpec(
    "OTS_ADVISORIES", (f"{MAX_DELIVERIES_ADVISORY}.>",), Retention.LIMITS, max_age_days=30
)

ALL_STREAMS: tuple[StreamSpec, ...] = (EVENTS, GATEWAY, DLQ, ADVISORIES)


def stream_named(name: str) -> StreamSpec:
    return next(stream for stream in ALL_STREAMS if stream.name == name)


@dataclass(frozen=True)
class BucketSpec:
    """A JetStream key-value bucket: the newest value of each key, read by its key alone
    (`$JS.API.DIRECT.GET.<stream>.<subject>`, a subject a NATS permission can name)."""

    name: str
    max_value_bytes: int = 1024 * 1024

    @property
    def stream(self) -> str:
        return f"KV_{self.name}"

    def subject(self, key: str) -> str:
        return f"$KV.{self.name}.{key}"

    def direct_get(self, key: str) -> str:
        return f"$JS.API.DIRECT.GET.{self.stream}.{self.subject(key)}"


WORKLIST = BucketSpec("OTS_WORKLIST")
"""Key: a device id. Value: `contracts.events.Worklist`, written by recording."""
FEEDBACK = BucketSpec("OTS_FEEDBACK")
"""Key: a device id. Value: `contracts.events.Feedback`, written by recording."""
ALL_BUCKETS: tuple[BucketSpec, ...] = (WORKLIST, FEEDBACK)
