"""The OSRM `table` provider against a stub server speaking the same API."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pytest

from services.dispatch.adapters.osrm import OsrmProvider
from services.dispatch.adapters.vroom_solver import VroomSolver
from services.dispatch.domain.clock import at
from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.model import Point
from services.dispatch.domain.planner import PlanningInput, plan
from tests.unit.dispatch_feasibility import assert_feasible
from tests.unit.test_dispatch_planner import MONDAY, a_team, a_visit

ISLAND = (114.50, -8.00)  # a point the stub cannot route to (lon, lat as OSRM orders them)


class StubOsrm(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        coords = unquote(urlsplit(self.path).path).split("/")[-1].split(";")
        points = [tuple(float(x) for x in c.split(",")) for c in coords]
        cut = [p == ISLAND for p in points]
        durations = [[None if (cut[i] or cut[j]) and i != j else 600.0 * (i != j)
                      for j in range(len(points))] for i in range(len(points))]  # fmt: skip
        body = {"code": "Ok", "durations": durations,
                "distances": [[None if d is None else d * 8 for d in r] for r in durations]}  # fmt: skip
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def osrm_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubOsrm)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_travel_times_come_from_the_osrm_table(osrm_url: str) -> None:
    matrix = OsrmProvider(osrm_url).matrix([Point(-8.1, 113.7), Point(-8.2, 113.6)])
    assert (matrix.seconds(0, 1), matrix.meters(0, 1), matrix.unroutable()) == (
        600,
        4800,
        frozenset(),
    )


def test_a_visit_osrm_cannot_reach_is_unassigned_as_unroutable(osrm_url: str) -> None:
    island = a_visit("island", location=Point(ISLAND[1], ISLAND[0]))
    visits = [a_visit("v1", 1), island]
    teams = [a_team("t")]
    given = PlanningInput(MONDAY, at(MONDAY, 0), teams, visits)
    result = plan(given, OsrmProvider(osrm_url), VroomSolver(threads=1), PlannerConfig(3))
    assert_feasible(result, teams, visits, check_travel=False)
    assert [(u.visit_id, u.reason.value) for u in result.unassigned] == [("island", "unroutable")]
    assert result.routes[0].stops[0].travel_minutes == 10
