"""The teams that work one day, their windows, and who is drafted for fixed appointments."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from services.dispatch.domain.clock import local_minute, weekday_of
from services.dispatch.domain.day import TeamDay
from services.dispatch.domain.fixed import draft_crews
from services.dispatch.domain.model import Team, Visit
from services.dispatch.domain.routing import TravelMatrix


class TeamDays:
    def __init__(
        self,
        day: date,
        teams: Mapping[str, Team],
        team_at: Mapping[str, int],
        frozen: set[str],
        not_before_minute: int,
    ) -> None:
        self.day, self.teams, self.team_at, self.frozen = day, teams, team_at, frozen
        self._shifts: dict[str, tuple[int, int]] = {}
        self._days: dict[str, TeamDay] = {}
        self._busy: set[str] = set()
        for team in teams.values():
            start = max(team.shift_start, not_before_minute)
            if team.team_id in frozen or weekday_of(day) not in team.working_days:
                continue
            if start < team.shift_end:
                self._shifts[team.team_id] = (start * 60, team.shift_end * 60)
                self._days[team.team_id] = TeamDay(team, team_at[team.team_id],
                                                   self._shifts[team.team_id])  # fmt: skip

    def get(self, team_id: str) -> TeamDay | None:
        return self._days.get(team_id)

    def all(self) -> list[TeamDay]:
        return list(self._days.values())

    def serving(self) -> list[TeamDay]:
        return [t for t in self._days.values() if t.serves_unpinned]

    def shift_of(self, team_id: str) -> tuple[int, int]:
        return self._shifts[team_id]

    def unpinned_window(self) -> tuple[int, int]:
        shifts = [self._shifts[t.team.team_id] for t in self.serving()]
        return (min(s[0] for s in shifts), max(s[1] for s in shifts)) if shifts else (0, 0)

    def draft(
        self, visit: Visit, location: int, matrix: TravelMatrix, minutes: int
    ) -> list[tuple[int, int]] | None:
        """Crews for a fixed appointment as (team pin, people); their days stretch to cover it."""
        assert visit.fixed_start is not None
        free = [t for t in self.teams.values() if t.team_id not in self.frozen]
        crews = draft_crews(visit, self.day, free, self._busy,
                            lambda t: matrix.seconds(self.team_at[t.team_id], location))  # fmt: skip
        if crews is None:
            return None
        start = local_minute(visit.fixed_start) * 60
        for crew in crews:
            index = self.team_at[crew.team.team_id]
            window = (start - matrix.seconds(index, location),
                      start + minutes * 60 + matrix.seconds(location, index))  # fmt: skip
            self._stretch(crew.team, index, window)
            self._busy.add(crew.team.team_id)
        return [(self.team_at[c.team.team_id], c.people) for c in crews]

    def _stretch(self, team: Team, index: int, window: tuple[int, int]) -> None:
        current = self._days.get(team.team_id)
        if current is None:
            self._days[team.team_id] = TeamDay(team, index, window, serves_unpinned=False)
            return
        stretched = (min(current.window[0], window[0]), max(current.window[1], window[1]))
        self._days[team.team_id] = replace(current, window=stretched)
