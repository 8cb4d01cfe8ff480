"""One person at one visit: their chain of captures, their exceptions, and what follows."""

from dataclasses import dataclass, field

from contracts.gateway.chain import Admission, Chain, Link
from services.recording.domain.completeness import (
    PersonStatus,
    Slot,
    Thresholds,
    evaluate,
    needs_recapture,
)


@dataclass(frozen=True)
class CaptureFacts:
    """What recording keeps about a capture besides its sealed sample."""

    capture_id: str
    sequence: int
    slot: Slot
    quality: int
    sha256: str
    chain_hash: str


@dataclass(frozen=True)
class ExceptionFacts:
    exception_id: str
    slot: Slot
    kind: str
    reason: str


@dataclass(frozen=True)
class Recapture:
    slot: Slot
    quality: int
    attempt: int


@dataclass
class CaptureOutcome:
    admission: Admission
    linked: list[CaptureFacts] = field(default_factory=list)
    broken: list[CaptureFacts] = field(default_factory=list)
    recaptures: list[Recapture] = field(default_factory=list)


@dataclass
class Person:
    visit_id: str
    nik: str
    captures: dict[str, CaptureFacts] = field(default_factory=dict)
    exceptions: dict[Slot, ExceptionFacts] = field(default_factory=dict)
    completed: bool = False
    chain: Chain = field(default_factory=Chain)

    def restore(self, facts: CaptureFacts, linked: bool) -> None:
        self.captures[facts.capture_id] = facts
        self.chain.links[facts.sequence] = _link(facts, linked)

    def add_capture(self, facts: CaptureFacts, thresholds: Thresholds) -> CaptureOutcome:
        admitted = self.chain.admit(_link(facts, linked=False))
        if admitted.admission in (Admission.LINKED, Admission.HELD):
            self.captures[facts.capture_id] = facts
        broken = [self.captures.pop(link.capture_id) for link in admitted.broken]
        linked = [self.captures[link.capture_id] for link in admitted.linked]
        recaptures = [r for c in linked if (r := self._recapture_after(c, thresholds))]
        return CaptureOutcome(admitted.admission, linked, broken, recaptures)

    def add_exception(self, facts: ExceptionFacts) -> bool:
        """True when the slot had no exception yet; the first declared one stands."""
        if facts.slot in self.exceptions:
            return False
        self.exceptions[facts.slot] = facts
        return True

    def linked_qualities(self) -> dict[Slot, list[int]]:
        qualities: dict[Slot, list[int]] = {}
        for facts in sorted(self._linked(), key=lambda f: f.sequence):
            qualities.setdefault(facts.slot, []).append(facts.quality)
        return qualities

    def status(self, thresholds: Thresholds) -> PersonStatus:
        return evaluate(self.linked_qualities(), set(self.exceptions), thresholds)

    def samples_to_keep(self) -> set[str]:
        """The best linked capture of each slot, and every held one (not yet judged)."""
        best: dict[Slot, CaptureFacts] = {}
        for facts in sorted(self._linked(), key=lambda f: f.sequence):
            if facts.slot not in best or facts.quality > best[facts.slot].quality:
                best[facts.slot] = facts
        held = {link.capture_id for link in self.chain.held()}
        return {facts.capture_id for facts in best.values()} | held

    def held(self) -> list[CaptureFacts]:
        return [self.captures[link.capture_id] for link in self.chain.held()]

    def _linked(self) -> list[CaptureFacts]:
        held = {link.capture_id for link in self.chain.held()}
        return [facts for facts in self.captures.values() if facts.capture_id not in held]

    def _recapture_after(self, facts: CaptureFacts, thresholds: Thresholds) -> Recapture | None:
        attempts = [
            f.quality
            for f in sorted(self._linked(), key=lambda f: f.sequence)
            if f.slot == facts.slot and f.sequence <= facts.sequence
        ]
        threshold = thresholds.of(facts.slot[0])
        if needs_recapture(attempts, facts.slot in self.exceptions, threshold):
            return Recapture(facts.slot, facts.quality, len(attempts))
        return None


def _link(facts: CaptureFacts, linked: bool) -> Link:
    return Link(facts.capture_id, facts.sequence, facts.sha256, facts.chain_hash, linked)
