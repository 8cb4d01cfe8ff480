"""Why the outbox relay publishes through nats-py beneath FastStream: its drain against
FastStream's own JetStream publisher, on the same connection.

    .venv/bin/python bench/publish.py [--quick] [--events 4000] [--rounds 3]

Starts its own nats-server (JetStream, on disk) in a temp dir and provisions the streams. Then,
round by round and alternating, it publishes the same drains of `ots.visit.requested`-sized
events, each with its own `Nats-Msg-Id`, and waits until JetStream has acknowledged every one:

* `relay`: what `OutboxRelay.drain_once` does: `publish_async` for the whole drain, then one
  wait for all the PubAcks;
* `faststream`: `NatsBroker.publish(..., stream=...)`, which awaits each PubAck before the next
  publish (FastStream 0.7.8 has no asynchronous JetStream publish).

It prints events per second for both and the ratio faststream/relay. Exit status 0 always:
this is a measurement, not a gate.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from faststream.nats import NatsBroker
from nats.js import JetStreamContext

from contracts.examples import example_event
from contracts.subjects import VISIT_REQUESTED
from ots_runtime.broker import provision
from ots_runtime.embedded import EmbeddedNats
from ots_runtime.subscriber import make_broker

DRAIN = 200  # OutboxRelay's batch_size


async def relay_round(js: JetStreamContext, body: bytes, events: int) -> float:
    started = time.perf_counter()
    for _ in range(events // DRAIN):
        acks = [
            await js.publish_async(
                VISIT_REQUESTED.pattern, body, headers={"Nats-Msg-Id": str(uuid.uuid4())}
            )
            for _ in range(DRAIN)
        ]
        await asyncio.wait_for(asyncio.gather(*acks), timeout=10)
    return events / (time.perf_counter() - started)


async def faststream_round(broker: NatsBroker, body: bytes, events: int) -> float:
    started = time.perf_counter()
    for _ in range(events):
        await broker.publish(body, VISIT_REQUESTED.pattern, stream="OTS_EVENTS",
                             headers={"Nats-Msg-Id": str(uuid.uuid4())})  # fmt: skip
    return events / (time.perf_counter() - started)


async def measure(nats_url: str, events: int, rounds: int) -> None:
    broker = make_broker(nats_url, name="ots-bench-publish")
    nc = await broker.connect()
    js = nc.jetstream()
    await provision(js, [])
    body = example_event(VISIT_REQUESTED).model_dump_json().encode()
    print(f"{events} events of {len(body)} bytes per round, drains of {DRAIN}")
    ratios = []
    for r in range(1, rounds + 1):
        relay = await relay_round(js, body, events)
        faststream = await faststream_round(broker, body, events)
        ratios.append(faststream / relay)
        print(f"round {r}: relay (publish_async) {relay:8.0f} ev/s   "
              f"FastStream publish {faststream:8.0f} ev/s   ratio {faststream / relay:.2f}")  # fmt: skip
    print(f"FastStream/relay publish ratio (median of {rounds}): {statistics.median(ratios):.2f}")
    await broker.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1,000 events, 2 rounds")
    p.add_argument("--events", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=3)
    opts = p.parse_args()
    events, rounds = (1000, 2) if opts.quick else (opts.events, opts.rounds)
    with tempfile.TemporaryDirectory(prefix="ots-bench-publish-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        nats = EmbeddedNats(work / "nats").start()
        try:
            asyncio.run(measure(nats.url, events - events % DRAIN or DRAIN, rounds))
        finally:
            nats.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
