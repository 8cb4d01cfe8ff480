"""When a person's recording is complete: every slot captured well enough, or excepted.

A slot is one finger, one iris, the face or the signature. A capture below its threshold asks
for a recapture; after the third attempt the best one is accepted and the recording flagged.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from contracts.enums import POSITIONS_BY_MODALITY, Modality

MAX_ATTEMPTS = 3
Slot = tuple[Modality, str]

ALL_SLOTS: tuple[Slot, ...] = tuple(
    (modality, position)
    for modality, positions in POSITIONS_BY_MODALITY.items()
    for position in (positions or ("",))
)


def slot_of(modality: Modality | str, position: str | None) -> Slot:
    return Modality(modality), position or ""


def slot_name(slot: Slot) -> str:
    modality, position = slot
    return f"{modality.value}.{position}" if position else modality.value


class SlotState(StrEnum):
    CAPTURED = "captured"
    ACCEPTED_BELOW_THRESHOLD = "accepted_below_threshold"
    EXCEPTED = "excepted"
    RECAPTURE = "recapture"
    MISSING = "missing"


@dataclass(frozen=True)
class Thresholds:
    finger: int = 40
    iris: int = 60
    face: int = 50
    signature: int = 30

    def of(self, modality: Modality) -> int:
        value: int = getattr(self, modality.value)
        return value


@dataclass
class PersonStatus:
    slots: dict[Slot, SlotState]
    best: dict[Slot, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        done = (SlotState.CAPTURED, SlotState.ACCEPTED_BELOW_THRESHOLD, SlotState.EXCEPTED)
        return all(state in done for state in self.slots.values())

    @property
    def flagged(self) -> bool:
        return SlotState.ACCEPTED_BELOW_THRESHOLD in self.slots.values()

    def min_quality(self) -> dict[Modality, int]:
        lowest: dict[Modality, int] = {}
        for (modality, _), quality in self.best.items():
            lowest[modality] = min(quality, lowest.get(modality, 100))
        return lowest


def slot_state(qualities: list[int], excepted: bool, threshold: int) -> SlotState:
    if qualities and max(qualities) >= threshold:
        return SlotState.CAPTURED
    if excepted:
        return SlotState.EXCEPTED
    if len(qualities) >= MAX_ATTEMPTS:
        return SlotState.ACCEPTED_BELOW_THRESHOLD
    return SlotState.RECAPTURE if qualities else SlotState.MISSING


def evaluate(
    qualities: Mapping[Slot, list[int]], excepted: set[Slot], thresholds: Thresholds
) -> PersonStatus:
    """`qualities`: each slot's linked captures in sequence order."""
    states = {
        slot: slot_state(list(qualities.get(slot, [])), slot in excepted, thresholds.of(slot[0]))
        for slot in ALL_SLOTS
    }
    best = {slot: max(q) for slot, q in qualities.items() if q}
    return PersonStatus(states, best)


def needs_recapture(attempts: list[int], excepted: bool, threshold: int) -> bool:
    """After a linked capture: is it still short, with attempts left?"""
    return slot_state(attempts, excepted, threshold) is SlotState.RECAPTURE
