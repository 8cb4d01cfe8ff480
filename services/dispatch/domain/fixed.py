"""Fixed appointments (Car Free Day, community events): enough teams at the start, on time.

Teams that work that day are drafted first, nearest first; then teams on their day off
(an event is worth a Sunday morning). A team serves at most one fixed appointment a day.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from services.dispatch.domain.clock import weekday_of
from services.dispatch.domain.kits import carries
from services.dispatch.domain.model import Team, Visit


@dataclass(frozen=True)
class Crew:
    team: Team
    people: int


def draft_crews(
    visit: Visit,
    day: date,
    teams: Sequence[Team],
    busy: set[str],
    distance_to: Callable[[Team], int],
) -> list[Crew] | None:
    usable = [t for t in teams if t.active and t.team_id not in busy]
    usable = [t for t in usable if carries(t.kits, visit.services)]
    usable.sort(key=lambda t: (weekday_of(day) not in t.working_days, distance_to(t), t.team_id))
    crews: list[Crew] = []
    remaining = visit.people
    for team in usable:
        if remaining <= 0:
            break
        share = min(remaining, team.max_people_per_day)
        crews.append(Crew(team, share))
        remaining -= share
    return crews if remaining <= 0 else None
