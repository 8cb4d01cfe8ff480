"""Recording throughput: verified-and-stored captures per second against the raw JetStream
pull-consume-and-ack rate of the same messages, measured in the same run, alternating.

    .venv/bin/python bench/recording.py [--quick] [--people 100] [--rounds 3] [--profile]

Starts its own nats-server and PostgreSQL (fsync on) in a temp dir, provisions the streams and
migrates. Each round publishes fresh, validly signed captures (fingerprint ~20 KB, iris ~30 KB,
face ~60 KB, signature ~5 KB; 14 per person) and times how long it takes to drain them:

* `raw`: the same bodies on a scratch work-queue stream, pulled in batches and acked;
* `recording`: the real `GatewayConsumer` (decode, verify device, Ed25519 signature, sha256,
  hash chain, AES-GCM seal, one transaction per batch, ack after commit) with its outbox relay.
  Its signature worker (`OTS_GATEWAY_VERIFY_WORKERS`) is started once, before the rounds, as the
  service starts it once for its lifetime.

It also prints the CPU per message of each process (this one, its signature worker, nats-server,
PostgreSQL), read from /proc: steadier than the rates while other work shares the machine; and
the ceiling these put on the ratio: raw's CPU against raw's plus the work no implementation can
skip (an Ed25519 verification and a SHA-256 per capture, timed here, and PostgreSQL's CPU for
storing it, measured above). `--profile` runs the recording rounds under cProfile and
prints the hottest functions, by cumulative and by own time.
"""

import argparse
import asyncio
import base64
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import uvloop
from nats.js import JetStreamContext, api

from ots.admin import migrate_all, provision_streams
from ots.simulate.tablet import GatewayMessage, SimulatedDevice
from ots_runtime.broker import connect
from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres
from ots_runtime.outbox import OutboxRelay
from ots_runtime.settings import Settings
from ots_runtime.subscriber import Durable, consuming
from services.recording.app import gateway_options
from services.recording.config import RecordingSettings
from services.recording.domain.signing import ed25519_valid, sample_digest, signed_parts
from services.recording.gateway.consumer import CONSUMER, GatewayConsumer
from services.recording.gateway.signatures import SignatureVerifier
from services.recording.metrics import REJECTED

