"""The aggregates consumer: one durable consumer on OTS_EVENTS whose batches fold together.

The runtime claims a whole batch in the inbox with one statement and hands it to
`apply_batch`, which folds it into additive deltas in memory, so a batch costs a handful of
statements whatever its size; a failed fold falls back to one message at a time.
"""

from typing import Any

import asyncpg

from contracts import CloudEvent
from contracts.subjects import (
    RECORDING_COMPLETED,
    RECORDING_REJECTED,
    ROUTE_PLANNED,
    SERVICE_DELIVERED,
    TEAM_UPDATED,
    VISIT_CANCELLED,
    VISIT_COMPLETED,
    VISIT_REQUESTED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
)
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import Handler
from ots_runtime.service import Subscription
from services.metrics.adapters import store
from services.metrics.domain.batch import Batch

SPECS = (
    VISIT_REQUESTED, VISIT_SCHEDULED, VISIT_UNASSIGNED, VISIT_CANCELLED, VISIT_COMPLETED,
    RECORDING_COMPLETED, RECORDING_REJECTED, SERVICE_DELIVERED, ROUTE_PLANNED, TEAM_UPDATED,
)  # fmt: skip
BATCH_SIZE = 1000
# Two batches at once, as two replicas would: folds add up in any order and visits are locked
# in id order, so one batch's commit overlaps the next one's parsing.
CONCURRENCY = 2
CONSUMER = ConsumerSpec(
    durable="metrics-aggregates",
    stream="OTS_EVENTS",
    filter_subjects=tuple(spec.pattern for spec in SPECS),
    # the batches being handled and the one fetched ahead, all held unacknowledged at once
    max_ack_pending=(CONCURRENCY + 1) * BATCH_SIZE,
)


def fold(events: list[CloudEvent[Any]]) -> Batch:
    batch = Batch()
    for event in events:
        batch.add(event.time, event.data)
    return batch


async def apply_batch(conn: asyncpg.Connection, events: list[CloudEvent[Any]]) -> None:
    await store.apply(conn, fold(events))


async def apply_one(conn: asyncpg.Connection, event: CloudEvent[Any]) -> None:
    await apply_batch(conn, [event])


HANDLERS = [Handler(spec, apply_one) for spec in SPECS]
SUBSCRIPTION = Subscription(
    CONSUMER, HANDLERS, apply_batch=apply_batch, batch_size=BATCH_SIZE, concurrency=CONCURRENCY
)
