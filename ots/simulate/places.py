"""Where the simulated day happens: team bases and venues inside Jember's kecamatan."""

import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Place:
    kecamatan: str
    lat: float
    lon: float


KECAMATAN_CENTRES = {
    "350919": Place("350919", -8.180, 113.680),  # Kaliwates
    "350920": Place("350920", -8.140, 113.715),  # Patrang
    "350921": Place("350921", -8.170, 113.725),  # Sumbersari
    "350912": Place("350912", -8.340, 113.610),  # Ambulu
    "350927": Place("350927", -8.130, 113.810),  # Kalisat
    "350910": Place("350910", -8.270, 113.545),  # Balung
    "350906": Place("350906", -8.160, 113.460),  # Tanggul
}
ALUN_ALUN = Place("350919", -8.1689, 113.7022)
BASES = (("Kaliwates", ALUN_ALUN), ("Ambulu", KECAMATAN_CENTRES["350912"]),
         ("Kalisat", KECAMATAN_CENTRES["350927"]))  # fmt: skip


def near(rng: random.Random, kecamatan: str) -> Place:
    """A point within about two kilometres of the kecamatan's centre."""
    centre = KECAMATAN_CENTRES[kecamatan]
    return Place(kecamatan, round(centre.lat + rng.uniform(-0.02, 0.02), 5),
                 round(centre.lon + rng.uniform(-0.02, 0.02), 5))  # fmt: skip


@dataclass(frozen=True)
class Team:
    team_id: str
    device_id: str
    body: dict[str, Any]


def teams(count: int) -> list[Team]:
    chosen = []
    for i, (name, base) in enumerate(BASES[:count], start=1):
        kits = ["biometric", "document", "printer"] if i == 1 else ["biometric", "document"]
        body = {"name": f"Tim OTS {name}", "base": {"lat": base.lat, "lon": base.lon},
                "kits": kits, "shift": {"start": "08:00", "end": "15:00"},
                "working_days": ["mon", "tue", "wed", "thu", "fri"],
                "max_people_per_day": 60}  # fmt: skip
        chosen.append(Team(f"sim-team-{i}", f"sim-gateway-{i}", body))
    return chosen
