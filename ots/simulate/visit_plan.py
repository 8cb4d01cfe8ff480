"""One requested visit: its request body and what happens when the team arrives."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from contracts.enums import Need
from contracts.jember import WIB
from ots.simulate import places
from ots.simulate.people import Person, a_person


@dataclass(frozen=True)
class VisitPlan:
    key: str
    """Stable within a seed and a day: the request's idempotency key is derived from it."""
    agency: str
    body: dict[str, Any]
    people: tuple[Person, ...]
    services: tuple[tuple[str, int], ...] = ()
    """Non-biometric services delivered on the spot, with their counts."""

    @property
    def present(self) -> list[Person]:
        return [p for p in self.people if p.present]

    @property
    def absent_niks(self) -> list[str]:
        return [p.nik for p in self.people if not p.present]


def request(
    venue_type: str, name: str, place: places.Place, services: list[str],
    people: list[Person], window: tuple[date, date], **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    listed = [p.resident() for p in people if p.listed]
    return {"requester": extra.pop("requester"),
            "venue": {"type": venue_type, "name": name, "kecamatan_code": place.kecamatan,
                      "lat": place.lat, "lon": place.lon},
            "services": services, "residents": listed,
            "expected_people": max(1, len(people), extra.pop("expected_people", 0)),
            "window": {"earliest": window[0].isoformat(), "latest": window[1].isoformat()},
            **extra}  # fmt: skip


def fixed_start(sunday: date) -> str:
    return datetime.combine(sunday, time(6, 0), tzinfo=WIB).isoformat()


def walk_ins(
    rng: random.Random, taken: set[str], kecamatan: str, day: date, n: int
) -> list[Person]:
    return [a_person(rng, kecamatan, day, taken, ages=(17, 45), listed=False) for _ in range(n)]


def listed(
    rng: random.Random, taken: set[str], kecamatan: str, day: date, n: int, *,
    ages: tuple[int, int], absent: int = 0, needs: tuple[Need, ...] = (),
) -> list[Person]:  # fmt: skip
    return [a_person(rng, kecamatan, day, taken, ages=ages, needs=needs, present=i >= absent)
            for i in range(n)]  # fmt: skip
