"""`ots-gateway work`: a tablet working its day from its worklist, with simulated captures.

The worklist is read from the OTS_WORKLIST bucket (or a file). Everything recorded goes to the
outbox first; a flush task sends it whenever NATS is there. The recapture requests of a visit
are read from the OTS_FEEDBACK bucket before it is closed. Killed and started again with the
same outbox, it records nothing twice (each item has its key) and sends what was left."""

import argparse
import asyncio
import contextlib
import os
import ssl
from collections.abc import Awaitable
from datetime import date, datetime
from typing import TypeVar

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from contracts.enums import POSITIONS_BY_MODALITY, Modality
from contracts.events import RecaptureRequested, Worklist, WorklistStop
from contracts.jember import WIB
from ots_gateway.cancellation import unless_cancelled
from ots_gateway.connection import connect, user_name
from ots_gateway.keys import DeviceKey
from ots_gateway.outbox import Outbox
from ots_gateway.views import read_feedback, read_worklist, unseen

T = TypeVar("T")

SAMPLE_BYTES = {Modality.FINGER: 2_000, Modality.IRIS: 3_000, Modality.FACE: 6_000,
                Modality.SIGNATURE: 500}  # fmt: skip
"""Simulated samples, a tenth of real sizes."""


def every_slot() -> list[tuple[Modality, str | None]]:
    return [
        (modality, position)
        for modality, positions in POSITIONS_BY_MODALITY.items()
        for position in (positions or (None,))
    ]


def todays_stops(worklist: Worklist, today: date | None = None) -> list[WorklistStop]:
    today = today or datetime.now(WIB).date()
    return [stop for day in worklist.days if day.date == today for stop in day.stops]


def record_stop(outbox: Outbox, stop: WorklistStop, quality: int) -> int:
    """Records one visit's services and everyone's first captures into the outbox."""
    recorded, visit_id = 0, stop.visit_id
    for service in stop.services:
        outbox.service(visit_id, service.value, item_key=f"{visit_id}:service:{service.value}")
    for resident in stop.residents:
        for modality, position in every_slot():
            key = f"{visit_id}:{resident.nik}:{modality.value}:{position or ''}:1"
            if outbox.recorded(key):
                continue
            outbox.capture(visit_id, resident.nik, modality, position, quality=quality,
                           sample=os.urandom(SAMPLE_BYTES[modality]), item_key=key)  # fmt: skip
            recorded += 1
    return recorded


def recapture(outbox: Outbox, request: RecaptureRequested, quality: int) -> bool:
    """Captures the slot again as asked; False if this attempt was already recorded."""
    attempt = request.attempt + 1
    key = f"{request.visit_id}:{request.nik}:{request.modality.value}:{request.position or ''}:{attempt}"
    if outbox.recorded(key):
        return False
    outbox.capture(request.visit_id, request.nik, request.modality, request.position,
                   quality=quality, sample=os.urandom(SAMPLE_BYTES[request.modality]),
                   item_key=key)  # fmt: skip
    return True


async def work_day(args: argparse.Namespace) -> int:
    """Records whether or not NATS is reachable; sends whenever it is."""
    outbox = Outbox(args.outbox, args.device, DeviceKey.load_or_create(args.key_file))
    user = args.user or (user_name(args.device) if args.password else None)
    tls = ssl.create_default_context(cafile=args.ca_file) if args.ca_file else None
    connecting = asyncio.create_task(connect(args.nats, user=user, password=args.password, tls=tls))
    stop = asyncio.Event()
    flushing = asyncio.create_task(_keep_flushing(outbox, connecting, stop, args))
    try:
        worklist = await _worklist(args, connecting)
        for visit in todays_stops(worklist):
            print("recorded", visit.visit_id, record_stop(outbox, visit, args.quality), flush=True)
            if connecting.done():  # offline, the requests wait for the next visit or day
                await _recaptures(outbox, connecting.result().jetstream(), args, visit.visit_id)
            outbox.visit_closed(visit.visit_id, item_key=f"{visit.visit_id}:closed")
        stop.set()
        await flushing
        await outbox.flush(
            (await connecting).jetstream(), pause=args.flush_pause, batch=args.flush_batch
        )
        print("sent all; unsent", outbox.unsent(), "refused", len(outbox.refused()), flush=True)
        return 1 if outbox.refused() else 0
    finally:
        stop.set()
        if connecting.done():
            await connecting.result().close()
        connecting.cancel()
        outbox.close()


async def _keep_flushing(
    outbox: Outbox,
    connecting: "asyncio.Task[Client]",
    stop: asyncio.Event,
    args: argparse.Namespace,
) -> None:
    """Sends as it is recorded, once connected; what is left when `stop` is set, the caller
    sends."""
    js = (await connecting).jetstream()
    while not stop.is_set():
        await outbox.flush(js, stop=stop, pause=args.flush_pause, batch=args.flush_batch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


async def _worklist(args: argparse.Namespace, connecting: "asyncio.Task[Client]") -> Worklist:
    if args.worklist is not None:
        return Worklist.model_validate_json(args.worklist.read_bytes())
    js = (await connecting).jetstream()
    while True:
        found = await _try(read_worklist(js, args.device))
        if found is not None:
            return found
        await asyncio.sleep(1.0)  # not written yet, or no coverage: the newest once it comes


async def _recaptures(
    outbox: Outbox, js: JetStreamContext, args: argparse.Namespace, visit_id: str
) -> None:
    """Waits up to `--recapture-wait` seconds of quiet for the visit's recapture requests and
    captures again each one asked."""
    waited = 0.0
    while waited < args.recapture_wait:
        feedback = await _try(read_feedback(js, args.device))
        fresh, _ = unseen(outbox, feedback) if feedback else ([], [])
        again = [recapture(outbox, r.request, args.recapture_quality) for r in fresh
                 if r.request.visit_id == visit_id]  # fmt: skip
        if any(again):
            print("recaptured", visit_id, sum(again), flush=True)
            waited = 0.0
        await asyncio.sleep(0.5)
        waited += 0.5


async def _try(read: Awaitable[T]) -> T | None:
    try:
        return await unless_cancelled(read)
    except (nats.errors.Error, TimeoutError, OSError):
        return None
