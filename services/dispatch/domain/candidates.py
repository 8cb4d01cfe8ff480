"""Which open visits a day's solver sees: the most pressing first, about what the day holds."""

from collections.abc import Iterable, Sequence
from datetime import date

from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.day import TeamDay
from services.dispatch.domain.eligibility import fits_one_team_day
from services.dispatch.domain.kits import carries
from services.dispatch.domain.model import Visit
from services.dispatch.domain.priority import pressing_first


def servable(visit: Visit, day: date, teams: Sequence[TeamDay], config: PlannerConfig) -> bool:
    if not visit.earliest <= day <= visit.latest:
        return False
    return any(
        carries(t.team.kits, visit.services)
        and fits_one_team_day(visit, t.team, config.service_time)
        for t in teams
    )


def choose_candidates(
    pool: Iterable[Visit], day: date, teams: Sequence[TeamDay], config: PlannerConfig
) -> list[Visit]:
    eligible = [v for v in pool if servable(v, day, teams, config)]
    eligible.sort(key=pressing_first)
    minutes_left = config.candidate_slack * sum((t.window[1] - t.window[0]) / 60 for t in teams)
    people_left = config.candidate_slack * sum(t.team.max_people_per_day for t in teams)
    chosen: list[Visit] = []
    for visit in eligible:
        minutes_left -= config.service_time.minutes(visit) + config.assumed_travel_minutes
        people_left -= visit.people
        if minutes_left < 0 or people_left < 0:
            break
        chosen.append(visit)
    return chosen
