"""Visits as intake sees them: waiting for the plans, for completion, and checking the end."""

import asyncio
from typing import Any

from ots.simulate.expected import recorded
from ots.simulate.operators import Operators, Requested
from ots.simulate.progress import Progress

DECIDED = ("scheduled", "unassigned", "completed", "cancelled")
POLL_SECONDS = 1.0


async def statuses(operators: Operators, visits: list[Requested]) -> dict[str, dict[str, Any]]:
    return {v.visit_id: await operators.visit(v.visit_id) for v in visits}


def assignments(seen: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {k: (v["status"], v["team_id"], v["date"]) for k, v in seen.items()}


async def wait_for_plans(
    operators: Operators, visits: list[Requested], progress: Progress, patience: float
) -> dict[str, dict[str, Any]]:
    """Every visit decided, and the decisions unchanged over two polls (re-plans settled)."""
    previous: dict[str, tuple[Any, ...]] = {}
    async with asyncio.timeout(patience):
        while True:
            seen = await statuses(operators, visits)
            progress.planned = sum(v["status"] in DECIDED for v in seen.values())
            if progress.planned == len(visits) and assignments(seen) == previous:
                return seen
            previous = assignments(seen) if progress.planned == len(visits) else {}
            await asyncio.sleep(POLL_SECONDS)


async def wait_for_completion(
    operators: Operators, worked: list[Requested], progress: Progress, patience: float
) -> None:
    """Until every worked visit is completed in intake and settled there, or patience runs out
    (then verified)."""
    with_time = asyncio.get_running_loop().time() + patience
    while asyncio.get_running_loop().time() < with_time:
        seen = await statuses(operators, worked)
        progress.completed = sum(v["status"] == "completed" for v in seen.values())
        if all(settled(v) for v in seen.values()):
            return
        await asyncio.sleep(POLL_SECONDS)


def completion(visit: dict[str, Any]) -> dict[str, Any] | None:
    done = [h for h in visit["history"] if h["type"].startswith("ots.visit.completed")]
    return done[-1] if done else None


def settled(visit: dict[str, Any]) -> bool:
    """Completed, and its count of people recorded caught up with what the completion reports:
    replicas of intake on one durable consumer may apply a visit's completion before the
    last of its recordings."""
    done = completion(visit)
    return (
        visit["status"] == "completed"
        and done is not None
        and visit["people_recorded"] >= (done.get("people_recorded") or 0)
    )


def people_absent(visit: dict[str, Any]) -> int | None:
    done = completion(visit)
    return done.get("people_absent") if done else None


async def intake_differences(
    operators: Operators, worked: list[Requested], unworked: dict[str, str]
) -> list[str]:
    """`unworked`: visit id → the status it must keep (unassigned, or completed before)."""
    problems = []
    for visit in worked:
        seen, plan = await operators.visit(visit.visit_id), visit.plan
        facts = (seen["status"], seen["people_recorded"], people_absent(seen))
        wanted = ("completed", len(recorded(plan)), len(plan.absent_niks))
        if facts != wanted:
            problems.append(
                f"intake {plan.key} (status, recorded, absent): sent {wanted}, reported {facts}"
            )
    for visit_id, status in unworked.items():
        if (now := (await operators.visit(visit_id))["status"]) != status:
            problems.append(f"intake {visit_id}: expected {status}, reported {now}")
    return problems
