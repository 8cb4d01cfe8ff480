"""Request bodies an operator would send."""

import itertools
from datetime import datetime, timedelta
from typing import Any

from contracts.jember import WIB

_serial = itertools.count(1)


def a_nik(day: int = 12, month: int = 5, year: int = 90, kecamatan: str = "350901") -> str:
    """A structurally valid Jember NIK with a serial never used before in this test run."""
    return f"{kecamatan}{day:02d}{month:02d}{year:02d}{next(_serial) % 10000 or 1:04d}"


def a_home_visit(**overrides: Any) -> dict[str, Any]:
    today = datetime.now(WIB).date()
    body: dict[str, Any] = {
        "requester": {"agency_type": "dinsos", "agency_name": "Dinas Sosial Jember"},
        "venue": {
            "type": "home", "name": "Rumah Ibu Siti", "address": "Jl. Kenanga 3, Jombang",
            "kecamatan_code": "350901", "lat": -8.27, "lon": 113.45,
        },
        "services": ["ktp_el_recording"],
        "residents": [{"nik": a_nik(day=52), "name": "Siti Aminah", "needs": ["bedridden"]}],
        "expected_people": 1,
        "priority": "high",
        "priority_reasons": ["bedridden"],
        "window": {
            "earliest": (today + timedelta(days=1)).isoformat(),
            "latest": (today + timedelta(days=10)).isoformat(),
        },
    }  # fmt: skip
    body.update(overrides)
    return body


def a_team() -> dict[str, Any]:
    return {
        "name": "Tim OTS 1",
        "base": {"lat": -8.17, "lon": 113.70},
        "kits": ["biometric", "document"],
        "shift": {"start": "08:00", "end": "15:00"},
        "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "max_people_per_day": 50,
    }
