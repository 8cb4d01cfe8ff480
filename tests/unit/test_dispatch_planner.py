"""The planner on small Jember days: every plan is checked by the independent checker."""

from dataclasses import replace
from datetime import date, datetime, timedelta

from contracts.enums import Kit, Priority, ServiceType, VenueType, Weekday
from contracts.jember import WIB
from services.dispatch.adapters.haversine import HaversineProvider
from services.dispatch.adapters.vroom_solver import VroomSolver
from services.dispatch.domain.clock import at
from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.model import Assignment, Plan, Point, Reason, Team, Visit
from services.dispatch.domain.planner import PlanningInput, plan
from tests.unit.dispatch_feasibility import assert_feasible

MONDAY = date(2026, 12, 7)
WEEKDAYS = frozenset({Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI})
OFFICE = Point(-8.1725, 113.6995)
RECORDING = frozenset({ServiceType.KTP_EL_RECORDING})


def a_team(team_id: str, **changes: object) -> Team:
    team = Team(team_id, OFFICE, frozenset({Kit.BIOMETRIC, Kit.DOCUMENT}), 8 * 60, 15 * 60,
                WEEKDAYS, 50)  # fmt: skip
    return replace(team, **changes)  # type: ignore[arg-type]


def a_visit(visit_id: str, n: int = 0, **changes: object) -> Visit:
    where = Point(-8.20 + 0.01 * (n % 5), 113.66 + 0.01 * (n // 5))
    visit = Visit(visit_id, where, VenueType.HOME, RECORDING, 1, Priority.NORMAL, MONDAY,
                  MONDAY + timedelta(days=4))  # fmt: skip
    return replace(visit, **changes)  # type: ignore[arg-type]


def planned(teams: list[Team], visits: list[Visit], *, now: datetime | None = None,
            announced: dict[str, Assignment] | None = None, today_of: Plan | None = None,
            horizon: int = 7) -> Plan:  # fmt: skip
    today = (now or at(MONDAY, 0)).astimezone(WIB).date()
    routes_today = [r for r in (today_of.routes if today_of else []) if r.day == today]
    given = PlanningInput(today, now or at(MONDAY, 0), teams, visits, announced or {},
                          routes_today)  # fmt: skip
    result = plan(given, HaversineProvider(), VroomSolver(threads=1), PlannerConfig(horizon))
    assert_feasible(result, teams, visits)
    return result


def where(result: Plan, visit_id: str) -> tuple[str, date] | None:
    found = result.assignments().get(visit_id)
    return (found.team_id, found.day) if found else None


def reason(result: Plan, visit_id: str) -> str | None:
    return next((u.reason.value for u in result.unassigned if u.visit_id == visit_id), None)


def test_a_visit_goes_to_a_team_that_carries_every_kit_it_needs() -> None:
    printer = a_team("printer", kits=frozenset({Kit.BIOMETRIC, Kit.PRINTER}))
    visit = a_visit("print", services=frozenset({ServiceType.KTP_EL_PRINT}))
    result = planned([a_team("plain"), printer], [visit])
    assert where(result, "print") == ("printer", MONDAY)


def test_no_team_with_the_kit_leaves_the_visit_unassigned_with_that_reason() -> None:
    visit = a_visit("print", services=frozenset({ServiceType.KTP_EL_PRINT}))
    assert reason(planned([a_team("plain")], [visit]), "print") == "no_team_with_kit"


def test_a_team_serves_no_more_people_a_day_than_its_maximum() -> None:
    visits = [a_visit(f"v{i}", i, latest=MONDAY) for i in range(4)]
    result = planned([a_team("small", max_people_per_day=3)], visits)
    assert sum(1 for v in visits if where(result, v.visit_id)) == 3
    assert [u.reason for u in result.unassigned] == [Reason.NO_CAPACITY_IN_WINDOW]


def test_visits_fall_on_the_teams_working_days_inside_the_shift() -> None:
    wednesday_only = a_team("wed", working_days=frozenset({Weekday.WED}))
    result = planned([wednesday_only], [a_visit("v")])
    assert where(result, "v") == ("wed", MONDAY + timedelta(days=2))
    saturday = a_visit(
        "sat", earliest=MONDAY + timedelta(days=5), latest=MONDAY + timedelta(days=5)
    )
    assert reason(planned([wednesday_only], [saturday]), "sat") == "no_working_day_in_window"


def test_a_car_free_day_is_served_at_six_on_sunday_by_as_many_teams_as_it_needs() -> None:
    sunday = MONDAY + timedelta(days=6)
    cfd = a_visit("cfd", venue_type=VenueType.CAR_FREE_DAY, people=120, earliest=sunday,
                  latest=sunday, fixed_start=at(sunday, 6 * 60), duration_minutes=240)  # fmt: skip
    teams = [a_team(f"t{i}") for i in range(4)]
    result = planned(teams, [cfd])
    crews = [r for r in result.routes if any(s.visit_id == "cfd" for s in r.stops)]
    assert len(crews) == 3
    assert {r.stops[0].eta for r in crews} == {at(sunday, 6 * 60)}


def test_urgent_then_high_go_first_when_capacity_is_short() -> None:
    visits = [a_visit("normal", 0, latest=MONDAY), a_visit("high", 1, priority=Priority.HIGH,
              latest=MONDAY), a_visit("urgent", 2, priority=Priority.URGENT, latest=MONDAY)]  # fmt: skip
    result = planned([a_team("t", max_people_per_day=2)], visits)
    assert where(result, "urgent") and where(result, "high")
    assert reason(result, "normal") == "no_capacity_in_window"


def test_the_visit_whose_window_ends_soonest_is_not_left_for_later() -> None:
    later = a_visit("later", 0, latest=MONDAY + timedelta(days=1))
    soon = a_visit("soon", 1, latest=MONDAY)
    result = planned([a_team("t", max_people_per_day=1)], [later, soon])
    assert where(result, "soon") == ("t", MONDAY)
    assert where(result, "later") == ("t", MONDAY + timedelta(days=1))


def test_an_urgent_visit_is_inserted_into_todays_announced_route() -> None:
    teams = [a_team("a"), a_team("b", working_days=frozenset())]
    first = planned(teams, [a_visit("v1", 1, latest=MONDAY), a_visit("v2", 2, latest=MONDAY)])
    urgent = a_visit("urgent", 3, priority=Priority.URGENT, latest=MONDAY)
    now = at(MONDAY, 9 * 60)
    again = planned(teams, [a_visit("v1", 1, latest=MONDAY), a_visit("v2", 2, latest=MONDAY),
                            urgent], now=now, today_of=first, announced=first.assignments())  # fmt: skip
    assert where(again, "urgent") == ("a", MONDAY)
    assert [s.visit_id for s in again.routes[0].stops if s.visit_id != "urgent"] == [
        s.visit_id for s in first.routes[0].stops
    ]
    assert all(s.eta >= now for s in again.routes[0].stops if s.visit_id == "urgent")


def test_announced_visits_keep_their_team_and_day_unless_the_team_is_gone() -> None:
    tuesday = MONDAY + timedelta(days=1)
    far = a_team("far", base=Point(-8.40, 113.40))
    visit = a_visit("v", earliest=tuesday)
    pinned = {"v": Assignment("v", "far", tuesday, at(tuesday, 10 * 60), 30)}
    assert where(planned([far, a_team("near")], [visit], announced=pinned), "v") == ("far", tuesday)
    gone = replace(far, active=False)
    assert where(planned([gone, a_team("near")], [visit], announced=pinned), "v") == (
        "near",
        tuesday,
    )


def test_a_re_plan_with_one_more_visit_moves_no_announced_visit() -> None:
    teams = [a_team("a"), a_team("b", base=Point(-8.25, 113.62))]
    visits = [a_visit(f"v{i}", i) for i in range(8)]
    first = planned(teams, visits)
    again = planned(teams, [*visits, a_visit("new", 9)], announced=first.assignments())
    for visit in visits:
        assert where(again, visit.visit_id) == where(first, visit.visit_id)


def test_what_cannot_be_served_says_why() -> None:
    past = a_visit("past", earliest=MONDAY - timedelta(days=5), latest=MONDAY - timedelta(days=1))
    huge = a_visit("huge", venue_type=VenueType.SCHOOL, people=400)
    later = a_visit(
        "later", earliest=MONDAY + timedelta(days=30), latest=MONDAY + timedelta(days=31)
    )
    result = planned([a_team("t")], [past, huge, later])
    assert (reason(result, "past"), reason(result, "huge"), reason(result, "later")) == (
        "window_passed", "too_large_for_a_team_day", "beyond_horizon")  # fmt: skip
