"""Every benchmark still runs end to end (its quick form): a benchmark that rots measures nothing.

Only that it completes and reports its comparison is asserted; its figures are for people.
"""

import asyncio
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"
REPORTS = {
    "intake": "intake/minimal throughput ratio",
    "dispatch": "| 300 | 10 |",
    "recording": "ratio",
    "metrics": "counts exact",
    "publish": "FastStream/relay publish ratio",
    "soak": "soak verdict (quick, reported only)",
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("bench", sorted(REPORTS))
async def test_the_quick_benchmark_completes_and_reports_its_comparison(bench: str) -> None:
    run = await asyncio.create_subprocess_exec(
        sys.executable, str(BENCH / f"{bench}.py"), "--quick",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(run.communicate(), 170)
    assert run.returncode == 0
    assert REPORTS[bench] in out.decode()
