"""Recording as `ots serve recording` runs it, in a process of its own that a test kills with
`kill -9` and starts again."""

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

from nats.js import JetStreamContext

from ots_runtime.broker import ensure_consumer
from ots_runtime.embedded import free_port
from ots_runtime.settings import Settings
from services.recording.gateway.consumer import CONSUMER
from tests.support import tokens as test_keys


class Process:
    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.log = log
        self.env = {**os.environ, "OTS_ENV": "test", "OTS_NATS_URL": str(settings.nats_url),
                    "OTS_DATABASE_URL": str(settings.database_url),
                    "OTS_RECORDING_PORT": str(free_port()), "OTS_GATEWAY_BATCH_SIZE": "16",
                    **test_keys.ENV, "OTS_LOG_LEVEL": "DEBUG",
                    "OTS_SAMPLES_URL": f"file://{log.parent / 'samples'}", **env}  # fmt: skip
        self.child: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.child = subprocess.Popen(
                [sys.executable, "-m", "ots.cli", "serve", "recording"], env=self.env,
                stdout=log, stderr=log,
            )  # fmt: skip

    def kill(self) -> None:
        if self.child and self.child.poll() is None:
            os.kill(self.child.pid, signal.SIGKILL)
            self.child.wait()


async def redeliver_soon_after_a_kill(js: JetStreamContext) -> None:
    """The batch a kill interrupted comes again after the gateway consumer's ack_wait: short here."""
    await ensure_consumer(js, dataclasses.replace(CONSUMER, ack_wait_seconds=2))
