"""`ots plan SCENARIO.json`: plan a day and its horizon without NATS or PostgreSQL."""

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from contracts.events import TeamUpdated, VisitRequested
from services.dispatch.adapters.providers import matrix_provider
from services.dispatch.adapters.vroom_solver import VroomSolver
from services.dispatch.domain.clock import at
from services.dispatch.domain.model import Plan, Route, Team, Visit
from services.dispatch.domain.planner import PlanningInput, plan
from services.dispatch.settings import DispatchSettings


def scenario_input(scenario: dict[str, Any]) -> PlanningInput:
    day = date.fromisoformat(scenario["date"])
    now = datetime.fromisoformat(scenario["now"]) if "now" in scenario else at(day, 0)
    teams = [Team.from_event(TeamUpdated.model_validate(t)) for t in scenario["teams"]]
    visits = [Visit.from_event(VisitRequested.model_validate(v)) for v in scenario["visits"]]
    return PlanningInput(day, now, teams, visits)


def route_json(route: Route) -> dict[str, Any]:
    return {
        "team_id": route.team_id,
        "date": route.day.isoformat(),
        "stops": [
            {
                "visit_id": s.visit_id,
                "eta": s.eta.isoformat(),
                "service_minutes": s.service_minutes,
                "travel_minutes": s.travel_minutes,
            }
            for s in route.stops
        ],
        "travel_minutes": route.travel_minutes,
        "distance_km": route.distance_km,
    }


def plan_json(result: Plan) -> dict[str, Any]:
    routes = sorted(result.routes, key=lambda r: (r.day, r.team_id))
    return {
        "routes": [route_json(r) for r in routes],
        "unassigned": [{"visit_id": u.visit_id, "reason": u.reason.value} for u in
                       sorted(result.unassigned, key=lambda u: u.visit_id)],
    }  # fmt: skip


def plan_scenario(scenario: dict[str, Any], settings: DispatchSettings | None = None) -> Plan:
    settings = settings or DispatchSettings()
    config = settings.planner_config()
    if "horizon_days" in scenario:
        config = type(config)(horizon_days=int(scenario["horizon_days"]),
                              service_time=config.service_time)  # fmt: skip
    solver = VroomSolver(threads=settings.dispatch_solver_threads)
    return plan(scenario_input(scenario), matrix_provider(settings), solver, config)


def main(path: str) -> int:
    try:
        scenario = json.loads(Path(path).read_text(encoding="utf-8"))
        result = plan_scenario(scenario)
    except (OSError, ValueError, KeyError) as error:
        print(f"ots plan: {error}", file=sys.stderr)
        return 2
    print(json.dumps(plan_json(result), indent=2, ensure_ascii=False))
    return 0
