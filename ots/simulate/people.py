"""Residents of Jember for the simulated day: NIKs, names, needs and how their capture goes.

Pure and seeded: the same `random.Random` state gives the same people.
"""

import random
from dataclasses import dataclass, field
from datetime import date

from contracts.enums import FINGER_POSITIONS, Modality, Need
from ots.simulate.rules import MAX_ATTEMPTS, THRESHOLDS, Slot, every_slot

FEMALE_DAY_OFFSET = 40
GIVEN_NAMES = ("Siti", "Ahmad", "Nur", "Dewi", "Muhammad", "Sri", "Agus", "Rina", "Budi",
               "Wahyuni", "Imam", "Lestari", "Slamet", "Fitri", "Hasan", "Yuliana")  # fmt: skip
FAMILY_NAMES = ("Aminah", "Hidayat", "Rahmawati", "Santoso", "Fauzi", "Wulandari", "Suharto",
                "Maulana", "Kusuma", "Prasetyo", "Hasanah", "Syafii")  # fmt: skip


@dataclass(frozen=True)
class Person:
    nik: str
    name: str
    needs: tuple[Need, ...] = ()
    listed: bool = True
    present: bool = True
    attempts: dict[Slot, tuple[int, ...]] = field(default_factory=dict)
    """Quality of each attempt per captured slot; every attempt but the last falls short."""
    exceptions: dict[Slot, str] = field(default_factory=dict)

    def resident(self) -> dict[str, object]:
        return {"nik": self.nik, "name": self.name, "needs": [n.value for n in self.needs]}


def birth_date(rng: random.Random, day: date, min_age: int, max_age: int) -> date:
    year = day.year - rng.randint(min_age + 1, max_age)
    return date(year, rng.randint(1, 12), rng.randint(1, 28))


def jember_nik(rng: random.Random, kecamatan: str, born: date, taken: set[str]) -> str:
    """`PP KK CC DDMMYY SSSS`, women's birth day plus 40, a serial not used in this scenario."""
    day = born.day + (FEMALE_DAY_OFFSET if rng.random() < 0.5 else 0)
    while True:
        nik = f"{kecamatan}{day:02d}{born.month:02d}{born.year % 100:02d}{rng.randint(1, 9999):04d}"
        if nik not in taken:
            taken.add(nik)
            return nik


def exceptions_for(rng: random.Random, needs: tuple[Need, ...]) -> dict[Slot, str]:
    excepted: dict[Slot, str] = {}
    if Need.AMPUTEE in needs:
        hand = FINGER_POSITIONS[:5] if rng.random() < 0.5 else FINGER_POSITIONS[5:]
        for position in hand[: rng.choice((2, 5))]:
            excepted[(Modality.FINGER, position)] = "amputated"
    if Need.EYE_CONDITION in needs:
        for position in ("right", "left")[: rng.choice((1, 2))]:
            excepted[(Modality.IRIS, position)] = "eye_condition"
    if Need.CANNOT_SIGN in needs:
        excepted[(Modality.SIGNATURE, None)] = "cannot_sign"
    return excepted


def attempts_for(rng: random.Random, modality: Modality) -> tuple[int, ...]:
    threshold = THRESHOLDS[modality]

    def good() -> int:
        return rng.randint(max(threshold + 5, 55), 98)

    def poor() -> int:
        return rng.randint(max(5, threshold - 25), threshold - 1)

    roll = rng.random()
    if roll < 0.95:
        return (good(),)
    if roll < 0.99:
        return (poor(), good())
    if roll < 0.995:
        return (poor(), poor(), good())
    return (poor(),) * MAX_ATTEMPTS  # accepted after the third, and flagged


def a_person(
    rng: random.Random, kecamatan: str, day: date, taken: set[str], *, ages: tuple[int, int],
    needs: tuple[Need, ...] = (), listed: bool = True, present: bool = True,
) -> Person:  # fmt: skip
    nik = jember_nik(rng, kecamatan, birth_date(rng, day, *ages), taken)
    name = f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}"
    excepted = exceptions_for(rng, needs)
    attempts = {s: attempts_for(rng, s[0]) for s in every_slot() if s not in excepted}
    return Person(nik, name, needs, listed, present, attempts, excepted)
