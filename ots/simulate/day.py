"""One simulated day, phase by phase, against a running system; the result compares figures."""

import asyncio
import contextlib
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from nats.aio.client import Client
from nats.js import JetStreamContext

from contracts.jember import WIB
from ots.simulate import expected
from ots.simulate.expected import Figures
from ots.simulate.gateways import Gateway
from ots.simulate.http import Service
from ots.simulate.keys import device_key
from ots.simulate.observed import differences, growth, observe
from ots.simulate.operators import Operators, Requested
from ots.simulate.progress import Progress
from ots.simulate.recaptures import RecaptureInbox
from ots.simulate.routes import recording_caught_up, route_of
from ots.simulate.scenario import Scenario, build
from ots.simulate.statuses import intake_differences, wait_for_completion, wait_for_plans
from ots_gateway.outbox import Outbox
from ots_runtime.broker import connect
from ots_runtime.settings import Settings


@dataclass
class DayResult:
    scenario: Scenario
    expected: Figures = field(default_factory=Figures)
    reported: Figures = field(default_factory=Figures)
    differences: list[str] = field(default_factory=list)
    worked: list[Requested] = field(default_factory=list)
    recaptures_expected: int = 0
    recaptures_received: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences


def url(settings: Settings, service: str) -> str:
    return f"http://{settings.bind_host}:{settings.port_of(service)}"


async def simulate_day(
    settings: Settings, seed: int, *, patience: float = 180.0, out: TextIO = sys.stderr
) -> DayResult:
    nats_url, _ = settings.require_urls()
    nc = await connect(nats_url, name="ots-simulate", user=settings.nats_user,
                       password=settings.nats_password)  # fmt: skip
    operators = await Operators.sign_in(settings, url(settings, "intake"))
    token = operators.department_token
    metrics = Service(url(settings, "metrics"), token)
    dispatch = Service(url(settings, "dispatch"), token)
    progress = Progress()
    shown = asyncio.create_task(progress.show(out))
    try:
        return await _day(settings, seed, patience, nc, operators, metrics, dispatch, progress)
    finally:
        shown.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await shown
        out.write(f"\r{progress.line()}\n")
        for service in (metrics, dispatch, operators):
            await service.aclose()
        await nc.close()


async def _day(
    settings: Settings, seed: int, patience: float, nc: Client, operators: Operators,
    metrics: Service, dispatch: Service, progress: Progress,
) -> DayResult:  # fmt: skip
    js, now = nc.jetstream(), datetime.now(WIB)
    scenario = build(seed, now.date())
    result = DayResult(scenario)
    before = await observe(metrics, js, now.year)
    keys = {t.device_id: device_key(Path(settings.data_dir), t.device_id) for t in scenario.teams}
    await operators.enrol(scenario.teams, {d: key.public_key_b64 for d, key in keys.items()})
    progress.visits = len(scenario.visits)
    requested = []
    for plan in scenario.visits:
        requested.append(await operators.request(plan, seed))
        progress.requested += 1
    new = [r.plan for r in requested if r.created_at >= now]
    seen = await wait_for_plans(operators, requested, progress, patience)
    unworked = {r.visit_id: seen[r.visit_id]["status"] for r in requested
                if seen[r.visit_id]["status"] != "scheduled"}  # fmt: skip
    await recording_caught_up(js, patience)
    to_work = [r for r in requested if r.visit_id not in unworked]
    routes = [await route_of(dispatch, t.team_id, to_work, seen) for t in scenario.teams]
    with tempfile.TemporaryDirectory(prefix="ots-simulate-outboxes-") as outboxes:
        gateways = [
            Gateway(js, Outbox(Path(outboxes) / f"{t.device_id}.db", t.device_id,
                               keys[t.device_id]),
                    RecaptureInbox(js, t.device_id), progress)
            for t in scenario.teams
        ]  # fmt: skip
        try:
            await work_routes(gateways, routes)
        finally:
            for gateway in gateways:
                gateway.outbox.close()
    result.worked = [v for route in routes for v in route]
    await wait_for_completion(operators, result.worked, progress, patience)
    result.expected = expected.requested(new) + expected.worked(r.plan for r in result.worked)
    result.expected.update({k: 0 for k in expected.worked([])})  # zero lines stay visible
    result.reported = await settled_figures(
        metrics, js, now.year, before, result.expected, patience
    )
    result.differences = differences(result.expected, result.reported)
    result.differences += await intake_differences(operators, result.worked, unworked)
    result.differences += [p for g in gateways for p in g.problems]
    result.recaptures_expected = expected.recaptures(r.plan for r in result.worked)
    result.recaptures_received = progress.recaptures
    return result


async def work_routes(gateways: list[Gateway], routes: list[list[Requested]]) -> None:
    """Every team's route at once. A tablet that fails stops the others, and every one has
    stopped when this returns (their outboxes are closed after it); the first failure is raised,
    with the others as its notes."""
    task = asyncio.current_task()
    cancelling = task.cancelling() if task else 0
    try:
        async with asyncio.TaskGroup() as group:
            for gateway, route in zip(gateways, routes, strict=True):
                group.create_task(work_route(gateway, route))
    except ExceptionGroup as failed:
        # Python 3.11's TaskGroup leaves the cancellation it asked of this task counted when a
        # route fails while it waits for them: `stop_if_cancelled` would take it for a real one.
        if task is not None and task.cancelling() > cancelling:
            task.uncancel()
        first, *others = failed.exceptions
        for other in others:
            first.add_note(f"another tablet failed too: {other!r}")
        raise first from None


async def work_route(gateway: Gateway, route: list[Requested]) -> None:
    await gateway.inbox.open()
    try:
        for visit in route:
            await gateway.work(visit.visit_id, visit.plan)
    finally:
        await gateway.inbox.close()


async def settled_figures(
    metrics: Service,
    js: JetStreamContext,
    year: int,
    before: Figures,
    wanted: Figures,
    patience: float,
) -> Figures:
    """Metrics fold events asynchronously: poll until they match, or patience runs out."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        grown = growth(await observe(metrics, js, year), before)
        if not differences(wanted, grown) or asyncio.get_running_loop().time() > deadline:
            return grown
        await asyncio.sleep(1.0)
