"""The simulated teams work their routes together: one tablet failing stops the others before
the day goes on to close their outboxes."""

import asyncio
from typing import Any

import pytest

from ots.simulate import day


async def test_a_failing_tablet_stops_the_others_before_the_routes_are_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopped: list[str] = []

    async def work_route(gateway: Any, route: list[Any]) -> None:
        if gateway == "broken tablet":
            await asyncio.sleep(0.01)
            raise RuntimeError("the tablet's outbox is corrupt")
        try:
            await asyncio.sleep(30)
        finally:
            stopped.append(gateway)

    monkeypatch.setattr(day, "work_route", work_route)
    with pytest.raises(RuntimeError, match="outbox is corrupt"):
        await day.work_routes(["tablet 1", "broken tablet", "tablet 3"], [[], [], []])  # type: ignore[list-item]
    assert sorted(stopped) == ["tablet 1", "tablet 3"]
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0  # not taken for a cancellation


async def test_every_failing_tablet_is_told(monkeypatch: pytest.MonkeyPatch) -> None:
    both_fail = asyncio.Event()

    async def work_route(gateway: Any, route: list[Any]) -> None:
        await both_fail.wait()  # both woken in one turn: each fails before either is stopped
        raise RuntimeError(f"{gateway} failed")

    monkeypatch.setattr(day, "work_route", work_route)
    asyncio.get_running_loop().call_later(0.01, both_fail.set)
    with pytest.raises(RuntimeError) as failed:
        await day.work_routes(["tablet 1", "tablet 2"], [[], []])  # type: ignore[list-item]
    assert failed.value.__notes__ == [
        f"another tablet failed too: {RuntimeError('tablet 2 failed')!r}"
    ]


async def test_routes_that_all_succeed_are_all_worked(monkeypatch: pytest.MonkeyPatch) -> None:
    worked: list[str] = []

    async def work_route(gateway: Any, route: list[Any]) -> None:
        await asyncio.sleep(0.01)
        worked.append(gateway)

    monkeypatch.setattr(day, "work_route", work_route)
    await day.work_routes(["tablet 1", "tablet 2"], [[], []])  # type: ignore[list-item]
    assert sorted(worked) == ["tablet 1", "tablet 2"]
