"""Ed25519 verification in a worker process, overlapping the batch committing meanwhile.

`cryptography` holds the GIL while it verifies, so threads would not overlap it. A result is a
hint tied to the public key it was checked with: the batch's transaction still reads the device
and trusts the hint only for that same key, checking again itself otherwise (as it also does
when the worker fails: a slower batch, never a different outcome).
"""

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Awaitable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from contracts.gateway.inbound import Inbound
from contracts.gateway.signing import SignatureCheck, ed25519_valid_all
from contracts.gateway.verify import Device
from services.recording.gateway.batch import Unreadable
from services.recording.gateway.parent_watch import exit_with_parent

log = logging.getLogger(__name__)
Job = tuple[bytes, bytes, bytes]


class SignatureVerifier:
    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._keys: dict[str, bytes] = {}
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor | None:
        if not self._workers:
            return None
        spawn = multiprocessing.get_context("spawn")  # forking a running event loop is unsafe
        return ProcessPoolExecutor(
            self._workers, mp_context=spawn, initializer=exit_with_parent, initargs=(os.getpid(),)
        )

    def remember(self, devices: Mapping[str, Device]) -> None:
        """Keys the last transaction read: the likeliest for the next batch."""
        self._keys.update((device_id, d.public_key) for device_id, d in devices.items())

    def precheck(self, items: Sequence[Inbound | Unreadable]) -> Awaitable[None]:
        """Starts verifying now; await the result once the items are needed."""
        checked: list[tuple[Inbound, bytes]] = []
        jobs: list[Job] = []
        for item in items:
            if not isinstance(item, Inbound) or item.signed is None:
                continue
            key = self._keys.get(item.subject_device)
            if key is not None:
                checked.append((item, key))
                jobs.append((key, item.signed.signature, item.signed.message))
        if self._executor is None or not jobs:
            return _nothing()
        return self._record(self._executor, jobs, checked)

    async def _record(
        self, executor: ProcessPoolExecutor, jobs: list[Job], checked: list[tuple[Inbound, bytes]]
    ) -> None:
        try:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(executor, ed25519_valid_all, jobs)
        except Exception as error:
            log.warning("signature worker failed (%s); verifying inline", type(error).__name__)
            if isinstance(error, BrokenProcessPool) and executor is self._executor:
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()
            return
        for (item, key), valid in zip(checked, results, strict=True):
            item.precheck = SignatureCheck(key, valid)

    async def warm_up(self) -> None:
        """Start the workers now rather than with the first batch."""
        if self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, ed25519_valid_all, [])

    def close(self) -> None:
        """Waits for the workers to exit (a slice takes milliseconds): a pool left running at
        interpreter exit leaves its queues' semaphores to the resource tracker's warnings."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


async def _nothing() -> None:
    return None
