"""A team's tablet working its route through the gateway SDK: everything it records goes to the
SDK's SQLite outbox first (signed, chained) and is sent in order, however long NATS is away;
recapture requests are read from the device's feedback (`recaptures.py`)."""

import os
from dataclasses import dataclass, field

from nats.js import JetStreamContext

from contracts.enums import Modality
from ots.simulate.people import Person
from ots.simulate.progress import Progress
from ots.simulate.recaptures import RecaptureInbox, RecaptureKey
from ots.simulate.rules import MAX_ATTEMPTS, Slot
from ots.simulate.visit_plan import VisitPlan
from ots_gateway.cancellation import unless_cancelled
from ots_gateway.outbox import Outbox

SAMPLE_BYTES = {Modality.FINGER: 2_000, Modality.IRIS: 3_000, Modality.FACE: 6_000,
                Modality.SIGNATURE: 500}  # fmt: skip
"""A tenth of real sizes: the day tests the flow, not the bandwidth."""
RECAPTURE_PATIENCE_SECONDS = 120.0


@dataclass
class Gateway:
    js: JetStreamContext
    outbox: Outbox
    inbox: RecaptureInbox
    progress: Progress
    problems: list[str] = field(default_factory=list)

    async def send(self) -> None:
        """Everything recorded so far, oldest first, each stored once by JetStream."""
        await self.outbox.flush(self.js)  # which stops if cancelled, even on Python 3.11

    def capture(self, visit_id: str, person: Person, slot: Slot, attempt: int) -> None:
        modality, position = slot
        self.outbox.capture(
            visit_id, person.nik, modality, position, quality=person.attempts[slot][attempt],
            sample=os.urandom(SAMPLE_BYTES[modality]),
            item_key=f"{visit_id}:{person.nik}:{modality.value}:{position or ''}:{attempt}",
        )  # fmt: skip

    async def work(self, visit_id: str, plan: VisitPlan) -> None:
        o, present = self.outbox, plan.present
        for kind, count in plan.services:
            o.service(visit_id, kind, count)
        await self.send()
        for person in present:
            for (modality, position), reason in person.exceptions.items():
                o.exception(visit_id, person.nik, modality, position, reason=reason)
            for slot in person.attempts:
                self.capture(visit_id, person, slot, 0)
            await self.send()
        for attempt in range(1, MAX_ATTEMPTS):
            due = [(p, s) for p in present for s, a in p.attempts.items() if len(a) > attempt]
            if not due:
                break
            await self._await_requests(visit_id, due, attempt)
            for person, slot in due:
                self.capture(visit_id, person, slot, attempt)
            await self.send()
        self.progress.recorded += len(present)
        o.visit_closed(visit_id, plan.absent_niks)
        await self.send()
        self.progress.closed += 1

    async def _await_requests(
        self, visit_id: str, due: list[tuple[Person, Slot]], attempt: int
    ) -> None:
        keys: set[RecaptureKey] = {
            (visit_id, p.nik, m.value, pos or "", attempt) for p, (m, pos) in due
        }
        missing = await unless_cancelled(self.inbox.wait_for(keys, RECAPTURE_PATIENCE_SECONDS))
        self.progress.recaptures += len(keys) - len(missing)
        if missing:
            self.problems.append(f"{len(missing)} recapture request(s) never came for {visit_id}")
