"""The end of the day: what was sent next to what the system reports, and the verdict."""

import asyncio
import sys
from typing import TextIO

from ots.simulate.day import DayResult, simulate_day
from ots.simulate.expected import recorded
from ots_runtime.settings import Settings


def summary(result: DayResult) -> str:
    s = result.scenario
    people = sum(len(recorded(r.plan)) for r in result.worked)
    keys = sorted(set(result.expected) | set(result.reported))
    width = max((len(k) for k in keys), default=6)
    lines = [
        f"Simulated day (seed {s.seed}): {len(s.visits)} visits requested for {s.day}"
        f" and the Car Free Day on {s.sunday}; {len(result.worked)} worked by {len(s.teams)}"
        f" teams, {people} people recorded, recaptures {result.recaptures_received}"
        f"/{result.recaptures_expected}",
        f"{'figure':<{width}} {'sent':>6} {'reported':>8}",
    ]
    for key in keys:
        if result.expected[key] or result.reported[key] or key in result.expected:
            mark = "" if result.expected[key] == result.reported[key] else "  ✗"
            lines.append(
                f"{key:<{width}} {result.expected[key]:>6} {result.reported[key]:>8}{mark}"
            )
    verdict = "every figure matches" if result.ok else f"{len(result.differences)} difference(s):"
    lines += [verdict, *(f"  {d}" for d in result.differences)]
    return "\n".join(lines)


def run_simulation(settings: Settings, seed: int, out: TextIO = sys.stdout) -> int:
    """`ots simulate`: 0 when everything metrics and intake report matches what was sent."""
    result = asyncio.run(simulate_day(settings, seed))
    print(summary(result), file=out, flush=True)
    return 0 if result.ok else 1
