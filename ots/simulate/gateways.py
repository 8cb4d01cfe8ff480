"""A team's tablet working its route: signed captures, exceptions, services, closes."""

import asyncio
import os
from dataclasses import dataclass, field

from nats.js import JetStreamContext

from contracts.enums import Modality
from ots.simulate.people import Person
from ots.simulate.progress import Progress
from ots.simulate.recaptures import RecaptureInbox, RecaptureKey
from ots.simulate.rules import MAX_ATTEMPTS, Slot
from ots.simulate.tablet import GatewayMessage, SimulatedDevice
from ots.simulate.visit_plan import VisitPlan

SAMPLE_BYTES = {Modality.FINGER: 2_000, Modality.IRIS: 3_000, Modality.FACE: 6_000,
                Modality.SIGNATURE: 500}  # fmt: skip
"""A tenth of real sizes: the day tests the flow, not the bandwidth."""
RECAPTURE_PATIENCE_SECONDS = 120.0


@dataclass
class Gateway:
    js: JetStreamContext
    device: SimulatedDevice
    inbox: RecaptureInbox
    progress: Progress
    problems: list[str] = field(default_factory=list)

    async def publish(self, messages: list[GatewayMessage]) -> None:
        for message in messages:
            await self._publish_until_stored(message)

    async def _publish_until_stored(self, message: GatewayMessage) -> None:
        """The same message id each time, so JetStream stores it once however often we retry."""
        while True:
            try:
                await self.js.publish(message.subject, message.body,
                                      headers={"Nats-Msg-Id": message.msg_id}, timeout=5)  # fmt: skip
                return
            except Exception:  # nats-server away or restarting
                await asyncio.sleep(0.5)

    def capture(self, visit_id: str, person: Person, slot: Slot, attempt: int) -> GatewayMessage:
        modality, position = slot
        return self.device.capture(visit_id, person.nik, modality, position,
                                   quality=person.attempts[slot][attempt],
                                   sample=os.urandom(SAMPLE_BYTES[modality]))  # fmt: skip

    async def work(self, visit_id: str, plan: VisitPlan) -> None:
        d, present = self.device, plan.present
        await self.publish([d.service(visit_id, kind, count) for kind, count in plan.services])
        for person in present:
            exceptions = [d.exception(visit_id, person.nik, m, p, reason=reason)
                          for (m, p), reason in person.exceptions.items()]  # fmt: skip
            firsts = [self.capture(visit_id, person, slot, 0) for slot in person.attempts]
            await self.publish(exceptions + firsts)
        for attempt in range(1, MAX_ATTEMPTS):
            due = [(p, s) for p in present for s, a in p.attempts.items() if len(a) > attempt]
            if not due:
                break
            await self._await_requests(visit_id, due, attempt)
            await self.publish([self.capture(visit_id, p, s, attempt) for p, s in due])
        self.progress.recorded += len(present)
        await self.publish([d.visit_closed(visit_id, plan.absent_niks)])
        self.progress.closed += 1

    async def _await_requests(
        self, visit_id: str, due: list[tuple[Person, Slot]], attempt: int
    ) -> None:
        keys: set[RecaptureKey] = {
            (visit_id, p.nik, m.value, pos or "", attempt) for p, (m, pos) in due
        }
        missing = await self.inbox.wait_for(keys, RECAPTURE_PATIENCE_SECONDS)
        self.progress.recaptures += len(keys) - len(missing)
        if missing:
            self.problems.append(f"{len(missing)} recapture request(s) never came for {visit_id}")
