"""A batch's samples sealed and written while it waits for the batch before it to commit.

Writing them inside the transaction would hold the visits' row locks (and the pipeline) for
the store's round trips; written ahead, they overlap the previous batch's commit and the
transaction only copies rows. What the transaction does not keep (a repeat, a rejected or a
worse capture, one put back to wait) is deleted after the commit, or swept.
"""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from contracts.events import GatewayCapture
from contracts.gateway.inbound import Inbound
from services.recording.domain.sealing import Keyring
from services.recording.samples.keys import sample_key, sealed_bytes
from services.recording.samples.store import SampleStore


@dataclass(frozen=True)
class SealedSample:
    key_id: str
    sample_key: str
    sealed: bytes  # nonce and ciphertext


class SealedAhead:
    """The sealed sample of each capture among `items`, by the item's identity (two messages
    may claim one capture id: each keeps its own bytes)."""

    def __init__(self, samples: SampleStore | None, keyring: Keyring, items: Iterable[object]):
        self.by_item: dict[int, SealedSample] = {}
        for item in items:
            if isinstance(item, Inbound) and isinstance(item.data, GatewayCapture):
                data = item.data
                sealed = keyring.seal(item.sample or b"", bound_to=data.capture_id)
                blob = sealed_bytes(sealed)
                self.by_item[id(item)] = SealedSample(
                    sealed.key_id, sample_key(data.visit_id, blob), blob
                )
        self._samples = samples
        self._writing: asyncio.Future[None] | None = None
        self._started = 0.0
        if samples is not None and self.by_item:
            self._write()

    def keys_of(self, items: Iterable[object]) -> set[str]:
        """The objects written for these items (one by one, a batch applies a part at a time)."""
        return {s.sample_key for i in items if (s := self.by_item.get(id(i))) is not None}

    async def written(self) -> float:
        """When the writing of every object began, once all are written. A failed write is
        started again by the next call."""
        if self._samples is None or not self.by_item:
            return asyncio.get_running_loop().time()
        if self._writing is None:
            self._write()
        assert self._writing is not None
        try:
            await self._writing
        except BaseException:
            self._writing = None
            raise
        return self._started

    def rewrite(self) -> None:
        """Written too long ago to be committed now: the next `written()` writes them afresh,
        which the sweeper's grace then counts from."""
        self._writing = None

    def _write(self) -> None:
        assert self._samples is not None
        objects = {s.sample_key: s.sealed for s in self.by_item.values()}
        self._started = asyncio.get_running_loop().time()
        self._writing = asyncio.ensure_future(self._samples.put_all(objects))
