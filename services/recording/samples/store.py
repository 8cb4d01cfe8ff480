"""The object store holding sealed samples: a folder (development, `ots run`) or S3 (production),
both through obstore. An unreachable store is an outage, not a fault of the message: callers
hold their batch and wait (`wait_until_reachable`), as for PostgreSQL."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import obstore
from obstore.exceptions import InvalidPathError, NotFoundError, UnknownConfigurationKeyError
from obstore.store import LocalStore, S3Store

from ots_runtime.supervision import pause

if TYPE_CHECKING:
    from obstore.store import ObjectStore

log = logging.getLogger(__name__)
T = TypeVar("T")
# Writes in flight at once: an S3 server's are network round trips, which overlap. A folder's
# are file creations, which the kernel serialises on each directory's lock: they are made one
# after the other in one worker thread, a chunk per hand-over (measured: 54-69 us of CPU per
# object, against 89-97 us for as many `put_async` calls, each waking the event loop).
S3_PUTS_AT_ONCE = 64
FOLDER_PUTS_PER_THREAD_CALL = 128
DELETES_AT_ONCE = 500
PROBE_EVERY = 0.5


class StoreUnavailable(Exception):
    """The object store did not answer (down, unreachable, overloaded): try again later."""


# Errors that are about the request, not the store's availability. A store refusing our
# credentials is held for like an outage: captures wait for the operator's fix, not for the
# dead-letter queue.
_NOT_AN_OUTAGE = (NotFoundError, InvalidPathError, UnknownConfigurationKeyError, FileNotFoundError)


@dataclass(frozen=True)
class StoredObject:
    key: str
    last_modified: datetime


@dataclass(frozen=True)
class Location:
    """Where samples go: `file:///abs/dir` or `s3://bucket[/prefix]`, and for S3 how to reach it."""

    url: str
    endpoint: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str = "us-east-1"

    def describe(self) -> str:
        return self.url if self.endpoint is None else f"{self.url} at {self.endpoint}"


class SampleStore:
    def __init__(self, store: "ObjectStore", where: str, puts_at_once: int, *,
                 in_a_thread: bool = False) -> None:  # fmt: skip
        """`in_a_thread`: the store's writes are local work, cheaper made in sequence by one
        worker thread than as concurrent requests (a folder)."""
        self._store = store
        self.where = where
        self._puts_at_once = puts_at_once
        self._in_a_thread = in_a_thread

    async def put_all(self, objects: dict[str, bytes]) -> None:
        """Every object written (durably, as the store defines it) when this returns."""
        items = list(objects.items())
        for start in range(0, len(items), self._puts_at_once):
            chunk = items[start : start + self._puts_at_once]
            if self._in_a_thread:
                await _guarded(asyncio.to_thread(_put_each, self._store, chunk))
            else:
                await _guarded(
                    asyncio.gather(*(obstore.put_async(self._store, k, b) for k, b in chunk))
                )

    async def get(self, key: str) -> bytes:
        result = await _guarded(obstore.get_async(self._store, key))
        return bytes(await result.bytes_async())

    async def exists(self, key: str) -> bool:
        try:
            await _guarded(obstore.head_async(self._store, key))
        except (NotFoundError, FileNotFoundError):
            return False
        return True

    async def delete_all(self, keys: Iterable[str]) -> None:
        """Deleting a key that is not there is no error."""
        ordered = sorted(set(keys))
        for start in range(0, len(ordered), DELETES_AT_ONCE):
            try:
                await _guarded(
                    obstore.delete_async(self._store, ordered[start : start + DELETES_AT_ONCE])
                )
            except (NotFoundError, FileNotFoundError):
                for key in ordered[start : start + DELETES_AT_ONCE]:
                    await self._delete_one(key)

    async def _delete_one(self, key: str) -> None:
        with contextlib.suppress(NotFoundError, FileNotFoundError):
            await _guarded(obstore.delete_async(self._store, key))

    async def listing(self, prefix: str | None = None) -> AsyncIterator[list[StoredObject]]:
        """Every object (under `prefix`), a page at a time."""
        stream = obstore.list(self._store, prefix, chunk_size=1000)
        while True:
            try:
                page: Sequence[Any] = await _guarded(stream.__anext__())
            except StopAsyncIteration:
                return
            yield [StoredObject(m["path"], m["last_modified"]) for m in page]

    async def reachable(self) -> bool:
        try:
            await obstore.list_with_delimiter_async(self._store, "ots-probe")
        except _NOT_AN_OUTAGE:
            return True
        except Exception:
            return False
        return True

    async def wait_until_reachable(self, stop: asyncio.Event) -> bool:
        """True once the store answers; False if `stop` is set first."""
        while not stop.is_set():
            if await self.reachable():
                return True
            await pause(stop, PROBE_EVERY)
        return False

    def __repr__(self) -> str:
        return f"SampleStore({self.where})"


def _put_each(store: "ObjectStore", objects: list[tuple[str, bytes]]) -> None:
    for key, sealed in objects:
        obstore.put(store, key, sealed)


async def _guarded(operation: Awaitable[T]) -> T:
    """The operation's result; an error that is not about the request becomes StoreUnavailable."""
    try:
        result: T = await operation
    except _NOT_AN_OUTAGE:
        raise
    except (OSError, obstore.exceptions.BaseError) as error:
        raise StoreUnavailable(f"{type(error).__name__}: {str(error).splitlines()[0]}") from error
    return result


def open_store(location: Location) -> SampleStore:
    if location.url.startswith("file://"):
        folder = Path(location.url.removeprefix("file://"))
        folder.mkdir(parents=True, exist_ok=True)
        local = LocalStore(folder, automatic_cleanup=True)
        return SampleStore(
            local, location.describe(), FOLDER_PUTS_PER_THREAD_CALL, in_a_thread=True
        )
    if location.url.startswith("s3://"):
        bucket, _, prefix = location.url.removeprefix("s3://").partition("/")
        config: dict[str, Any] = {"region": location.region}
        if location.endpoint:
            config["endpoint"] = location.endpoint
        if location.access_key_id and location.secret_access_key:
            config["access_key_id"] = location.access_key_id
            config["secret_access_key"] = location.secret_access_key
        store = S3Store(
            bucket, prefix=prefix or None, config=config,  # type: ignore[arg-type]
            client_options={"allow_http": bool(location.endpoint and location.endpoint.startswith("http://")),
                            "timeout": timedelta(seconds=30), "connect_timeout": timedelta(seconds=5)},
            # obstore's own retries would hold a batch minutes inside its transaction: fail
            # fast instead, and let the caller wait for the store outside it.
            retry_config={"max_retries": 2, "retry_timeout": timedelta(seconds=10)},
        )  # fmt: skip
        return SampleStore(store, location.describe(), S3_PUTS_AT_ONCE)
    raise ValueError(
        f"OTS_SAMPLES_URL must be file:///<folder> or s3://<bucket>[/<prefix>], not {location.url!r}"
    )
