"""The simulated day as data: teams, operators' requests, and what happens at each visit.

Pure and seeded: `build(seed, today)` always gives the same day for the same arguments.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from ots.simulate import places, venues
from ots.simulate.visit_plan import VisitPlan

SUNDAY = 6
WINDOW_DAYS = 4
"""Every working visit may be served on its first day or the next calendar days up to this."""


@dataclass(frozen=True)
class Scenario:
    seed: int
    day: date
    sunday: date
    teams: list[places.Team]
    visits: list[VisitPlan]


def next_weekday(today: date) -> date:
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def next_sunday(today: date) -> date:
    return today + timedelta(days=(SUNDAY - today.weekday()) % 7 or 7)


def build(seed: int, today: date, team_count: int = 3) -> Scenario:
    rng, taken = random.Random(seed), set[str]()
    day, sunday = next_weekday(today), next_sunday(today)
    window = (day, day + timedelta(days=WINDOW_DAYS))
    visits = [
        venues.car_free_day(rng, taken, sunday),
        *venues.schools(rng, taken, window),
        venues.pesantren(rng, taken, window),
        venues.village_office(rng, taken, window),
        *venues.home_visits(rng, taken, window),
    ]
    return Scenario(seed, day, sunday, places.teams(team_count), visits)
