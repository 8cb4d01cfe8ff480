"""Recording's own Prometheus metrics; labels are reasons and outcomes, never ids."""

from collections.abc import Iterable

from prometheus_client import Counter, Gauge

from contracts.gateway.reasons import Reason

REJECTED = Counter(
    "ots_recording_rejected_total", "Gateway messages refused by recording, by reason", ["reason"]
)
ACCEPTED = Counter(
    "ots_recording_accepted_total", "Gateway messages verified and applied, by kind", ["kind"]
)

SAMPLES_STORED = Counter(
    "ots_recording_samples_stored_total",
    "Captures stored (a kept one with its sealed sample's object in the store)",
)
SAMPLES_SWEPT = Counter(
    "ots_recording_samples_swept_total",
    "Objects of samples no committed capture names, removed by the sweeper after the grace",
)
WAITING_FOR_SAMPLES = Gauge(
    "ots_recording_waiting_for_samples_store",
    "1 while the gateway consumer holds its batch until the object store answers again",
)
SAMPLES_PURGED = Counter(
    "ots_recording_samples_purged_total", "Samples of delivered recordings removed by a purge"
)


def count_rejected(reasons: Iterable[Reason] | None) -> None:
    for reason in reasons or ():
        REJECTED.labels(reason.value).inc()