RAW_STREAM, RAW_DURABLE = "BENCH_RAW", "bench-raw"
TEAM = "team-bench"
RATIO_TARGET = 0.5
# CPU per message of each process group, less noisy than the rates on a shared machine.
CPU_US: dict[str, dict[str, list[float]]] = {"raw": {}, "recording": {}}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[str, float]:
    """CPU seconds so far of this process, of its children (the signature worker), of
    nats-server and of PostgreSQL: every process on the machine, grouped, from /proc."""
    me, groups = os.getpid(), {"bench": 0.0, "worker": 0.0, "nats": 0.0, "postgres": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        pid, parent = int(stat.parent.name), int(fields[1])
        group = ("nats" if name.startswith("nats-server")
                 else "postgres" if name.startswith("postgres")
                 else "bench" if pid == me else "worker" if parent == me else None)  # fmt: skip
        if group:
            groups[group] += seconds
    return groups


def record_cpu(side: str, before: dict[str, float], messages: int) -> None:
    for group, seconds in cpu_by_process().items():
        CPU_US[side].setdefault(group, []).append((seconds - before[group]) / messages * 1e6)


def a_nik(person: int, round_: int) -> str:
    return f"350921{(person % 28) + 1:02d}0590{(round_ * 1000 + person) % 9999 + 1:04d}"


async def prepare_round(db: asyncpg.Pool, device: SimulatedDevice, people: int, round_: int
                        ) -> list[GatewayMessage]:  # fmt: skip
    visit_id = f"visit-bench-{round_:03d}"
    niks = [a_nik(p, round_) for p in range(people)]
    await db.execute(
        "INSERT INTO recording.visits (visit_id, venue_type, kecamatan_code, expected_people,"
        " residents, team_id, plan_revision) VALUES ($1, 'school', '350921', $2, $3, $4, 1)",
        visit_id, people, niks, TEAM,
    )  # fmt: skip
    return [m for nik in niks for m in device.full_recording(visit_id, nik)]


async def publish(js: JetStreamContext, messages: list[GatewayMessage], raw: bool) -> None:
    for chunk in range(0, len(messages), 200):
        await asyncio.gather(*(
            js.publish(("bench.raw." + m.subject) if raw else m.subject, m.body,
                       headers={"Nats-Msg-Id": ("raw-" if raw else "") + m.msg_id})
            for m in messages[chunk:chunk + 200]
        ))  # fmt: skip


async def raw_round(js: JetStreamContext, messages: list[GatewayMessage], batch: int) -> float:
    await publish(js, messages, raw=True)
    sub = await js.pull_subscribe_bind(RAW_DURABLE, stream=RAW_STREAM)
    started, cpu, seen = time.perf_counter(), cpu_by_process(), 0
    while seen < len(messages):
        msgs = await sub.fetch(batch, timeout=5)
        await asyncio.gather(*(m.ack() for m in msgs))
        seen += len(msgs)
    elapsed = time.perf_counter() - started
    record_cpu("raw", cpu, len(messages))
    await sub.unsubscribe()
    return len(messages) / elapsed


async def recording_round(nats_url: str, js: JetStreamContext, db: asyncpg.Pool,
                          messages: list[GatewayMessage], config: RecordingSettings,
                          verifier: SignatureVerifier, profile: cProfile.Profile | None) -> float:  # fmt: skip
    """The service's own path: FastStream's subscriber (`DurableBatch`) handing batches to the
    gateway consumer, and the outbox relay."""
    await publish(js, messages, raw=False)
    stored_before = await db.fetchval("SELECT count(*) FROM recording.captures")
    options = gateway_options(config)
    durable = Durable(CONSUMER, "recording", batch_size=options.batch_size)
    consumer = GatewayConsumer(js, db, options, verifier=verifier, stop=durable.stop)
    relay = OutboxRelay(db, js, "recording")
    async with consuming(nats_url, durable, consumer, name="ots-bench-recording"):
        if profile:
            profile.enable()
        started, cpu = time.perf_counter(), cpu_by_process()
        relaying = asyncio.create_task(relay.run(durable.stop))
        await drained(js, db, stored_before + len(messages))
        elapsed = time.perf_counter() - started
        record_cpu("recording", cpu, len(messages))
        if profile:
            profile.disable()
    await relaying
    return len(messages) / elapsed


async def drained(
    js: JetStreamContext, db: asyncpg.Pool, captures: int, within: float = 120
) -> None:
    """Every message acknowledged (so committed) and every capture stored. Polls NATS, not the
    database, which a `count(*)` every few milliseconds would load during the measurement."""
    deadline = time.monotonic() + within
    while True:
        info = await js.consumer_info(CONSUMER.stream, CONSUMER.durable)
        if not info.num_ack_pending and not info.num_pending:
            stored = await db.fetchval("SELECT count(*) FROM recording.captures")
            if stored >= captures:
                return
        if time.monotonic() > deadline:
            stored = await db.fetchval("SELECT count(*) FROM recording.captures")
            raise SystemExit(f"recording did not drain within {within:.0f} s: {stored} of "
                             f"{captures} captures stored, {info.num_pending} pending, "
                             f"{info.num_ack_pending} unacknowledged (see the log above)")  # fmt: skip
        await asyncio.sleep(0.005)


async def setup(nats_url: str, database_url: str) -> tuple[JetStreamContext, asyncpg.Pool]:
    settings = Settings(
        env="test",
        nats_url=nats_url,
        database_url=database_url,
        token_pepper="bench-pepper-not-secret",
    )
    await provision_streams(settings)
    await migrate_all(settings)
    nc = await connect(nats_url, name="bench-recording")
    js = nc.jetstream()
    await js.add_stream(api.StreamConfig(
        name=RAW_STREAM, subjects=["bench.raw.>"], retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE, max_msg_size=1024 * 1024,
    ))  # fmt: skip
    await js.add_consumer(RAW_STREAM, api.ConsumerConfig(
        durable_name=RAW_DURABLE, ack_policy=api.AckPolicy.EXPLICIT, max_ack_pending=4000))  # fmt: skip
    db = await asyncpg.create_pool(database_url, min_size=2, max_size=10)
    return js, db


async def enrol(db: asyncpg.Pool, device: SimulatedDevice) -> None:
    await db.execute(
        "INSERT INTO recording.devices VALUES ($1, $2, 'gateway', $3, $4, false, now())",
        device.device_id, TEAM, base64.b64decode(device.public_key),
        datetime.now(UTC) + timedelta(days=30),
    )  # fmt: skip


def unavoidable_us(device: SimulatedDevice, messages: list[GatewayMessage]) -> dict[str, float]:
    """CPU per capture that any implementation spends, timed here on these messages: one Ed25519
    verification of the signed fields and one SHA-256 of the decoded sample."""
    key = base64.b64decode(device.public_key)
    signed = []
    for message in messages[:500]:
        data = json.loads(message.body)["data"]
        if "sample" in data:
            signed.append((signed_parts(data), base64.b64decode(data["sample"])))
    started = time.process_time()
    assert all(p is not None and ed25519_valid(key, p.signature, p.message) for p, _ in signed)
    verify = time.process_time() - started
    started = time.process_time()
    for _, sample in signed:
        sample_digest(sample)
    digest = time.process_time() - started
    return {"Ed25519": verify / len(signed) * 1e6, "SHA-256": digest / len(signed) * 1e6}


async def bench(args: argparse.Namespace, nats_url: str, database_url: str) -> int:
    js, db = await setup(nats_url, database_url)
    device = SimulatedDevice("gw-bench-01")
    await enrol(db, device)
    config = RecordingSettings(env="test")
    profile = cProfile.Profile() if args.profile else None
    # As in the service, the verification workers outlive every batch: started before timing.
    verifier = SignatureVerifier(config.gateway_verify_workers)
    await verifier.warm_up()
    raw_rates, rec_rates = [], []
    for round_ in range(args.rounds):
        messages = await prepare_round(db, device, args.people, round_)
        raw_rates.append(await raw_round(js, messages, config.gateway_batch_size))
        rec_rates.append(
            await recording_round(nats_url, js, db, messages, config, verifier, profile)
        )
        print(f"round {round_ + 1}: raw {raw_rates[-1]:8.0f}/s   recording {rec_rates[-1]:8.0f}/s"
              f"   ratio {rec_rates[-1] / raw_rates[-1]:.2f}")  # fmt: skip
    rejected = sum(
        s.value for m in REJECTED.collect() for s in m.samples if s.name.endswith("_total")
    )
    ratio = statistics.median(rec_rates) / statistics.median(raw_rates)
    print(
        f"captures per round: {args.people * 14} ({args.people} people x 14), rejected: {rejected:.0f}"
    )
    print(f"median raw {statistics.median(raw_rates):.0f}/s, recording "
          f"{statistics.median(rec_rates):.0f}/s: ratio {ratio:.2f} (target >= {RATIO_TARGET})")  # fmt: skip
    spent = {}
    for side, groups in CPU_US.items():
        spent[side] = {group: statistics.median(values) for group, values in groups.items()}
        print(f"CPU per message, {side:9s}: " + ", ".join(f"{g} {us:4.0f} us" for g, us in spent[side].items())
              + f"; total {sum(spent[side].values()):4.0f} us")  # fmt: skip
    if len(messages) < 1000:  # /proc counts CPU in 10 ms ticks
        print("(too few captures per round for the CPU figures to mean much: use --people 100)")
    else:
        print_ceiling(sum(spent["raw"].values()), spent["recording"]["postgres"],
                      unavoidable_us(device, messages))  # fmt: skip
    if profile:
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(30)
    verifier.close()
    await db.close()
    return 0 if rejected == 0 else 1


def print_ceiling(raw_us: float, postgres_us: float, unavoidable: dict[str, float]) -> None:
    """Both sides drain as fast as the same two cores allow, so their rates stand about as their
    CPU per message does. Recording spends at least what raw spends, plus a signature check, a
    digest and storing the sample durably: that bounds the ratio whatever the code around it."""
    floor = raw_us + postgres_us + sum(unavoidable.values())
    parts = ", ".join(f"{name} {us:.0f} us" for name, us in unavoidable.items())
    print(f"unavoidable per capture: raw's {raw_us:.0f} us + {parts} + PostgreSQL storing it "
          f"{postgres_us:.0f} us = {floor:.0f} us: ratio ceiling on this machine ~{raw_us / floor:.2f}")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="a small run: 10 people, 2 rounds")
    p.add_argument("--people", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.people, args.rounds = 10, 2
    with tempfile.TemporaryDirectory(prefix="ots-bench-rec-") as work:
        nats = EmbeddedNats(Path(work) / "nats").start()
        postgres = EmbeddedPostgres(Path(work) / "pg" / "data").start()
        try:
            # the service runs on uvicorn's uvloop: so do both sides here
            return uvloop.run(bench(args, nats.url, postgres.url))
        finally:
            postgres.stop()
            nats.stop()


if __name__ == "__main__":
    sys.exit(main())
