"""Reasons a visit cannot be served, decided before and after solving."""

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from services.dispatch.domain.clock import weekday_of
from services.dispatch.domain.kits import carries
from services.dispatch.domain.model import Reason, Team, Visit
from services.dispatch.domain.service_time import ServiceTimeModel


def capable_teams(visit: Visit, teams: Iterable[Team]) -> list[Team]:
    return [t for t in teams if t.active and carries(t.kits, visit.services)]


def fits_one_team_day(visit: Visit, team: Team, times: ServiceTimeModel) -> bool:
    if visit.is_fixed:
        return True
    minutes = times.minutes(visit)
    return visit.people <= team.max_people_per_day and minutes <= team.shift_end - team.shift_start


def has_passed(visit: Visit, today: date, now: datetime) -> bool:
    if visit.fixed_start is not None:
        return visit.fixed_start < now
    return visit.latest < today


def reason_before_solving(
    visit: Visit, teams: Sequence[Team], today: date, now: datetime, times: ServiceTimeModel
) -> Reason | None:
    if has_passed(visit, today, now):
        return Reason.WINDOW_PASSED
    capable = capable_teams(visit, teams)
    if not capable:
        return Reason.NO_TEAM_WITH_KIT
    if not any(fits_one_team_day(visit, t, times) for t in capable):
        return Reason.TOO_LARGE_FOR_A_TEAM_DAY
    return None


def reason_after_solving(visit: Visit, teams: Sequence[Team], days: Sequence[date]) -> Reason:
    if visit.is_fixed:
        return Reason.NOT_ENOUGH_TEAMS
    in_window = [d for d in days if visit.earliest <= d <= visit.latest]
    if not in_window:
        return Reason.BEYOND_HORIZON if visit.earliest > days[-1] else Reason.WINDOW_PASSED
    capable = capable_teams(visit, teams)
    if not any(weekday_of(d) in t.working_days for d in in_window for t in capable):
        return Reason.NO_WORKING_DAY_IN_WINDOW
    return Reason.NO_CAPACITY_IN_WINDOW
