"""The planning model: teams, visits, and the plan that assigns one to the other."""

from dataclasses import dataclass, field
from datetime import date, datetime

from contracts.enums import Kit, Priority, ServiceType, UnassignedReason, VenueType, Weekday
from contracts.events import TeamUpdated, VisitRequested
from services.dispatch.domain.clock import minutes_of_day


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class Team:
    team_id: str
    base: Point
    kits: frozenset[Kit]
    shift_start: int  # minutes after local midnight (WIB)
    shift_end: int
    working_days: frozenset[Weekday]
    max_people_per_day: int
    active: bool = True

    @classmethod
    def from_event(cls, event: TeamUpdated) -> "Team":
        return cls(
            team_id=event.team_id,
            base=Point(event.base.lat, event.base.lon),
            kits=frozenset(event.kits),
            shift_start=minutes_of_day(event.shift.start),
            shift_end=minutes_of_day(event.shift.end),
            working_days=frozenset(event.working_days),
            max_people_per_day=event.max_people_per_day,
            active=event.active,
        )


@dataclass(frozen=True)
class Visit:
    visit_id: str
    location: Point
    venue_type: VenueType
    services: frozenset[ServiceType]
    people: int
    priority: Priority
    earliest: date
    latest: date
    fixed_start: datetime | None = None
    duration_minutes: int | None = None

    @property
    def is_fixed(self) -> bool:
        return self.fixed_start is not None

    @classmethod
    def from_event(cls, event: VisitRequested) -> "Visit":
        return cls(
            visit_id=event.visit_id,
            location=Point(event.venue.lat, event.venue.lon),
            venue_type=event.venue.type,
            services=frozenset(event.services),
            people=max(event.expected_people, len(event.residents)),
            priority=event.priority,
            earliest=event.window.earliest,
            latest=event.window.latest,
            fixed_start=event.fixed_start,
            duration_minutes=event.duration_minutes,
        )


# Why a visit has no team, sent as `ots.visit.unassigned`'s `reason`: the contract's
# enumeration, kept once in contracts/enums.py.
Reason = UnassignedReason


@dataclass(frozen=True)
class Stop:
    visit_id: str
    eta: datetime
    service_minutes: int
    travel_minutes: int
    people: int = 0


@dataclass(frozen=True)
class Route:
    team_id: str
    day: date
    stops: tuple[Stop, ...]
    travel_minutes: int
    distance_km: float
    return_at: datetime | None = None


@dataclass(frozen=True)
class Unassigned:
    visit_id: str
    reason: Reason


@dataclass(frozen=True)
class Assignment:
    """What was announced for a visit: the team and day it keeps when pinned."""

    visit_id: str
    team_id: str
    day: date
    eta: datetime
    service_minutes: int


@dataclass
class Plan:
    routes: list[Route] = field(default_factory=list)
    unassigned: list[Unassigned] = field(default_factory=list)

    def assignments(self) -> dict[str, Assignment]:
        return {
            stop.visit_id: Assignment(
                stop.visit_id, route.team_id, route.day, stop.eta, stop.service_minutes
            )
            for route in self.routes
            for stop in route.stops
        }
