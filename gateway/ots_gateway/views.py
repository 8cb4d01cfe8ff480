"""The device's worklist and feedback, read from their buckets by the device's own key.

Each is one value, the newest: a tablet back online reads it once and has caught up, with no
history to replay. Reading needs only `$JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<device>`,
the one subject the device's NATS user may ask there."""

from typing import TypeVar

import nats.js.errors
from nats.js import JetStreamContext
from pydantic import BaseModel

from contracts.events import Feedback, FeedbackRecapture, FeedbackRejection, Worklist
from contracts.streams import FEEDBACK, WORKLIST, BucketSpec
from ots_gateway.outbox import Outbox

M = TypeVar("M", bound=BaseModel)


async def _read(js: JetStreamContext, spec: BucketSpec, device_id: str, model: type[M]) -> M | None:
    try:
        msg = await js.get_msg(spec.stream, subject=spec.subject(device_id), direct=True)
    except nats.js.errors.NotFoundError:
        return None
    return model.model_validate_json(msg.data or b"")


async def read_worklist(js: JetStreamContext, device_id: str) -> Worklist | None:
    """The device's worklist (today and tomorrow, WIB); None before recording wrote one."""
    return await _read(js, WORKLIST, device_id, Worklist)


async def read_feedback(js: JetStreamContext, device_id: str) -> Feedback | None:
    return await _read(js, FEEDBACK, device_id, Feedback)


def unseen(
    outbox: Outbox, feedback: Feedback
) -> tuple[list[FeedbackRecapture], list[FeedbackRejection]]:
    """The feedback items the app has not been handed yet, marked as handed (in the outbox,
    so a restarted app is not handed them again)."""
    fresh_recaptures = [r for r in feedback.recaptures if not _seen(outbox, r.event_id)]
    fresh_rejections = [r for r in feedback.rejections if not _seen(outbox, r.event_id)]
    for event_id in [r.event_id for r in fresh_recaptures] + [r.event_id for r in fresh_rejections]:
        outbox.set_state(f"feedback:{event_id}", "handed")
    return fresh_recaptures, fresh_rejections


def _seen(outbox: Outbox, event_id: str) -> bool:
    return outbox.get_state(f"feedback:{event_id}") is not None
