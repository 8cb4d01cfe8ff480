"""`ots demo` (as `ots run`, `make run`) keeps the day's sealed samples as files under its data
directory, one per kept capture, named by visit and by the hash of the sealed bytes."""

import asyncio
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

from ots_runtime.embedded import free_port

SEED = 7
OBJECT = re.compile(r"^[A-Za-z0-9_:-]+/[0-9a-f]{64}$")


@pytest.mark.timeout(170)
async def test_a_simulated_day_leaves_its_sealed_samples_under_the_data_directory() -> None:
    with tempfile.TemporaryDirectory(prefix="ots-samples-demo-") as directory:
        os.chmod(directory, 0o755)
        data = Path(directory) / ".ots"
        ports = {name: free_port() for name in ("intake", "dispatch", "recording", "metrics")}
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")} | {
            "OTS_DATA_DIR": str(data), "OTS_LOG_LEVEL": "WARNING",
            "OTS_EMBEDDED_NATS_PORT": str(free_port()),
            "OTS_EMBEDDED_POSTGRES_PORT": str(free_port()),
            **{f"OTS_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        }  # fmt: skip
        demo = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ots.cli", "demo", "--seed", str(SEED), env=env,
            cwd=directory, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(demo.communicate(), 160)
        samples = data / "samples"
        objects = [p.relative_to(samples).as_posix() for p in samples.rglob("*") if p.is_file()]

    assert demo.returncode == 0, out.decode()[-2000:]
    assert objects, "no sample was stored under the data directory"
    assert all(OBJECT.fullmatch(name) for name in objects), objects[:5]
